package org.caasdevops.petclinic;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/** A pet and (when loaded) its visits. */
public class Pet {
	public long id;
	public long ownerId;
	public String name = "";
	public String type = "";
	public LocalDate birthDate;
	public List<Visit> visits = new ArrayList<>();

	public long getId() { return id; }
	public long getOwnerId() { return ownerId; }
	public String getName() { return name; }
	public String getType() { return type; }
	public LocalDate getBirthDate() { return birthDate; }
	public List<Visit> getVisits() { return visits; }
}
