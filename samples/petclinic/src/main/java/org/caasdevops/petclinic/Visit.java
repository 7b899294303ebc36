package org.caasdevops.petclinic;

import java.time.LocalDate;

/** A visit of a pet. */
public class Visit {
	public long id;
	public long petId;
	public LocalDate date;
	public String description = "";

	public long getId() { return id; }
	public long getPetId() { return petId; }
	public LocalDate getDate() { return date; }
	public String getDescription() { return description; }
}
