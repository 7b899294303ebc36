/*
 * overlay2: ChainIDs (image spec), the DiffID -> layer directory mapping of
 * the layer store, and reading a layer directory to the same records as the
 * equivalent layer tar (whiteout devices, opaque xattr, symlinks not followed).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "imagefs.h"
#include "log.h"
#include "overlay2.h"
#include "tests/unit/test.h"

#define ID_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
/* python3: "sha256:" + hashlib.sha256((ID_A + " " + ID_B).encode()).hexdigest() */
#define CHAIN_AB "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"

static const char status[] = "Package: curl\nStatus: install ok installed\n";

static void
rm_rf(const char *dir)
{
	char cmd[512];

	/* test cleanup only; the library never runs a shell */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void
put_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	fputs(content, f);
	fclose(f);
}

static void
test_overlay2__chain_ids(void)
{
	struct cs_buf b = CS_BUF_INIT;

	cs_overlay2_chain_id(&b, "", ID_A);
	T_ASSERT_STR(b.buf, ID_A);
	cs_buf_reset(&b);
	cs_overlay2_chain_id(&b, ID_A, ID_B);
	T_ASSERT_STR(b.buf, CHAIN_AB);
	cs_buf_release(&b);
}

/* mkdir -p root/mid/leaf */
static void
mkdirp(const char *root, const char *mid, const char *leaf)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s%s'", root, mid, leaf);
	T_ASSERT_INT(system(cmd), 0);
}

static void
test_overlay2__diff_ids_map_to_cache_ids(void)
{
	char tmpl[] = "/tmp/cs-ov2-XXXXXX", p[1024];
	const char *root = mkdtemp(tmpl);
	const char *ids[2] = {ID_A, ID_B};
	char **dirs = NULL, *lower, *upper;
	json_t *inspect;

	/* layer A: cache id "c1"; layer B (ChainID CHAIN_AB): "c2" */
	mkdirp(root, "image/overlay2/layerdb/sha256/", ID_A + 7);
	mkdirp(root, "image/overlay2/layerdb/sha256/", CHAIN_AB + 7);
	mkdirp(root, "overlay2/c1", "/diff");
	mkdirp(root, "overlay2/c2", "/diff");
	snprintf(p, sizeof(p), "%s/image/overlay2/layerdb/sha256/%s/cache-id", root, ID_A + 7);
	put_file(p, "c1");
	snprintf(p, sizeof(p), "%s/image/overlay2/layerdb/sha256/%s/diff", root, ID_A + 7);
	put_file(p, ID_A);
	snprintf(p, sizeof(p), "%s/image/overlay2/layerdb/sha256/%s/cache-id", root, CHAIN_AB + 7);
	put_file(p, "c2");
	snprintf(p, sizeof(p), "%s/image/overlay2/layerdb/sha256/%s/diff", root, CHAIN_AB + 7);
	put_file(p, ID_B);
	lower = malloc(1024);
	upper = malloc(1024);
	snprintf(lower, 1024, "%s/overlay2/c1/diff", root);
	snprintf(upper, 1024, "%s/overlay2/c2/diff", root);
	inspect = json_pack("{s:{s:s, s:{s:s, s:s}}}", "GraphDriver", "Name", "overlay2", "Data",
			    "LowerDir", lower, "UpperDir", upper);
	T_ASSERT_INT(cs_overlay2_layer_dirs(&dirs, inspect, ids, 2), 0);
	T_ASSERT_STR(dirs[0], lower);
	T_ASSERT_STR(dirs[1], upper);
	cs_overlay2_dirs_free(dirs, 2);
	dirs = NULL;

	/* the layer store disagrees on B's DiffID: B is not found, A still is */
	snprintf(p, sizeof(p), "%s/image/overlay2/layerdb/sha256/%s/diff", root, CHAIN_AB + 7);
	put_file(p, ID_A);
	T_ASSERT_INT(cs_overlay2_layer_dirs(&dirs, inspect, ids, 2), 0);
	T_ASSERT_STR(dirs[0], lower);
	T_ASSERT(dirs[1] == NULL);
	cs_overlay2_dirs_free(dirs, 2);
	dirs = NULL;

	/* a cache id that would leave the storage directory is refused */
	put_file(p, ID_B);
	snprintf(p, sizeof(p), "%s/image/overlay2/layerdb/sha256/%s/cache-id", root, CHAIN_AB + 7);
	put_file(p, "../c1");
	T_ASSERT_INT(cs_overlay2_layer_dirs(&dirs, inspect, ids, 2), 0);
	T_ASSERT(dirs[1] == NULL);
	cs_overlay2_dirs_free(dirs, 2);
	dirs = NULL;
	json_decref(inspect);

	/* another driver: nothing found */
	inspect = json_pack("{s:{s:s, s:{}}}", "GraphDriver", "Name", "btrfs", "Data");
	T_ASSERT_INT(cs_overlay2_layer_dirs(&dirs, inspect, ids, 2), CS_ENOTFOUND);
	json_decref(inspect);
	free(lower);
	free(upper);
	rm_rf(root);
}

/* The same layer as a tar, the way the engine exports it. */
static int
write_tar(const char *path)
{
	static const char *const dirs[] = {"etc/", "opt/",     "opt/tools/",
					   "var/", "var/lib/", "var/lib/dpkg/"};
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	size_t i;

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, dirs[i]);
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		archive_write_header(a, e);
		archive_entry_free(e);
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, "etc/.wh.shadow");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_write_header(a, e);
	archive_entry_free(e);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "opt/tools/.wh..wh..opq");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_write_header(a, e);
	archive_entry_free(e);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "etc/escape");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_symlink(e, "/etc");
	archive_write_header(a, e);
	archive_entry_free(e);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "var/lib/dpkg/status");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)strlen(status));
	archive_write_header(a, e);
	archive_write_data(a, status, strlen(status));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return 0;
}

static void
dump(struct cs_buf *out, struct cs_imagefs_layer *lower, struct cs_imagefs_layer *l)
{
	struct cs_imagefs_layer *v[2] = {lower, l};
	struct cs_imagefs *fs = NULL;
	struct cs_buf p = CS_BUF_INIT;
	size_t i;

	T_ASSERT_INT(cs_imagefs_merge(&fs, v, 2), 0);
	for (i = 0; i < cs_imagefs_nfiles(fs); i++) {
		cs_imagefs_file(&p, fs, i);
		cs_buf_addf(out, "%s\n", p.buf);
	}
	for (i = 0; i < cs_imagefs_packages(fs)->nr; i++)
		cs_buf_addf(out, "pkg %s\n", cs_imagefs_packages(fs)->v[i]);
	cs_buf_release(&p);
	cs_imagefs_free(fs);
}

static void
test_overlay2__layer_directory_reads_like_its_tar(void)
{
	char tmpl[] = "/tmp/cs-ov2-XXXXXX", p[1024], tarp[1100];
	const char *root = mkdtemp(tmpl);
	struct cs_imagefs_layer *lower = cs_imagefs_layer_new(), *dl = NULL, *tl = NULL;
	struct cs_buf a = CS_BUF_INIT, b = CS_BUF_INIT;
	char *diff_id = NULL;
	int fd;

	/* what lies below: files the upper layer hides */
	cs_imagefs_layer_add(lower, "etc/shadow", CS_IMAGEFS_REG, 0, NULL, NULL);
	cs_imagefs_layer_add(lower, "etc/hosts", CS_IMAGEFS_REG, 0, NULL, NULL);
	cs_imagefs_layer_add(lower, "opt/tools/nmap", CS_IMAGEFS_REG, 0, NULL, NULL);

	mkdirp(root, "layer/etc", "");
	mkdirp(root, "layer/opt/tools", "");
	mkdirp(root, "layer/var/lib/dpkg", "");
	snprintf(p, sizeof(p), "%s/layer/etc/shadow", root);
	T_ASSERT_INT(mknod(p, S_IFCHR | 0600, makedev(0, 0)), 0);
	snprintf(p, sizeof(p), "%s/layer/opt/tools", root);
	T_ASSERT_INT(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
	snprintf(p, sizeof(p), "%s/layer/etc/escape", root);
	T_ASSERT_INT(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/layer/var/lib/dpkg/status", root);
	put_file(p, status);

	snprintf(p, sizeof(p), "%s/layer", root);
	T_ASSERT_INT(cs_overlay2_read_layer(&dl, p, NULL), 0);
	snprintf(tarp, sizeof(tarp), "%s/layer.tar.gz", root);
	T_ASSERT_INT(write_tar(tarp), 0);
	fd = open(tarp, O_RDONLY);
	T_ASSERT_INT(cs_imagefs_layer_read_fd(&tl, &diff_id, fd, "layer.tar.gz", NULL), 0);
	close(fd);
	T_ASSERT(strncmp(diff_id, "sha256:", 7) == 0 && strlen(diff_id) == 71);
	dump(&a, lower, dl);
	dump(&b, lower, tl);
	T_ASSERT_STR(a.buf, b.buf);
	T_ASSERT_STR(a.buf, "/etc/escape\n/etc/hosts\n/var/lib/dpkg/status\npkg curl\n");

	snprintf(p, sizeof(p), "%s/nope", root);
	cs_imagefs_layer_free(dl);
	dl = NULL;
	T_ASSERT_INT(cs_overlay2_read_layer(&dl, p, NULL), CS_EIO);
	/* a symlink as the layer directory itself is not followed either */
	snprintf(p, sizeof(p), "%s/link", root);
	T_ASSERT_INT(symlink("/etc", p), 0);
	T_ASSERT_INT(cs_overlay2_read_layer(&dl, p, NULL), CS_EIO);
	cs_imagefs_layer_free(dl);
	cs_imagefs_layer_free(tl);
	cs_imagefs_layer_free(lower);
	cs_buf_release(&a);
	cs_buf_release(&b);
	free(diff_id);
	rm_rf(root);
}

int
main(void)
{
	cs_log_init("test_overlay2");
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_overlay2__chain_ids);
	T_RUN(test_overlay2__diff_ids_map_to_cache_ids);
	T_RUN(test_overlay2__layer_directory_reads_like_its_tar);
	return T_REPORT();
}
