/*
 * Interpolation as the Compose Specification defines it, table-driven, and
 * the env file format (spec section "env_file"). The variables come from the
 * tables, never from the machine's environment.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deployer/compose.h"
#include "err.h"
#include "log.h"
#include "strvec.h"
#include "tests/unit/test.h"

/* A=a, E is set and empty, U and V are unset. */
static json_t *
vars(void)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "A", "a", "E", "", "B", "b c", "A_1", "a1");
}

struct icase {
	const char *in;
	const char *want; /* NULL: an error is expected */
	const char *err;  /* expected first error (substring), or the unset name */
	int nerr;	  /* expected number of errors */
};

static const struct icase interp_table[] = {
    /* plain forms */
    {"$A", "a", NULL, 0},
    {"${A}", "a", NULL, 0},
    {"x${A}y", "xay", NULL, 0},
    {"$A$A", "aa", NULL, 0},
    {"${A}-${B}", "a-b c", NULL, 0},
    {"$A_1", "a1", NULL, 0}, /* names are greedy */
    {"$A.x", "a.x", NULL, 0},
    {"no dollar", "no dollar", NULL, 0},
    {"", "", NULL, 0},
    /* unset without default: empty, reported as unset */
    {"$U", "", "U", 0},
    {"${U}", "", "U", 0},
    {"[${U}]", "[]", "U", 0},
    /* :- unset or empty; - unset only */
    {"${U:-d}", "d", NULL, 0},
    {"${E:-d}", "d", NULL, 0},
    {"${A:-d}", "a", NULL, 0},
    {"${U-d}", "d", NULL, 0},
    {"${E-d}", "", NULL, 0},
    {"${A-d}", "a", NULL, 0},
    {"${U:-}", "", NULL, 0},
    {"${U:-a b  c}", "a b  c", NULL, 0},
    {"${U:-a}}", "a}", NULL, 0},
    /* :+ set and non-empty; + set */
    {"${U:+x}", "", NULL, 0},
    {"${E:+x}", "", NULL, 0},
    {"${A:+x}", "x", NULL, 0},
    {"${U+x}", "", NULL, 0},
    {"${E+x}", "x", NULL, 0},
    {"${A+x}", "x", NULL, 0},
    /* :? and ? */
    {"${A:?err}", "a", NULL, 0},
    {"${E?err}", "", NULL, 0},
    {"${U:?err}", NULL, "required variable U is missing: err", 1},
    {"${E:?err}", NULL, "required variable E is missing: err", 1},
    {"${U?err}", NULL, "required variable U is missing: err", 1},
    {"${U?}", NULL, "required variable U is missing a value", 1},
    {"${U:?}", NULL, "required variable U is missing a value", 1},
    {"${U?Variable U not set}", NULL, "required variable U is missing: Variable U not set", 1},
    {"${U:?x} and ${V?y}", NULL, "required variable U is missing: x", 2},
    {"${U:?x}${U:?x}", NULL, "required variable U is missing: x", 1}, /* once */
    /* $$ */
    {"$$", "$", NULL, 0},
    {"$$A", "$A", NULL, 0},
    {"$${A}", "${A}", NULL, 0},
    {"$$$A", "$a", NULL, 0},
    {"a$$$$b", "a$$b", NULL, 0},
    /* a $ that starts no variable stays */
    {"a$", "a$", NULL, 0},
    {"$1", "$1", NULL, 0},
    {"$ x", "$ x", NULL, 0},
    {"100$-", "100$-", NULL, 0},
    /* nested */
    {"${U:-${A}}", "a", NULL, 0},
    {"${U:-${V:-deep}}", "deep", NULL, 0},
    {"${U:-x${A}y}", "xay", NULL, 0},
    {"${U:-$A}", "a", NULL, 0},
    {"${U:-$$A}", "$A", NULL, 0},
    {"${A:+<${B}>}", "<b c>", NULL, 0},
    {"${U?$A}", NULL, "required variable U is missing: a", 1},
    {"${A:-${U:?not evaluated}}", "a", NULL, 0},
    {"${U:-${V:?inner}}", NULL, "required variable V is missing: inner", 1},
    {"${U:-${V:-${A}}}", "a", NULL, 0},
    /* invalid syntax */
    {"${", NULL, "invalid interpolation format", 1},
    {"${A", NULL, "invalid interpolation format", 1},
    {"${}", NULL, "invalid interpolation format", 1},
    {"${1A}", NULL, "invalid interpolation format", 1},
    {"${A:x}", NULL, "invalid interpolation format", 1},
    {"${A/a/b}", NULL, "invalid interpolation format", 1},
    {"${U:-${V}", NULL, "invalid interpolation format", 1},
};

static void
test_interp__table(void)
{
	json_t *v = vars();
	size_t i;

	for (i = 0; i < sizeof(interp_table) / sizeof(interp_table[0]); i++) {
		const struct icase *tc = &interp_table[i];
		struct cs_strvec errors = CS_STRVEC_INIT, unset = CS_STRVEC_INIT;
		char *out = NULL;
		int rc;

		rc = dep_interp_string(&out, tc->in, v, &errors, &unset);
		if (tc->want) {
			if (rc != 0 || out == NULL || strcmp(out, tc->want) != 0)
				T_FAIL_("case %zu '%s': got rc %d '%s', want '%s'", i, tc->in, rc,
					out ? out : "(null)", tc->want);
			if (tc->err && !cs_strvec_has(&unset, tc->err))
				T_FAIL_("case %zu '%s': %s not reported unset", i, tc->in, tc->err);
			if (!tc->err && unset.nr)
				T_FAIL_("case %zu '%s': unexpected unset %s", i, tc->in,
					unset.v[0]);
		} else {
			if (rc != CS_EINVAL || out != NULL)
				T_FAIL_("case %zu '%s': got rc %d '%s', want an error", i, tc->in,
					rc, out ? out : "(null)");
			if (strstr(cs_err_msg(), tc->err) == NULL)
				T_FAIL_("case %zu '%s': message '%s' lacks '%s'", i, tc->in,
					cs_err_msg(), tc->err);
			if ((int)errors.nr != tc->nerr)
				T_FAIL_("case %zu '%s': %zu errors, want %d", i, tc->in, errors.nr,
					tc->nerr);
		}
		free(out);
		cs_strvec_clear(&errors);
		cs_strvec_clear(&unset);
	}
	json_decref(v);
}

static void
test_interp__all_missing_required_at_once(void)
{
	json_t *v = vars();
	struct cs_strvec errors = CS_STRVEC_INIT;
	char *out = NULL;

	T_ASSERT_INT(
	    dep_interp_string(&out, "${X:?need x}/${Y?need y}/${Z:?}/$A", v, &errors, NULL),
	    CS_EINVAL);
	T_ASSERT(out == NULL);
	T_ASSERT_INT(errors.nr, 3);
	T_ASSERT_STR(errors.v[0], "required variable X is missing: need x");
	T_ASSERT_STR(errors.v[1], "required variable Y is missing: need y");
	T_ASSERT_STR(errors.v[2], "required variable Z is missing a value");
	cs_strvec_clear(&errors);
	json_decref(v);
}

static void
test_interp__null_vars_is_all_unset(void)
{
	char *out = NULL;

	T_ASSERT_INT(dep_interp_string(&out, "${A:-x}$B", NULL, NULL, NULL), 0);
	T_ASSERT_STR(out, "x");
	free(out);
}

/* Env files */

static const char envfile_text[] = "# comment\n"
				   "\n"
				   "PLAIN=VAL\n"
				   "COMMENT=VAL # comment\n"
				   "NOTCOMMENT=VAL# not a comment\n"
				   "DQ_HASH=\"VAL # not a comment\"\n"
				   "DQ_COMMENT=\"VAL\" # comment\n"
				   "SQ_LITERAL='$OTHER'\n"
				   "SQ_BRACE='${OTHER}'\n"
				   "SQ_ESC='Let\\'s go!'\n"
				   "DQ_JSON=\"{\\\"hello\\\": \\\"json\\\"}\"\n"
				   "DQ_TAB=\"some\\tvalue\"\n"
				   "SQ_TAB='some\\tvalue'\n"
				   "UQ_TAB=some\\tvalue\n"
				   "EMPTY=\n"
				   "BARE\n"
				   "export EXPORTED=yes\n"
				   "  INDENTED = spaced  \n"
				   "FROM_VARS=${A}-${U:-dflt}\n"
				   "FROM_ABOVE=<$PLAIN>\n"
				   "MULTI=\"line1\nline2\"\n"
				   "AFTER=ok\r\n";

static void
test_envfile__spec_examples(void)
{
	json_t *v = vars(), *out = NULL;

	T_ASSERT_INT(dep_envfile_parse(&out, envfile_text, strlen(envfile_text), "t.env", v), 0);
	T_ASSERT_STR(json_string_value(json_object_get(out, "PLAIN")), "VAL");
	T_ASSERT_STR(json_string_value(json_object_get(out, "COMMENT")), "VAL");
	T_ASSERT_STR(json_string_value(json_object_get(out, "NOTCOMMENT")), "VAL# not a comment");
	T_ASSERT_STR(json_string_value(json_object_get(out, "DQ_HASH")), "VAL # not a comment");
	T_ASSERT_STR(json_string_value(json_object_get(out, "DQ_COMMENT")), "VAL");
	T_ASSERT_STR(json_string_value(json_object_get(out, "SQ_LITERAL")), "$OTHER");
	T_ASSERT_STR(json_string_value(json_object_get(out, "SQ_BRACE")), "${OTHER}");
	T_ASSERT_STR(json_string_value(json_object_get(out, "SQ_ESC")), "Let's go!");
	T_ASSERT_STR(json_string_value(json_object_get(out, "DQ_JSON")), "{\"hello\": \"json\"}");
	T_ASSERT_STR(json_string_value(json_object_get(out, "DQ_TAB")), "some\tvalue");
	T_ASSERT_STR(json_string_value(json_object_get(out, "SQ_TAB")), "some\\tvalue");
	T_ASSERT_STR(json_string_value(json_object_get(out, "UQ_TAB")), "some\\tvalue");
	T_ASSERT_STR(json_string_value(json_object_get(out, "EMPTY")), "");
	T_ASSERT(json_is_null(json_object_get(out, "BARE")));
	T_ASSERT_STR(json_string_value(json_object_get(out, "EXPORTED")), "yes");
	T_ASSERT_STR(json_string_value(json_object_get(out, "INDENTED")), "spaced");
	T_ASSERT_STR(json_string_value(json_object_get(out, "FROM_VARS")), "a-dflt");
	T_ASSERT_STR(json_string_value(json_object_get(out, "FROM_ABOVE")), "<VAL>");
	T_ASSERT_STR(json_string_value(json_object_get(out, "MULTI")), "line1\nline2");
	T_ASSERT_STR(json_string_value(json_object_get(out, "AFTER")), "ok");
	json_decref(out);
	json_decref(v);
}

static void
test_envfile__corpus_examples(void)
{
	static const char ex1[] = "# passed through\nFOO=foo_from_env_file\n\n"
				  "# overridden in example2.env\nBAR=bar_from_env_file\n\n"
				  "# overridden in full-example.yml\nBAZ=baz_from_env_file\n";
	static const char ex2[] = "BAR=bar_from_env_file_2\n\n"
				  "# overridden in configDetails.Environment\n"
				  "QUX=quz_from_env_file_2\n";
	json_t *a = NULL, *b = NULL;

	T_ASSERT_INT(dep_envfile_parse(&a, ex1, strlen(ex1), "example1.env", NULL), 0);
	T_ASSERT_INT(dep_envfile_parse(&b, ex2, strlen(ex2), "example2.env", NULL), 0);
	T_ASSERT_INT(json_object_size(a), 3);
	T_ASSERT_STR(json_string_value(json_object_get(a, "FOO")), "foo_from_env_file");
	json_object_update(a, b);
	T_ASSERT_STR(json_string_value(json_object_get(a, "BAR")), "bar_from_env_file_2");
	T_ASSERT_STR(json_string_value(json_object_get(a, "QUX")), "quz_from_env_file_2");
	json_decref(a);
	json_decref(b);
}

static void
test_envfile__errors(void)
{
	static const char bad_key[] = "OK=1\n=novalue\n";
	static const char unterminated[] = "A=\"open\n";
	static const char missing[] = "A=${NEED:?set NEED}\nB=${ALSO?}\n";
	json_t *out = NULL;

	T_ASSERT_INT(dep_envfile_parse(&out, bad_key, strlen(bad_key), "f.env", NULL), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "f.env:2:") != NULL);
	T_ASSERT_INT(dep_envfile_parse(&out, unterminated, strlen(unterminated), "f.env", NULL),
		     CS_EINVAL);
	T_ASSERT_INT(dep_envfile_parse(&out, missing, strlen(missing), "f.env", NULL), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "f.env:1: required variable NEED is missing: set NEED") !=
		 NULL);
	T_ASSERT(strstr(cs_err_msg(), "f.env:2: required variable ALSO") != NULL);
	T_ASSERT(out == NULL);
}

/* "${A:-${A:-...}}" 100,000 deep: a clear error, no stack overflow, no quadratic time. */
static void
test_interp__deep_nesting_is_refused(void)
{
	struct cs_buf b = CS_BUF_INIT;
	json_t *v = json_object();
	char *out = NULL;
	int i, n = 100000;

	for (i = 0; i < n; i++)
		cs_buf_adds(&b, "${U:-");
	cs_buf_adds(&b, "x");
	for (i = 0; i < n; i++)
		cs_buf_addch(&b, '}');
	T_ASSERT_INT(dep_interp_string(&out, b.buf, v, NULL, NULL), CS_EINVAL);
	T_ASSERT(out == NULL);
	T_ASSERT(strstr(cs_err_msg(), "interpolation nested deeper than 32 levels in '${U:-") !=
		 NULL);
	T_ASSERT(strlen(cs_err_msg()) < 200);
	/* a set variable needs no expansion of its default: accepted */
	json_object_set_new(v, "U", json_string("u"));
	T_ASSERT_INT(dep_interp_string(&out, b.buf, v, NULL, NULL), 0);
	T_ASSERT_STR(out, "u");
	free(out);
	/* 32 levels are fine */
	cs_buf_reset(&b);
	for (i = 0; i < 32; i++)
		cs_buf_adds(&b, "${V:-");
	cs_buf_adds(&b, "x");
	for (i = 0; i < 32; i++)
		cs_buf_addch(&b, '}');
	T_ASSERT_INT(dep_interp_string(&out, b.buf, v, NULL, NULL), 0);
	T_ASSERT_STR(out, "x");
	free(out);
	json_decref(v);
	cs_buf_release(&b);
}

int
main(void)
{
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_interp__table);
	T_RUN(test_interp__all_missing_required_at_once);
	T_RUN(test_interp__null_vars_is_all_unset);
	T_RUN(test_envfile__spec_examples);
	T_RUN(test_envfile__corpus_examples);
	T_RUN(test_envfile__errors);
	T_RUN(test_interp__deep_nesting_is_refused);
	return T_REPORT();
}
