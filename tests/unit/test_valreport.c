/* lib/valreport.c: image names, text cleaning, the JSON report shared by the validator and the
 * build runner. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filch.h"
#include "validate.h"
#include "valreport.h"
#include "tests/unit/test.h"

static void
names(const char *image, const char *name, const char *tag, const char *full)
{
	struct cs_buf n = CS_BUF_INIT, t = CS_BUF_INIT, f = CS_BUF_INIT;

	cs_valreport_image_names(&n, &t, &f, image);
	T_ASSERT_STR(n.buf, name);
	T_ASSERT_STR(t.buf, tag);
	T_ASSERT_STR(f.buf, full);
	cs_buf_release(&n);
	cs_buf_release(&t);
	cs_buf_release(&f);
}

static void
test_valreport__image_names(void)
{
	names("app", "app", "latest", "app:latest");
	names("app:1.2", "app", "1.2", "app:1.2");
	names("reg.local:5000/team/app", "reg.local:5000/team/app", "latest",
	      "reg.local:5000/team/app:latest");
	names("reg.local:5000/app:7", "reg.local:5000/app", "7", "reg.local:5000/app:7");
	names("app@sha256:abcd", "app", "", "app@sha256:abcd");
}

static void
test_valreport__clean_text(void)
{
	char *s = cs_valreport_clean_text("ok\x01\x7f\xff caf\xc3\xa9 \xe2\x82");

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
	v->v = calloc(3, sizeof(*v->v));
	v->nr = v->alloc = 3;
	v->v[0] =
	    (struct cs_violation){CS_FILCH_FILES, strdup("/usr/bin/curl"), NULL, strdup("curl"), 0};
	v->v[1] = (struct cs_violation){CS_FILCH_FILES, strdup("/opt/a&b"), NULL, strdup("a&b"), 1};
	v->v[2] = (struct cs_violation){CS_FILCH_PROCESSES, strdup("/usr/sbin/ssh -D\x01"),
					strdup("ssh"), strdup("ssh"), 0};
	v->files = 10;
	v->processes_checked = 1;
	v->processes = 4;
	v->image_id = strdup("sha256:1234");
}

static void
test_valreport__fields(void)
{
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_filch *p = NULL;
	json_t *root, *viol;

	fixture(&v, &p);
	root = cs_valreport_json(&v, "reg:5000/app:3", p, "uuid-x");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Id")), "uuid-x");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Name")), "reg:5000/app");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Tag")), "3");
	T_ASSERT_STR(json_string_value(json_object_get(root, "FullTag")), "reg:5000/app:3");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Status")), "failure");
	T_ASSERT_STR(json_string_value(json_object_get(root, "status")), "not valid");
	T_ASSERT_STR(json_string_value(json_object_get(root, "ImageId")), "sha256:1234");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Policy")), "pol<1>.json");
	T_ASSERT_STR(json_string_value(json_object_get(root, "Err")),
		     "file /usr/bin/curl is forbidden (files.forbidden \"curl\")\n"
		     "file /opt/a&b is forbidden (files.forbidden \"a&b\")\n"
		     "process ssh (/usr/sbin/ssh -D?) is forbidden (processes.forbidden \"ssh\")");
	T_ASSERT_INT(json_array_size(json_object_get(root, "violations")), 3);
	viol = json_array_get(json_object_get(root, "violations"), 0);
	T_ASSERT_STR(json_string_value(json_object_get(viol, "section")), "files");
	T_ASSERT_STR(json_string_value(json_object_get(viol, "item")), "/usr/bin/curl");
	T_ASSERT_STR(json_string_value(json_object_get(viol, "rule")), "curl");
	T_ASSERT(json_object_get(viol, "process") == NULL);
	viol = json_array_get(json_object_get(root, "violations"), 2);
	/* a command line from the image is not trusted to be text */
	T_ASSERT_STR(json_string_value(json_object_get(viol, "item")), "/usr/sbin/ssh -D?");
	T_ASSERT_STR(json_string_value(json_object_get(viol, "process")), "ssh");
	T_ASSERT_INT(json_integer_value(json_object_get(root, "files")), 10);
	T_ASSERT_INT(json_integer_value(json_object_get(root, "processes")), 4);
	T_ASSERT(json_is_null(json_object_get(root, "packagesSkipped")));
	json_decref(root);
	cs_validation_release(&v);
	cs_filch_free(p);
}

static void
test_valreport__valid_and_random_id(void)
{
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_filch *p = NULL;
	json_t *a, *b;
	const char *id;

	T_ASSERT_INT(cs_filch_parse(&p, "{}", 2, "empty.json"), 0);
	v.repo_tag = strdup("app:9");
	a = cs_valreport_json(&v, "sha256:abcd", p, NULL);
	b = cs_valreport_json(&v, "sha256:abcd", p, NULL);
	T_ASSERT_STR(json_string_value(json_object_get(a, "Status")), "success");
	T_ASSERT_STR(json_string_value(json_object_get(a, "status")), "valid");
	T_ASSERT_STR(json_string_value(json_object_get(a, "Err")), "");
	T_ASSERT_INT(json_array_size(json_object_get(a, "violations")), 0);
	/* an image ID is named by its tag */
	T_ASSERT_STR(json_string_value(json_object_get(a, "FullTag")), "app:9");
	T_ASSERT(json_is_null(json_object_get(a, "processes")));
	id = json_string_value(json_object_get(a, "Id"));
	T_ASSERT(id != NULL && strlen(id) == 36 && id[14] == '4');
	T_ASSERT(strcmp(id, json_string_value(json_object_get(b, "Id"))) != 0);
	json_decref(a);
	json_decref(b);
	cs_validation_release(&v);
	cs_filch_free(p);
}

static void
test_valreport__source_and_skipped_packages(void)
{
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_filch *p = NULL;
	json_t *root, *src;

	T_ASSERT_INT(cs_filch_parse(&p, "{}", 2, "empty.json"), 0);
	v.source = "cache";
	v.layers = 4;
	v.layers_cached = 3;
	v.layers_local = 1;
	v.cache_used = 1;
	v.packages_skipped = 1;
	root = cs_valreport_json(&v, "app:1", p, "u");
	src = json_object_get(root, "Source");
	T_ASSERT_STR(json_string_value(json_object_get(src, "path")), "cache");
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layers")), 4);
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layersFromCache")), 3);
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layersFromOverlay2")), 1);
	T_ASSERT_INT(json_integer_value(json_object_get(src, "layersFetched")), 0);
	T_ASSERT(json_is_true(json_object_get(src, "cache")));
	T_ASSERT(strstr(json_string_value(json_object_get(root, "packagesSkipped")),
			"no package database") != NULL);
	json_decref(root);
	cs_validation_release(&v);
	cs_filch_free(p);
}

int
main(void)
{
	T_RUN(test_valreport__image_names);
	T_RUN(test_valreport__clean_text);
	T_RUN(test_valreport__fields);
	T_RUN(test_valreport__valid_and_random_id);
	T_RUN(test_valreport__source_and_skipped_packages);
	return T_REPORT();
}
