/*
 * Package databases: the first byte picks the parser (dpkg status, a dpkg
 * status.d file, apk installed, one rpm header blob, an rpm sqlite
 * database, or cs_pkgdb_kind on a path); the rest is the file's bytes.
 */
#include "err.h"
#include "fuzz.h"
#include "pkgdb.h"
#include "strvec.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_strvec out = CS_STRVEC_INIT;
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0, i;
	int rc = 0;

	if (size == 0)
		return 0;
	switch (data[0] % 6) {
	case 0:
		rc = cs_pkgdb_parse(&out, CS_PKGDB_DPKG, body, len, "var/lib/dpkg/status");
		break;
	case 1:
		rc = cs_pkgdb_parse(&out, CS_PKGDB_DPKG_STATUSD, body, len,
				    "var/lib/dpkg/status.d/base");
		break;
	case 2:
		rc = cs_pkgdb_parse(&out, CS_PKGDB_APK, body, len, "lib/apk/db/installed");
		break;
	case 3:
		rc = cs_pkgdb_parse_rpm_header(&out, body, len, "blob");
		break;
	case 4:
		rc = cs_pkgdb_parse(&out, CS_PKGDB_RPM_SQLITE, body, len,
				    "var/lib/rpm/rpmdb.sqlite");
		break;
	default: {
		char *path = fz_str((const uint8_t *)body, len);
		enum cs_pkgdb_kind k = cs_pkgdb_kind(path);

		FZ_CHECK(k >= CS_PKGDB_NONE && k <= CS_PKGDB_RPM);
		free(path);
		break;
	}
	}
	FZ_CHECK(rc == 0 || rc == CS_EPARSE || rc == CS_ETOOBIG || rc == CS_EINVAL);
	for (i = 0; i < out.nr; i++)
		FZ_CHECK(out.v[i] != NULL);
	cs_strvec_clear(&out);
	return 0;
}
