/* layercache: round trip, corrupt and truncated entries, LRU eviction, unusable directories. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "imagefs.h"
#include "layercache.h"
#include "log.h"
#include "tests/unit/test.h"

#define ID_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char status[] = "Package: curl\nStatus: install ok installed\n\n"
			     "Package: old\nStatus: deinstall ok config-files\n";

struct mem {
	const char *p;
	size_t left;
};

static long
mem_read(void *buf, size_t size, void *payload)
{
	struct mem *m = payload;
	size_t n = size < m->left ? size : m->left;

	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (long)n;
}

static struct cs_imagefs_layer *
sample_layer(const char *extra)
{
	struct cs_imagefs_layer *l = cs_imagefs_layer_new();
	struct mem m = {status, sizeof(status) - 1};

	cs_imagefs_layer_add(l, "./usr/", CS_IMAGEFS_DIR, 0, NULL, NULL);
	cs_imagefs_layer_add(l, "./usr/bin/curl", CS_IMAGEFS_REG, 10, NULL, NULL);
	cs_imagefs_layer_add(l, "etc/.wh.passwd", CS_IMAGEFS_OTHER, 0, NULL, NULL);
	cs_imagefs_layer_add(l, "opt/.wh..wh..opq", CS_IMAGEFS_OTHER, 0, NULL, NULL);
	cs_imagefs_layer_add(l, "../escape", CS_IMAGEFS_REG, 0, NULL, NULL);
	cs_imagefs_layer_add(l, "var/lib/dpkg/status", CS_IMAGEFS_REG, (int64_t)m.left, mem_read,
			     &m);
	if (extra)
		cs_imagefs_layer_add(l, extra, CS_IMAGEFS_REG, 0, NULL, NULL);
	return l;
}

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/cs-layercache-XXXXXX";

	return strdup(mkdtemp(tmpl));
}

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
test_layercache__round_trip_gives_the_same_merge(void)
{
	char *dir = tmpdir();
	struct cs_layercache *c = NULL;
	struct cs_imagefs_layer *l = sample_layer(NULL), *got = NULL;
	struct cs_imagefs *a = NULL, *b = NULL;
	struct cs_buf p1 = CS_BUF_INIT, p2 = CS_BUF_INIT;
	size_t i;

	T_ASSERT_INT(cs_layercache_open(&c, dir, 0), 0);
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_A), CS_ENOTFOUND);
	T_ASSERT_INT(cs_layercache_put(c, ID_A, l), 0);
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_A), 0);
	T_ASSERT_INT(cs_imagefs_merge(&a, &l, 1), 0);
	T_ASSERT_INT(cs_imagefs_merge(&b, &got, 1), 0);
	T_ASSERT_INT(cs_imagefs_nfiles(a), cs_imagefs_nfiles(b));
	T_ASSERT_INT(cs_imagefs_nfiles(a), 2);
	for (i = 0; i < cs_imagefs_nfiles(a); i++) {
		cs_imagefs_file(&p1, a, i);
		cs_imagefs_file(&p2, b, i);
		T_ASSERT_STR(p1.buf, p2.buf);
	}
	T_ASSERT_INT(cs_imagefs_packages(b)->nr, 1);
	T_ASSERT_STR(cs_imagefs_packages(b)->v[0], "curl");
	T_ASSERT_INT(cs_imagefs_unsafe(b), 1);
	cs_imagefs_layer_free(got);
	T_ASSERT_INT(cs_layercache_get(&got, c, "sha256:xyz"), CS_EINVAL);
	T_ASSERT(got == NULL);
	cs_imagefs_free(a);
	cs_imagefs_free(b);
	cs_imagefs_layer_free(l);
	cs_imagefs_layer_free(got);
	cs_layercache_free(c);
	cs_buf_release(&p1);
	cs_buf_release(&p2);
	rm_rf(dir);
	free(dir);
}

/* Damage the entry of id with f, then expect a miss and the entry gone. */
static void
expect_rejected(const char *how)
{
	char *dir = tmpdir();
	struct cs_layercache *c = NULL;
	struct cs_imagefs_layer *l = sample_layer(NULL), *got = NULL;
	struct cs_buf path = CS_BUF_INIT, other = CS_BUF_INIT;
	struct stat st;
	int fd;

	T_ASSERT_INT(cs_layercache_open(&c, dir, 0), 0);
	T_ASSERT_INT(cs_layercache_put(c, ID_A, l), 0);
	cs_layercache_path(&path, c, ID_A);
	T_ASSERT_INT(stat(path.buf, &st), 0);
	if (strcmp(how, "flip") == 0) {
		char b;

		fd = open(path.buf, O_RDWR);
		T_ASSERT(pread(fd, &b, 1, st.st_size / 2) == 1);
		b ^= 0x20;
		T_ASSERT(pwrite(fd, &b, 1, st.st_size / 2) == 1);
		close(fd);
	} else if (strcmp(how, "truncate") == 0) {
		T_ASSERT_INT(truncate(path.buf, st.st_size - 40), 0);
	} else if (strcmp(how, "empty") == 0) {
		T_ASSERT_INT(truncate(path.buf, 0), 0);
	} else if (strcmp(how, "renamed") == 0) {
		cs_layercache_path(&other, c, ID_B);
		T_ASSERT_INT(rename(path.buf, other.buf), 0);
		T_ASSERT_INT(cs_layercache_get(&got, c, ID_B), CS_ENOTFOUND);
		T_ASSERT(access(other.buf, F_OK) != 0);
	}
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_A), CS_ENOTFOUND);
	T_ASSERT(got == NULL);
	T_ASSERT(access(path.buf, F_OK) != 0); /* removed: the caller rebuilds it */
	T_ASSERT_INT(cs_layercache_put(c, ID_A, l), 0);
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_A), 0);
	cs_imagefs_layer_free(got);
	cs_imagefs_layer_free(l);
	cs_layercache_free(c);
	cs_buf_release(&path);
	cs_buf_release(&other);
	rm_rf(dir);
	free(dir);
}

static void
test_layercache__flipped_byte_is_rejected(void)
{
	expect_rejected("flip");
}

static void
test_layercache__truncated_entry_is_rejected(void)
{
	expect_rejected("truncate");
	expect_rejected("empty");
}

static void
test_layercache__entry_under_another_id_is_rejected(void)
{
	expect_rejected("renamed");
}

static void
set_age(struct cs_layercache *c, const char *id, time_t t)
{
	struct cs_buf p = CS_BUF_INIT;
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	cs_layercache_path(&p, c, id);
	utimensat(AT_FDCWD, p.buf, ts, 0);
	cs_buf_release(&p);
}

static void
test_layercache__least_recently_used_is_evicted(void)
{
	char *dir = tmpdir();
	struct cs_layercache *c = NULL;
	struct cs_imagefs_layer *l = sample_layer(NULL), *got = NULL;
	struct cs_buf p = CS_BUF_INIT;
	struct stat st;

	T_ASSERT_INT(cs_layercache_open(&c, dir, 1 << 20), 0);
	T_ASSERT_INT(cs_layercache_put(c, ID_A, l), 0);
	cs_layercache_path(&p, c, ID_A);
	T_ASSERT_INT(stat(p.buf, &st), 0);
	cs_layercache_free(c);
	/* room for two entries */
	T_ASSERT_INT(cs_layercache_open(&c, dir, (uint64_t)st.st_size * 2 + 1), 0);
	T_ASSERT_INT(cs_layercache_put(c, ID_B, l), 0);
	set_age(c, ID_A, 1000);
	set_age(c, ID_B, 2000);
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_A), 0); /* A is now the youngest */
	cs_imagefs_layer_free(got);
	got = NULL;
	T_ASSERT_INT(cs_layercache_put(c, ID_C, l), 0);
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_B), CS_ENOTFOUND);
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_A), 0);
	cs_imagefs_layer_free(got);
	got = NULL;
	T_ASSERT_INT(cs_layercache_get(&got, c, ID_C), 0);
	cs_imagefs_layer_free(got);
	cs_imagefs_layer_free(l);
	cs_layercache_free(c);
	cs_buf_release(&p);
	rm_rf(dir);
	free(dir);
}

static void
test_layercache__unusable_directory_is_an_error(void)
{
	char *dir = tmpdir(), *file = NULL, *sub = NULL;
	struct cs_layercache *c = NULL;
	int fd;

	file = malloc(strlen(dir) + 8);
	snprintf(file, strlen(dir) + 8, "%s/file", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	T_ASSERT_INT(cs_layercache_open(&c, file, 0), CS_EIO);
	T_ASSERT(strstr(cs_err_msg(), file) != NULL);
	sub = malloc(strlen(file) + 8);
	snprintf(sub, strlen(file) + 8, "%s/sub", file);
	T_ASSERT_INT(cs_layercache_open(&c, sub, 0), CS_EIO);
	T_ASSERT_INT(cs_layercache_open(&c, "", 0), CS_EINVAL);
	T_ASSERT(c == NULL);
	free(file);
	free(sub);
	rm_rf(dir);
	free(dir);
}

static void
test_layercache__decode_rejects_escaping_records(void)
{
	struct cs_imagefs_layer *l = sample_layer("a/b"), *got = NULL;
	struct cs_buf enc = CS_BUF_INIT;
	char *p;

	T_ASSERT_INT(cs_imagefs_layer_encode(&enc, l), 0);
	T_ASSERT_INT(cs_imagefs_layer_decode(&got, enc.buf, enc.len), 0);
	cs_imagefs_layer_free(got);
	got = NULL;
	p = memmem(enc.buf, enc.len, "fa/b", 5);
	T_ASSERT(p != NULL);
	memcpy(p + 1, "../", 3); /* "a/b" becomes "../": the path would escape */
	T_ASSERT_INT(cs_imagefs_layer_decode(&got, enc.buf, enc.len), CS_EPARSE);
	T_ASSERT_INT(cs_imagefs_layer_decode(&got, enc.buf, 5), CS_EPARSE);
	T_ASSERT(got == NULL);
	cs_buf_release(&enc);
	cs_imagefs_layer_free(l);
}

static void
test_layercache__default_dir(void)
{
	struct cs_buf b = CS_BUF_INIT;

	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	cs_layercache_default_dir(&b);
	T_ASSERT_STR(b.buf, "/x/cache/caas-devops");
	cs_buf_reset(&b);
	unsetenv("XDG_CACHE_HOME");
	cs_layercache_default_dir(&b);
	T_ASSERT_STR(b.buf, "/var/cache/caas-devops");
	cs_buf_release(&b);
}

int
main(void)
{
	cs_log_init("test_layercache");
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_layercache__round_trip_gives_the_same_merge);
	T_RUN(test_layercache__flipped_byte_is_rejected);
	T_RUN(test_layercache__truncated_entry_is_rejected);
	T_RUN(test_layercache__entry_under_another_id_is_rejected);
	T_RUN(test_layercache__least_recently_used_is_evicted);
	T_RUN(test_layercache__unusable_directory_is_an_error);
	T_RUN(test_layercache__decode_rejects_escaping_records);
	T_RUN(test_layercache__default_dir);
	return T_REPORT();
}
