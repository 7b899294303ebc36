/* lib/yamldoc: YAML to jansson with positions, anchors, merge keys and limits. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tests/unit/test.h"
#include "yamldoc.h"

static json_t *
load(const char *text, unsigned flags, struct cs_yamlpos **pos)
{
	json_t *doc = NULL;
	int rc = cs_yamldoc_load(&doc, pos, text, strlen(text), "t.yml", flags);

	if (rc != 0)
		fprintf(stderr, "  load: %s\n", cs_err_msg());
	return doc;
}

static void
test_yamldoc__typed_scalars(void)
{
	json_t *d = load("a: 1\nb: -2\nc: 1.5\nd: true\ne: False\nf: ~\ng:\nh: null\n"
			 "i: yes\nj: '1'\nk: \"true\"\nl: 0x1f\nm: 0o17\nn: 1e3\no: .inf\n"
			 "p: 1.0.0\nq: !!str 12\nr: |\n  text\n",
			 0, NULL);

	T_ASSERT(d != NULL);
	T_ASSERT_INT(json_integer_value(json_object_get(d, "a")), 1);
	T_ASSERT_INT(json_integer_value(json_object_get(d, "b")), -2);
	T_ASSERT(json_is_real(json_object_get(d, "c")));
	T_ASSERT(json_is_true(json_object_get(d, "d")));
	T_ASSERT(json_is_false(json_object_get(d, "e")));
	T_ASSERT(json_is_null(json_object_get(d, "f")));
	T_ASSERT(json_is_null(json_object_get(d, "g")));
	T_ASSERT(json_is_null(json_object_get(d, "h")));
	T_ASSERT_STR(json_string_value(json_object_get(d, "i")), "yes"); /* YAML 1.2 */
	T_ASSERT_STR(json_string_value(json_object_get(d, "j")), "1");
	T_ASSERT_STR(json_string_value(json_object_get(d, "k")), "true");
	T_ASSERT_INT(json_integer_value(json_object_get(d, "l")), 31);
	T_ASSERT_INT(json_integer_value(json_object_get(d, "m")), 15);
	T_ASSERT(json_is_real(json_object_get(d, "n")));
	T_ASSERT_STR(json_string_value(json_object_get(d, "o")), ".inf"); /* no JSON infinity */
	T_ASSERT_STR(json_string_value(json_object_get(d, "p")), "1.0.0");
	T_ASSERT_STR(json_string_value(json_object_get(d, "q")), "12");
	T_ASSERT_STR(json_string_value(json_object_get(d, "r")), "text\n");
	json_decref(d);
}

static void
test_yamldoc__plain_strings_mode(void)
{
	json_t *d =
	    load("a: 1.0\nb: true\nc:\nd: ~\ne: on\nf: 8080:80\n", CS_YAMLDOC_PLAIN_STRINGS, NULL);

	T_ASSERT(d != NULL);
	T_ASSERT_STR(json_string_value(json_object_get(d, "a")), "1.0");
	T_ASSERT_STR(json_string_value(json_object_get(d, "b")), "true");
	T_ASSERT(json_is_null(json_object_get(d, "c")));
	T_ASSERT(json_is_null(json_object_get(d, "d")));
	T_ASSERT_STR(json_string_value(json_object_get(d, "e")), "on");
	T_ASSERT_STR(json_string_value(json_object_get(d, "f")), "8080:80");
	json_decref(d);
}

static void
test_yamldoc__positions(void)
{
	struct cs_yamlpos *pos = NULL;
	json_t *d = load("# comment\nservices:\n  web:\n    image: x\n\n    build: .\n"
			 "    ports:\n      - 80\n      - \"443:443\"\n",
			 0, &pos);
	int col;

	T_ASSERT(d != NULL && pos != NULL);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "services"), 2);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "services.web"), 3);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "services.web.build"), 6);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "services.web.ports.1"), 9);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "services.web.nope"), 0);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "services.web.ports.x"), 0);
	T_ASSERT_INT(cs_yamlpos_key_line(pos,
					 json_object_get(json_object_get(d, "services"), "web"),
					 "image", &col),
		     4);
	T_ASSERT_INT(col, 5);
	T_ASSERT_STR(cs_yamlpos_file(pos), "t.yml");
	cs_yamlpos_free(pos);
	json_decref(d);
}

static void
test_yamldoc__anchors_and_merge_keys(void)
{
	struct cs_yamlpos *pos = NULL;
	json_t *d = load("base: &base\n  a: 1\n  b: 2\n"
			 "other: &other\n  b: 20\n  c: 30\n"
			 "one:\n  <<: *base\n  a: 10\n"
			 "two:\n  x: 0\n  <<: [*base, *other]\n  a: 100\n"
			 "list: &l [1, 2]\nlist2: *l\n"
			 "inline:\n  <<: {k: v}\n"
			 "quoted:\n  \"<<\": not a merge\n",
			 0, &pos);
	json_t *one, *two;

	T_ASSERT(d != NULL);
	one = json_object_get(d, "one");
	two = json_object_get(d, "two");
	/* explicit keys win, whatever their place */
	T_ASSERT_INT(json_integer_value(json_object_get(one, "a")), 10);
	T_ASSERT_INT(json_integer_value(json_object_get(one, "b")), 2);
	T_ASSERT(json_object_get(one, "<<") == NULL);
	T_ASSERT_INT(json_integer_value(json_object_get(two, "a")), 100);
	/* the first merged mapping wins */
	T_ASSERT_INT(json_integer_value(json_object_get(two, "b")), 2);
	T_ASSERT_INT(json_integer_value(json_object_get(two, "c")), 30);
	T_ASSERT_INT(json_integer_value(json_object_get(two, "x")), 0);
	T_ASSERT(json_equal(json_object_get(d, "list"), json_object_get(d, "list2")));
	/* copies are distinct nodes */
	T_ASSERT(json_object_get(d, "list") != json_object_get(d, "list2"));
	T_ASSERT_STR(json_string_value(json_object_get(json_object_get(d, "inline"), "k")), "v");
	T_ASSERT_STR(json_string_value(json_object_get(json_object_get(d, "quoted"), "<<")),
		     "not a merge");
	/* a merged key reports where the anchored text was written */
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "one.b"), 3);
	T_ASSERT_INT(cs_yamlpos_path_line(pos, d, "one.a"), 9);
	cs_yamlpos_free(pos);
	json_decref(d);
}

static void
test_yamldoc__billion_laughs_is_capped(void)
{
	struct cs_buf b = CS_BUF_INIT;
	json_t *d = NULL;
	int i;

	cs_buf_adds(&b, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 10; i++)
		cs_buf_addf(
		    &b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
		    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, b.buf, b.len, "lol.yml", 0), CS_ETOOBIG);
	T_ASSERT(d == NULL);
	T_ASSERT(strstr(cs_err_msg(), "lol.yml:") != NULL);
	cs_buf_release(&b);
}

/*
 * Few nodes, long strings: 20 aliases of a 10 KB string, nested 4 deep, are
 * 160,000 nodes (under the node cap) but 1.6 GB of text. Refused, not loaded.
 */
static void
test_yamldoc__alias_text_is_capped(void)
{
	struct cs_buf b = CS_BUF_INIT;
	json_t *d = NULL;
	int i, j;

	cs_buf_adds(&b, "s: &s ");
	for (i = 0; i < 10000; i++)
		cs_buf_addch(&b, 'x');
	cs_buf_adds(&b, "\na0: &a0 [");
	for (j = 0; j < 20; j++)
		cs_buf_adds(&b, j ? ", *s" : "*s");
	cs_buf_adds(&b, "]\n");
	for (i = 1; i < 4; i++) {
		cs_buf_addf(&b, "a%d: &a%d [", i, i);
		for (j = 0; j < 20; j++)
			cs_buf_addf(&b, "%s*a%d", j ? ", " : "", i - 1);
		cs_buf_adds(&b, "]\n");
	}
	T_ASSERT(b.len < 100000);
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, b.buf, b.len, "text.yml", 0), CS_ETOOBIG);
	T_ASSERT(d == NULL);
	T_ASSERT(strstr(cs_err_msg(), "text.yml:") != NULL);
	T_ASSERT(strstr(cs_err_msg(), "64 MiB of text") != NULL);
	cs_buf_release(&b);
}

/* jansson allocates through libcs's aborting allocator: no value is dropped silently. */
static void
test_yamldoc__jansson_allocation_is_checked(void)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	void *p;

	json_get_alloc_funcs(&m, &f);
	T_ASSERT(m != NULL && m != malloc);
	T_ASSERT(f == free);
	p = m(16);
	T_ASSERT(p != NULL);
	f(p);
}

static void
test_yamldoc__deep_nesting_is_capped(void)
{
	struct cs_buf b = CS_BUF_INIT;
	json_t *d = NULL;
	int i;

	for (i = 0; i < 1000; i++)
		cs_buf_addch(&b, '[');
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, b.buf, b.len, "deep.yml", 0), CS_ETOOBIG);
	cs_buf_release(&b);
}

static void
test_yamldoc__errors(void)
{
	json_t *d = NULL;
	struct cs_yamlpos *pos = NULL;
	const char *t;

	t = "a: 1\nb: [1, 2\nc: 3\n";
	T_ASSERT_INT(cs_yamldoc_load(&d, &pos, t, strlen(t), "bad.yml", 0), CS_EPARSE);
	T_ASSERT(d == NULL && pos == NULL);
	T_ASSERT(strncmp(cs_err_msg(), "bad.yml:", 8) == 0);
	t = "a: 1\na: 2\n";
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, t, strlen(t), "dup.yml", 0), CS_EPARSE);
	T_ASSERT_STR(cs_err_msg(), "dup.yml:2:1: mapping key 'a' already defined");
	t = "a: *nope\n";
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, t, strlen(t), "al.yml", 0), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "unknown alias") != NULL);
	t = "a:\n  <<: 3\n";
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, t, strlen(t), "m.yml", 0), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "merge key") != NULL);
	t = "? [a, b]\n: c\n";
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, t, strlen(t), "k.yml", 0), CS_EPARSE);
	t = "a: 1\n---\nb: 2\n";
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, t, strlen(t), "two.yml", 0), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "single YAML document") != NULL);
}

static void
test_yamldoc__multiple_documents(void)
{
	json_t *d = NULL;
	const char *t = "kind: A\n---\nkind: B\n---\n---\n- x\n";

	T_ASSERT_INT(cs_yamldoc_load_all(&d, NULL, t, strlen(t), "k8s.yml", 0), 0);
	T_ASSERT_INT(json_array_size(d), 4);
	T_ASSERT_STR(json_string_value(json_object_get(json_array_get(d, 1), "kind")), "B");
	T_ASSERT(json_is_null(json_array_get(d, 2)));
	T_ASSERT(json_is_array(json_array_get(d, 3)));
	json_decref(d);
	T_ASSERT_INT(cs_yamldoc_load(&d, NULL, "", 0, "empty.yml", 0), 0);
	T_ASSERT(json_is_null(d));
}

static void
test_yamldoc__tags_are_recorded(void)
{
	struct cs_yamlpos *pos = NULL;
	json_t *d = load("ports: !reset []\nenv: !override {a: b}\n", 0, &pos);

	T_ASSERT(d != NULL);
	T_ASSERT_STR(cs_yamlpos_key_tag(pos, d, "ports"), "!reset");
	T_ASSERT_STR(cs_yamlpos_key_tag(pos, d, "env"), "!override");
	T_ASSERT(json_is_array(json_object_get(d, "ports")));
	cs_yamlpos_free(pos);
	json_decref(d);
}

int
main(void)
{
	T_RUN(test_yamldoc__typed_scalars);
	T_RUN(test_yamldoc__plain_strings_mode);
	T_RUN(test_yamldoc__positions);
	T_RUN(test_yamldoc__anchors_and_merge_keys);
	T_RUN(test_yamldoc__billion_laughs_is_capped);
	T_RUN(test_yamldoc__alias_text_is_capped);
	T_RUN(test_yamldoc__jansson_allocation_is_checked);
	T_RUN(test_yamldoc__deep_nesting_is_capped);
	T_RUN(test_yamldoc__errors);
	T_RUN(test_yamldoc__multiple_documents);
	T_RUN(test_yamldoc__tags_are_recorded);
	return T_REPORT();
}
