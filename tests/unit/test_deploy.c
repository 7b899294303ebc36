/*
 * The shared deployment flow without an engine: service order, spec
 * normalization, log demultiplexing, times, bay hosts, the --json report,
 * and the invalid-input checks that must fail before the bay is contacted.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deployer/backend.h"
#include "deployer/deploy.h"
#include "err.h"
#include "log.h"
#include "strvec.h"
#include "tests/unit/test.h"

static json_t *
model_with(const char *services_json)
{
	json_error_t e;
	json_t *services = json_loads(services_json, 0, &e);

	if (services == NULL) {
		fprintf(stderr, "bad test json: %s\n", e.text);
		abort();
	}
	return json_pack("{s:s, s:o, s:{}}", "name", "t", "services", services, "networks");
}

static void
test_deploy__order_follows_depends_on_then_names(void)
{
	json_t *m = model_with("{\"web\": {\"image\": \"w\", \"depends_on\": [\"db\", \"cache\"]},"
			       " \"db\": {\"image\": \"d\"}, \"cache\": {\"image\": \"c\","
			       " \"depends_on\": [\"db\"]}, \"admin\": {\"image\": \"a\","
			       " \"links\": [\"zz:alias\", \"external_thing\"]},"
			       " \"zz\": {\"image\": \"z\"}}");
	struct cs_strvec order = CS_STRVEC_INIT;

	T_ASSERT_INT(dep_service_order(&order, m), 0);
	T_ASSERT_INT(order.nr, 5);
	T_ASSERT_STR(order.v[0], "zz"); /* linked from admin */
	T_ASSERT_STR(order.v[1], "admin");
	T_ASSERT_STR(order.v[2], "db");
	T_ASSERT_STR(order.v[3], "cache");
	T_ASSERT_STR(order.v[4], "web");
	cs_strvec_clear(&order);
	json_decref(m);
}

static void
test_deploy__order_rejects_cycles_and_unknown_services(void)
{
	json_t *m = model_with("{\"a\": {\"image\": \"x\", \"depends_on\": [\"b\"]},"
			       " \"b\": {\"image\": \"x\", \"depends_on\": [\"a\"]}}");
	struct cs_strvec order = CS_STRVEC_INIT;

	T_ASSERT_INT(dep_service_order(&order, m), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "cycle") != NULL);
	T_ASSERT_INT(order.nr, 0);
	json_decref(m);
	m = model_with("{\"a\": {\"image\": \"x\", \"depends_on\": [\"nope\"]}}");
	T_ASSERT_INT(dep_service_order(&order, m), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "unknown service 'nope'") != NULL);
	json_decref(m);
}

static void
test_deploy__prune_drops_empties_recursively(void)
{
	json_t *in =
	    json_loads("{\"a\": 0, \"b\": \"\", \"c\": {\"d\": {}, \"e\": [], \"f\": 1},"
		       " \"g\": [{\"h\": false, \"i\": \"x\"}], \"j\": null, \"k\": {\"l\": {}}}",
		       0, NULL);
	json_t *want = json_loads("{\"c\": {\"f\": 1}, \"g\": [{\"i\": \"x\"}]}", 0, NULL);
	json_t *got = dep_json_prune(in);

	T_ASSERT(json_equal(got, want));
	json_decref(in);
	json_decref(want);
	json_decref(got);
}

static void
test_deploy__hashes_are_stable(void)
{
	char h[13], a[65], b[65];
	json_t *x = json_loads("{\"b\": 1, \"a\": [1, 2]}", 0, NULL);
	json_t *y = json_loads("{\"a\": [1, 2], \"b\": 1}", 0, NULL);

	dep_short_hash(h, "abc", 3);
	T_ASSERT_STR(h, "ba7816bf8f01"); /* sha256("abc") starts so */
	dep_json_hash(a, x);
	dep_json_hash(b, y);
	T_ASSERT_STR(a, b);
	T_ASSERT_INT(strlen(a), 64);
	json_decref(x);
	json_decref(y);
}

static void
test_deploy__logs_are_demultiplexed_and_cut(void)
{
	static const char stream[] = "\x01\0\0\0\0\0\0\x06line1\n"
				     "\x02\0\0\0\0\0\0\x0eline2\x1b[31m\nl3\n"
				     "\x01\0\0\0\0\0\0\x06line4\n";
	struct cs_buf out = CS_BUF_INIT;

	dep_logs_demux(&out, stream, sizeof(stream) - 1, 20);
	T_ASSERT_STR(out.buf, "line1\nline2?[31m\nl3\nline4");
	cs_buf_reset(&out);
	dep_logs_demux(&out, stream, sizeof(stream) - 1, 2);
	T_ASSERT_STR(out.buf, "l3\nline4");
	cs_buf_reset(&out);
	dep_logs_demux(&out, "plain\ntext\n", 11, 20); /* a TTY stream has no headers */
	T_ASSERT_STR(out.buf, "plain\ntext");
	cs_buf_release(&out);
}

static void
test_deploy__engine_times_parse(void)
{
	double a, b;

	T_ASSERT_INT(dep_parse_time(&a, "2026-11-25T09:01:12.5Z"), 0);
	T_ASSERT_INT(dep_parse_time(&b, "2026-11-25T09:01:12.123456789Z"), 0);
	T_ASSERT(a > b && a - b < 0.4);
	T_ASSERT_INT(dep_parse_time(&b, "2026-11-25T10:01:12.5+01:00"), 0);
	T_ASSERT(a == b);
	T_ASSERT_INT(dep_parse_time(&a, "0001-01-01T00:00:00Z"), 0);
	T_ASSERT(dep_parse_time(&a, "yesterday") < 0);
}

static void
test_deploy__bay_host(void)
{
	struct cs_buf b = CS_BUF_INIT;

	dep_bay_host(&b, "tcp://10.0.0.7:2376");
	T_ASSERT_STR(b.buf, "10.0.0.7");
	cs_buf_reset(&b);
	dep_bay_host(&b, "tcp://[fd00::1]:2375");
	T_ASSERT_STR(b.buf, "[fd00::1]");
	cs_buf_reset(&b);
	dep_bay_host(&b, "unix:///var/run/docker.sock");
	T_ASSERT_STR(b.buf, "127.0.0.1");
	cs_buf_release(&b);
}

static void
test_deploy__result_json_has_the_issue_fields(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	json_t *j;

	r.app = strdup("shop");
	r.coe = strdup("swarm");
	r.status = "converged";
	r.changed = 1;
	dep_result_add(&r, "service", "shop_web", "updated");
	cs_strvec_push(&r.endpoints, "http://127.0.0.1:8080");
	j = dep_result_json(&r);
	T_ASSERT_STR(json_string_value(json_object_get(j, "app")), "shop");
	T_ASSERT_STR(json_string_value(json_object_get(j, "coe")), "swarm");
	T_ASSERT(json_is_true(json_object_get(j, "changed")));
	T_ASSERT_STR(json_string_value(json_object_get(j, "status")), "converged");
	T_ASSERT_STR(json_string_value(json_object_get(
			 json_array_get(json_object_get(j, "objects"), 0), "action")),
		     "updated");
	T_ASSERT_STR(json_string_value(json_array_get(json_object_get(j, "endpoints"), 0)),
		     "http://127.0.0.1:8080");
	json_decref(j);
	T_ASSERT_INT(dep_result_write_json(&r, "/nonexistent/dir/x.json"), CS_EIO);
	dep_result_release(&r);
	T_ASSERT(r.objects == NULL && r.endpoints.nr == 0);
	dep_result_release(&r); /* twice is fine */
}

/* Invalid input is exit 2 before any engine request: the bay here does not exist. */
static void
test_deploy__build_without_image_is_invalid_before_contacting_the_bay(void)
{
	json_t *m = model_with("{\"web\": {\"image\": null, \"build\": true},"
			       " \"db\": {\"image\": \"postgres:16\"}, \"job\": {}}");
	struct dep_deploy_opts o = {.coe = "swarm", .bay = "tcp://192.0.2.1:9", .app = "t"};
	struct dep_result r = DEP_RESULT_INIT;

	T_ASSERT_INT(dep_deploy_run(&r, m, &o), DEP_EXIT_INVALID);
	T_ASSERT_INT(r.exit_code, DEP_EXIT_INVALID);
	T_ASSERT(strstr(r.message, "service 'web' has build: and no image") != NULL);
	T_ASSERT(strstr(r.message, "service 'job' has no image") != NULL);
	T_ASSERT_STR(r.status, "failed");
	T_ASSERT_INT(r.objects_nr, 0);
	dep_result_release(&r);

	o.app = "Bad App";
	T_ASSERT_INT(dep_deploy_run(&r, m, &o), DEP_EXIT_INVALID);
	dep_result_release(&r);
	o.app = "t";
	o.coe = "nomad";
	T_ASSERT_INT(dep_deploy_run(&r, m, &o), DEP_EXIT_INVALID);
	dep_result_release(&r);
	json_decref(m);
}

static void
test_deploy__unreachable_bay_is_exit_6(void)
{
	json_t *m = model_with("{\"web\": {\"image\": \"busybox:latest\"}}");
	struct dep_deploy_opts o = {
	    .coe = "swarm", .bay = "unix:///nonexistent/docker.sock", .app = "t"};
	struct dep_result r = DEP_RESULT_INIT;

	T_ASSERT_INT(dep_deploy_run(&r, m, &o), DEP_EXIT_UNREACHABLE);
	T_ASSERT(r.message != NULL);
	dep_result_release(&r);
	json_decref(m);
}

int
main(void)
{
	cs_log_init("test_deploy");
	cs_log_set_level(CS_LOG_ERROR + 0);
	T_RUN(test_deploy__order_follows_depends_on_then_names);
	T_RUN(test_deploy__order_rejects_cycles_and_unknown_services);
	T_RUN(test_deploy__prune_drops_empties_recursively);
	T_RUN(test_deploy__hashes_are_stable);
	T_RUN(test_deploy__logs_are_demultiplexed_and_cut);
	T_RUN(test_deploy__engine_times_parse);
	T_RUN(test_deploy__bay_host);
	T_RUN(test_deploy__result_json_has_the_issue_fields);
	T_RUN(test_deploy__build_without_image_is_invalid_before_contacting_the_bay);
	T_RUN(test_deploy__unreachable_bay_is_exit_6);
	return T_REPORT();
}
