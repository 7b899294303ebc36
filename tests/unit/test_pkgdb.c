/* pkgdb: dpkg status, status.d and apk installed databases. */
#include <stdlib.h>
#include <string.h>
#ifdef CS_HAVE_SQLITE3
#include <sqlite3.h>
#endif

#include "err.h"
#include "pkgdb.h"
#include "strvec.h"
#include "tests/unit/test.h"

static void
test_pkgdb__dpkg_installed_only(void)
{
	static const char db[] = "Package: base-files\n"
				 "Status: install ok installed\n"
				 "Description: Debian base system\n"
				 " multi-line description\n"
				 " .\n"
				 "\n"
				 "Package: removed\n"
				 "Status: deinstall ok config-files\n"
				 "\n"
				 "Package: purged\n"
				 "Status: purge ok not-installed\n"
				 "\n\n"
				 "Package: half\r\n"
				 "Status: install reinstreq half-configured\r\n"
				 "\r\n"
				 "Package: gcc-12-base\n"
				 "Status: hold ok installed"; /* no final newline */
	struct cs_strvec out = CS_STRVEC_INIT;

	T_ASSERT_INT(cs_pkgdb_parse_dpkg(&out, db, strlen(db), "status", 0), 0);
	T_ASSERT_INT(out.nr, 3);
	T_ASSERT_STR(out.v[0], "base-files");
	T_ASSERT_STR(out.v[1], "half");
	T_ASSERT_STR(out.v[2], "gcc-12-base");
	cs_strvec_clear(&out);
}

static void
test_pkgdb__statusd_without_status(void)
{
	static const char db[] = "Package: tzdata\nVersion: 2024a\n\n";
	struct cs_strvec out = CS_STRVEC_INIT;

	T_ASSERT_INT(cs_pkgdb_parse(&out, CS_PKGDB_DPKG_STATUSD, db, strlen(db), "tzdata"), 0);
	T_ASSERT_INT(out.nr, 1);
	T_ASSERT_STR(out.v[0], "tzdata");
	cs_strvec_clear(&out);
	/* in the main status file a stanza without Status is not installed */
	T_ASSERT_INT(cs_pkgdb_parse(&out, CS_PKGDB_DPKG, db, strlen(db), "status"), 0);
	T_ASSERT_INT(out.nr, 0);
	T_ASSERT_INT(cs_pkgdb_parse(&out, CS_PKGDB_DPKG, "", 0, "status"), 0);
	T_ASSERT_INT(out.nr, 0);
}

static void
test_pkgdb__dpkg_errors(void)
{
	struct cs_strvec out = CS_STRVEC_INIT;
	static const char *const bad[] = {
	    "Package: a\nthis line has no colon\n",
	    "Version: 1\nStatus: install ok installed\n", /* no Package */
	    "Package: a\nStatus: installed\n",		  /* 1 word */
	    " continuation first\n",
	    "Package: a\nPackage: b\n",
	    "\x7f"
	    "ELF binary garbage",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ASSERT_INT(
		    cs_pkgdb_parse_dpkg(&out, bad[i], strlen(bad[i]), "var/lib/dpkg/status", 0),
		    CS_EPARSE);
		T_ASSERT(strstr(cs_err_msg(), "'var/lib/dpkg/status': line ") != NULL);
	}
	cs_strvec_clear(&out);
}

static void
test_pkgdb__apk(void)
{
	static const char db[] = "C:Q1abc=\nP:musl\nV:1.2.4\n\nC:Q1def=\nP:busybox\nV:1.36\n"
				 "F:bin\nR:busybox\n\n";
	struct cs_strvec out = CS_STRVEC_INIT;

	T_ASSERT_INT(cs_pkgdb_parse(&out, CS_PKGDB_APK, db, strlen(db), "installed"), 0);
	T_ASSERT_INT(out.nr, 2);
	T_ASSERT_STR(out.v[1], "busybox");
	cs_strvec_clear(&out);
	T_ASSERT_INT(cs_pkgdb_parse_apk(&out, "P:x\nnot apk\n", 12, "installed"), CS_EPARSE);
	T_ASSERT_INT(cs_pkgdb_parse_apk(&out, "V:1\n\nP:y\n", 9, "installed"), CS_EPARSE);
	cs_strvec_clear(&out);
}

static void
test_pkgdb__kinds(void)
{
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/dpkg/status"), CS_PKGDB_DPKG);
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/dpkg/status-old"), CS_PKGDB_NONE);
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/dpkg/status.d/base"), CS_PKGDB_DPKG_STATUSD);
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/dpkg/status.d/"), CS_PKGDB_NONE);
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/dpkg/status.d/a/b"), CS_PKGDB_NONE);
	T_ASSERT_INT(cs_pkgdb_kind("lib/apk/db/installed"), CS_PKGDB_APK);
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/rpm/rpmdb.sqlite"), CS_PKGDB_RPM_SQLITE);
	T_ASSERT_INT(cs_pkgdb_kind("usr/lib/sysimage/rpm/rpmdb.sqlite"), CS_PKGDB_RPM_SQLITE);
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/rpm/Packages"), CS_PKGDB_RPM);
	T_ASSERT_INT(cs_pkgdb_parse(NULL, CS_PKGDB_RPM, "", 0, "rpmdb"), CS_EINVAL);
}

/* An rpm header blob: index entries (tag, type, offset, count), then data. */
static size_t
rpm_header(unsigned char *buf, const char *pkg)
{
	static const unsigned char version[] = "1.0";
	size_t nlen = strlen(pkg) + 1, dl = sizeof(version) + nlen, i = 0;
	unsigned int entries[2][4] = {{1001, 6, 0, 1}, {1000, 6, sizeof(version), 1}};
	size_t e, k;

	buf[i++] = 0, buf[i++] = 0, buf[i++] = 0, buf[i++] = 2;
	buf[i++] = 0, buf[i++] = 0, buf[i++] = 0, buf[i++] = (unsigned char)dl;
	for (e = 0; e < 2; e++)
		for (k = 0; k < 4; k++) {
			buf[i++] = (unsigned char)(entries[e][k] >> 24);
			buf[i++] = (unsigned char)(entries[e][k] >> 16);
			buf[i++] = (unsigned char)(entries[e][k] >> 8);
			buf[i++] = (unsigned char)entries[e][k];
		}
	memcpy(buf + i, version, sizeof(version));
	memcpy(buf + i + sizeof(version), pkg, nlen);
	return i + dl;
}

static void
test_pkgdb__rpm_header(void)
{
	struct cs_strvec out = CS_STRVEC_INIT;
	unsigned char blob[256];
	size_t n = rpm_header(blob, "bash");

	T_ASSERT_INT(cs_pkgdb_parse_rpm_header(&out, blob, n, "rpmdb"), 0);
	T_ASSERT_STR(out.v[0], "bash");
	T_ASSERT_INT(cs_pkgdb_parse_rpm_header(&out, blob, n - 2, "rpmdb"), CS_EPARSE);
	T_ASSERT_INT(cs_pkgdb_parse_rpm_header(&out, blob, 7, "rpmdb"), CS_EPARSE);
	blob[8 + 16 + 8 + 3] = 200; /* the name's offset points past the data */
	T_ASSERT_INT(cs_pkgdb_parse_rpm_header(&out, blob, n, "rpmdb"), CS_EPARSE);
	T_ASSERT_INT(out.nr, 1);
	cs_strvec_clear(&out);
}

static void
test_pkgdb__rpm_sqlite(void)
{
	struct cs_strvec out = CS_STRVEC_INIT;
#ifdef CS_HAVE_SQLITE3
	static const char *const names[] = {"bash", "openssh-server", "glibc"};
	unsigned char blob[256], *bytes;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 size = 0;
	sqlite3 *db = NULL;
	size_t i;

	T_ASSERT(sqlite3_open(":memory:", &db) == SQLITE_OK);
	T_ASSERT(sqlite3_exec(db,
			      "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, "
			      "blob BLOB NOT NULL)",
			      NULL, NULL, NULL) == SQLITE_OK);
	T_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) VALUES (?)", -1, &st, NULL) ==
		 SQLITE_OK);
	for (i = 0; i < 3; i++) {
		size_t n = rpm_header(blob, names[i]);

		sqlite3_bind_blob(st, 1, blob, (int)n, SQLITE_TRANSIENT);
		T_ASSERT(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	bytes = sqlite3_serialize(db, "main", &size, 0);
	sqlite3_close(db);
	T_ASSERT(bytes != NULL);
	T_ASSERT_INT(cs_pkgdb_parse(&out, CS_PKGDB_RPM_SQLITE, (const char *)bytes, (size_t)size,
				    "var/lib/rpm/rpmdb.sqlite"),
		     0);
	sqlite3_free(bytes);
	T_ASSERT_INT(out.nr, 3);
	T_ASSERT_STR(out.v[1], "openssh-server");
	T_ASSERT_INT(cs_pkgdb_parse_rpm_sqlite(&out, "SQLite format 3", 16, "x"), CS_EPARSE);
	T_ASSERT(cs_pkgdb_rpm_supported());
#else
	T_ASSERT(!cs_pkgdb_rpm_supported());
	T_ASSERT_INT(cs_pkgdb_parse(&out, CS_PKGDB_RPM_SQLITE, "SQLite format 3", 16,
				    "var/lib/rpm/rpmdb.sqlite"),
		     CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "present but not supported") != NULL);
#endif
	cs_strvec_clear(&out);
}

#ifdef CS_HAVE_SQLITE3
/* A database made by running sql; the caller sqlite3_free()s it. */
static unsigned char *
make_db(sqlite3_int64 *size, const char *sql)
{
	unsigned char *bytes = NULL;
	sqlite3 *db = NULL;

	*size = 0;
	if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		bytes = sqlite3_serialize(db, "main", size, 0);
	sqlite3_close(db);
	return bytes;
}
#endif

/* The database comes from the image: its schema must not make the validator hang. */
static void
test_pkgdb__rpm_sqlite_hostile_schema(void)
{
#ifdef CS_HAVE_SQLITE3
	static const char *const cases[][2] = {
	    /* an endless recursive view: looped forever before */
	    {"CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
	     "SELECT x + 1 FROM c) SELECT x AS blob FROM c WHERE x < 0",
	     "cannot parse package database"},
	    /* a blob computed on every read, here larger than the file */
	    {"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, "
	     "blob BLOB AS (zeroblob(1000000000))); INSERT INTO Packages (hnum) VALUES (1)",
	     "the Packages blob column is computed"},
	};
	struct cs_strvec out = CS_STRVEC_INIT;
	sqlite3_int64 size;
	unsigned char *bytes;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bytes = make_db(&size, cases[i][0]);
		T_ASSERT(bytes != NULL);
		T_ASSERT_INT(cs_pkgdb_parse_rpm_sqlite(&out, (const char *)bytes, (size_t)size,
						       "var/lib/rpm/rpmdb.sqlite"),
			     CS_EPARSE);
		sqlite3_free(bytes);
		if (strstr(cs_err_msg(), cases[i][1]) == NULL)
			T_FAIL_("case %zu: '%s' does not say '%s'", i, cs_err_msg(), cases[i][1]);
		T_ASSERT_INT(out.nr, 0);
	}
#endif
}

int
main(void)
{
	T_RUN(test_pkgdb__dpkg_installed_only);
	T_RUN(test_pkgdb__statusd_without_status);
	T_RUN(test_pkgdb__dpkg_errors);
	T_RUN(test_pkgdb__apk);
	T_RUN(test_pkgdb__kinds);
	T_RUN(test_pkgdb__rpm_header);
	T_RUN(test_pkgdb__rpm_sqlite);
	T_RUN(test_pkgdb__rpm_sqlite_hostile_schema);
	return T_REPORT();
}
