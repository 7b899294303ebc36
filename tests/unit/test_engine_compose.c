/*
 * The compose backend (plain containers) against the real local engine:
 * first deployment served over HTTP, unchanged redeploy, a config change
 * recreates the container, a failing command is rolled back to the old
 * container, scale down and --prune. Everything is named cs-test-dsw-<pid>-c*
 * and removed at the end.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "deployer/deploy.h"
#include "docker.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "tests/unit/deploy_helpers.h"
#include "tests/unit/test.h"

static char app[64];
static int port;

static void cleanup_app(void);
static json_t *model(const char *version, const char *cmd_override, int replicas, int with_side);

static json_t *
model(const char *version, const char *cmd_override, int replicas, int with_side)
{
	char cmd[256];
	json_t *services;

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 8080 -h /www",
		 version);
	services = json_pack(
	    "{s:{s:s, s:[s,s,s], s:{s:s}, s:{s:[s,s,s,s,s], s:I, s:I, s:i}, s:I, s:{s:i}}}", "web",
	    "image", "busybox:latest", "command", "sh", "-c", cmd_override ? cmd_override : cmd,
	    "environment", "VERSION", version, "healthcheck", "test", "CMD", "wget", "-q", "-O-",
	    "http://127.0.0.1:8080/", "interval_ns", (json_int_t)500000000, "timeout_ns",
	    (json_int_t)1000000000, "retries", 3, "stop_grace_period_ns", (json_int_t)1000000000,
	    "deploy", "replicas", replicas);
	if (replicas == 1)
		json_object_set_new(json_object_get(services, "web"), "ports",
				    json_pack("[{s:i, s:i, s:s}]", "target", 8080, "published",
					      port, "protocol", "tcp"));
	if (with_side) {
		json_object_set_new(services, "side",
				    json_pack("{s:s, s:[s,s], s:I, s:{s:{s:[s]}}}", "image",
					      "busybox:latest", "command", "sleep", "3600",
					      "stop_grace_period_ns", (json_int_t)1000000000,
					      "networks", "back", "aliases", "side-alias"));
		json_object_set_new(json_object_get(services, "web"), "depends_on",
				    json_pack("[s]", "side"));
	}
	return json_pack("{s:s, s:o, s:{s:{s:s}}}", "name", app, "services", services, "networks",
			 "back", "driver", "bridge");
}

static int
deploy(struct dep_result *r, json_t *m, int prune)
{
	struct dep_deploy_opts o = {
	    .coe = "compose", .app = app, .timeout_s = 60, .prune = prune, .poll_ms = 200};

	return dep_deploy_run(r, m, &o);
}

static int
deploy_keep(struct dep_result *r, json_t *m)
{
	struct dep_deploy_opts o = {
	    .coe = "compose", .app = app, .timeout_s = 60, .keep_on_failure = 1, .poll_ms = 200};

	return dep_deploy_run(r, m, &o);
}

static int
http_get(struct cs_buf *out)
{
	return http_get_port(port, out);
}

/* The labels of container name, or NULL when it does not exist. */
static json_t *
container_labels(const char *name)
{
	struct cs_docker *d = NULL;
	json_t *c = NULL, *l = NULL;
	char path[256];
	long status = 0;

	if (cs_docker_connect(&d, NULL) < 0)
		return NULL;
	snprintf(path, sizeof(path), "/containers/%s/json", name);
	cs_docker_json(d, "GET", path, NULL, NULL, &status, &c);
	if (status == 200)
		l = json_incref(json_object_get(json_object_get(c, "Config"), "Labels"));
	json_decref(c);
	cs_docker_free(d);
	return l;
}

static void
test_engine_compose__create_unchanged_recreate_rollback_prune(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	struct cs_buf body = CS_BUF_INIT;
	char web1[128], web2[128], side1[128], hash[65];
	json_t *m, *l;

	snprintf(web1, sizeof(web1), "%s_web_1", app);
	snprintf(web2, sizeof(web2), "%s_web_2", app);
	snprintf(side1, sizeof(side1), "%s_side_1", app);

	m = model("v1", NULL, 1, 1);
	T_ASSERT_INT(deploy(&r, m, 0), DEP_EXIT_OK);
	T_ASSERT_STR(action_of(&r, web1), "created");
	T_ASSERT_STR(action_of(&r, side1), "created");
	T_ASSERT_INT(r.endpoints.nr, 1);
	T_ASSERT_INT(http_get(&body), 0);
	T_ASSERT_STR(body.buf, "v1");
	l = container_labels(web1);
	T_ASSERT(l != NULL);
	T_ASSERT_STR(json_string_value(json_object_get(l, "com.docker.compose.project")), app);
	T_ASSERT_STR(json_string_value(json_object_get(l, "com.docker.compose.service")), "web");
	T_ASSERT_STR(json_string_value(json_object_get(l, "com.docker.compose.container-number")),
		     "1");
	snprintf(hash, sizeof(hash), "%s",
		 json_string_value(json_object_get(l, "com.docker.compose.config-hash")));
	json_decref(l);
	dep_result_release(&r);

	T_ASSERT_INT(deploy(&r, m, 0), DEP_EXIT_OK);
	T_ASSERT(!r.changed);
	T_ASSERT_STR(action_of(&r, web1), "unchanged");
	dep_result_release(&r);
	json_decref(m);

	m = model("v2", NULL, 1, 1);
	T_ASSERT_INT(deploy(&r, m, 0), DEP_EXIT_OK);
	T_ASSERT_STR(action_of(&r, web1), "updated");
	T_ASSERT_STR(action_of(&r, side1), "unchanged");
	T_ASSERT_INT(http_get(&body), 0);
	T_ASSERT_STR(body.buf, "v2");
	l = container_labels(web1);
	T_ASSERT(strcmp(json_string_value(json_object_get(l, "com.docker.compose.config-hash")),
			hash) != 0);
	json_decref(l);
	dep_result_release(&r);
	json_decref(m);

	m = model("v3", "echo compose says no; exit 1", 1, 1);
	T_ASSERT_INT(deploy(&r, m, 0), DEP_EXIT_ROLLED_BACK);
	T_ASSERT(strstr(r.message, "exit code 1") != NULL);
	T_ASSERT(strstr(r.message, "compose says no") != NULL);
	T_ASSERT_INT(http_get(&body), 0);
	T_ASSERT_STR(body.buf, "v2");
	dep_result_release(&r);
	json_decref(m);

	/* two replicas (no published port), side pruned */
	m = model("v2", NULL, 2, 0);
	T_ASSERT_INT(deploy(&r, m, 1), DEP_EXIT_OK);
	T_ASSERT_STR(action_of(&r, web2), "created");
	T_ASSERT_STR(action_of(&r, side1), "removed");
	l = container_labels(side1);
	T_ASSERT(l == NULL);
	dep_result_release(&r);
	json_decref(m);

	/* scale down */
	m = model("v2", NULL, 1, 0);
	T_ASSERT_INT(deploy(&r, m, 1), DEP_EXIT_OK);
	T_ASSERT_STR(action_of(&r, web2), "removed");
	dep_result_release(&r);
	json_decref(m);
	cs_buf_release(&body);
}

static void
test_engine_compose__failed_first_deployment_is_removed(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	char web1[128];
	json_t *m, *l;

	snprintf(web1, sizeof(web1), "%s_web_1", app);
	cleanup_app();
	m = model("v1", "exit 4", 1, 0);
	T_ASSERT_INT(deploy(&r, m, 0), DEP_EXIT_ROLLED_BACK);
	T_ASSERT(strstr(r.message, "exit code 4") != NULL);
	T_ASSERT_STR(r.status, "rolled_back");
	l = container_labels(web1);
	T_ASSERT(l == NULL);
	dep_result_release(&r);

	/* --keep-on-failure leaves the failed container for inspection */
	T_ASSERT_INT(deploy_keep(&r, m), DEP_EXIT_ROLLED_BACK);
	T_ASSERT_STR(r.status, "failed");
	l = container_labels(web1);
	T_ASSERT(l != NULL);
	json_decref(l);
	dep_result_release(&r);
	json_decref(m);
	cleanup_app();
}

static void
test_engine_compose__unhealthy_is_a_failure(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	json_t *m = model("v1", NULL, 1, 0), *hc;

	cleanup_app();
	hc = json_object_get(json_object_get(json_object_get(m, "services"), "web"), "healthcheck");
	json_object_set_new(hc, "test", json_pack("[s,s]", "CMD", "false"));
	json_object_set_new(hc, "retries", json_integer(1));
	json_object_set_new(hc, "interval_ns", json_integer(200000000));
	T_ASSERT_INT(deploy(&r, m, 0), DEP_EXIT_ROLLED_BACK);
	T_ASSERT(strstr(r.message, "unhealthy") != NULL);
	dep_result_release(&r);
	json_decref(m);
	cleanup_app();
}

/* Remove the test app's containers and networks. */
static void
cleanup_app(void)
{
	static const char *kinds[] = {"/containers/json?all=1", "/networks"};
	struct cs_docker *d = NULL;
	size_t k, i;

	if (cs_docker_connect(&d, NULL) < 0)
		return;
	for (k = 0; k < 2; k++) {
		struct cs_buf path = CS_BUF_INIT, f = CS_BUF_INIT;
		json_t *list = NULL, *o;
		long status;

		cs_buf_addf(&f, "{\"label\":[\"com.docker.compose.project=%s\"]}", app);
		cs_buf_addf(&path, "%s%cfilters=", kinds[k], k == 0 ? '&' : '?');
		cs_http_urlencode(&path, f.buf);
		cs_docker_json(d, "GET", path.buf, NULL, NULL, &status, &list);
		json_array_foreach(list, i, o)
		{
			char p[256];

			snprintf(p, sizeof(p), k == 0 ? "/containers/%s?force=1" : "/networks/%s",
				 json_string_value(json_object_get(o, "Id")));
			cs_docker_json(d, "DELETE", p, NULL, NULL, &status, NULL);
		}
		json_decref(list);
		cs_buf_release(&path);
		cs_buf_release(&f);
	}
	cs_docker_free(d);
}

int
main(void)
{
	int ret;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	cs_log_init("test_engine_compose");
	snprintf(app, sizeof(app), "cs-test-dsw-%d-c", (int)getpid());
	port = 30000 + (int)(getpid() % 10000);
	T_RUN(test_engine_compose__create_unchanged_recreate_rollback_prune);
	T_RUN(test_engine_compose__failed_first_deployment_is_removed);
	T_RUN(test_engine_compose__unhealthy_is_a_failure);
	cleanup_app();
	ret = T_REPORT();
	curl_global_cleanup();
	return ret;
}
