/*
 * Builds a small upstream with the git CLI (spawned, no shell): a submodule
 * repository, and a main repository with two commits on main, a branch
 * "feature" with its own commit, an annotated tag v1.0 and the submodule.
 */
#include <ftw.h>
#include <git2.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "gitsrc.h"
#include "log.h"
#include "xalloc.h"
#include "tests/unit/test.h"

extern char **environ;

/*
 * LeakSanitizer: libgit2 1.5.1 (Debian 12) leaks the pcre2 match data of its
 * config regex iterator (git_remote_create, git_remote_lookup,
 * git_submodule_foreach), fixed upstream after 1.5 by libgit2 pull request
 * #6382. The fast unwinder stops inside libpcre2 (no frame pointers), so the
 * suppression names the library; we never call pcre2 ourselves, so it hides
 * no leak of ours. Unused without -fsanitize.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}

const char *__lsan_default_options(void);
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

static char tmpdir[] = "/tmp/cs-test-gitsrc-XXXXXX";
static char c1[41], c2[41], cf[41]; /* main~1 (tag v1.0), main, feature */
static char cu[41];		    /* a commit only refs/pull/1/head reaches */
static char *src_path, *file_url;
static int wt_seq;

/* Run git with the given arguments (NULL-terminated); abort on failure. */
static void
git(const char *arg, ...)
{
	const char *argv[32];
	va_list ap;
	pid_t pid;
	int n = 0, st;

	argv[n++] = "git";
	argv[n++] = arg;
	va_start(ap, arg);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (posix_spawnp(&pid, "git", NULL, NULL, (char *const *)argv, environ) != 0 ||
	    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "git %s ... failed\n", arg);
		abort();
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		abort();
	}
	fputs(text, f);
	fclose(f);
}

static void
rev(char out[41], const char *repo_path, const char *spec)
{
	git_repository *r = NULL;
	git_object *o = NULL;

	if (git_repository_open(&r, repo_path) < 0 || git_revparse_single(&o, r, spec) < 0) {
		fprintf(stderr, "rev %s: %s\n", spec, git_error_last()->message);
		abort();
	}
	git_oid_tostr(out, 41, git_object_id(o));
	git_object_free(o);
	git_repository_free(r);
}

static void
setup_upstream(void)
{
	char *sub = cs_xasprintf("%s/sub", tmpdir), *p;
	char *deep = cs_xasprintf("%s/deep", tmpdir);

	src_path = cs_xasprintf("%s/src", tmpdir);
	file_url = cs_xasprintf("file://%s", src_path);

	git("init", "-q", "-b", "main", sub, NULL);
	p = cs_xasprintf("%s/subfile.txt", sub);
	write_file(p, "from the submodule\n");
	free(p);
	git("init", "-q", "-b", "main", deep, NULL);
	p = cs_xasprintf("%s/deepfile.txt", deep);
	write_file(p, "two levels down\n");
	free(p);
	git("-C", deep, "add", "deepfile.txt", NULL);
	git("-C", deep, "commit", "-q", "-m", "deep", NULL);
	git("-C", sub, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", deep,
	    "deep", NULL);
	git("-C", sub, "add", "subfile.txt", NULL);
	git("-C", sub, "commit", "-q", "-m", "sub", NULL);

	git("init", "-q", "-b", "main", src_path, NULL);
	p = cs_xasprintf("%s/README", src_path);
	write_file(p, "one\n");
	git("-C", src_path, "add", "README", NULL);
	setenv("GIT_COMMITTER_DATE", "1700000000 +0000", 1);
	git("-C", src_path, "commit", "-q", "-m", "first", NULL);
	git("-C", src_path, "tag", "-a", "v1.0", "-m", "release 1.0", NULL);

	git("-C", src_path, "checkout", "-q", "-b", "feature", NULL);
	free(p);
	p = cs_xasprintf("%s/feature.txt", src_path);
	write_file(p, "feature\n");
	git("-C", src_path, "add", "feature.txt", NULL);
	setenv("GIT_COMMITTER_DATE", "1700000050 +0000", 1);
	git("-C", src_path, "commit", "-q", "-m", "feature", NULL);
	git("-C", src_path, "checkout", "-q", "main", NULL);

	free(p);
	p = cs_xasprintf("%s/README", src_path);
	write_file(p, "two\n");
	git("-C", src_path, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", sub,
	    "sub", NULL);
	git("-C", src_path, "add", "README", NULL);
	setenv("GIT_COMMITTER_DATE", "1700000100 +0000", 1);
	git("-C", src_path, "commit", "-q", "-m", "second, with a submodule", NULL);
	unsetenv("GIT_COMMITTER_DATE");

	git("-C", src_path, "checkout", "-q", "-b", "gone", NULL);
	git("-C", src_path, "commit", "-q", "--allow-empty", "-m", "unreachable", NULL);
	rev(cu, src_path, "gone");
	git("-C", src_path, "checkout", "-q", "main", NULL);
	/* like a pull request head: advertised, but not under refs/heads or refs/tags */
	git("-C", src_path, "update-ref", "refs/pull/1/head", "gone", NULL);
	git("-C", src_path, "branch", "-q", "-D", "gone", NULL);
	free(p);
	free(sub);
	free(deep);

	rev(c1, src_path, "v1.0^{commit}");
	rev(c2, src_path, "main");
	rev(cf, src_path, "feature");
}

static char *
new_workdir(void)
{
	return cs_xasprintf("%s/wt%d", tmpdir, ++wt_seq);
}

/* Contents of workdir/name (first line), or "" when it does not exist. */
static const char *
file_text(const char *workdir, const char *name)
{
	static char line[256];
	char *p = cs_xasprintf("%s/%s", workdir, name);
	FILE *f = fopen(p, "r");

	line[0] = '\0';
	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	free(p);
	return line;
}

/* Check out; print the error when the outcome differs from want (0 or an error code). */
static int
checkout(struct cs_gitsrc_result *res, const char *url, const char *ref, const char *workdir,
	 int want)
{
	struct cs_gitsrc_opts o = {.url = url, .ref = ref, .workdir = workdir};
	int rc = cs_gitsrc_checkout(res, &o);

	if (rc != want)
		fprintf(stderr, "  checkout %s: %s\n", ref ? ref : "(HEAD)",
			rc < 0 ? cs_err_msg() : "succeeded");
	return rc;
}

static void
test_gitsrc__default_head_with_submodule(void)
{
	struct cs_gitsrc_result res;
	char *wd = new_workdir();

	T_ASSERT_INT(checkout(&res, file_url, NULL, wd, 0), 0);
	T_ASSERT_STR(res.commit, c2);
	T_ASSERT(strncmp(res.short_commit, c2, 7) == 0 && strlen(res.short_commit) == 7);
	T_ASSERT_INT(res.commit_time, 1700000100);
	T_ASSERT_STR(res.source_url, file_url);
	T_ASSERT_STR(file_text(wd, "README"), "two\n");
	T_ASSERT_STR(file_text(wd, "sub/subfile.txt"), "from the submodule\n");
	T_ASSERT_STR(file_text(wd, "sub/deep/deepfile.txt"), "two levels down\n");
	cs_gitsrc_result_release(&res);
	cs_gitsrc_result_release(&res);
	free(wd);
}

static void
test_gitsrc__branch(void)
{
	struct cs_gitsrc_result res;
	char *wd = new_workdir();

	T_ASSERT_INT(checkout(&res, src_path, "feature", wd, 0), 0); /* a local path */
	T_ASSERT_STR(res.commit, cf);
	T_ASSERT_INT(res.commit_time, 1700000050);
	T_ASSERT_STR(file_text(wd, "feature.txt"), "feature\n");
	T_ASSERT_STR(file_text(wd, "README"), "one\n");
	T_ASSERT_STR(file_text(wd, "sub/subfile.txt"), "");
	cs_gitsrc_result_release(&res);
	free(wd);

	wd = new_workdir();
	T_ASSERT_INT(checkout(&res, file_url, "refs/heads/feature", wd, 0), 0);
	T_ASSERT_STR(res.commit, cf);
	cs_gitsrc_result_release(&res);
	free(wd);
}

static void
test_gitsrc__annotated_tag(void)
{
	struct cs_gitsrc_result res;
	char *wd = new_workdir();

	T_ASSERT_INT(checkout(&res, file_url, "v1.0", wd, 0), 0);
	T_ASSERT_STR(res.commit, c1); /* peeled to the commit */
	T_ASSERT_INT(res.commit_time, 1700000000);
	T_ASSERT_STR(file_text(wd, "README"), "one\n");
	cs_gitsrc_result_release(&res);
	free(wd);
}

static void
test_gitsrc__full_and_short_sha(void)
{
	struct cs_gitsrc_result res;
	char shortsha[8];
	char *wd = new_workdir();

	T_ASSERT_INT(checkout(&res, file_url, c1, wd, 0), 0);
	T_ASSERT_STR(res.commit, c1);
	cs_gitsrc_result_release(&res);
	free(wd);

	memcpy(shortsha, cf, 7);
	shortsha[7] = '\0';
	wd = new_workdir();
	T_ASSERT_INT(checkout(&res, file_url, shortsha, wd, 0), 0);
	T_ASSERT_STR(res.commit, cf);
	T_ASSERT_STR(file_text(wd, "feature.txt"), "feature\n");
	cs_gitsrc_result_release(&res);
	free(wd);
}

static void
test_gitsrc__sha_outside_branches_is_fetched(void)
{
	struct cs_gitsrc_result res;
	char *wd = new_workdir();

	T_ASSERT_INT(checkout(&res, file_url, cu, wd, 0), 0);
	T_ASSERT_STR(res.commit, cu);
	cs_gitsrc_result_release(&res);
	free(wd);
}

static void
test_gitsrc__bad_ref_names_ref_and_url(void)
{
	struct cs_gitsrc_result res;
	char *wd = new_workdir(), *want;

	T_ASSERT_INT(checkout(&res, file_url, "nope", wd, CS_EGIT), CS_EGIT);
	want = cs_xasprintf("ref 'nope' not found in '%s'", file_url);
	T_ASSERT_STR(cs_err_msg(), want);
	T_ASSERT(res.source_url == NULL);
	free(want);
	free(wd);

	wd = new_workdir();
	T_ASSERT_INT(
	    checkout(&res, file_url, "0000000000000000000000000000000000000000", wd, CS_EGIT),
	    CS_EGIT);
	T_ASSERT(strstr(cs_err_msg(), "not found") != NULL);
	free(wd);
}

static void
test_gitsrc__broken_submodule_is_named(void)
{
	struct cs_gitsrc_result res;
	char *gone = cs_xasprintf("%s/gone", tmpdir), *up = cs_xasprintf("%s/broken", tmpdir);
	char *wd = new_workdir(), *p;

	git("init", "-q", "-b", "main", gone, NULL);
	git("-C", gone, "commit", "-q", "--allow-empty", "-m", "x", NULL);
	git("init", "-q", "-b", "main", up, NULL);
	git("-C", up, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", gone,
	    "lost", NULL);
	git("-C", up, "commit", "-q", "-m", "with a submodule that will disappear", NULL);
	p = cs_xasprintf("%s/.git", gone);
	nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(p);

	T_ASSERT_INT(checkout(&res, up, NULL, wd, CS_EGIT), CS_EGIT);
	T_ASSERT(strstr(cs_err_msg(), "submodule 'lost'") != NULL);
	T_ASSERT(strstr(cs_err_msg(), gone) != NULL);
	free(gone);
	free(up);
	free(wd);
}

static void
test_gitsrc__bad_url_and_busy_workdir(void)
{
	struct cs_gitsrc_result res;
	char *wd = new_workdir(), *url;

	url = cs_xasprintf("file://%s/does-not-exist", tmpdir);
	T_ASSERT_INT(checkout(&res, url, NULL, wd, CS_EGIT), CS_EGIT);
	T_ASSERT(strstr(cs_err_msg(), url) != NULL);
	free(url);
	free(wd);

	/* the work directory must be new or empty */
	wd = new_workdir();
	mkdir(wd, 0700);
	url = cs_xasprintf("%s/x", wd);
	write_file(url, "x");
	T_ASSERT_INT(checkout(&res, file_url, NULL, wd, CS_EGIT), CS_EGIT);
	free(url);
	free(wd);
}

static void
test_gitsrc__cancel_and_token_file(void)
{
	volatile sig_atomic_t stop = 1;
	struct cs_gitsrc_opts o = {.url = file_url, .cancel = &stop};
	struct cs_gitsrc_result res;
	char *wd = new_workdir(), *tok;

	o.workdir = wd;
	T_ASSERT_INT(cs_gitsrc_checkout(&res, &o), CS_EINTR);
	o.cancel = NULL;

	o.token_file = "/nonexistent/token";
	T_ASSERT_INT(cs_gitsrc_checkout(&res, &o), CS_EIO);
	T_ASSERT(strstr(cs_err_msg(), "/nonexistent/token") != NULL);

	/* a token is read, trimmed and registered as a secret; a file:// clone ignores it */
	tok = cs_xasprintf("%s/token", tmpdir);
	write_file(tok, "  tok-canary-123\n");
	o.token_file = tok;
	T_ASSERT_INT(cs_gitsrc_checkout(&res, &o), 0);
	{
		char line[] = "Authorization: tok-canary-123";

		cs_log_mask(line);
		T_ASSERT_STR(line, "Authorization: **************");
	}
	cs_gitsrc_result_release(&res);
	write_file(tok, " \n");
	free(wd);
	wd = new_workdir();
	o.workdir = wd;
	T_ASSERT_INT(cs_gitsrc_checkout(&res, &o), CS_EINVAL);
	unlink(tok);
	free(tok);
	free(wd);
}

static void
test_gitsrc__redact_url(void)
{
	static const char *const cases[][2] = {
	    {"https://user:pw@host/x.git", "https://host/x.git"},
	    {"https://ghp_token123@github.com/o/r.git", "https://github.com/o/r.git"},
	    {"http://u:p@h:8080/r?x=a@b", "http://h:8080/r?x=a@b"},
	    {"https://host/x.git", "https://host/x.git"},
	    {"ssh://git@host/x", "ssh://git@host/x"},
	    {"ssh://git:secret@host:2222/x", "ssh://git@host:2222/x"},
	    {"git@host:org/x.git", "git@host:org/x.git"},
	    {"file:///tmp/x", "file:///tmp/x"},
	    {"/srv/git/x.git", "/srv/git/x.git"},
	    {"https://a@b:c@host/p@q", "https://host/p@q"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = cs_gitsrc_redact_url(cases[i][0]);

		T_ASSERT_STR(r, cases[i][1]);
		free(r);
	}
}

static void
test_gitsrc__scrub_arg(void)
{
	static const char *const cases[][2] = {
	    {"https://user:pw@host/x.git", "https://user:**@host/x.git"},
	    {"https://ghp_token123@github.com/o/r.git", "https://************@github.com/o/r.git"},
	    {"http://u:p@h:8080/r?x=a@b", "http://u:**************@b"}, /* the loose reading */
	    {"http://u:p/s#s?@h/r.git", "http://u:******@h/r.git"},
	    {"https://host/x.git", "https://host/x.git"},
	    {"ssh://git@host/x", "ssh://git@host/x"},
	    {"ssh://git:secret@host:2222/x", "ssh://git:******@host:2222/x"},
	    {"git@host:org/x.git", "git@host:org/x.git"},
	    {"/srv/git/x.git", "/srv/git/x.git"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *a = strdup(cases[i][0]);

		cs_gitsrc_scrub_arg(a);
		T_ASSERT_STR(a, cases[i][1]);
		free(a);
	}
}

static void
test_gitsrc__url_host(void)
{
	static const char *const cases[][2] = {
	    {"https://u:p@Git.Example.com:8443/x.git", "Git.Example.com:8443"},
	    {"https://host/x@y", "host"},
	    {"ssh://git@host:2222/x", "host:2222"},
	    {"git@github.com:org/x.git", "github.com"},
	    {"github.com:org/x.git", "github.com"},
	    {"file:///tmp/x", ""},
	};
	char *h;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = cs_gitsrc__url_host(cases[i][0]);
		T_ASSERT_STR(h, cases[i][1]);
		free(h);
	}
	T_ASSERT(cs_gitsrc__url_host("/srv/git/x.git") == NULL);
	T_ASSERT(cs_gitsrc__url_host("./a:b/c") == NULL);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int
main(void)
{
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* isolate both git and libgit2 from the user's configuration */
	setenv("HOME", tmpdir, 1);
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_AUTHOR_NAME", "Test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
	setenv("GIT_AUTHOR_DATE", "1700000000 +0000", 1);
	git_libgit2_init();
	setup_upstream();

	T_RUN(test_gitsrc__default_head_with_submodule);
	T_RUN(test_gitsrc__branch);
	T_RUN(test_gitsrc__annotated_tag);
	T_RUN(test_gitsrc__full_and_short_sha);
	T_RUN(test_gitsrc__sha_outside_branches_is_fetched);
	T_RUN(test_gitsrc__bad_ref_names_ref_and_url);
	T_RUN(test_gitsrc__bad_url_and_busy_workdir);
	T_RUN(test_gitsrc__broken_submodule_is_named);
	T_RUN(test_gitsrc__cancel_and_token_file);
	T_RUN(test_gitsrc__redact_url);
	T_RUN(test_gitsrc__scrub_arg);
	T_RUN(test_gitsrc__url_host);
	rc = T_REPORT();

	cs_log_secret_clear();
	git_libgit2_shutdown();
	free(src_path);
	free(file_url);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
