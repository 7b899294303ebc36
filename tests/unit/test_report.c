/* validator/report.c: the JUnit document and the verdict line (the JSON report: test_valreport.c).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "filch.h"
#include "validate.h"
#include "validator/validator.h"
#include "tests/unit/test.h"

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

	T_ASSERT_INT(cs_filch_parse(&p, json, strlen(json), "pkgs.json"), 0);
	v.source = "cache";
	v.layers = 4;
	v.layers_cached = 3;
	v.layers_local = 1;
	v.cache_used = 1;
	v.packages_skipped = 1;
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

static void
test_report__verdict(void)
{
	struct cs_validation v = CS_VALIDATION_INIT;
	struct cs_buf out = CS_BUF_INIT;
	struct cs_filch *p = NULL;

	val_verdict(&out, &v, "app:1");
	T_ASSERT_STR(out.buf, "Image 'app:1' is valid: it can be pushed to the private registry");
	fixture(&v, &p);
	cs_buf_reset(&out);
	val_verdict(&out, &v, "app:\x01");
	T_ASSERT_STR(out.buf, "Image 'app:?' is not valid (2 violations): it will not be pushed "
			      "to the private registry");
	cs_validation_release(&v);
	cs_filch_free(p);
	cs_buf_release(&out);
}

int
main(void)
{
	T_RUN(test_report__junit_is_escaped);
	T_RUN(test_report__source_and_skipped_packages);
	T_RUN(test_report__verdict);
	return T_REPORT();
}
