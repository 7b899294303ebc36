package org.caasdevops.petclinic;

import java.util.ArrayList;
import java.util.List;

/** An owner and (when loaded) their pets. */
public class Owner {
	public long id;
	public String firstName = "";
	public String lastName = "";
	public String address = "";
	public String city = "";
	public String telephone = "";
	public List<Pet> pets = new ArrayList<>();

	public long getId() { return id; }
	public String getFirstName() { return firstName; }
	public String getLastName() { return lastName; }
	public String getAddress() { return address; }
	public String getCity() { return city; }
	public String getTelephone() { return telephone; }
	public List<Pet> getPets() { return pets; }
	public void setFirstName(String v) { firstName = v; }
	public void setLastName(String v) { lastName = v; }
	public void setAddress(String v) { address = v; }
	public void setCity(String v) { city = v; }
	public void setTelephone(String v) { telephone = v; }
}
