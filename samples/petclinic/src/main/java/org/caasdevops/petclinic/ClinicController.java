package org.caasdevops.petclinic;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseBody;
import org.springframework.web.server.ResponseStatusException;

/** The pages: welcome, owners (list and search), one owner, add owner, add pet, add visit. */
@Controller
public class ClinicController {

	static final List<String> PET_TYPES = List.of("bird", "cat", "dog", "hamster", "lizard", "snake");

	private final ClinicRepository repo;

	public ClinicController(ClinicRepository repo) {
		this.repo = repo;
	}

	@GetMapping("/")
	public String welcome(Model model) {
		model.addAttribute("version", version());
		return "welcome";
	}

	@GetMapping("/owners")
	public String owners(@RequestParam(defaultValue = "") String lastName, Model model) {
		model.addAttribute("owners", repo.findOwners(lastName.trim()));
		model.addAttribute("lastName", lastName);
		return "owners";
	}

	/** The owners as JSON (what the tests and scripts read). */
	@GetMapping("/api/owners")
	@ResponseBody
	public List<Owner> ownersJson(@RequestParam(defaultValue = "") String lastName) {
		return repo.findOwners(lastName.trim());
	}

	@GetMapping("/owners/{id}")
	public String owner(@PathVariable long id, Model model) {
		model.addAttribute("owner", repo.findOwner(id).orElseThrow(() -> notFound("owner " + id)));
		return "owner";
	}

	@GetMapping("/owners/new")
	public String newOwnerForm(Model model) {
		model.addAttribute("owner", new Owner());
		model.addAttribute("error", null);
		return "owner-form";
	}

	@PostMapping("/owners/new")
	public String addOwner(Owner owner, Model model) {
		String error = null;
		if (owner.firstName.isBlank() || owner.lastName.isBlank())
			error = "first and last name are required";
		else if (!owner.telephone.matches("[0-9 +()-]{0,20}"))
			error = "telephone: digits, spaces and + ( ) - only";
		if (error != null) {
			model.addAttribute("owner", owner);
			model.addAttribute("error", error);
			return "owner-form";
		}
		return "redirect:/owners/" + repo.addOwner(owner);
	}

	@GetMapping("/owners/{id}/pets/new")
	public String newPetForm(@PathVariable long id, Model model) {
		model.addAttribute("owner", repo.findOwner(id).orElseThrow(() -> notFound("owner " + id)));
		model.addAttribute("types", PET_TYPES);
		model.addAttribute("error", null);
		return "pet-form";
	}

	@PostMapping("/owners/{id}/pets/new")
	public String addPet(@PathVariable long id, @RequestParam String name, @RequestParam String type,
			@RequestParam(defaultValue = "") String birthDate, Model model) {
		Owner owner = repo.findOwner(id).orElseThrow(() -> notFound("owner " + id));
		String error = null;
		LocalDate born = null;
		if (name.isBlank())
			error = "the name is required";
		else if (!PET_TYPES.contains(type))
			error = "unknown type " + type;
		else if (!birthDate.isBlank()) {
			try {
				born = LocalDate.parse(birthDate);
			} catch (DateTimeParseException e) {
				error = "birth date: YYYY-MM-DD";
			}
		}
		if (error != null) {
			model.addAttribute("owner", owner);
			model.addAttribute("types", PET_TYPES);
			model.addAttribute("error", error);
			return "pet-form";
		}
		repo.addPet(id, name.trim(), type, born);
		return "redirect:/owners/" + id;
	}

	@PostMapping("/owners/{id}/pets/{petId}/visits/new")
	public String addVisit(@PathVariable long id, @PathVariable long petId,
			@RequestParam(defaultValue = "") String date, @RequestParam String description) {
		repo.findPet(id, petId).orElseThrow(() -> notFound("pet " + petId + " of owner " + id));
		LocalDate d;
		try {
			d = date.isBlank() ? LocalDate.now() : LocalDate.parse(date);
		} catch (DateTimeParseException e) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "date: YYYY-MM-DD");
		}
		if (description.isBlank())
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "the description is required");
		repo.addVisit(petId, d, description.trim());
		return "redirect:/owners/" + id;
	}

	/** Which build serves this page (the image's version, given by the deployment). */
	static String version() {
		return System.getenv().getOrDefault("APP_VERSION", "dev");
	}

	@GetMapping("/api/version")
	@ResponseBody
	public Map<String, String> versionJson() {
		return Map.of("version", version());
	}

	private static ResponseStatusException notFound(String what) {
		return new ResponseStatusException(HttpStatus.NOT_FOUND, what + " not found");
	}
}
