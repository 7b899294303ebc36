/*
 * A cache of per-layer results (struct cs_imagefs_layer) keyed by the
 * layer's DiffID, in a directory of one file per layer, "<hex>.layer":
 *
 *	"caas-layercache 1\n" "sha256:<hex>\n" <u64 LE payload length> <payload>
 *	<sha256 of everything before it, 32 bytes>
 *
 * Entries are written to a temporary file in the same directory and renamed
 * into place (atomic: a reader sees the old entry, the new one or none).
 * Each read checks the magic, the DiffID, the length, the checksum and the
 * payload's structure: an entry that fails is removed, counted as a miss and
 * rebuilt by the caller, never trusted. A hit sets the entry's mtime, and
 * after each store the least recently used entries are removed until the
 * directory holds at most max_bytes. Several processes may share a cache.
 * The checksum detects corruption, not a deliberate forgery: the directory
 * is created 0700 and must be writable only by the user running the tools.
 */
#ifndef CS_LAYERCACHE_H
#define CS_LAYERCACHE_H

#include <stdint.h>

#include "buf.h"
#include "imagefs.h"

#define CS_LAYERCACHE_DEFAULT_MAX ((uint64_t)1 << 30) /* 1 GiB */

struct cs_layercache;

/*
 * The default directory, appended to out: $XDG_CACHE_HOME/caas-devops when
 * XDG_CACHE_HOME is set (and absolute), else /var/cache/caas-devops.
 */
void cs_layercache_default_dir(struct cs_buf *out);

/*
 * Open the cache in dir (created with its parents, mode 0700), checking that
 * a file can be created in it; max_bytes 0 is CS_LAYERCACHE_DEFAULT_MAX.
 * Errors: CS_EIO (cannot create or write: the message names dir; callers
 * warn and go on without a cache), CS_EINVAL (empty dir).
 */
int cs_layercache_open(struct cs_layercache **out, const char *dir, uint64_t max_bytes);
/* Accepts NULL. */
void cs_layercache_free(struct cs_layercache *c);
/* The directory (borrowed). */
const char *cs_layercache_dir(const struct cs_layercache *c);

/*
 * The layer stored for diff_id ("sha256:<64 hex>"): *out is new
 * (cs_imagefs_layer_free). Errors: CS_ENOTFOUND when there is no valid entry
 * (a corrupt one is logged as a warning and removed), CS_EINVAL for a
 * malformed diff_id.
 */
int cs_layercache_get(struct cs_imagefs_layer **out, struct cs_layercache *c, const char *diff_id);

/*
 * Store l under diff_id, then evict. Errors: CS_EIO (the message names the
 * file; the cache is left as it was), CS_EINVAL (diff_id, or l unreadable).
 */
int cs_layercache_put(struct cs_layercache *c, const char *diff_id,
		      const struct cs_imagefs_layer *l);

/* The path of diff_id's entry, appended to out (tests). */
void cs_layercache_path(struct cs_buf *out, const struct cs_layercache *c, const char *diff_id);

/* 1 if s is "sha256:" and 64 lower-case hex digits. */
int cs_layercache_valid_id(const char *s);

#endif
