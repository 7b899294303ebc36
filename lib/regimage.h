/*
 * An image read straight from a registry, never through the engine: the
 * manifest (schema 2 or OCI; from a list or index, the linux entry for this
 * machine's architecture), the config (its digest is the image ID, its
 * rootfs.diff_ids the layers' DiffIDs) and, one at a time, the layer blobs.
 * Every blob is checked against its digest, and a layer's uncompressed
 * content against its DiffID, before anything of it is used.
 */
#ifndef CS_REGIMAGE_H
#define CS_REGIMAGE_H

#include <signal.h>

#include "imagefs.h"
#include "imageref.h"
#include "registry.h"
#include "strvec.h"

struct cs_regimage {
	char *repository;	   /* "team/app" */
	char *image_id;		   /* the config digest, "sha256:..." */
	struct cs_strvec diff_ids; /* bottom first */
	struct cs_strvec blobs;	   /* the layers' blob digests, same order */
	size_t bytes_fetched;	   /* compressed layer bytes downloaded */
};

/* clang-format off */
#define CS_REGIMAGE_INIT { .diff_ids = CS_STRVEC_INIT, .blobs = CS_STRVEC_INIT }
/* clang-format on */

/*
 * Read the manifest and config of ref from r into out (CS_REGIMAGE_INIT).
 * Errors: CS_ENOTFOUND, CS_EAUTH, CS_ENET, CS_EHTTP (registry), CS_EPARSE (a
 * manifest or config that is malformed, does not match its digest, or whose
 * layer count differs from its DiffIDs; a list without a linux entry for
 * this architecture).
 */
int cs_regimage_open(struct cs_regimage *out, struct cs_registry *r, const struct cs_imageref *ref);

/*
 * Download layer i into a temporary file in tmpdir (NULL: $TMPDIR or /tmp;
 * removed at once, only the descriptor is kept), check its digest and DiffID,
 * and read it. Errors: as cs_regimage_open, CS_EIO (temporary file), CS_EINTR.
 */
int cs_regimage_read_layer(struct cs_imagefs_layer **out, struct cs_registry *r,
			   struct cs_regimage *img, size_t i, const char *tmpdir,
			   volatile sig_atomic_t *interrupted);

void cs_regimage_release(struct cs_regimage *img);

#endif
