/*
 * .dockerignore: the text of the file (everything before the first NUL byte),
 * then, after the NUL, newline-separated paths to match. Without paths, a
 * fixed list and the patterns themselves are matched.
 */
#include "dockerignore.h"
#include "fuzz.h"
#include "strvec.h"

static const char *const default_paths[] = {
    "a",    "a/b",	"a/b/c",    "foo",   "foo/bar", "Dockerfile", ".dockerignore",
    ".git", "src/x.go", "dir/keep", "a.tmp", "x/y/z/w", "vendor/a/b", NULL,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static void
check_path(const struct cs_dockerignore *di, const char *path)
{
	int m = cs_dockerignore_match(di, path);

	FZ_CHECK(m == 0 || m == 1);
	m = cs_dockerignore_may_include_under(di, path);
	FZ_CHECK(m == 0 || m == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - text) : size;
	struct cs_strvec pats = CS_STRVEC_INIT;
	struct cs_dockerignore *di = NULL;
	size_t i;
	int rp, rc;

	rp = cs_dockerignore__read_patterns(&pats, text, tlen, ".dockerignore");
	rc = cs_dockerignore_parse(&di, text, tlen, ".dockerignore");
	FZ_CHECK((rc == 0) == (di != NULL));
	if (rc == 0) {
		/*
		 * parse keeps the patterns ReadAll gives, less those that trim to
		 * nothing ("/\r/" cleans to "\r"), as patternmatcher.New does
		 */
		FZ_CHECK(rp == 0);
		FZ_CHECK(cs_dockerignore_count(di) <= pats.nr);
		if (nul != NULL) {
			char *paths = fz_str((const uint8_t *)nul + 1, size - tlen - 1);
			char *p = paths, *nl;

			for (; p != NULL; p = nl ? nl + 1 : NULL) {
				if ((nl = strchr(p, '\n')) != NULL)
					*nl = '\0';
				check_path(di, p);
			}
			free(paths);
		} else {
			for (i = 0; default_paths[i] != NULL; i++)
				check_path(di, default_paths[i]);
			for (i = 0; i < pats.nr && i < 16; i++)
				check_path(di, pats.v[i][0] == '!' ? pats.v[i] + 1 : pats.v[i]);
		}
		/* the context builder's addition must be accepted and must win */
		FZ_CHECK(cs_dockerignore_add(di, "!.dockerignore") == 0);
		FZ_CHECK(cs_dockerignore_match(di, ".dockerignore") == 0);
	}
	cs_dockerignore_free(di);
	cs_strvec_clear(&pats);
	return 0;
}
