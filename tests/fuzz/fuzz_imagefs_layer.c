/*
 * One image layer as the validator keeps it (lib/imagefs layer API, used for
 * registry blobs and the layer cache). The first byte picks the input:
 *   even: a layer tar (plain or compressed), read with
 *         cs_imagefs_layer_read_fd through a memfd;
 *   odd:  the layer cache's encoding of a layer, given to
 *         cs_imagefs_layer_decode (a cache file can be damaged).
 * A layer that loads must survive encode -> decode -> encode unchanged and
 * merge into a filesystem.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "imagefs.h"

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
	struct cs_imagefs_layer *l = NULL, *again = NULL;
	struct cs_buf enc = CS_BUF_INIT, enc2 = CS_BUF_INIT;
	struct cs_imagefs *fs = NULL;
	char *diff_id = NULL;
	int fd, rc;

	if (size == 0)
		return 0;
	if (data[0] % 2 == 0) {
		fd = memfd_create("fuzz-layer", MFD_CLOEXEC);
		FZ_CHECK(fd >= 0);
		FZ_CHECK(write(fd, data + 1, size - 1) == (ssize_t)(size - 1));
		FZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
		rc = cs_imagefs_layer_read_fd(&l, &diff_id, fd, "layer.tar", NULL);
		close(fd);
		FZ_CHECK(rc != 0 || (diff_id != NULL && strncmp(diff_id, "sha256:", 7) == 0));
	} else {
		rc = cs_imagefs_layer_decode(&l, data + 1, size - 1);
	}
	if (rc < 0 || l == NULL)
		goto out;
	if (cs_imagefs_layer_encode(&enc, l) < 0)
		goto out; /* a layer that could not be read has no encoding */
	FZ_CHECK(cs_imagefs_layer_decode(&again, enc.buf, enc.len) == 0);
	FZ_CHECK(cs_imagefs_layer_encode(&enc2, again) == 0);
	FZ_CHECK(enc.len == enc2.len && memcmp(enc.buf, enc2.buf, enc.len) == 0);
	if (cs_imagefs_merge(&fs, &again, 1) == 0)
		FZ_CHECK(cs_imagefs_nlayers(fs) == 1);
out:
	cs_imagefs_free(fs);
	cs_imagefs_layer_free(l);
	cs_imagefs_layer_free(again);
	cs_buf_release(&enc);
	cs_buf_release(&enc2);
	free(diff_id);
	return 0;
}
