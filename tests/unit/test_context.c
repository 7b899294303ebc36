#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "context.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "tests/unit/test.h"

#define MTIME ((time_t)1700000000)

static char tmp[64];	     /* the scratch directory, removed at the end of each test */
static char ctxdir[128];     /* tmp/ctx */
static char outsidedir[128]; /* tmp/outside */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
cleanup(void)
{
	if (tmp[0] != '\0')
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmp[0] = '\0';
}

static void
put(const char *rel, const char *data, size_t len, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		T_FAIL_("cannot write %s", path);
	close(fd);
}

static void
dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (mkdir(path, 0755) < 0)
		T_FAIL_("cannot mkdir %s", path);
}

static void
link_to(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (symlink(target, path) < 0)
		T_FAIL_("cannot symlink %s", path);
}

static const char ignore_text[] = "# build files are excluded but still sent\n"
				  "Dockerfile\n.dockerignore\n*.log\nsecret/\n!secret/keep.txt\n"
				  "build\n**/*.tmp\n";

static char *
pattern_data(size_t n)
{
	char *p = malloc(n);
	size_t i;

	for (i = 0; p != NULL && i < n; i++)
		p[i] = (char)((i * 2654435761u) >> 13);
	return p;
}

#define BIG_LEN ((size_t)200 * 1024 + 123)
#define LONG_NAME                                                                                  \
	"a-directory-name-long-enough-to-need-a-pax-header-0123456789/"                            \
	"and-a-file-name-that-is-also-rather-long-0123456789abcdef.txt"

/* The usual context: see the expected listing in test_context__stream_matches_docker. */
static void
make_tree(void)
{
	char path[512], path2[512];
	char *big = pattern_data(BIG_LEN);

	T_ASSERT(big != NULL);
	snprintf(tmp, sizeof(tmp), "/tmp/cs-test-ctx-XXXXXX");
	T_ASSERT(mkdtemp(tmp) != NULL);
	snprintf(ctxdir, sizeof(ctxdir), "%s/ctx", tmp);
	snprintf(outsidedir, sizeof(outsidedir), "%s/outside", tmp);
	dir("outside");
	put("outside/secret.txt", "outside secret\n", 15, 0644);
	put("outside/Dockerfile.out", "FROM busybox\nRUN true\n", 22, 0644);
	dir("ctx");
	put("ctx/Dockerfile", "FROM scratch\n", 13, 0644);
	put("ctx/.dockerignore", ignore_text, strlen(ignore_text), 0644);
	put("ctx/a.txt", "hello\n", 6, 0644);
	put("ctx/b.log", "log\n", 4, 0644);
	put("ctx/zz.log", "last entry, excluded\n", 21, 0644);
	put("ctx/big.bin", big, BIG_LEN, 0640);
	free(big);
	dir("ctx/bin");
	put("ctx/bin/run.sh", "#!/bin/sh\n", 10, 0755);
	dir("ctx/build");
	put("ctx/build/out.o", "obj", 3, 0644);
	dir("ctx/empty");
	dir("ctx/secret");
	put("ctx/secret/pw", "hunter2", 7, 0600);
	put("ctx/secret/keep.txt", "keep", 4, 0644);
	dir("ctx/sub");
	dir("ctx/sub/deep");
	put("ctx/sub/deep/x.tmp", "t", 1, 0644);
	put("ctx/sub/deep/y.txt", "y", 1, 0644);
	put("ctx/caf\xc3\xa9.txt", "", 0, 0644);
	dir("ctx/a-directory-name-long-enough-to-need-a-pax-header-0123456789");
	put("ctx/" LONG_NAME, "long", 4, 0644);
	link_to("../outside/secret.txt", "ctx/link");
	snprintf(path, sizeof(path), "%s/ctx/a.txt", tmp);
	snprintf(path2, sizeof(path2), "%s/ctx/hard", tmp);
	T_ASSERT(link(path, path2) == 0);
	link_to(outsidedir, "ctx/linkdir");
	snprintf(path, sizeof(path), "%s/ctx/fifo", tmp);
	T_ASSERT(mkfifo(path, 0644) == 0);
}

/* Read the whole stream, cycling through odd read sizes. */
static long
slurp(struct cs_context *ctx, struct cs_buf *tar)
{
	static const size_t sizes[] = {1, 7, 4096, 3, 65536, 13, 100000, 511};
	char *buf = malloc(100000);
	size_t i = 0;
	long n;

	while ((n = cs_context_read(ctx, buf, sizes[i++ % 8])) > 0)
		cs_buf_add(tar, buf, (size_t)n);
	free(buf);
	return n;
}

struct listing {
	struct cs_buf lines;   /* "type perm size name[ -> target]\n" per entry */
	struct cs_buf content; /* the content of the entry named want */
	const char *want;
	int bad_owner, bad_mtime;
};

static void
parse_tar(const struct cs_buf *tar, struct listing *l, time_t mtime)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char buf[8192];
	la_ssize_t n;
	int r;

	archive_read_support_format_tar(a);
	T_ASSERT_INT(archive_read_open_memory(a, tar->buf, tar->len), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);

		if (archive_entry_hardlink(e) != NULL) {
			cs_buf_addf(
			    &l->lines, "h %04o %lld %s -> %s\n", (unsigned)archive_entry_perm(e),
			    (long long)archive_entry_size(e), name, archive_entry_hardlink(e));
			continue;
		}

		cs_buf_addf(&l->lines, "%c %04o %lld %s",
			    type == AE_IFDIR   ? 'd'
			    : type == AE_IFLNK ? 'l'
					       : '-',
			    (unsigned)archive_entry_perm(e), (long long)archive_entry_size(e),
			    name);
		if (type == AE_IFLNK)
			cs_buf_addf(&l->lines, " -> %s", archive_entry_symlink(e));
		cs_buf_addch(&l->lines, '\n');
		if (archive_entry_uid(e) != 0 || archive_entry_gid(e) != 0 ||
		    (archive_entry_uname(e) && *archive_entry_uname(e)) ||
		    (archive_entry_gname(e) && *archive_entry_gname(e)))
			l->bad_owner = 1;
		if (mtime != 0 && archive_entry_mtime(e) != mtime)
			l->bad_mtime = 1;
		if (l->want != NULL && strcmp(name, l->want) == 0)
			while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
				cs_buf_add(&l->content, buf, (size_t)n);
	}
	T_ASSERT_INT(r, ARCHIVE_EOF);
	archive_read_free(a);
}

static void
listing_release(struct listing *l)
{
	cs_buf_release(&l->lines);
	cs_buf_release(&l->content);
}

static const char expected_listing[] =
    "- 0644 %zu .dockerignore\n"
    "- 0644 13 Dockerfile\n"
    "d 0755 0 a-directory-name-long-enough-to-need-a-pax-header-0123456789/\n"
    "- 0644 4 " LONG_NAME "\n"
    "- 0644 6 a.txt\n"
    "- 0640 204923 big.bin\n"
    "d 0755 0 bin/\n"
    "- 0755 10 bin/run.sh\n"
    "- 0644 0 caf\xc3\xa9.txt\n"
    "d 0755 0 empty/\n"
    "h 0644 0 hard -> a.txt\n"
    "l 0777 0 link -> ../outside/secret.txt\n"
    "l 0777 0 linkdir -> %s\n"
    "- 0644 4 secret/keep.txt\n"
    "d 0755 0 sub/\n"
    "d 0755 0 sub/deep/\n"
    "- 0644 1 sub/deep/y.txt\n";

static void
test_context__stream_matches_docker(void)
{
	struct cs_context_opts opts = {.mtime = MTIME};
	struct cs_context *ctx = NULL;
	struct cs_buf tar = CS_BUF_INIT, want = CS_BUF_INIT;
	struct listing l = {.lines = CS_BUF_INIT, .content = CS_BUF_INIT, .want = "big.bin"};
	uint64_t files, bytes;
	char *big;

	make_tree();
	opts.dir = ctxdir;
	cs_log_set_level(CS_LOG_ERROR); /* the fifo warning */
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	cs_context_stats(ctx, &files, &bytes);
	T_ASSERT_INT(files, 10);
	T_ASSERT_INT(bytes, strlen(ignore_text) + 13 + 4 + 6 + BIG_LEN + 10 + 0 + 4 + 1);
	T_ASSERT_STR(cs_context_dockerfile_name(ctx), "Dockerfile");
	T_ASSERT_INT(slurp(ctx, &tar), 0);
	T_ASSERT_INT(cs_context_read(ctx, (char *)&files, 1), 0); /* stays at the end */
	T_ASSERT(cs_context__peak_buffer(ctx) <= CS_CONTEXT_CHUNK + 16 * 1024 + 1);
	cs_context_free(ctx);

	parse_tar(&tar, &l, MTIME);
	cs_buf_addf(&want, expected_listing, strlen(ignore_text), outsidedir);
	T_ASSERT_STR(l.lines.buf, want.buf);
	T_ASSERT(!l.bad_owner);
	T_ASSERT(!l.bad_mtime);
	big = pattern_data(BIG_LEN);
	T_ASSERT_INT(l.content.len, BIG_LEN);
	T_ASSERT(memcmp(l.content.buf, big, BIG_LEN) == 0);
	free(big);
	listing_release(&l);
	cs_buf_release(&want);
	cs_buf_release(&tar);
	cleanup();
}

static void
test_context__same_tree_same_bytes(void)
{
	struct cs_context_opts opts = {.mtime = MTIME};
	struct cs_context *ctx = NULL;
	struct cs_buf one = CS_BUF_INIT, two = CS_BUF_INIT;
	struct listing l = {.lines = CS_BUF_INIT, .content = CS_BUF_INIT};

	make_tree();
	opts.dir = ctxdir;
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	T_ASSERT_INT(slurp(ctx, &one), 0);
	cs_context_free(ctx);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	T_ASSERT_INT(slurp(ctx, &two), 0);
	cs_context_free(ctx);
	T_ASSERT_INT(one.len, two.len);
	T_ASSERT(memcmp(one.buf, two.buf, one.len) == 0);

	/* without opts.mtime, the files' own mtimes */
	opts.mtime = 0;
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_buf_reset(&one);
	T_ASSERT_INT(slurp(ctx, &one), 0);
	cs_context_free(ctx);
	cs_log_set_level(CS_LOG_WARN);
	parse_tar(&one, &l, MTIME);
	T_ASSERT(l.bad_mtime);
	listing_release(&l);
	cs_buf_release(&one);
	cs_buf_release(&two);
	cleanup();
}

static void
test_context__outside_dockerfile_gets_generated_name(void)
{
	struct cs_context_opts opts = {.mtime = MTIME};
	struct cs_context *ctx = NULL;
	struct cs_buf tar = CS_BUF_INIT, path = CS_BUF_INIT, want = CS_BUF_INIT;
	struct listing l = {.lines = CS_BUF_INIT, .content = CS_BUF_INIT};
	const char *name;
	size_t i;

	make_tree();
	cs_buf_addf(&path, "%s/Dockerfile.out", outsidedir);
	opts.dir = ctxdir;
	opts.dockerfile = path.buf;
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	name = cs_context_dockerfile_name(ctx);
	T_ASSERT_INT(strlen(name), 12 + 20);
	T_ASSERT(strncmp(name, ".dockerfile.", 12) == 0);
	for (i = 12; i < 32; i++)
		T_ASSERT(strchr("0123456789abcdef", name[i]) != NULL);
	T_ASSERT_INT(slurp(ctx, &tar), 0);

	l.want = name;
	parse_tar(&tar, &l, MTIME);
	T_ASSERT_STR(l.content.buf, "FROM busybox\nRUN true\n");
	cs_buf_addf(&want, "- 0600 22 %s\n", name);
	T_ASSERT(l.lines.len > want.len);
	T_ASSERT_STR(l.lines.buf + l.lines.len - want.len, want.buf); /* appended last */
	T_ASSERT(strstr(l.lines.buf, " Dockerfile\n") == NULL); /* excluded, not the build file */
	listing_release(&l);

	/* the sent .dockerignore names the generated file, so COPY skips it */
	l = (struct listing){.lines = CS_BUF_INIT, .content = CS_BUF_INIT, .want = ".dockerignore"};
	parse_tar(&tar, &l, MTIME);
	cs_buf_reset(&want);
	cs_buf_addf(&want, "\n%s\n", name);
	T_ASSERT(l.content.len > want.len);
	T_ASSERT_STR(l.content.buf + l.content.len - want.len, want.buf);
	listing_release(&l);
	cs_context_free(ctx);
	cs_buf_release(&tar);

	/* no .dockerignore: one is made */
	cs_buf_reset(&want);
	cs_buf_addf(&want, "%s/.dockerignore", ctxdir);
	T_ASSERT_INT(unlink(want.buf), 0);
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	T_ASSERT_INT(slurp(ctx, &tar), 0);
	l = (struct listing){.lines = CS_BUF_INIT, .content = CS_BUF_INIT, .want = ".dockerignore"};
	parse_tar(&tar, &l, MTIME);
	cs_buf_reset(&want);
	cs_buf_addf(&want, ".dockerignore\n%s\n", cs_context_dockerfile_name(ctx));
	T_ASSERT_STR(l.content.buf, want.buf);
	T_ASSERT(strstr(l.lines.buf, "b.log") != NULL); /* nothing excluded any more */
	listing_release(&l);
	cs_context_free(ctx);
	cs_buf_release(&tar);
	cs_buf_release(&want);
	cs_buf_release(&path);
	cleanup();
}

static void
test_context__dockerfile_in_excluded_dir(void)
{
	struct cs_context_opts opts = {.mtime = MTIME};
	struct cs_context *ctx = NULL;
	struct cs_buf tar = CS_BUF_INIT, path = CS_BUF_INIT;
	struct listing l = {.lines = CS_BUF_INIT, .content = CS_BUF_INIT};

	make_tree();
	dir("ctx/build/docker");
	put("ctx/build/docker/Dockerfile.prod", "FROM scratch\n", 13, 0644);
	put("ctx/build/docker/other", "x", 1, 0644);
	/* through a relative path with "..": the Dockerfile is still inside */
	cs_buf_addf(&path, "%s/sub/../build/docker/Dockerfile.prod", ctxdir);
	opts.dir = ctxdir;
	opts.dockerfile = path.buf;
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	T_ASSERT_STR(cs_context_dockerfile_name(ctx), "build/docker/Dockerfile.prod");
	T_ASSERT_INT(slurp(ctx, &tar), 0);
	cs_context_free(ctx);
	parse_tar(&tar, &l, MTIME);
	T_ASSERT(strstr(l.lines.buf, "- 0644 13 build/docker/Dockerfile.prod\n") != NULL);
	T_ASSERT(strstr(l.lines.buf, " build/\n") == NULL); /* excluded dirs are not sent */
	T_ASSERT(strstr(l.lines.buf, "build/docker/\n") == NULL);
	T_ASSERT(strstr(l.lines.buf, "other") == NULL);
	T_ASSERT(strstr(l.lines.buf, "out.o") == NULL);
	T_ASSERT(strstr(l.lines.buf, " Dockerfile\n") == NULL); /* excluded, not the build file */
	listing_release(&l);
	cs_buf_release(&tar);
	cs_buf_release(&path);
	cleanup();
}

static void
test_context__symlinks_never_lead_outside(void)
{
	struct cs_context_opts opts = {0};
	struct cs_context *ctx = (struct cs_context *)1;
	struct cs_buf path = CS_BUF_INIT;

	make_tree();
	link_to("../outside/Dockerfile.out", "ctx/evil");
	link_to("../outside", "ctx/evildir");
	opts.dir = ctxdir;
	cs_buf_addf(&path, "%s/evil", ctxdir);
	opts.dockerfile = path.buf;
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EINVAL);
	T_ASSERT(ctx == NULL);
	T_ASSERT(strstr(cs_err_msg(), "symbolic link") != NULL);
	cs_buf_reset(&path);
	cs_buf_addf(&path, "%s/evildir/Dockerfile.out", ctxdir);
	opts.dockerfile = path.buf;
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EINVAL);

	/* the default Dockerfile as a symlink out of the context */
	cs_buf_reset(&path);
	cs_buf_addf(&path, "%s/Dockerfile", ctxdir);
	T_ASSERT_INT(unlink(path.buf), 0);
	link_to("../outside/Dockerfile.out", "ctx/Dockerfile");
	opts.dockerfile = NULL;
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EINVAL);

	/* a .dockerignore symlink is refused: it could be read from anywhere */
	cs_buf_reset(&path);
	cs_buf_addf(&path, "%s/Dockerfile", ctxdir);
	T_ASSERT_INT(unlink(path.buf), 0);
	put("ctx/Dockerfile", "FROM scratch\n", 13, 0644);
	cs_buf_reset(&path);
	cs_buf_addf(&path, "%s/.dockerignore", ctxdir);
	T_ASSERT_INT(unlink(path.buf), 0);
	link_to("../outside/secret.txt", "ctx/.dockerignore");
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EINVAL);
	cs_buf_release(&path);
	cleanup();
}

static void
test_context__open_errors(void)
{
	struct cs_context_opts opts = {0};
	struct cs_context *ctx = (struct cs_context *)1;
	struct cs_buf path = CS_BUF_INIT;

	opts.dir = "/nonexistent/cs-test-ctx";
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_ENOTFOUND);
	T_ASSERT(ctx == NULL);
	make_tree();
	opts.dir = ctxdir;
	opts.dockerfile = "/nonexistent/Dockerfile";
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_ENOTFOUND);
	cs_buf_addf(&path, "%s/bin", ctxdir);
	opts.dockerfile = path.buf;
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EINVAL); /* a directory */
	opts.dockerfile = ctxdir;
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EINVAL); /* the context itself */
	cs_buf_reset(&path);
	cs_buf_addf(&path, "%s/../outside/Dockerfile.out", ctxdir); /* ".." is not a symlink */
	opts.dockerfile = path.buf;
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	T_ASSERT(strncmp(cs_context_dockerfile_name(ctx), ".dockerfile.", 12) == 0);
	cs_context_free(ctx);
	opts.dockerfile = NULL;
	put("ctx/.dockerignore", "ok\n[z\n", 6, 0644);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "line 2") != NULL);
	/* lower-case dockerfile, as docker accepts */
	put("ctx/.dockerignore", "", 0, 0644);
	cs_buf_reset(&path);
	cs_buf_addf(&path, "%s/Dockerfile", ctxdir);
	T_ASSERT_INT(unlink(path.buf), 0);
	put("ctx/dockerfile", "FROM scratch\n", 13, 0644);
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	T_ASSERT_STR(cs_context_dockerfile_name(ctx), "dockerfile");
	cs_context_free(ctx);
	cs_context_free(NULL);
	cs_buf_release(&path);
	cleanup();
}

static void
test_context__file_changing_size_is_an_error(void)
{
	struct cs_context_opts opts = {.mtime = MTIME};
	struct cs_context *ctx = NULL;
	struct cs_buf path = CS_BUF_INIT;
	char buf[4096];
	size_t total = 0;
	long n;

	make_tree();
	opts.dir = ctxdir;
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	/* big.bin starts after a few KiB of small entries: stop inside it */
	while (total < 32 * 1024 && (n = cs_context_read(ctx, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	cs_buf_addf(&path, "%s/big.bin", ctxdir);
	T_ASSERT_INT(truncate(path.buf, 1000), 0);
	while ((n = cs_context_read(ctx, buf, sizeof(buf))) > 0)
		;
	T_ASSERT_INT(n, -1);
	T_ASSERT(strstr(cs_err_msg(), "big.bin") != NULL);
	T_ASSERT(strstr(cs_err_msg(), "changed size") != NULL);
	T_ASSERT_INT(cs_context_error(ctx), CS_EIO);
	cs_err_clear();
	T_ASSERT_INT(cs_context_read_cb(buf, sizeof(buf), ctx), -1); /* sticky */
	T_ASSERT(strstr(cs_err_msg(), "changed size") != NULL);
	cs_context_free(ctx);

	/* growing is an error too */
	T_ASSERT_INT(truncate(path.buf, (off_t)BIG_LEN), 0);
	cs_log_set_level(CS_LOG_ERROR);
	T_ASSERT_INT(cs_context_open(&ctx, &opts), 0);
	cs_log_set_level(CS_LOG_WARN);
	total = 0;
	while (total < 32 * 1024 && (n = cs_context_read(ctx, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	T_ASSERT_INT(truncate(path.buf, 1000000), 0);
	while ((n = cs_context_read(ctx, buf, sizeof(buf))) > 0)
		;
	T_ASSERT_INT(n, -1);
	T_ASSERT(strstr(cs_err_msg(), "changed size") != NULL);
	cs_context_free(ctx);
	cs_buf_release(&path);
	cleanup();
}

int
main(void)
{
	cs_http_read_fn fn = cs_context_read_cb; /* usable as a streamed request body */

	(void)fn;
	umask(022);
	cs_log_init("test_context");
	T_RUN(test_context__stream_matches_docker);
	cleanup();
	T_RUN(test_context__same_tree_same_bytes);
	cleanup();
	T_RUN(test_context__outside_dockerfile_gets_generated_name);
	cleanup();
	T_RUN(test_context__dockerfile_in_excluded_dir);
	cleanup();
	T_RUN(test_context__symlinks_never_lead_outside);
	cleanup();
	T_RUN(test_context__open_errors);
	cleanup();
	T_RUN(test_context__file_changing_size_is_an_error);
	cleanup();
	return T_REPORT();
}
