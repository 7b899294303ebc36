/*
 * Image layer tars, read as the validator reads a `docker save` stream.
 * The first byte picks the mode:
 *   even: the rest is the top layer tar of a two-layer image; the harness
 *         wraps it, with a fixed base layer (files, directories, a symlink,
 *         a hard link, dpkg and apk databases) and a manifest.json, into a
 *         docker save tar built in memory with libarchive. The top layer
 *         may hold whiteouts, opaque markers, odd paths, links, huge or
 *         broken headers, compressed data.
 *   odd:  the rest is the whole docker save stream.
 * The stream is handed to cs_imagefs_read_fd through a memfd.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "imagefs.h"
#include "strvec.h"

static struct cs_buf base_layer = CS_BUF_INIT;
static const char manifest[] = "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"fuzz:latest\"],"
			       "\"Layers\":[\"base/layer.tar\",\"top/layer.tar\"]}]";

/* Write data into a growing buffer (archive_write_open with callbacks). */
static la_ssize_t
mem_write(struct archive *a, void *payload, const void *buf, size_t n)
{
	(void)a;
	cs_buf_add(payload, buf, n);
	return (la_ssize_t)n;
}

static void
add_entry(struct archive *a, const char *path, int type, const char *link, const void *data,
	  size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	if (type == 'h') {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, link);
	} else {
		archive_entry_set_filetype(e, (unsigned)type);
		if (type == AE_IFLNK)
			archive_entry_set_symlink(e, link);
		if (type == AE_IFREG)
			archive_entry_set_size(e, (la_int64_t)len);
	}
	FZ_CHECK(archive_write_header(a, e) == ARCHIVE_OK);
	if (type == AE_IFREG && len > 0)
		FZ_CHECK(archive_write_data(a, data, len) == (la_ssize_t)len);
	archive_entry_free(e);
}

static struct archive *
tar_new(struct cs_buf *out)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	FZ_CHECK(archive_write_open(a, out, NULL, mem_write, NULL) == ARCHIVE_OK);
	return a;
}

static void
tar_end(struct archive *a)
{
	FZ_CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char dpkg[] = "Package: bash\nStatus: install ok installed\n\n"
				   "Package: netcat\nStatus: install ok installed\n";
	static const char apk[] = "P:busybox\nV:1.36\n\nP:curl\n";
	struct archive *a;

	(void)argc;
	(void)argv;
	fz_quiet();
	cs_buf_init(&base_layer, 0);
	a = tar_new(&base_layer);
	add_entry(a, "bin/", AE_IFDIR, NULL, NULL, 0);
	add_entry(a, "bin/sh", AE_IFREG, NULL, "x", 1);
	add_entry(a, "bin/nc", AE_IFREG, NULL, "x", 1);
	add_entry(a, "bin/bash", 'h', "bin/sh", NULL, 0);
	add_entry(a, "usr/bin/python", AE_IFLNK, "python3", NULL, 0);
	add_entry(a, "etc/", AE_IFDIR, NULL, NULL, 0);
	add_entry(a, "etc/passwd", AE_IFREG, NULL, "root:x:0:0::/root:/bin/sh\n", 26);
	add_entry(a, "var/lib/dpkg/status", AE_IFREG, NULL, dpkg, sizeof(dpkg) - 1);
	add_entry(a, "lib/apk/db/installed", AE_IFREG, NULL, apk, sizeof(apk) - 1);
	tar_end(a);
	return 0;
}

static void
wrap(struct cs_buf *out, const uint8_t *top, size_t len)
{
	struct archive *a = tar_new(out);

	add_entry(a, "base/", AE_IFDIR, NULL, NULL, 0);
	add_entry(a, "base/layer.tar", AE_IFREG, NULL, base_layer.buf, base_layer.len);
	add_entry(a, "top/", AE_IFDIR, NULL, NULL, 0);
	add_entry(a, "top/layer.tar", AE_IFREG, NULL, top, len);
	add_entry(a, "manifest.json", AE_IFREG, NULL, manifest, sizeof(manifest) - 1);
	tar_end(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_buf stream = CS_BUF_INIT, path = CS_BUF_INIT;
	struct cs_imagefs *fs = NULL;
	size_t i, n;
	int fd, rc;

	if (size == 0)
		return 0;
	cs_buf_init(&stream, 0);
	if (data[0] % 2 == 0)
		wrap(&stream, data + 1, size - 1);
	else
		cs_buf_add(&stream, data + 1, size - 1);
	fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, stream.buf, stream.len) == (ssize_t)stream.len);
	FZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	rc = cs_imagefs_read_fd(&fs, fd, "fuzz.tar", data[0] % 4 == 1 ? "fuzz" : NULL, NULL);
	close(fd);
	FZ_CHECK((rc == 0) == (fs != NULL));
	if (rc == 0) {
		n = cs_imagefs_nfiles(fs);
		for (i = 0; i < n; i++) {
			cs_imagefs_file(&path, fs, i);
			FZ_CHECK(path.len > 1 && path.buf[0] == '/');
			FZ_CHECK(cs_imagefs_exists(fs, path.buf));
		}
		FZ_CHECK(cs_imagefs_packages(fs) != NULL && cs_imagefs_pkgdbs(fs) != NULL);
		(void)cs_imagefs_image_id(fs);
		(void)cs_imagefs_repo_tag(fs);
		(void)cs_imagefs_exists(fs, "/bin/sh");
		FZ_CHECK(data[0] % 2 || cs_imagefs_nlayers(fs) == 2);
	}
	cs_imagefs_free(fs);
	cs_buf_release(&stream);
	cs_buf_release(&path);
	return 0;
}
