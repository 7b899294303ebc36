/* filch policies: rule tables from tests/data/rules/NAME.t, loading errors, levels. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "filch.h"
#include "tests/unit/test.h"

static const char *
data_dir(void)
{
	const char *d = getenv("CS_TEST_DATA");

	return d && *d ? d : "tests/data";
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Read the next non-blank, non-comment line; 0 at the end. */
static int
next_line(FILE *f, char *buf, size_t size, int *lineno)
{
	while (fgets(buf, (int)size, f) != NULL) {
		(*lineno)++;
		chomp(buf);
		if (buf[0] != '\0' && buf[0] != '#')
			return 1;
	}
	return 0;
}

/* Run one table; returns the number of cases, failing the test on a mismatch. */
static int
run_table(const char *file, enum cs_filch_section s, const char *authorized)
{
	char path[512], pattern[256], input[256], verdict[64];
	int lineno = 0, cases = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rules/%s", data_dir(), file);
	f = fopen(path, "r");
	T_ASSERT(f != NULL);
	while (next_line(f, pattern, sizeof(pattern), &lineno)) {
		json_t *root = json_object(), *sec = json_object();
		struct cs_filch *p = NULL;
		char *text;
		size_t got;
		int line = lineno;

		T_ASSERT(next_line(f, input, sizeof(input), &lineno));
		T_ASSERT(next_line(f, verdict, sizeof(verdict), &lineno));
		json_object_set_new(sec, "forbidden", json_pack("[s]", pattern));
		if (authorized)
			json_object_set_new(sec, "authorized", json_pack("[s]", authorized));
		json_object_set_new(root, cs_filch_section_name(s), sec);
		text = json_dumps(root, 0);
		json_decref(root);
		if (cs_filch_parse(&p, text, strlen(text), file) < 0) {
			fclose(f);
			T_FAIL_("%s:%d: %s", file, line, cs_err_msg());
		}
		free(text);
		got = cs_filch_check(p, s, input, NULL, NULL);
		cs_filch_free(p);
		if ((got > 0) != (strcmp(verdict, "forbidden") == 0)) {
			fclose(f);
			T_FAIL_("%s:%d: /%s/ on '%s': got %s, want %s", file, line, pattern, input,
				got ? "forbidden" : "allowed", verdict);
		}
		cases++;
	}
	fclose(f);
	return cases;
}

static void
test_filch__files_table(void)
{
	T_ASSERT(run_table("files.t", CS_FILCH_FILES, NULL) >= 10);
}

static void
test_filch__packages_table(void)
{
	T_ASSERT(run_table("packages.t", CS_FILCH_PACKAGES, "^gcc.*-base") >= 10);
}

static void
test_filch__processes_table(void)
{
	T_ASSERT(run_table("processes.t", CS_FILCH_PROCESSES, "ssh-agent") >= 4);
}

static int
parse_error(const char *json, const char *want)
{
	struct cs_filch *p = NULL;
	int error = cs_filch_parse(&p, json, strlen(json), "p.json");

	if (error == 0) {
		cs_filch_free(p);
		fprintf(stderr, "  no error for %s\n", json);
		return 0;
	}
	if (p != NULL || error != CS_EPARSE || strstr(cs_err_msg(), want) == NULL) {
		fprintf(stderr, "  for %s: got (%d) %s, want %s\n", json, error, cs_err_msg(),
			want);
		return 0;
	}
	return 1;
}

static void
test_filch__load_errors_name_file_section_entry(void)
{
	T_ASSERT(parse_error("{", "policy 'p.json': line 1"));
	T_ASSERT(parse_error("[]", "expected a JSON object"));
	T_ASSERT(parse_error("{\"binaries\": {}}", "unknown section 'binaries'"));
	T_ASSERT(parse_error("{\"files\": {\"denied\": []}}", "files: unknown list 'denied'"));
	T_ASSERT(parse_error("{\"files\": []}", "files: expected an object"));
	T_ASSERT(parse_error("{\"files\": {\"forbidden\": \"nc\"}}",
			     "files.forbidden: expected a list"));
	T_ASSERT(parse_error("{\"files\": {\"forbidden\": [\"nc\", 3]}}",
			     "files.forbidden[1]: expected a string"));
	T_ASSERT(parse_error("{\"packages\": {\"forbidden\": [\"ok\", \"(\"]}}",
			     "policy 'p.json': packages.forbidden[1] \"(\": invalid regex"));
	T_ASSERT(parse_error("{\"processes\": {\"authorized\": [\"[z-a]\"]}}",
			     "processes.authorized[0] \"[z-a]\": invalid regex"));
	T_ASSERT(parse_error("{\"files\": {\"forbidden\": [\"\"]}}", "files.forbidden[0]: empty"));
	T_ASSERT(parse_error("{\"files\": {\"forbidden\": [\"a)(b\"]}}",
			     "files.forbidden[0] \"a)(b\": invalid regex"));
	T_ASSERT(parse_error("{\"files\": {}, \"files\": {}}", "duplicate"));
}

/* {"packages": {"forbidden": [rule]}}, as a string to free. */
static char *
one_rule(const char *rule)
{
	json_t *root = json_pack("{s:{s:[s]}}", "packages", "forbidden", rule);
	char *text = json_dumps(root, 0);

	json_decref(root);
	return text;
}

/* A policy entry whose compilation would stall or crash regcomp() is refused first. */
static void
test_filch__costly_regexes_refused(void)
{
	static const char *const ok[] = {
	    "^g\\+\\+",		 "^gcc.*-base", "[[:digit:]]+x{2,3}", "a{0,900}",
	    "((a|b)+c?){1,100}", "[(*+]\\(",	"^(lib)?pcap[0-9]*$"};
	static const char *const bad[][2] = {
	    /* found by tests/fuzz/fuzz_filch: a timeout in glibc's calc_eclosure_iter */
	    {"[[:digit:]]**+", "adjacent repetition operators"},
	    {"a{0,32767}", "too complex"},
	    {"a{,1001}", "too complex"},
	    {"((a{1,100}){1,100}){1,100}", "too complex"},
	    {"((((((((((a+)+)+)+)+)+)+)+)+)+)+", "too complex"},
	    {"(a)\\1", "back-references are not supported"},
	    {"(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))",
	     "parentheses nested too deeply"},
	};
	struct cs_filch *p = NULL;
	char *json;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		json = one_rule(ok[i]);
		T_ASSERT_INT(cs_filch_parse(&p, json, strlen(json), "p.json"), 0);
		cs_filch_free(p);
		free(json);
		p = NULL;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json = one_rule(bad[i][0]);
		T_ASSERT(parse_error(json, bad[i][1]));
		T_ASSERT(strstr(cs_err_msg(), "packages.forbidden[0]") != NULL);
		free(json);
	}
}

static void
test_filch__empty_policy_allows_everything(void)
{
	struct cs_filch *p = NULL;

	T_ASSERT_INT(cs_filch_parse(&p, "{}", 2, "empty"), 0);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_FILES, "/usr/bin/nc", NULL, NULL), 0);
	T_ASSERT_STR(cs_filch_name(p), "empty");
	cs_filch_free(p);
	cs_filch_free(NULL);
}

struct seen {
	char rules[256];
};

static void
note_rule(const char *rule, size_t index, void *payload)
{
	struct seen *s = payload;
	size_t n = strlen(s->rules);

	snprintf(s->rules + n, sizeof(s->rules) - n, "%s%s@%zu", n ? "," : "", rule, index);
}

static void
test_filch__every_forbidden_rule_is_reported(void)
{
	static const char json[] = "{\"packages\": {\"forbidden\": [\"^lib\", \"pcap\", \"x\"]}}";
	struct cs_filch *p = NULL;
	struct seen s = {""};

	T_ASSERT_INT(cs_filch_parse(&p, json, strlen(json), "m"), 0);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_PACKAGES, "libpcap0.8", note_rule, &s), 2);
	T_ASSERT_STR(s.rules, "^lib@0,pcap@1");
	T_ASSERT_INT(cs_filch_forbidden_nr(p, CS_FILCH_PACKAGES), 3);
	T_ASSERT_STR(cs_filch_forbidden_rule(p, CS_FILCH_PACKAGES, 2), "x");
	T_ASSERT(cs_filch_forbidden_rule(p, CS_FILCH_PACKAGES, 3) == NULL);
	cs_filch_free(p);
}

static void
test_filch__shipped_policies_load(void)
{
	struct cs_filch *p = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/../../validator/policies/filch.json", data_dir());
	T_ASSERT_INT(cs_filch_load(&p, path), 0);
	T_ASSERT_INT(cs_filch_forbidden_nr(p, CS_FILCH_PACKAGES), 20);
	T_ASSERT_INT(cs_filch_forbidden_nr(p, CS_FILCH_FILES), 11);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_PACKAGES, "gcc-12-base", NULL, NULL), 0);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_PACKAGES, "gcc-12", NULL, NULL), 1);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_FILES, "/usr/bin/wget", NULL, NULL), 1);
	cs_filch_free(p);
	snprintf(path, sizeof(path), "%s/../../validator/policies/filch-insecure.json", data_dir());
	T_ASSERT_INT(cs_filch_load(&p, path), 0);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_FILES, "/usr/bin/wget", NULL, NULL), 0);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_FILES, "/usr/sbin/tcpdump", NULL, NULL), 1);
	T_ASSERT_INT(cs_filch_check(p, CS_FILCH_PACKAGES, "gcc-12", NULL, NULL), 0);
	cs_filch_free(p);
	T_ASSERT_INT(cs_filch_load(&p, "/nonexistent/policy.json"), CS_EIO);
	T_ASSERT(strstr(cs_err_msg(), "/nonexistent/policy.json") != NULL);
}

static void
test_filch__unknown_level(void)
{
	struct cs_buf b = CS_BUF_INIT;

	T_ASSERT_INT(cs_filch_level_path(&b, "staging"), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "staging") != NULL);
	cs_buf_release(&b);
}

int
main(void)
{
	T_RUN(test_filch__files_table);
	T_RUN(test_filch__packages_table);
	T_RUN(test_filch__processes_table);
	T_RUN(test_filch__load_errors_name_file_section_entry);
	T_RUN(test_filch__costly_regexes_refused);
	T_RUN(test_filch__empty_policy_allows_everything);
	T_RUN(test_filch__every_forbidden_rule_is_reported);
	T_RUN(test_filch__shipped_policies_load);
	T_RUN(test_filch__unknown_level);
	return T_REPORT();
}
