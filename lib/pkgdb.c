/*
 * dpkg and apk database parsers: RFC 822-like stanzas, read line by line from
 * memory. Only package names are kept.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "pkgdb.h"
#include "xalloc.h"

enum cs_pkgdb_kind
cs_pkgdb_kind(const char *path)
{
	static const char *const rpm[] = {
	    "var/lib/rpm/rpmdb.sqlite",	     "var/lib/rpm/Packages",
	    "var/lib/rpm/Packages.db",	     "usr/lib/sysimage/rpm/rpmdb.sqlite",
	    "usr/lib/sysimage/rpm/Packages", "usr/lib/sysimage/rpm/Packages.db"};
	const char *statusd = "var/lib/dpkg/status.d/";
	size_t i;

	if (strcmp(path, "var/lib/dpkg/status") == 0)
		return CS_PKGDB_DPKG;
	if (strncmp(path, statusd, strlen(statusd)) == 0 && path[strlen(statusd)] != '\0' &&
	    strchr(path + strlen(statusd), '/') == NULL)
		return CS_PKGDB_DPKG_STATUSD;
	if (strcmp(path, "lib/apk/db/installed") == 0)
		return CS_PKGDB_APK;
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
	default:
		return cs_err_set(CS_EINVAL, "'%s': unsupported package database", name);
	}
}
