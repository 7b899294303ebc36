/*
 * The swarm backend against the real local engine (swarm mode; the test
 * environment always runs it): first deployment served over HTTP, the same
 * deployment again unchanged, an update, a failing update rolled back, a
 * failing first deployment removed, --prune, a timeout. Everything is named
 * cs-test-dsw-<pid>-* and removed at the end.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "deployer/backend.h"
#include "deployer/deploy.h"
#include "docker.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "tests/unit/deploy_helpers.h"
#include "tests/unit/test.h"

static char app[64], app_fail[64];
static int port, port_app; /* port_app: the port of the app being deployed */

/* A web service that serves its version string, and a side service that sleeps. */
static json_t *
model(const char *version, const char *web_cmd_override, int with_side)
{
	char cmd[256];
	json_t *m, *services;

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 8080 -h /www",
		 version);
	services = json_pack(
	    "{s:{s:s, s:b, s:[s,s,s], s:{s:s}, s:[{s:i, s:i, s:s, s:s}], s:{s:[s,s,s,s,s], s:I, "
	    "s:I, s:i, s:I, s:b}, s:I, s:{s:s, s:i, s:{s:s}}, s:[s]}}",
	    "web", "image", "busybox:latest", "build", 0, "command", "sh", "-c",
	    web_cmd_override ? web_cmd_override : cmd, "environment", "VERSION", version, "ports",
	    "target", 8080, "published", port_app, "protocol", "tcp", "mode", "ingress",
	    "healthcheck", "test", "CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/",
	    "interval_ns", (json_int_t)500000000, "timeout_ns", (json_int_t)1000000000, "retries",
	    3, "start_period_ns", (json_int_t)0, "disable", 0, "stop_grace_period_ns",
	    (json_int_t)1000000000, "deploy", "mode", "replicated", "replicas", 1, "labels", "tier",
	    "front", "depends_on", "side");
	json_object_set_new(json_object_get(services, "web"), "secrets",
			    json_pack("[{s:s, s:s}]", "source", "tok", "target", "tok"));
	if (with_side)
		json_object_set_new(services, "side",
				    json_pack("{s:s, s:[s,s], s:I}", "image", "busybox:latest",
					      "command", "sleep", "3600", "stop_grace_period_ns",
					      (json_int_t)1000000000));
	else
		json_object_set_new(json_object_get(services, "web"), "depends_on", json_array());
	m = json_pack("{s:s, s:o, s:{}, s:{s:{s:s}}}", "name", app, "services", services,
		      "networks", "secrets", "tok", "file", "/proc/self/cmdline");
	return m;
}

static int
deploy(struct dep_result *r, json_t *m, const char *name, int prune, int timeout_s)
{
	struct dep_deploy_opts o = {.coe = "swarm",
				    .app = name,
				    .timeout_s = timeout_s,
				    .prune = prune,
				    .publish_mode = DEP_PUBLISH_HOST,
				    .poll_ms = 200};

	return dep_deploy_run(r, m, &o);
}

static json_t *
model_for(const char *name, const char *version, const char *cmd, int with_side)
{
	port_app = strcmp(name, app) == 0 ? port : port + 1;
	return model(version, cmd, with_side);
}

static int
http_get(struct cs_buf *out)
{
	return http_get_port(port_app, out);
}

static json_t *
inspect_service(const char *name)
{
	struct cs_docker *d = NULL;
	json_t *svc = NULL;
	char path[256];
	long status = 0;

	if (cs_docker_connect(&d, NULL) < 0)
		return NULL;
	snprintf(path, sizeof(path), "/services/%s", name);
	cs_docker_json(d, "GET", path, NULL, NULL, &status, &svc);
	cs_docker_free(d);
	if (status != 200) {
		json_decref(svc);
		return NULL;
	}
	return svc;
}

static void
test_swarm__create_unchanged_update_rollback_prune(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	struct cs_buf body = CS_BUF_INIT;
	char web[128], side[128];
	json_t *m, *svc;
	long long v1;

	snprintf(web, sizeof(web), "%s_web", app);
	snprintf(side, sizeof(side), "%s_side", app);

	/* first deployment, served */
	m = model_for(app, "v1", NULL, 1);
	T_ASSERT_INT(deploy(&r, m, app, 0, 60), DEP_EXIT_OK);
	T_ASSERT_STR(r.status, "converged");
	T_ASSERT(r.changed);
	T_ASSERT_STR(action_of(&r, web), "created");
	T_ASSERT_INT(r.endpoints.nr, 1);
	T_ASSERT_INT(http_get(&body), 0);
	T_ASSERT_STR(body.buf, "v1");
	svc = inspect_service(web);
	T_ASSERT(svc != NULL);
	T_ASSERT_STR(json_string_value(
			 json_object_get(json_object_get(json_object_get(svc, "Spec"), "Labels"),
					 "com.docker.stack.namespace")),
		     app);
	v1 = json_integer_value(json_object_get(json_object_get(svc, "Version"), "Index"));
	json_decref(svc);
	dep_result_release(&r);

	/* the same again changes nothing */
	T_ASSERT_INT(deploy(&r, m, app, 0, 60), DEP_EXIT_OK);
	T_ASSERT(!r.changed);
	T_ASSERT_STR(action_of(&r, web), "unchanged");
	T_ASSERT_STR(action_of(&r, side), "unchanged");
	dep_result_release(&r);
	json_decref(m);

	/* an update: new version index, new content */
	m = model_for(app, "v2", NULL, 1);
	T_ASSERT_INT(deploy(&r, m, app, 0, 60), DEP_EXIT_OK);
	T_ASSERT_STR(action_of(&r, web), "updated");
	T_ASSERT_STR(action_of(&r, side), "unchanged");
	T_ASSERT_INT(http_get(&body), 0);
	T_ASSERT_STR(body.buf, "v2");
	svc = inspect_service(web);
	T_ASSERT(json_integer_value(json_object_get(json_object_get(svc, "Version"), "Index")) >
		 v1);
	json_decref(svc);
	dep_result_release(&r);
	json_decref(m);

	/* a command that exits 1: rolled back, v2 still served, the reason named */
	m = model_for(app, "v3", "echo about to fail; exit 1", 1);
	T_ASSERT_INT(deploy(&r, m, app, 0, 60), DEP_EXIT_ROLLED_BACK);
	T_ASSERT_STR(r.status, "rolled_back");
	T_ASSERT(strstr(r.message, "service 'web' failed") != NULL);
	T_ASSERT(strstr(r.message, "exit code 1") != NULL);
	T_ASSERT(strstr(r.message, "about to fail") != NULL);
	T_ASSERT_INT(http_get(&body), 0);
	T_ASSERT_STR(body.buf, "v2");
	dep_result_release(&r);
	json_decref(m);

	/* v2 again is unchanged: the rollback restored the spec exactly */
	m = model_for(app, "v2", NULL, 1);
	T_ASSERT_INT(deploy(&r, m, app, 0, 60), DEP_EXIT_OK);
	T_ASSERT(!r.changed);
	dep_result_release(&r);
	json_decref(m);

	/* --prune removes the side service */
	m = model_for(app, "v2", NULL, 0);
	T_ASSERT_INT(deploy(&r, m, app, 1, 60), DEP_EXIT_OK);
	T_ASSERT_STR(action_of(&r, side), "removed");
	svc = inspect_service(side);
	T_ASSERT(svc == NULL);
	dep_result_release(&r);
	json_decref(m);
	cs_buf_release(&body);
}

static void
test_swarm__failed_first_deployment_is_removed(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	char web[128];
	json_t *m = model_for(app_fail, "v1", "exit 3", 0), *svc;

	snprintf(web, sizeof(web), "%s_web", app_fail);
	T_ASSERT_INT(deploy(&r, m, app_fail, 0, 60), DEP_EXIT_ROLLED_BACK);
	T_ASSERT(strstr(r.message, "exit code 3") != NULL);
	svc = inspect_service(web);
	T_ASSERT(svc == NULL);
	dep_result_release(&r);
	json_decref(m);
}

static void
test_swarm__timeout_is_exit_10(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	char web[128];
	json_t *m = model_for(app_fail, "v1", "sleep 3600", 0), *svc; /* never healthy */

	snprintf(web, sizeof(web), "%s_web", app_fail);
	T_ASSERT_INT(deploy(&r, m, app_fail, 0, 3), DEP_EXIT_TIMEOUT);
	T_ASSERT(strstr(r.message, "did not converge in time") != NULL);
	svc = inspect_service(web);
	T_ASSERT(svc == NULL);
	dep_result_release(&r);
	json_decref(m);
}

static void
test_swarm__rejected_change_is_exit_7_and_undone(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	json_t *m = model_for(app_fail, "v1", NULL, 0), *svc, *dp;
	char web[128];

	snprintf(web, sizeof(web), "%s_web", app_fail);
	dp = json_object_get(json_object_get(json_object_get(m, "services"), "web"), "deploy");
	json_object_set_new(dp, "placement",
			    json_pack("{s:[s]}", "constraints", "not a constraint"));
	T_ASSERT_INT(deploy(&r, m, app_fail, 0, 60), DEP_EXIT_REJECTED);
	T_ASSERT(strstr(r.message, "cannot create service") != NULL);
	T_ASSERT_STR(r.status, "rolled_back");
	T_ASSERT(!r.changed);
	svc = inspect_service(web);
	T_ASSERT(svc == NULL);
	dep_result_release(&r);
	json_decref(m);
}

static void
test_swarm__dry_run_changes_nothing(void)
{
	struct dep_result r = DEP_RESULT_INIT;
	struct dep_deploy_opts o = {.coe = "swarm", .app = app_fail, .dry_run = 1};
	char web[128];
	json_t *m = model_for(app_fail, "v1", NULL, 1), *svc;

	snprintf(web, sizeof(web), "%s_web", app_fail);
	T_ASSERT_INT(dep_deploy_run(&r, m, &o), DEP_EXIT_OK);
	T_ASSERT_STR(r.status, "planned");
	T_ASSERT_STR(action_of(&r, web), "created");
	svc = inspect_service(web);
	T_ASSERT(svc == NULL);
	dep_result_release(&r);
	json_decref(m);
}

/* Remove everything labelled with the test apps. */
static void
cleanup(void)
{
	static const char *kinds[] = {"/services", "/secrets", "/configs", "/networks"};
	const char *apps[] = {app, app_fail};
	struct cs_docker *d = NULL;
	size_t a, k, i;

	if (cs_docker_connect(&d, NULL) < 0)
		return;
	for (k = 0; k < 4; k++)
		for (a = 0; a < 2; a++) {
			struct cs_buf path = CS_BUF_INIT, f = CS_BUF_INIT;
			json_t *list = NULL, *o;
			long status;
			int tries;

			cs_buf_addf(&f, "{\"label\":[\"com.docker.stack.namespace=%s\"]}", apps[a]);
			cs_buf_addf(&path, "%s?filters=", kinds[k]);
			cs_http_urlencode(&path, f.buf);
			cs_docker_json(d, "GET", path.buf, NULL, NULL, &status, &list);
			json_array_foreach(list, i, o)
			{
				const char *id = json_string_value(json_object_get(o, "ID"));
				char p[256];

				if (id == NULL)
					id = json_string_value(json_object_get(o, "Id"));
				snprintf(p, sizeof(p), "%s/%s", kinds[k], id);
				/* networks stay busy until the removed tasks are gone */
				for (tries = 0; tries < 60; tries++) {
					cs_docker_json(d, "DELETE", p, NULL, NULL, &status, NULL);
					if (status < 300 || status == 404)
						break;
					usleep(500000);
				}
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
	cs_log_init("test_swarm");
	snprintf(app, sizeof(app), "cs-test-dsw-%d-a", (int)getpid());
	snprintf(app_fail, sizeof(app_fail), "cs-test-dsw-%d-f", (int)getpid());
	port = 20000 + (int)(getpid() % 10000);
	T_RUN(test_swarm__dry_run_changes_nothing);
	T_RUN(test_swarm__create_unchanged_update_rollback_prune);
	T_RUN(test_swarm__failed_first_deployment_is_removed);
	T_RUN(test_swarm__timeout_is_exit_10);
	T_RUN(test_swarm__rejected_change_is_exit_7_and_undone);
	cleanup();
	ret = T_REPORT();
	curl_global_cleanup();
	return ret;
}
