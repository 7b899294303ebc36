/*
 * dpkg and apk database parsers: RFC 822-like stanzas, read line by line from
 * memory. Only package names are kept.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef CS_HAVE_SQLITE3
#include <sqlite3.h>
#endif

#include "err.h"
#include "pkgdb.h"
#include "xalloc.h"

enum cs_pkgdb_kind
cs_pkgdb_kind(const char *path)
{
	static const char *const rpm_sqlite[] = {"var/lib/rpm/rpmdb.sqlite",
						 "usr/lib/sysimage/rpm/rpmdb.sqlite"};
	static const char *const rpm[] = {"var/lib/rpm/Packages", "var/lib/rpm/Packages.db",
					  "usr/lib/sysimage/rpm/Packages",
					  "usr/lib/sysimage/rpm/Packages.db"};
	const char *statusd = "var/lib/dpkg/status.d/";
	size_t i;

	if (strcmp(path, "var/lib/dpkg/status") == 0)
		return CS_PKGDB_DPKG;
	if (strncmp(path, statusd, strlen(statusd)) == 0 && path[strlen(statusd)] != '\0' &&
	    strchr(path + strlen(statusd), '/') == NULL)
		return CS_PKGDB_DPKG_STATUSD;
	if (strcmp(path, "lib/apk/db/installed") == 0)
		return CS_PKGDB_APK;
	for (i = 0; i < sizeof(rpm_sqlite) / sizeof(rpm_sqlite[0]); i++) {
		size_t n = strlen(rpm_sqlite[i]);

		if (strcmp(path, rpm_sqlite[i]) == 0)
			return CS_PKGDB_RPM_SQLITE;
		if (strncmp(path, rpm_sqlite[i], n) == 0 && strcmp(path + n, "-wal") == 0)
			return CS_PKGDB_RPM_WAL;
	}
	for (i = 0; i < sizeof(rpm) / sizeof(rpm[0]); i++)
		if (strcmp(path, rpm[i]) == 0)
			return CS_PKGDB_RPM;
	return CS_PKGDB_NONE;
}

/* Next line of data as [*line, *line + *n), without its '\n'; 0 at the end. */
static int
next_line(const char **pos, const char *end, const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= end)
		return 0;
	*line = *pos;
	nl = memchr(*pos, '\n', (size_t)(end - *pos));
	if (nl == NULL) {
		*n = (size_t)(end - *pos);
		*pos = end;
	} else {
		*n = (size_t)(nl - *pos);
		*pos = nl + 1;
	}
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

static int
is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* Trimmed value of "Field: value" in [*v, *v + *vn). */
static void
field_value(const char *line, size_t n, size_t colon, const char **v, size_t *vn)
{
	size_t a = colon + 1, b = n;

	while (a < b && (line[a] == ' ' || line[a] == '\t'))
		a++;
	while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
		b--;
	*v = line + a;
	*vn = b - a;
}

/* The third word of a Status value says whether the package is on disk. */
static int
status_installed(const char *v, size_t n, int *installed)
{
	char buf[128], *w[4], *save = NULL, *tok;
	int nw = 0;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		if (nw == 4)
			return -1;
		w[nw++] = tok;
	}
	if (nw != 3)
		return -1;
	*installed = strcmp(w[2], "not-installed") != 0 && strcmp(w[2], "config-files") != 0;
	return 0;
}

struct stanza {
	char *package;
	int has_status, installed;
	size_t first_line;
};

static int
end_stanza(struct cs_strvec *out, struct stanza *st, const char *name, int statusd)
{
	int error = 0;

	if (st->first_line == 0)
		return 0;
	if (st->package == NULL)
		error = cs_err_set(CS_EPARSE,
				   "cannot parse package database '%s': line %zu: stanza without "
				   "Package field",
				   name, st->first_line);
	else if (st->has_status ? st->installed : statusd)
		cs_strvec_push(out, st->package);
	free(st->package);
	memset(st, 0, sizeof(*st));
	return error;
}

int
cs_pkgdb_parse_dpkg(struct cs_strvec *out, const char *data, size_t len, const char *name,
		    int statusd)
{
	const char *pos = data, *end = data + len, *line, *v, *colon;
	struct stanza st = {0};
	size_t n, vn, lineno = 0;
	int error = 0;

	while (next_line(&pos, end, &line, &n)) {
		lineno++;
		if (is_blank(line, n)) {
			if ((error = end_stanza(out, &st, name, statusd)) < 0)
				goto out;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (st.first_line == 0)
				goto bad_line;
			continue; /* continuation of a multi-line field */
		}
		colon = memchr(line, ':', n);
		if (colon == NULL || colon == line)
			goto bad_line;
		if (st.first_line == 0)
			st.first_line = lineno;
		field_value(line, n, (size_t)(colon - line), &v, &vn);
		if ((size_t)(colon - line) == 7 && strncasecmp(line, "Package", 7) == 0) {
			if (vn == 0 || st.package != NULL)
				goto bad_line;
			st.package = cs_xstrndup(v, vn);
		} else if ((size_t)(colon - line) == 6 && strncasecmp(line, "Status", 6) == 0) {
			if (status_installed(v, vn, &st.installed) < 0) {
				error = cs_err_set(CS_EPARSE,
						   "cannot parse package database '%s': line %zu: "
						   "malformed Status",
						   name, lineno);
				goto out;
			}
			st.has_status = 1;
		}
	}
	error = end_stanza(out, &st, name, statusd);
	goto out;
bad_line:
	error = cs_err_set(
	    CS_EPARSE, "cannot parse package database '%s': line %zu: not a 'Field: value' line",
	    name, lineno);
out:
	free(st.package);
	return error;
}

int
cs_pkgdb_parse_apk(struct cs_strvec *out, const char *data, size_t len, const char *name)
{
	const char *pos = data, *end = data + len, *line;
	size_t n, lineno = 0, first = 0;
	char *pkg = NULL;
	int error = 0;

	for (;;) {
		int more = next_line(&pos, end, &line, &n);

		if (more)
			lineno++;
		if (!more || n == 0) {
			if (first != 0 && pkg == NULL) {
				error = cs_err_set(CS_EPARSE,
						   "cannot parse package database '%s': line %zu: "
						   "stanza without P: line",
						   name, first);
				goto out;
			}
			if (pkg != NULL)
				cs_strvec_push_take(out, pkg);
			pkg = NULL;
			first = 0;
			if (!more)
				break;
			continue;
		}
		if (n < 2 || line[1] != ':') {
			error = cs_err_set(CS_EPARSE,
					   "cannot parse package database '%s': line %zu: not a "
					   "'X:value' line",
					   name, lineno);
			goto out;
		}
		if (first == 0)
			first = lineno;
		if (line[0] == 'P') {
			if (pkg != NULL || n == 2) {
				error = cs_err_set(CS_EPARSE,
						   "cannot parse package database '%s': line %zu: "
						   "bad P: line",
						   name, lineno);
				goto out;
			}
			pkg = cs_xstrndup(line + 2, n - 2);
		}
	}
out:
	free(pkg);
	return error;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
cs_pkgdb_parse_rpm_header(struct cs_strvec *out, const void *blob, size_t len, const char *name)
{
	enum { RPMTAG_NAME = 1000, RPM_STRING_TYPE = 6 };
	const unsigned char *b = blob, *data;
	uint32_t il, dl, i;

	if (len < 8)
		goto bad;
	il = be32(b);
	dl = be32(b + 4);
	if (il == 0 || il > 0x10000 || dl > 0x10000000 || (size_t)il * 16 + dl > len - 8)
		goto bad;
	data = b + 8 + (size_t)il * 16;
	for (i = 0; i < il; i++) {
		const unsigned char *e = b + 8 + (size_t)i * 16;
		uint32_t off = be32(e + 8);

		if (be32(e) != RPMTAG_NAME)
			continue;
		if (be32(e + 4) != RPM_STRING_TYPE || off >= dl ||
		    memchr(data + off, '\0', dl - off) == NULL || data[off] == '\0')
			goto bad;
		cs_strvec_push(out, (const char *)data + off);
		return 0;
	}
bad:
	return cs_err_set(CS_EPARSE, "cannot parse package database '%s': bad rpm header", name);
}

int
cs_pkgdb_rpm_supported(void)
{
#ifdef CS_HAVE_SQLITE3
	return 1;
#else
	return 0;
#endif
}

#ifdef CS_HAVE_SQLITE3
/*
 * The database comes from the image: its schema is not to be trusted. A
 * "Packages" view over a recursive query never ends, and a generated column
 * computes its value, of any size, on every read. Views and triggers are
 * refused, so is a computed "blob" column; values cannot be longer than the
 * file, and as a last bound the query may run at most RPM_SQLITE_STEPS times
 * 1000 virtual machine instructions (a real database needs a few dozen per
 * package).
 */
#define RPM_SQLITE_STEPS 100000

static int
rpm_sqlite_progress(void *payload)
{
	unsigned long *steps = payload;

	return ++*steps > RPM_SQLITE_STEPS;
}

/* 1 when Packages.blob is a virtual generated column, 0 when not, -1 on error. */
static int
blob_is_computed(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT hidden FROM pragma_table_xinfo('Packages') "
			       "WHERE name = 'blob'",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) == 2 : rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

int
cs_pkgdb_parse_rpm_sqlite(struct cs_strvec *out, const char *data, size_t len, const char *name)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy = NULL;
	unsigned long steps = 0;
	int rc, error = 0;

	if (len < 100 || memcmp(data, "SQLite format 3", 16) != 0)
		return cs_err_set(CS_EPARSE, "cannot parse package database '%s': not sqlite",
				  name);
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		error = cs_err_set(CS_EPARSE, "cannot open package database '%s': %s", name,
				   db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, len < INT_MAX ? (int)len : INT_MAX);
	sqlite3_progress_handler(db, 1000, rpm_sqlite_progress, &steps);
	copy = sqlite3_malloc64(len);
	if (copy == NULL) {
		error = cs_err_set(CS_ETOOBIG, "package database '%s': out of memory", name);
		goto out;
	}
	memcpy(copy, data, len);
	copy[18] = copy[19] = 1; /* a WAL-mode file reads as a rollback-journal one */
	rc = sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
				 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
	copy = NULL; /* freed by sqlite, also on failure */
	if (rc == SQLITE_OK && (rc = blob_is_computed(db)) != 0) {
		error = cs_err_set(
		    CS_EPARSE, "cannot parse package database '%s': %s (not an rpm database)", name,
		    rc > 0 ? "the Packages blob column is computed" : sqlite3_errmsg(db));
		goto out;
	}
	if (rc != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &st, NULL) != SQLITE_OK) {
		error = cs_err_set(CS_EPARSE, "cannot parse package database '%s': %s", name,
				   sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);

		if ((error = cs_pkgdb_parse_rpm_header(out, blob, blob ? (size_t)n : 0, name)) < 0)
			goto out;
	}
	if (rc != SQLITE_DONE && steps > RPM_SQLITE_STEPS)
		error = cs_err_set(CS_EPARSE,
				   "cannot parse package database '%s': reading it takes too long "
				   "(not an rpm database)",
				   name);
	else if (rc != SQLITE_DONE)
		error = cs_err_set(CS_EPARSE, "cannot parse package database '%s': %s", name,
				   sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	sqlite3_free(copy);
	return error;
}
#else
int
cs_pkgdb_parse_rpm_sqlite(struct cs_strvec *out, const char *data, size_t len, const char *name)
{
	(void)out, (void)data, (void)len;
	return cs_err_set(CS_EINVAL,
			  "rpm database '/%s' present but not supported: caas-devops was built "
			  "without sqlite3, cannot list the image's packages",
			  name);
}
#endif

int
cs_pkgdb_parse(struct cs_strvec *out, enum cs_pkgdb_kind kind, const char *data, size_t len,
	       const char *name)
{
	switch (kind) {
	case CS_PKGDB_DPKG:
		return cs_pkgdb_parse_dpkg(out, data, len, name, 0);
	case CS_PKGDB_DPKG_STATUSD:
		return cs_pkgdb_parse_dpkg(out, data, len, name, 1);
	case CS_PKGDB_APK:
		return cs_pkgdb_parse_apk(out, data, len, name);
	case CS_PKGDB_RPM_SQLITE:
		return cs_pkgdb_parse_rpm_sqlite(out, data, len, name);
	default:
		return cs_err_set(CS_EINVAL, "'%s': unsupported package database", name);
	}
}
