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
#include <stdint.h>

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

/* ---- layers on their own: recorded, encoded for the cache, merged ---- */

/*
 * What one layer holds, as far as the static check is concerned: its paths
 * (directories and other entries), whiteouts and opaque directories, its
 * package databases (parsed package names, or the parse error), and the
 * count of entries skipped for an unsafe path. It depends only on the
 * layer's content, so it can be kept by DiffID (see layercache.h).
 */
struct cs_imagefs_layer;

enum cs_imagefs_type {
	CS_IMAGEFS_DIR,	  /* a directory */
	CS_IMAGEFS_REG,	  /* a regular file whose content rd can read */
	CS_IMAGEFS_OTHER, /* anything else: symlink, hard link, device, fifo */
};

/* Reads up to size bytes into buf; returns the count, 0 at the end, -1 (cs_err set) on error. */
typedef long (*cs_imagefs_read_fn)(void *buf, size_t size, void *payload);

/* A new, empty layer (cs_imagefs_layer_free). */
struct cs_imagefs_layer *cs_imagefs_layer_new(void);
/* Accepts NULL. */
void cs_imagefs_layer_free(struct cs_imagefs_layer *l);

/*
 * Record one entry named as in a layer tar ("./usr/bin/x", "a/.wh.b",
 * "a/.wh..wh..opq"): the same cleaning and whiteout rules as the archive
 * reader. For a package database (cs_pkgdb_kind) of type CS_IMAGEFS_REG,
 * rd(payload) is called to read its size bytes. Errors: CS_EPARSE when rd
 * fails (the layer cannot be trusted any more); a database that is too large
 * or does not parse is recorded and reported only if it is visible.
 */
int cs_imagefs_layer_add(struct cs_imagefs_layer *l, const char *name, enum cs_imagefs_type type,
			 int64_t size, cs_imagefs_read_fn rd, void *payload);

/*
 * Read one layer tar (plain or compressed) from fd (not closed), e.g. a
 * registry blob. *diff_id is set to "sha256:<hex>" of the uncompressed
 * stream (the layer's DiffID; caller frees) so the caller can check it.
 * Errors: CS_EPARSE (not a tar, truncated), CS_EINTR.
 */
int cs_imagefs_layer_read_fd(struct cs_imagefs_layer **out, char **diff_id, int fd,
			     const char *name, volatile sig_atomic_t *interrupted);

/*
 * Append a self-contained binary encoding of l to out (no checksum: the
 * cache adds one). Errors: CS_EINVAL for a layer that could not be read.
 */
int cs_imagefs_layer_encode(struct cs_buf *out, const struct cs_imagefs_layer *l);
/* Decode what cs_imagefs_layer_encode wrote. Errors: CS_EPARSE for any inconsistency. */
int cs_imagefs_layer_decode(struct cs_imagefs_layer **out, const void *data, size_t len);

/*
 * The merged filesystem of layers (bottom first; borrowed, may repeat) with
 * the whiteout rules. image id and tag are "". Errors: CS_EPARSE (a visible
 * package database that cannot be read, an rpm database).
 */
int cs_imagefs_merge(struct cs_imagefs **out, struct cs_imagefs_layer *const *layers, size_t nr);

/*
 * Like cs_imagefs_read_fd, but the layers are kept: cs_imagefs_kept(fs, i)
 * is the i-th layer of the manifest, bottom first (borrowed, valid until
 * cs_imagefs_free), for i < cs_imagefs_kept_nr(fs).
 */
int cs_imagefs_read_fd_keep(struct cs_imagefs **out, int fd, const char *name, const char *ref,
			    volatile sig_atomic_t *interrupted);
size_t cs_imagefs_kept_nr(const struct cs_imagefs *fs);
const struct cs_imagefs_layer *cs_imagefs_kept(const struct cs_imagefs *fs, size_t i);

#endif
