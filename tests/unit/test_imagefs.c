/* imagefs: docker save archives built here with libarchive, read back and merged. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "imagefs.h"
#include "tests/unit/test.h"

/*
 * Entries: "dir/" a directory, "name>target" a symlink, "name=content" a
 * file with content, else an empty file. Paths are written as given.
 */
static void
tar_add(struct archive *a, const char *spec)
{
	struct archive_entry *e = archive_entry_new();
	const char *eq = strchr(spec, '='), *gt = strchr(spec, '>');
	char path[8192];
	size_t n = eq ? (size_t)(eq - spec) : gt ? (size_t)(gt - spec) : strlen(spec);

	memcpy(path, spec, n);
	path[n] = '\0';
	archive_entry_set_pathname(e, path);
	archive_entry_set_mtime(e, 0, 0);
	if (n > 0 && path[n - 1] == '/') {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
	} else if (gt != NULL) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, gt + 1);
		archive_entry_set_perm(e, 0777);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, eq ? (la_int64_t)strlen(eq + 1) : 0);
	}
	archive_write_header(a, e);
	if (eq != NULL)
		archive_write_data(a, eq + 1, strlen(eq + 1));
	archive_entry_free(e);
}

/* A tar in memory from a NULL-terminated list of specs; gzip when gz. */
static void
make_tar(struct cs_buf *out, const char *const *specs, int gz)
{
	size_t cap = 1 << 20, used = 0;
	struct archive *a = archive_write_new();
	char *mem = malloc(cap);

	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, mem, cap, &used);
	for (; *specs; specs++)
		tar_add(a, *specs);
	archive_write_close(a);
	archive_write_free(a);
	cs_buf_add(out, mem, used);
	free(mem);
}

static void
outer_add(struct archive *a, const char *path, const struct cs_buf *data)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)data->len);
	archive_write_header(a, e);
	archive_write_data(a, data->buf, data->len);
	archive_entry_free(e);
}

/*
 * Write a docker save archive to a temp file: layers[i] (NULL-terminated spec
 * lists, NULL-terminated) as L<i>/layer.tar, manifest first or last.
 */
static char *
make_image(const char *const *const *layers, int manifest_first, int gz)
{
	char *path = strdup("/tmp/cs-test-imagefs-XXXXXX");
	struct cs_buf manifest = CS_BUF_INIT, cfg = CS_BUF_INIT;
	struct archive *a = archive_write_new();
	int fd = mkstemp(path), i;

	cs_buf_adds(&manifest, "[{\"Config\":\"abcdef0123.json\",\"RepoTags\":[\"t/img:1\"],"
			       "\"Layers\":[");
	for (i = 0; layers[i]; i++)
		cs_buf_addf(&manifest, "%s\"L%d/layer.tar\"", i ? "," : "", i);
	cs_buf_adds(&manifest, "]}]");
	cs_buf_adds(&cfg, "{\"config\":{}}");
	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	if (manifest_first)
		outer_add(a, "manifest.json", &manifest);
	outer_add(a, "abcdef0123.json", &cfg);
	/* written top layer first: the stream order must not matter */
	while (i-- > 0) {
		struct cs_buf layer = CS_BUF_INIT;
		char name[32];

		make_tar(&layer, layers[i], gz);
		snprintf(name, sizeof(name), "L%d/layer.tar", i);
		outer_add(a, name, &layer);
		cs_buf_release(&layer);
	}
	if (!manifest_first)
		outer_add(a, "manifest.json", &manifest);
	archive_write_close(a);
	archive_write_free(a);
	close(fd);
	cs_buf_release(&manifest);
	cs_buf_release(&cfg);
	return path;
}

static int
has_file(const struct cs_imagefs *fs, const char *want)
{
	struct cs_buf buf = CS_BUF_INIT;
	size_t i;
	int found = 0;

	for (i = 0; i < cs_imagefs_nfiles(fs) && !found; i++) {
		cs_imagefs_file(&buf, fs, i);
		found = strcmp(buf.buf, want) == 0;
	}
	cs_buf_release(&buf);
	return found;
}

static void
test_imagefs__whiteouts_and_opaque_dirs(void)
{
	static const char *const l0[] = {"bin/",   "bin/sh",  "etc/",	   "etc/passwd",
					 "opt/",   "opt/a/",  "opt/a/old", "tmp/gone=x",
					 "var/x/", "var/x/y", NULL};
	static const char *const l1[] = {"tmp/.wh.gone", "opt/a/.wh..wh..opq", "opt/a/new",
					 "var/.wh.x",	 "bin/nc>busybox",     NULL};
	static const char *const *layers[] = {l0, l1, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 0, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), 0);
	T_ASSERT(has_file(fs, "/bin/sh"));
	T_ASSERT(has_file(fs, "/bin/nc")); /* symlinks are files */
	T_ASSERT(has_file(fs, "/opt/a/new"));
	T_ASSERT(!has_file(fs, "/opt/a/old"));
	T_ASSERT(!has_file(fs, "/tmp/gone"));
	T_ASSERT(!has_file(fs, "/var/x/y"));
	T_ASSERT(!cs_imagefs_exists(fs, "/var/x"));
	T_ASSERT(cs_imagefs_exists(fs, "/opt/a"));
	T_ASSERT_INT(cs_imagefs_nfiles(fs), 4);
	T_ASSERT_INT(cs_imagefs_nlayers(fs), 2);
	T_ASSERT_STR(cs_imagefs_image_id(fs), "sha256:abcdef0123");
	T_ASSERT_STR(cs_imagefs_repo_tag(fs), "t/img:1");
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__readd_after_delete_and_file_over_dir(void)
{
	static const char *const l0[] = {"a/", "a/b", "c/", "c/d", NULL};
	static const char *const l1[] = {".wh.a", "c", NULL}; /* c: a file replaces the dir */
	static const char *const l2[] = {"a/", "a/new", NULL};
	static const char *const *layers[] = {l0, l1, l2, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 1, 1);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, "t/img:1", NULL), 0);
	T_ASSERT(has_file(fs, "/a/new"));
	T_ASSERT(!has_file(fs, "/a/b"));
	T_ASSERT(has_file(fs, "/c"));
	T_ASSERT(!has_file(fs, "/c/d"));
	T_ASSERT_INT(cs_imagefs_nfiles(fs), 2);
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__unsafe_paths_are_skipped(void)
{
	static const char *const l0[] = {"../../etc/evil", "/abs/file",	      "./dot/./x",
					 "ok/../../up",	   "//double//slash", NULL};
	static const char *const *layers[] = {l0, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 0, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), 0);
	T_ASSERT(has_file(fs, "/abs/file"));
	T_ASSERT(has_file(fs, "/dot/x"));
	T_ASSERT(has_file(fs, "/double/slash"));
	T_ASSERT_INT(cs_imagefs_nfiles(fs), 3);
	T_ASSERT_INT(cs_imagefs_unsafe(fs), 2);
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__packages_from_the_top_copy(void)
{
	static const char *const l0[] = {
	    "var/lib/dpkg/status=Package: old\nStatus: install ok installed\n", NULL};
	static const char *const l1[] = {
	    "var/lib/dpkg/status=Package: gcc-12-base\nStatus: install ok installed\n\n"
	    "Package: curl\nStatus: install ok installed\n\nPackage: gone\n"
	    "Status: purge ok not-installed\n",
	    "var/lib/dpkg/status.d/", "var/lib/dpkg/status.d/tzdata=Package: tzdata\n",
	    "lib/apk/db/installed=C:x\nP:musl\nV:1\n\nP:busybox\n", NULL};
	static const char *const *layers[] = {l0, l1, NULL};
	const struct cs_strvec *pkgs;
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 0, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), 0);
	pkgs = cs_imagefs_packages(fs);
	T_ASSERT(cs_strvec_has(pkgs, "gcc-12-base"));
	T_ASSERT(cs_strvec_has(pkgs, "curl"));
	T_ASSERT(cs_strvec_has(pkgs, "tzdata"));
	T_ASSERT(cs_strvec_has(pkgs, "musl"));
	T_ASSERT(cs_strvec_has(pkgs, "busybox"));
	T_ASSERT(!cs_strvec_has(pkgs, "old"));
	T_ASSERT(!cs_strvec_has(pkgs, "gone"));
	T_ASSERT_INT(pkgs->nr, 5);
	T_ASSERT_INT(cs_imagefs_pkgdbs(fs)->nr, 3);
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__bad_package_db_is_an_error(void)
{
	static const char *const l0[] = {"var/lib/dpkg/status=this is not dpkg\n", NULL};
	static const char *const l1[] = {"var/lib/rpm/Packages=bdb", NULL};
	static const char *const l2[] = {"var/lib/rpm/rpmdb.sqlite-wal=pending", NULL};
	static const char *const *bad[] = {l0, NULL}, *const * rpm[] = {l1, NULL};
	static const char *const *wal[] = {l2, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(bad, 0, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "var/lib/dpkg/status") != NULL);
	T_ASSERT(fs == NULL);
	unlink(path);
	free(path);
	path = make_image(rpm, 0, 0);
	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "rpm database '/var/lib/rpm/Packages' present but not "
				      "supported") != NULL);
	unlink(path);
	free(path);
	path = make_image(wal, 0, 0);
	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "write-ahead log") != NULL);
	unlink(path);
	free(path);
}

static void
test_imagefs__deleted_bad_db_is_not_read(void)
{
	static const char *const l0[] = {"var/lib/dpkg/status=garbage\n", NULL};
	static const char *const l1[] = {"var/lib/dpkg/.wh.status", NULL};
	static const char *const *layers[] = {l0, l1, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 0, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), 0);
	T_ASSERT_INT(cs_imagefs_packages(fs)->nr, 0);
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__not_an_archive(void)
{
	struct cs_imagefs *fs = NULL;
	char path[] = "/tmp/cs-test-imagefs-XXXXXX";
	int fd = mkstemp(path);

	T_ASSERT(write(fd, "hello world\n", 12) == 12);
	close(fd);
	T_ASSERT(cs_imagefs_read_file(&fs, path, NULL, NULL) < 0);
	T_ASSERT(fs == NULL);
	unlink(path);
	T_ASSERT_INT(cs_imagefs_read_file(&fs, "/nonexistent/x.tar", NULL, NULL), CS_EIO);
}

static void
test_imagefs__missing_layer_and_wrong_ref(void)
{
	static const char *const l0[] = {"x", NULL};
	static const char *const *layers[] = {l0, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 0, 0);
	struct archive *a;
	struct cs_buf m = CS_BUF_INIT;
	int fd;

	/* a single image is chosen whatever the name asked */
	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, "other", NULL), 0);
	cs_imagefs_free(fs);
	fs = NULL;
	/* a manifest naming a layer that is not there */
	fd = open(path, O_WRONLY | O_TRUNC);
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	cs_buf_adds(&m, "[{\"Config\":\"c.json\",\"Layers\":[\"nope/layer.tar\"]}]");
	outer_add(a, "manifest.json", &m);
	archive_write_close(a);
	archive_write_free(a);
	close(fd);
	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "nope/layer.tar") != NULL);
	cs_buf_release(&m);
	unlink(path);
	free(path);
}

static void
outer_link(struct archive *a, const char *path, const char *target, int hard)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_perm(e, 0644);
	if (hard) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, target);
	} else {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, target);
	}
	archive_write_header(a, e);
	archive_entry_free(e);
}

/*
 * The OCI layout of newer engines: layers and the config under
 * blobs/sha256/, gzip layers, an index.json, the manifest first; a layer
 * listed twice; legacy links from one layer directory to another.
 */
static void
test_imagefs__oci_layout_and_links(void)
{
	static const char *const l0[] = {"bin/", "bin/sh", "usr/bin/curl", NULL};
	static const char *const l1[] = {"usr/bin/.wh.curl", "etc/motd", NULL};
	struct cs_buf m = CS_BUF_INIT, cfg = CS_BUF_INIT, t0 = CS_BUF_INIT, t1 = CS_BUF_INIT;
	char path[] = "/tmp/cs-test-imagefs-XXXXXX";
	struct cs_imagefs *fs = NULL;
	struct archive *a;
	int fd = mkstemp(path);

	make_tar(&t0, l0, 1);
	make_tar(&t1, l1, 0);
	cs_buf_adds(&m,
		    "[{\"Config\":\"blobs/sha256/cfg0\",\"RepoTags\":[\"oci:1\"],"
		    "\"Layers\":[\"blobs/sha256/aaa\",\"blobs/sha256/bbb\",\"blobs/sha256/aaa\","
		    "\"L9/layer.tar\",\"L8/layer.tar\"]}]");
	cs_buf_adds(&cfg, "{\"architecture\":\"amd64\"}");
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	outer_add(a, "manifest.json", &m);
	outer_add(a, "index.json", &cfg);
	outer_add(a, "oci-layout", &cfg);
	outer_add(a, "blobs/sha256/cfg0", &cfg);
	outer_add(a, "blobs/sha256/aaa", &t0);
	outer_add(a, "blobs/sha256/bbb", &t1);
	outer_link(a, "L9/layer.tar", "../blobs/sha256/bbb", 0);
	outer_link(a, "L8/layer.tar", "blobs/sha256/aaa", 1);
	archive_write_close(a);
	archive_write_free(a);
	close(fd);
	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, "oci:1", NULL), 0);
	/* aaa bbb aaa bbb aaa: curl is back from the top copy of aaa */
	T_ASSERT(has_file(fs, "/usr/bin/curl"));
	T_ASSERT(has_file(fs, "/etc/motd"));
	T_ASSERT_INT(cs_imagefs_nfiles(fs), 3);
	T_ASSERT_INT(cs_imagefs_nlayers(fs), 5);
	T_ASSERT_STR(cs_imagefs_image_id(fs), "sha256:cfg0");
	cs_imagefs_free(fs);
	unlink(path);
	cs_buf_release(&m);
	cs_buf_release(&cfg);
	cs_buf_release(&t0);
	cs_buf_release(&t1);
}

static void
test_imagefs__truncated_and_interrupted(void)
{
	static const char *const l0[] = {"a=0123456789", "b", "c", NULL};
	static const char *const *layers[] = {l0, NULL};
	volatile sig_atomic_t stop = 1;
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 1, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, &stop), CS_EINTR);
	T_ASSERT(fs == NULL);
	T_ASSERT(truncate(path, 1536) == 0); /* cut short */
	T_ASSERT(cs_imagefs_read_file(&fs, path, NULL, NULL) < 0);
	T_ASSERT(fs == NULL);
	unlink(path);
	free(path);
}

struct late_stop {
	volatile sig_atomic_t *flag;
	int write_end;
};

static void *
stop_later(void *payload)
{
	struct late_stop *ls = payload;
	struct timespec ts = {0, 200 * 1000 * 1000};

	nanosleep(&ts, NULL);
	*ls->flag = SIGTERM;
	ts.tv_sec = 3; /* without the check the reader would wait for this */
	ts.tv_nsec = 0;
	nanosleep(&ts, NULL);
	close(ls->write_end);
	return NULL;
}

/*
 * A pipe that stalls after half an archive (a FIFO given as --archive, an
 * export that stops): the flag set by a signal handler ends the read at once,
 * although no read() returns EINTR (libarchive's own readers retry those).
 */
static void
test_imagefs__stalled_pipe_is_interrupted(void)
{
	static const char *const l0[] = {"a=0123456789", "b", NULL};
	static const char *const *layers[] = {l0, NULL};
	volatile sig_atomic_t stop = 0;
	struct cs_imagefs *fs = NULL;
	struct late_stop ls = {.flag = &stop};
	char *path = make_image(layers, 1, 0), buf[1024];
	int fds[2], in = open(path, O_RDONLY);
	ssize_t n = read(in, buf, sizeof(buf));
	struct timespec t0, t1;
	pthread_t tid;

	T_ASSERT(n == (ssize_t)sizeof(buf));
	T_ASSERT(pipe(fds) == 0);
	T_ASSERT(write(fds[1], buf, (size_t)n) == n); /* the first 1024 bytes, then nothing */
	ls.write_end = fds[1];
	T_ASSERT(pthread_create(&tid, NULL, stop_later, &ls) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_ASSERT_INT(cs_imagefs_read_fd(&fs, fds[0], "pipe", NULL, &stop), CS_EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	T_ASSERT(fs == NULL);
	T_ASSERT((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 < 1.5);
	pthread_join(tid, NULL);
	close(fds[0]);
	close(in);
	unlink(path);
	free(path);
}

static void
test_imagefs__long_paths_are_kept_whole(void)
{
	static char deep[6000];
	static const char *l0[] = {deep, NULL};
	static const char *const *layers[] = {l0, NULL};
	struct cs_buf want = CS_BUF_INIT;
	struct cs_imagefs *fs = NULL;
	char *path;
	size_t i;

	for (i = 0; i < 2500; i++)
		memcpy(deep + 2 * i, "d/", 2);
	memcpy(deep + 5000, "curl", 5);
	path = make_image(layers, 0, 0);
	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), 0);
	cs_buf_addf(&want, "/%s", deep);
	T_ASSERT(has_file(fs, want.buf));
	cs_buf_release(&want);
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__layer_starting_with_a_brace(void)
{
	static const char *const l0[] = {"{weird}", "bin/sh", NULL};
	static const char *const *layers[] = {l0, NULL};
	struct cs_imagefs *fs = NULL;
	char *path = make_image(layers, 0, 0);

	T_ASSERT_INT(cs_imagefs_read_file(&fs, path, NULL, NULL), 0);
	T_ASSERT(has_file(fs, "/{weird}"));
	T_ASSERT(has_file(fs, "/bin/sh"));
	cs_imagefs_free(fs);
	unlink(path);
	free(path);
}

static void
test_imagefs__clean_path(void)
{
	char a[] = "./usr//bin/./x/", b[] = "/../x", c[] = "./", d[] = "a/..b";

	T_ASSERT_INT(cs_imagefs__clean_path(a), 0);
	T_ASSERT_STR(a, "usr/bin/x");
	T_ASSERT_INT(cs_imagefs__clean_path(b), -1);
	T_ASSERT_INT(cs_imagefs__clean_path(c), -2);
	T_ASSERT_INT(cs_imagefs__clean_path(d), 0);
	T_ASSERT_STR(d, "a/..b");
}

int
main(void)
{
	T_RUN(test_imagefs__whiteouts_and_opaque_dirs);
	T_RUN(test_imagefs__readd_after_delete_and_file_over_dir);
	T_RUN(test_imagefs__unsafe_paths_are_skipped);
	T_RUN(test_imagefs__packages_from_the_top_copy);
	T_RUN(test_imagefs__bad_package_db_is_an_error);
	T_RUN(test_imagefs__deleted_bad_db_is_not_read);
	T_RUN(test_imagefs__not_an_archive);
	T_RUN(test_imagefs__missing_layer_and_wrong_ref);
	T_RUN(test_imagefs__oci_layout_and_links);
	T_RUN(test_imagefs__truncated_and_interrupted);
	T_RUN(test_imagefs__stalled_pipe_is_interrupted);
	T_RUN(test_imagefs__long_paths_are_kept_whole);
	T_RUN(test_imagefs__layer_starting_with_a_brace);
	T_RUN(test_imagefs__clean_path);
	return T_REPORT();
}
