/*
 * Direct, read-only access to the layers of an image in the local engine's
 * overlay2 storage, so the static check does not need the export stream.
 *
 * Mapping a DiffID to its directory (moby layer store, image spec): the
 * ChainID of the bottom layer is its DiffID; ChainID(n) =
 * sha256(ChainID(n-1) + " " + DiffID(n)). The engine keeps
 * <root>/image/overlay2/layerdb/sha256/<chainid-hex>/cache-id (the overlay2
 * directory name) and .../diff (the DiffID, checked here), and the layer's
 * content is <root>/overlay2/<cache-id>/diff. The directory must also be one
 * of the image's GraphDriver.Data (UpperDir, LowerDir): any disagreement
 * and the layer is "not found" (the caller falls back to the export stream).
 *
 * Reading a layer directory translates overlay's whiteouts to the tar form
 * the export stream uses: a 0/0 character device NAME is ".wh.NAME", a
 * directory with the trusted.overlay.opaque="y" xattr gets ".wh..wh..opq".
 * Entries are visited in byte order, symlinks never followed (openat with
 * O_NOFOLLOW from the layer directory's descriptor), nothing is written.
 */
#ifndef CS_OVERLAY2_H
#define CS_OVERLAY2_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>

#include "imagefs.h"

/*
 * The overlay2 directory of each of the nr layers (diff_ids bottom first),
 * from an image inspect (GET /images/{name}/json). *out is a new array of nr
 * strings (malloc; an entry is NULL when that layer was not found, the reason
 * logged at INFO); free with cs_overlay2_dirs_free. Errors: CS_ENOTFOUND when
 * the image is not stored by overlay2 or the storage cannot be read (nothing
 * found at all), CS_EINVAL (a malformed DiffID).
 */
int cs_overlay2_layer_dirs(char ***out, const json_t *inspect, const char *const *diff_ids,
			   size_t nr);
void cs_overlay2_dirs_free(char **dirs, size_t nr);

/*
 * Read the layer directory dir into a new layer record. Errors: CS_EIO
 * (cannot open or read; the message names the path), CS_EINTR.
 */
int cs_overlay2_read_layer(struct cs_imagefs_layer **out, const char *dir,
			   volatile sig_atomic_t *interrupted);

/* "sha256:<hex>" ChainID of parent ("" for the bottom layer) and diff_id, appended to out. */
void cs_overlay2_chain_id(struct cs_buf *out, const char *parent, const char *diff_id);

#endif
