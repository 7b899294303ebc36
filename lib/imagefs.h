/*
 * The merged filesystem of an image, read statically from a `docker save`
 * stream (a tarball with manifest.json and one tar per layer: <id>/layer.tar,
 * or blobs/sha256/<digest> in the OCI layout; layers may be gzip, xz, zstd).
 *
 * The stream is read once, sequentially; each layer tar is read from the
 * outer entry's data as a nested archive. Because manifest.json may come after
 * the layers, each layer's paths, whiteouts, opaque directories and package
 * databases are recorded under the layer's path in the archive, and the layers
 * are merged in manifest order at the end (OCI whiteout rules: ".wh.NAME"
 * deletes NAME in lower layers, ".wh..wh..opq" empties its directory).
 * Memory: paths and parsed package names only, never file contents.
 * Layer paths are sanitised: leading "./" and "/" removed, "." components
 * dropped; paths with ".." components are skipped and counted.
 */
#ifndef CS_IMAGEFS_H
#define CS_IMAGEFS_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "strvec.h"

struct cs_imagefs;

/*
 * Read a docker save stream from fd (not closed) or from the file at path.
 * name is used in messages. ref (may be NULL) picks the image when the
 * archive holds several: an entry of RepoTags (":latest" implied) or an ID
 * prefix. interrupted (may be NULL) is polled: when it becomes non-zero
 * reading stops with CS_EINTR. On success *out is new (cs_imagefs_free).
 * Errors: CS_EIO (cannot open), CS_EPARSE (not a tar, no or bad
 * manifest.json, a layer missing or unreadable, a package database that
 * cannot be parsed, an rpm database, which is not supported), CS_ETOOBIG
 * (manifest or package database over 16 MiB), CS_EINVAL (ref matches
 * nothing, or several images and no ref), CS_EINTR.
 */
int cs_imagefs_read_fd(struct cs_imagefs **out, int fd, const char *name, const char *ref,
		       volatile sig_atomic_t *interrupted);
int cs_imagefs_read_file(struct cs_imagefs **out, const char *path, const char *ref,
			 volatile sig_atomic_t *interrupted);

/* Accepts NULL. */
void cs_imagefs_free(struct cs_imagefs *fs);

/*
 * Number of visible non-directory paths, and path i in byte order, with its
 * leading '/' ("/usr/bin/curl"), reset into out (any length).
 */
size_t cs_imagefs_nfiles(const struct cs_imagefs *fs);
void cs_imagefs_file(struct cs_buf *out, const struct cs_imagefs *fs, size_t i);

/* 1 if path (with or without the leading '/') exists in the merged filesystem. */
int cs_imagefs_exists(const struct cs_imagefs *fs, const char *path);

/* Installed package names from every visible package database (borrowed). */
const struct cs_strvec *cs_imagefs_packages(const struct cs_imagefs *fs);
/* The visible package databases read, e.g. "/var/lib/dpkg/status" (borrowed). */
const struct cs_strvec *cs_imagefs_pkgdbs(const struct cs_imagefs *fs);

/* "sha256:<hex>" from the manifest's Config, or "" (borrowed). */
const char *cs_imagefs_image_id(const struct cs_imagefs *fs);
/* The first RepoTags entry of the chosen image, or "" (borrowed). */
const char *cs_imagefs_repo_tag(const struct cs_imagefs *fs);
/* Number of layers merged, and layer entries skipped for an unsafe path. */
size_t cs_imagefs_nlayers(const struct cs_imagefs *fs);
size_t cs_imagefs_unsafe(const struct cs_imagefs *fs);

/*
 * Normalise a path from a layer in place: strip leading "/" and "./", drop
 * "." components and repeated and trailing slashes. Returns 0, -1 when the
 * path has a ".." component, -2 when it is empty (the root) after normalising.
 */
int cs_imagefs__clean_path(char *path);

#endif
