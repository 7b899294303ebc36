/*
 * Package databases read from an image's filesystem, without running
 * anything: dpkg (/var/lib/dpkg/status, /var/lib/dpkg/status.d/ *) and apk
 * (/lib/apk/db/installed). rpm databases are recognised (cs_pkgdb_kind) but
 * not read: the caller must report them as unsupported, never as empty.
 */
#ifndef CS_PKGDB_H
#define CS_PKGDB_H

#include <stddef.h>

#include "strvec.h"

enum cs_pkgdb_kind {
	CS_PKGDB_NONE = 0,
	CS_PKGDB_DPKG,	       /* var/lib/dpkg/status */
	CS_PKGDB_DPKG_STATUSD, /* var/lib/dpkg/status.d/NAME (distroless; Status optional) */
	CS_PKGDB_APK,	       /* lib/apk/db/installed */
	CS_PKGDB_RPM, /* var/lib/rpm/{rpmdb.sqlite,Packages,Packages.db}, usr/lib/sysimage/rpm/...
		       */
};

/*
 * The kind of database a path (relative, no leading '/', e.g.
 * "var/lib/dpkg/status") holds, or CS_PKGDB_NONE.
 */
enum cs_pkgdb_kind cs_pkgdb_kind(const char *path);

/*
 * Parse dpkg status data (len bytes; need not be NUL-terminated) and push the
 * name of each installed package to out. A package counts as installed unless
 * its Status is "not-installed" or "config-files" (files of unpacked or
 * half-configured packages are on disk too); with statusd set, a stanza
 * without a Status field counts as installed (distroless status.d files).
 * Errors: CS_EPARSE naming name and the line (a line that is neither a field
 * nor a continuation, a stanza without Package, a malformed Status); out then
 * holds what was pushed before the error.
 */
int cs_pkgdb_parse_dpkg(struct cs_strvec *out, const char *data, size_t len, const char *name,
			int statusd);

/*
 * Parse an apk installed database and push each package name (the P: lines).
 * Errors: CS_EPARSE (a line that is not "X:value", a stanza without P:).
 */
int cs_pkgdb_parse_apk(struct cs_strvec *out, const char *data, size_t len, const char *name);

/* Dispatch on kind (DPKG, DPKG_STATUSD, APK); CS_EINVAL for the others. */
int cs_pkgdb_parse(struct cs_strvec *out, enum cs_pkgdb_kind kind, const char *data, size_t len,
		   const char *name);

#endif
