/* pkgdb: dpkg status, status.d and apk installed databases. */
#include <string.h>

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
	T_ASSERT_INT(cs_pkgdb_kind("var/lib/rpm/rpmdb.sqlite"), CS_PKGDB_RPM);
	T_ASSERT_INT(cs_pkgdb_kind("usr/lib/sysimage/rpm/rpmdb.sqlite"), CS_PKGDB_RPM);
	T_ASSERT_INT(cs_pkgdb_parse(NULL, CS_PKGDB_RPM, "", 0, "rpmdb"), CS_EINVAL);
}

int
main(void)
{
	T_RUN(test_pkgdb__dpkg_installed_only);
	T_RUN(test_pkgdb__statusd_without_status);
	T_RUN(test_pkgdb__dpkg_errors);
	T_RUN(test_pkgdb__apk);
	T_RUN(test_pkgdb__kinds);
	return T_REPORT();
}
