/*
 * Package databases read from an image's filesystem, without running
 * anything: dpkg (/var/lib/dpkg/status, /var/lib/dpkg/status.d/ *), apk
 * (/lib/apk/db/installed) and, when built with sqlite3 (CS_HAVE_SQLITE3), the
 * rpm sqlite database (rpmdb.sqlite, rpm >= 4.16). The Berkeley DB and ndb rpm
 * databases (Packages, Packages.db) are recognised but not read: the caller
 * must report them as unsupported, never as empty.
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
	CS_PKGDB_RPM_SQLITE,   /* var/lib/rpm/rpmdb.sqlite, usr/lib/sysimage/rpm/rpmdb.sqlite */
	CS_PKGDB_RPM_WAL,      /* rpmdb.sqlite-wal: must be empty (checkpointed) */
	CS_PKGDB_RPM, /* var/lib/rpm/{Packages,Packages.db}, usr/lib/sysimage/rpm/...: unsupported
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

/*
 * Push the name (RPMTAG_NAME) of one rpm header blob, as stored in the
 * Packages table (no magic: be32 index count, be32 data size, index entries,
 * data). Errors: CS_EPARSE for a blob that is truncated or inconsistent.
 */
int cs_pkgdb_parse_rpm_header(struct cs_strvec *out, const void *blob, size_t len,
			      const char *name);

/*
 * Parse an rpm sqlite database (the file's bytes, opened in memory, read only)
 * and push the name of every package in its Packages table. Errors:
 * CS_EPARSE (not an rpm sqlite database, a bad header), CS_EINVAL when built
 * without sqlite3 ("present but not supported").
 */
int cs_pkgdb_parse_rpm_sqlite(struct cs_strvec *out, const char *data, size_t len,
			      const char *name);

/* 1 when rpm sqlite databases can be read (built with sqlite3). */
int cs_pkgdb_rpm_supported(void);

/* Dispatch on kind (DPKG, DPKG_STATUSD, APK, RPM_SQLITE); CS_EINVAL for the others. */
int cs_pkgdb_parse(struct cs_strvec *out, enum cs_pkgdb_kind kind, const char *data, size_t len,
		   const char *name);

#endif
