#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dockerignore.h"
#include "err.h"
#include "strvec.h"
#include "tests/unit/test.h"

/* Fixtures copied from the docker sources (see tests/data/dockerignore/SOURCES). */
#define DATA_DIR "tests/data/dockerignore"

struct match_case {
	const char *patterns; /* .dockerignore text */
	const char *path;
	int excluded;
};

static const struct match_case match_cases[] = {
    /* builder reference: the commented example */
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temporary.txt", 1},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temp", 1},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temp/inside", 1},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/subdir/temporary.txt", 1},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "tempa", 1},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "tempb", 1},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "temp", 0},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "tempab", 0},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "temporary.txt", 0},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "a/b/c/temp", 0},
    {"# comment\n*/temp*\n*/*/temp*\ntemp?\n", "# comment", 0},
    /* ** */
    {"**/*.go\n", "main.go", 1},
    {"**/*.go\n", "a/b/c.go", 1},
    {"**/*.go\n", "a/b/c.goo", 0},
    {"a/**/b\n", "a/b", 1},
    {"a/**/b\n", "a/x/y/b", 1},
    {"a/**/b\n", "a/xb", 0},
    {"a/**/b\n", "x/a/b", 0},
    {"**/b\n", "b", 1},
    {"**/b\n", "x/y/b", 1},
    {"**/b\n", "x/yb", 0},
    {"a/**\n", "a/x", 1},
    {"a/**\n", "a/x/y", 1},
    {"a/**\n", "a", 0},
    {"a/**\n", "b/a", 0},
    {"**\n", "anything/at/all", 1},
    {"**/dir4/**\n", "x/dir4/y", 1},
    {"dir1/**/file4\n", "dir1/dir2/dir3/file4", 1},
    {"**/file\\?B\n", "d/file?B", 1},
    {"**/file\\?B\n", "d/fileXB", 0},
    {"**/file?A\n", "d/fileXA", 1},
    /* exceptions: the builder reference's ordering examples */
    {"*.md\n!README.md\n", "CHANGES.md", 1},
    {"*.md\n!README.md\n", "README.md", 0},
    {"*.md\n!README.md\n", "docs/x.md", 0},
    {"*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", 1},
    {"*.md\n!README*.md\nREADME-secret.md\n", "README-a.md", 0},
    {"*.md\n!README*.md\nREADME-secret.md\n", "other.md", 1},
    {"*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md", 0},
    {"*.md\nREADME-secret.md\n!README*.md\n", "other.md", 1},
    {"*\n!keep\n", "keep", 0},
    {"*\n!keep\n", "other", 1},
    {"*\n!keep\n", "keep/sub/file", 0},
    /* exceptions inside excluded directories */
    {"dir\n!dir/keep\n", "dir/keep", 0},
    {"dir\n!dir/keep\n", "dir/keep/deep", 0},
    {"dir\n!dir/keep\n", "dir/other", 1},
    {"dir\n!dir/e*\n!dir/dir/foo\n", "dir/e3", 0},
    {"dir\n!dir/e*\n!dir/dir/foo\n", "dir/dir/foo", 0},
    {"dir\n!dir/e*\n!dir/dir/foo\n", "dir/dir/bar", 1},
    {"**/*.cc\n!**/*.cc\n", "a/b.cc", 0},
    /* leading / and ./, trailing /, . and .. */
    {"/foo/bar\n", "foo/bar", 1},
    {"/foo/bar\n", "x/foo/bar", 0},
    {"/foo/bar\n", "foo", 0},
    {"./baz\n", "baz", 1},
    {"dir/\n", "dir", 1},
    {"dir/\n", "dir/x", 1},
    {"dir/\n", "dirx", 0},
    {"a/../b\n", "b", 1},
    {"./dir1/../foo2\n", "foo2", 1},
    {"dir1//foo\n", "dir1/foo", 1},
    {".\n", "x", 0},
    {"../x\n", "x", 0},
    /* parent directories */
    {"foo\n", "foo/bar/baz", 1},
    {"foo/bar\n", "foo/bar/baz/q", 1},
    {"*\n", "a/b", 1},
    {"a*\n", "ab/c", 1},
    /* comments, blanks, CRLF */
    {"  #2\n", "#2", 1},
    {"#foo\n", "#foo", 0},
    {"\n   \nfoo\r\nbar\r\n", "bar", 1},
    {"  foo  \t\n", "foo", 1},
    {"*\n!  /keep\n", "keep", 0},
    /* classes and escapes */
    {"file[a-c].txt\n", "fileb.txt", 1},
    {"file[a-c].txt\n", "filed.txt", 0},
    {"[^a-c]x\n", "dx", 1},
    {"[^a-c]x\n", "ax", 0},
    {"[!a]x\n", "!x", 1}, /* '!' is not a negation in docker */
    {"[!a]x\n", "bx", 0},
    {"[\\]]\n", "]", 1},
    {"\\*\n", "*", 1},
    {"\\*\n", "a", 0},
    {"caf?\n", "caf\xc3\xa9", 1},
    {"[\xc3\xa9]t\xc3\xa9\n", "\xc3\xa9t\xc3\xa9", 1},
    /* regexp characters are literals */
    {"a.b\n", "axb", 0},
    {"a.b\n", "a.b", 1},
    {"a+b\n", "aab", 0},
    {"a+b\n", "a+b", 1},
    {"(x|y)$\n", "(x|y)$", 1},
    {"ab[^x]d\n",
     "ab\xe2\x98\xba"
     "d",
     1}, /* one rune, not one byte */
    {"a???b\n",
     "a\xe2\x98\xba"
     "b",
     0},
    {"[a-\xce\xb6]x\n", "\xce\xb1x", 1},
    {"*[a-z]\n", "A", 0},
    {"[x\\-]\n", "-", 1},
    {"a*/b\n", "a/c/b", 0},
    {"a*b?c*x\n", "abxbbxdbxebxczzx", 1},
    /* "**" forms */
    {"**/\n", "any/thing", 1},
    {"**/**\n", "x/y", 1},
    {"**/dir2/*\n", "a/dir2/f/", 1},
    {"a**/*.txt\n", "a/d/d/f.txt", 1},
    {"a/*.txt**\n", "a/f.txt", 1},
    {"**/.foo\n", "bar.foo", 0},
    {"**/.foo\n", "x/.foo", 1},
    /* patternmatcher's fast paths */
    {"**foo\n", "xfoo", 1},
    {"foo**\n", "foobar/x", 1},
    {"*a*a*a*a*a*a*a*a*a*b\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", 0},
};

static void
test_dockerignore__table(void)
{
	struct cs_dockerignore *di = NULL;
	size_t i;
	int got;

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];

		if (cs_dockerignore_parse(&di, c->patterns, strlen(c->patterns), NULL) < 0)
			T_FAIL_("case %zu: parse: %s", i, cs_err_msg());
		got = cs_dockerignore_match(di, c->path);
		cs_dockerignore_free(di);
		di = NULL;
		if (got != c->excluded)
			T_FAIL_("case %zu: patterns \"%s\" path \"%s\": got %d, want %d", i,
				c->patterns, c->path, got, c->excluded);
	}
}

static void
test_dockerignore__may_include_under(void)
{
	struct cs_dockerignore *di = NULL;
	const char *text = "dir\n!dir/keep\nother\n!**/x\nnested\n!nested/a/b\n";

	T_ASSERT_INT(cs_dockerignore_parse(&di, text, strlen(text), NULL), 0);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "dir"), 1);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "dir/keep"), 1);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "di"), 0);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "other"), 0); /* docker: !**... */
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "nested"), 1);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "nested/a"), 1);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "nested/b"), 0);
	cs_dockerignore_free(di);
	di = NULL;
	T_ASSERT_INT(cs_dockerignore_parse(&di, "dir\n", 4, NULL), 0);
	T_ASSERT_INT(cs_dockerignore_may_include_under(di, "dir"), 0);
	T_ASSERT_INT(cs_dockerignore_count(di), 1);
	cs_dockerignore_free(di);
}

static void
test_dockerignore__add_keeps_build_files(void)
{
	struct cs_dockerignore *di = NULL;
	const char *text = "*\n";

	T_ASSERT_INT(cs_dockerignore_parse(&di, text, strlen(text), NULL), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, ".dockerignore"), 1);
	T_ASSERT_INT(cs_dockerignore_add(di, "!.dockerignore"), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, ".dockerignore"), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, "other"), 1);
	T_ASSERT_INT(cs_dockerignore_add(di, "!"), CS_EPARSE);
	cs_dockerignore_free(di);
	T_ASSERT_INT(cs_dockerignore_match(NULL, "x"), 0);
}

struct bad_case {
	const char *text;
	const char *want; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
    {"ok\n\n[a-\n", "line 3"},	     {"x[\n", "line 1"},
    {"[]\n", "bad pattern"},	     {"[a-]\n", "bad pattern"},
    {"[-a]\n", "bad pattern"},	     {"foo\\\n", "trailing"},
    {"a\n!\n", "illegal exclusion"}, {"! \n", "illegal exclusion"},
    {"!/\n", "illegal exclusion"},   {"[\\\n", "bad pattern"},
    {"**/[z\n", "bad pattern"},	     {"[a-b-c]\n", "bad pattern"},
    {"[^\n", "bad pattern"},
};

static void
test_dockerignore__bad_patterns_name_file_and_line(void)
{
	struct cs_dockerignore *di = (struct cs_dockerignore *)1;
	size_t i;
	int err;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err = cs_dockerignore_parse(&di, bad_cases[i].text, strlen(bad_cases[i].text),
					    "ctx/.dockerignore");
		if (err != CS_EPARSE || di != NULL)
			T_FAIL_("case %zu (\"%s\"): got %d", i, bad_cases[i].text, err);
		if (strstr(cs_err_msg(), bad_cases[i].want) == NULL ||
		    strstr(cs_err_msg(), "ctx/.dockerignore") == NULL)
			T_FAIL_("case %zu: message \"%s\"", i, cs_err_msg());
	}
}

static void
test_dockerignore__long_line_is_too_big(void)
{
	struct cs_dockerignore *di = NULL;
	size_t n = 70000;
	char *text = malloc(n);

	T_ASSERT(text != NULL);
	memset(text, 'a', n);
	T_ASSERT_INT(cs_dockerignore_parse(&di, text, n, NULL), CS_ETOOBIG);
	free(text);
	T_ASSERT(di == NULL);
}

static int
read_file(struct cs_buf *out, const char *path)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cs_buf_add(out, chunk, n);
	fclose(f);
	return 0;
}

static void
test_dockerignore__readall_matches_docker(void)
{
	struct cs_strvec got = CS_STRVEC_INIT;
	struct cs_buf in = CS_BUF_INIT, want = CS_BUF_INIT, joined = CS_BUF_INIT;
	size_t i;

	T_ASSERT_INT(read_file(&in, DATA_DIR "/TestReadAll.input.dockerignore"), 0);
	T_ASSERT_INT(read_file(&want, DATA_DIR "/TestReadAll.expected-patterns.txt"), 0);
	T_ASSERT_INT(cs_dockerignore__read_patterns(&got, in.buf, in.len, NULL), 0);
	for (i = 0; i < got.nr; i++)
		cs_buf_addf(&joined, "%s\n", got.v[i]);
	T_ASSERT_STR(joined.buf, want.buf);
	cs_strvec_clear(&got);
	cs_buf_release(&in);
	cs_buf_release(&want);
	cs_buf_release(&joined);
}

static void
test_dockerignore__corpus_parses(void)
{
	struct cs_dockerignore *di = NULL;
	struct cs_buf path = CS_BUF_INIT;
	struct dirent *de;
	DIR *d = opendir(DATA_DIR);
	int n = 0, err;

	T_ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 13 || strcmp(de->d_name + l - 13, ".dockerignore") != 0)
			continue;
		cs_buf_reset(&path);
		cs_buf_addf(&path, "%s/%s", DATA_DIR, de->d_name);
		err = cs_dockerignore_load(&di, path.buf, NULL);
		/* TestReadAll holds lone "!" lines: docker's matcher rejects them too */
		if (strcmp(de->d_name, "TestReadAll.input.dockerignore") == 0) {
			if (err != CS_EPARSE || strstr(cs_err_msg(), "line 8") == NULL)
				T_FAIL_("%s: got %d (%s)", path.buf, err, cs_err_msg());
		} else if (err < 0) {
			T_FAIL_("%s: %s", path.buf, cs_err_msg());
		}
		cs_dockerignore_free(di);
		di = NULL;
		n++;
	}
	closedir(d);
	cs_buf_release(&path);
	T_ASSERT_INT(n, 6);
}

static void
test_dockerignore__corpus_semantics(void)
{
	struct cs_dockerignore *di = NULL;

	T_ASSERT_INT(cs_dockerignore_load(
			 &di, DATA_DIR "/TestBuildWithUTF8BOMDockerignore.dockerignore", NULL),
		     0);
	T_ASSERT_INT(cs_dockerignore_match(di, "Dockerfile"), 1);
	cs_dockerignore_free(di);
	T_ASSERT_INT(
	    cs_dockerignore_load(&di, DATA_DIR "/TestBuildDockerignoreComment.dockerignore", NULL),
	    0);
	T_ASSERT_INT(cs_dockerignore_match(di, "foo"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/foo"), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, "#2"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "#1"), 0);
	cs_dockerignore_free(di);
	T_ASSERT_INT(cs_dockerignore_load(
			 &di, DATA_DIR "/TestBuildDockerignoringWildDirs.dockerignore", NULL),
		     0);
	T_ASSERT_INT(cs_dockerignore_match(di, "file0"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/dir2/file0"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/dir2/file1"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/file2"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/dir2/file2"), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/dir3/file7"), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/dir5/file.txt"), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, "dir1/dir5/file."), 1);
	cs_dockerignore_free(di);
	di = NULL;
	T_ASSERT_INT(cs_dockerignore_load(&di, "/nonexistent/.dockerignore", NULL), 0);
	T_ASSERT_INT(cs_dockerignore_count(di), 0);
	T_ASSERT_INT(cs_dockerignore_match(di, "x"), 0);
	cs_dockerignore_free(di);
}

/*
 * "**" + "/a/" 300 times against every directory of a 300-deep tree: docker
 * takes 0.3 s; the backtracking matcher took minutes. Set simulation: well
 * under a second.
 */
static void
test_dockerignore__many_double_stars_are_linear(void)
{
	struct cs_dockerignore *di = NULL;
	struct cs_buf pat = CS_BUF_INIT, path = CS_BUF_INIT;
	struct timespec t0, t1;
	double secs;
	int i, d;

	for (i = 0; i < 300; i++)
		cs_buf_adds(&pat, "**/a/");
	cs_buf_addch(&pat, '\n');
	T_ASSERT_INT(cs_dockerignore_parse(&di, pat.buf, pat.len, "deep"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (d = 1; d <= 300; d++) {
		cs_buf_adds(&path, d > 1 ? "/a" : "a");
		T_ASSERT_INT(cs_dockerignore_match(di, path.buf), d == 300);
	}
	cs_buf_adds(&path, "/file");
	T_ASSERT_INT(cs_dockerignore_match(di, path.buf), 1);
	T_ASSERT_INT(cs_dockerignore_match(di, path.buf + 2), 0); /* 299 deep */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  302 paths against 300 \"**\" in %.3f s\n", secs);
	T_ASSERT(secs < 10.0);
	cs_dockerignore_free(di);
	cs_buf_release(&pat);
	cs_buf_release(&path);
}

int
main(void)
{
	T_RUN(test_dockerignore__table);
	T_RUN(test_dockerignore__may_include_under);
	T_RUN(test_dockerignore__add_keeps_build_files);
	T_RUN(test_dockerignore__bad_patterns_name_file_and_line);
	T_RUN(test_dockerignore__long_line_is_too_big);
	T_RUN(test_dockerignore__readall_matches_docker);
	T_RUN(test_dockerignore__corpus_parses);
	T_RUN(test_dockerignore__corpus_semantics);
	T_RUN(test_dockerignore__many_double_stars_are_linear);
	return T_REPORT();
}
