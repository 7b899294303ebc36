package org.caasdevops.petclinic;

import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.jdbc.support.KeyHolder;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

/** Owners, pets and visits in the database (plain JDBC). */
@Repository
public class ClinicRepository {

	private final JdbcTemplate jdbc;

	public ClinicRepository(JdbcTemplate jdbc) {
		this.jdbc = jdbc;
	}

	private static Owner owner(ResultSet rs, int row) throws SQLException {
		Owner o = new Owner();
		o.id = rs.getLong("id");
		o.firstName = rs.getString("first_name");
		o.lastName = rs.getString("last_name");
		o.address = rs.getString("address");
		o.city = rs.getString("city");
		o.telephone = rs.getString("telephone");
		return o;
	}

	private static Pet pet(ResultSet rs, int row) throws SQLException {
		Pet p = new Pet();
		p.id = rs.getLong("id");
		p.ownerId = rs.getLong("owner_id");
		p.name = rs.getString("name");
		p.type = rs.getString("type");
		Date d = rs.getDate("birth_date");
		p.birthDate = d == null ? null : d.toLocalDate();
		return p;
	}

	private static Visit visit(ResultSet rs, int row) throws SQLException {
		Visit v = new Visit();
		v.id = rs.getLong("id");
		v.petId = rs.getLong("pet_id");
		v.date = rs.getDate("visit_date").toLocalDate();
		v.description = rs.getString("description");
		return v;
	}

	/** Owners whose last name starts with the prefix (all when it is empty), by name. */
	public List<Owner> findOwners(String lastNamePrefix) {
		String like = lastNamePrefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
		List<Owner> owners = jdbc.query("SELECT * FROM owners WHERE last_name LIKE ? ORDER BY last_name, first_name, id",
				ClinicRepository::owner, like);
		for (Owner o : owners)
			o.pets = jdbc.query("SELECT * FROM pets WHERE owner_id = ? ORDER BY name", ClinicRepository::pet, o.id);
		return owners;
	}

	/** One owner with pets and their visits. */
	public Optional<Owner> findOwner(long id) {
		List<Owner> l = jdbc.query("SELECT * FROM owners WHERE id = ?", ClinicRepository::owner, id);
		if (l.isEmpty())
			return Optional.empty();
		Owner o = l.get(0);
		o.pets = jdbc.query("SELECT * FROM pets WHERE owner_id = ? ORDER BY name", ClinicRepository::pet, id);
		for (Pet p : o.pets)
			p.visits = jdbc.query("SELECT * FROM visits WHERE pet_id = ? ORDER BY visit_date DESC, id DESC",
					ClinicRepository::visit, p.id);
		return Optional.of(o);
	}

	public Optional<Pet> findPet(long ownerId, long petId) {
		return jdbc.query("SELECT * FROM pets WHERE id = ? AND owner_id = ?", ClinicRepository::pet, petId, ownerId)
				.stream().findFirst();
	}

	private long insert(String sql, Object... args) {
		KeyHolder keys = new GeneratedKeyHolder();
		jdbc.update(con -> {
			PreparedStatement ps = con.prepareStatement(sql, Statement.RETURN_GENERATED_KEYS);
			for (int i = 0; i < args.length; i++)
				ps.setObject(i + 1, args[i]);
			return ps;
		}, keys);
		return keys.getKey().longValue();
	}

	@Transactional
	public long addOwner(Owner o) {
		return insert("INSERT INTO owners (first_name, last_name, address, city, telephone) VALUES (?, ?, ?, ?, ?)",
				o.firstName, o.lastName, o.address, o.city, o.telephone);
	}

	@Transactional
	public long addPet(long ownerId, String name, String type, LocalDate birthDate) {
		return insert("INSERT INTO pets (owner_id, name, type, birth_date) VALUES (?, ?, ?, ?)",
				ownerId, name, type, birthDate == null ? null : Date.valueOf(birthDate));
	}

	@Transactional
	public long addVisit(long petId, LocalDate date, String description) {
		return insert("INSERT INTO visits (pet_id, visit_date, description) VALUES (?, ?, ?)",
				petId, Date.valueOf(date), description);
	}
}
