/* validator/report.c: image names, text cleaning, JSON and JUnit documents. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "filch.h"
#include "validate.h"
#include "validator/validator.h"
#include "tests/unit/test.h"

static void
names(const char *image, const char *name, const char *tag, const char *full)
{
	struct cs_buf n = CS_BUF_INIT, t = CS_BUF_INIT, f = CS_BUF_INIT;

	val_image_names(&n, &t, &f, image);
	T_ASSERT_STR(n.buf, name);
	T_ASSERT_STR(t.buf, tag);
	T_ASSERT_STR(f.buf, full);
	cs_buf_release(&n);
	cs_buf_release(&t);
	cs_buf_release(&f);
}

static void
test_report__image_names(void)
{
	names("app", "app", "latest", "app:latest");
	names("app:1.2", "app", "1.2", "app:1.2");
	names("reg.local:5000/team/app", "reg.local:5000/team/app", "latest",
	      "reg.local:5000/team/app:latest");
	names("reg.local:5000/app:7", "reg.local:5000/app", "7", "reg.local:5000/app:7");
	names("app@sha256:abcd", "app", "", "app@sha256:abcd");
}

static void
test_report__clean_text(void)
{
	char *s = val_clean_text("ok\x01\x7f\xff caf\xc3\xa9 \xe2\x82");

	T_ASSERT_STR(s, "ok??? caf\xc3\xa9 ??");
	free(s);
}

/* A validation with two violations of a policy, built by hand. */
static void
fixture(struct cs_validation *v, struct cs_filch **p)
{
	static const char json[] = "{\"files\": {\"forbidden\": [\"curl\", \"a&b\"]},"
				   " \"processes\": {\"forbidden\": [\"ssh\"]}}";

	T_ASSERT_INT(cs_filch_parse(p, json, strlen(json), "pol<1>.json"), 0);
	v->v = calloc(2, sizeof(*v->v));
	v->nr = v->alloc = 2;
	v->v[0] =
	    (struct cs_violation){CS_FILCH_FILES, strdup("/usr/bin/curl"), NULL, strdup("curl"), 0};
	v->v[1] = (struct cs_violation){CS_FILCH_FILES, strdup("/opt/a&b"), NULL, strdup("a&b"), 1};
	v->files = 10;
	v->image_id = strdup("sha256:1234");
}

static void
test_report__json_fields(void)
{
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_buf out = CS_BUF_INIT;
	struct cs_filch *p = NULL;
	json_t *root, *viol;

	fixture(&v, &p);
	T_ASSERT_INT(val_format_json(&out, &v, "reg:5000/app:3", p, "uuid-x"), 0);
	root = json_loads(out.buf, 0, NULL);
	T_ASSERT(root != NULL);
	T_ASSERT_STR(json_string_value(json_object_get(root, "Id")), "uuid-x");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Name")), "reg:5000/app");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Tag")), "3");
	T_ASSERT_STR(json_string_value(json_object_get(root, "FullTag")), "reg:5000/app:3");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Status")), "failure");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Err")),
		     "file /usr/bin/curl is forbidden (files.forbidden \"curl\")\n"
		     "file /opt/a&b is forbidden (files.forbidden \"a&b\")");
	viol = json_array_get(json_object_get(root, "violations"), 0);
	T_ASSERT_STR(json_string_value(json_object_get(viol, "section")), "files");
	T_ASSERT_STR(json_string_value(json_object_get(viol, "item")), "/usr/bin/curl");
	T_ASSERT_STR(json_string_value(json_object_get(viol, "rule")), "curl");
	json_decref(root);
	cs_validation_release(&v);
	cs_filch_free(p);
	cs_buf_release(&out);
}

static void
test_report__junit_is_escaped(void)
{
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_buf out = CS_BUF_INIT;
	struct cs_filch *p = NULL;

	fixture(&v, &p);
	val_format_junit(&out, &v, "app:1", p, 1);
	T_ASSERT(strstr(out.buf, "<testsuite name=\"files\" tests=\"2\" failures=\"2\"") != NULL);
	T_ASSERT(strstr(out.buf, "name=\"forbidden &quot;a&amp;b&quot;\"") != NULL);
	T_ASSERT(strstr(out.buf, ">/opt/a&amp;b\n</failure>") != NULL);
	T_ASSERT(strstr(out.buf, "<testsuite name=\"processes\" tests=\"1\" failures=\"0\" "
				 "errors=\"0\" skipped=\"1\">") != NULL);
	T_ASSERT(strstr(out.buf, "a&b") == NULL);
	cs_validation_release(&v);
	cs_filch_free(p);
	cs_buf_release(&out);
}

static void
test_report__source_and_skipped_packages(void)
{
	static const char json[] = "{\"packages\": {\"forbidden\": [\"^gcc\", \"curl\"]}}";
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_buf out = CS_BUF_INIT;
	struct cs_filch *p = NULL;
	json_t *root, *src;

	T_ASSERT_INT(cs_filch_parse(&p, json, strlen(json), "pkgs.json"), 0);
	v.source = "cache";
	v.layers = 4;
	v.layers_cached = 3;
	v.layers_local = 1;
	v.cache_used = 1;
	v.packages_skipped = 1;
	T_ASSERT_INT(val_format_json(&out, &v, "app:1", p, "u"), 0);
	root = json_loads(out.buf, 0, NULL);
	src = json_object_get(root, "Source");
	T_ASSERT_STR(json_string_value(json_object_get(src, "path")), "cache");
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layers")), 4);
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layersFromCache")), 3);
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layersFromOverlay2")), 1);
	T_ASSERT(json_is_true(json_object_get(src, "cache")));
	T_ASSERT(strstr(json_string_value(json_object_get(root, "packagesSkipped")),
			"no package database") != NULL);
	json_decref(root);
	cs_buf_reset(&out);
	val_format_junit(&out, &v, "app:1", p, 0);
	T_ASSERT(strstr(out.buf, "<testsuite name=\"packages\" tests=\"2\" failures=\"0\" "
				 "errors=\"0\" skipped=\"2\">") != NULL);
	T_ASSERT(strstr(out.buf, "<skipped message=\"packages not checked: no package database "
				 "found (dpkg, apk)\"/>") != NULL);
	T_ASSERT(strstr(out.buf, "<property name=\"layers_from_cache\" value=\"3\"/>") != NULL);
	T_ASSERT(strstr(out.buf, "<property name=\"path\" value=\"cache\"/>") != NULL);
	v.packages_skipped = 0;
	cs_buf_reset(&out);
	val_format_junit(&out, &v, "app:1", p, 0);
	T_ASSERT(strstr(out.buf, "tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\"") != NULL);
	cs_validation_release(&v);
	cs_filch_free(p);
	cs_buf_release(&out);
}

int
main(void)
{
	T_RUN(test_report__image_names);
	T_RUN(test_report__clean_text);
	T_RUN(test_report__json_fields);
	T_RUN(test_report__junit_is_escaped);
	T_RUN(test_report__source_and_skipped_packages);
	return T_REPORT();
}
