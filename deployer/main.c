/*
 * caas-deployer: the options (lib/opts.h: the command line, or the arguments
 * of the caas_deploy Ansible module), loading the Compose input or the
 * Kubernetes manifests into the model (compose.h, kube.h) and reporting its
 * errors, and the run's end (the result on stdout, --json, the module's
 * JSON object). The deploy flow itself lives in deploy.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "args.h"
#include "backend.h"
#include "compose.h"
#include "converge.h"
#include "deploy.h"
#include "dockerauth.h"
#include "err.h"
#include "exitcode.h"
#include "imageref.h"
#include "kube.h"
#include "log.h"
#include "opts.h"
#include "xalloc.h"

#define OPT(t, n, f, a, h) CS_OPT_ENTRY(t, struct dep_args, n, f, a, h)
#define GROUP(h) CS_OPT_HEADING(h)

static const struct cs_opt options[] = {
    GROUP("What to deploy"),
    {.type = CS_OPT_CHOICE,
     .name = "coe",
     .flags = CS_OPT_REQUIRED,
     .offset = offsetof(struct dep_args, coe),
     .arg = "COE",
     .choices = "swarm|compose|kubernetes",
     .help = "the bay's orchestrator: swarm (like docker stack deploy),\n"
	     "compose (a plain engine, like docker compose up) or\n"
	     "kubernetes"},
    {.type = CS_OPT_LIST,
     .name = "file",
     .short_name = 'f',
     .flags = CS_OPT_REQUIRED,
     .offset = offsetof(struct dep_args, files),
     .arg = "FILE",
     .help = "a Compose file (repeatable: merged in order); kubernetes:\n"
	     "manifests or directories of them, or one Compose file"},
    OPT(CS_OPT_STRING, "app", app, "NAME",
	"the application: stack, project or instance name\n(required)"),
    OPT(CS_OPT_KEYVALUE, "set", sets, "K=V",
	"a variable for interpolation (repeatable; wins over the\nenvironment and --env-file)"),
    OPT(CS_OPT_STRING, "env-file", env_file, "FILE",
	"variables for interpolation (KEY=VALUE lines)"),
    GROUP("The bay"),
    OPT(CS_OPT_STRING, "bay", bay, "URL",
	"swarm, compose: the engine, unix:///PATH or tcp://HOST:PORT\n"
	"(default $DOCKER_HOST, else unix:///var/run/docker.sock);\n"
	"kubernetes: http(s)://HOST:PORT instead of a kubeconfig"),
    {.type = CS_OPT_LONG,
     .name = "timeout",
     .offset = offsetof(struct dep_args, timeout),
     .arg = "SECONDS",
     .help = "how long the rollout may take to converge (default 300)",
     .min = 1,
     .max = 86400},
    {.type = CS_OPT_DOUBLE,
     .name = "stable-for",
     .offset = offsetof(struct dep_args, stable_for),
     .arg = "SECONDS",
     .help = "every task must stay running (healthy) this long to\n"
	     "count as converged (default 5; a service's\n"
	     "update_config.monitor wins; 0: no window)",
     .min = 0,
     .max = 86400},
    {.type = CS_OPT_LONG,
     .name = "lock-timeout",
     .offset = offsetof(struct dep_args, lock_timeout),
     .arg = "SECONDS",
     .help = "wait this long for another deployment of the app to\n"
	     "finish (default 300; 0: fail at once)",
     .min = 0,
     .max = 86400},
    OPT(CS_OPT_STRING, "break-lock", break_lock, "ID",
	"take over the app's lock if its lock ID is ID, whoever\n"
	"holds it (a run that lost its bay names it; as\n"
	"terraform force-unlock)"),
    OPT(CS_OPT_FLAG, "prune", prune, NULL, "remove the app's objects no longer in the files"),
    OPT(CS_OPT_FLAG, "dry-run", dry_run, NULL, "print the plan, change nothing"),
    OPT(CS_OPT_FLAG, "keep-on-failure", keep_on_failure, NULL,
	"leave a failed first deployment in place (updates are\nstill rolled back)"),
    {.type = CS_OPT_CHOICE,
     .name = "publish-mode",
     .offset = offsetof(struct dep_args, publish_mode),
     .arg = "MODE",
     .choices = "ingress|host|nodeport|loadbalancer",
     .help = "published ports: ingress or host (default: as the file\n"
	     "says); kubernetes, for a Compose file: nodeport (default)\n"
	     "or loadbalancer"},
    {.type = CS_OPT_CHOICE,
     .name = "resolve-image",
     .offset = offsetof(struct dep_args, resolve_image),
     .arg = "WHEN",
     .choices = "always|changed|never",
     .help = "swarm: pin images to their registry digest, as docker\n"
	     "stack deploy (default always)"},
    GROUP("Registry (credentials the bay pulls with; default: docker's config.json)"),
    OPT(CS_OPT_STRING, "registry-user", registry_user, "USER", "registry account"),
    OPT(CS_OPT_STRING, "registry-password-file", registry_password_file, "FILE",
	"read the password from FILE"),
    CS_OPT_REGISTRY_PASSWORD(struct dep_args, registry_password),
    GROUP("Kubernetes"),
    OPT(CS_OPT_STRING, "kubeconfig", kubeconfig, "FILE",
	"default $KUBECONFIG, else ~/.kube/config"),
    OPT(CS_OPT_STRING, "context", context, "NAME", "the kubeconfig context"),
    OPT(CS_OPT_STRING, "namespace", namespace, "NS", "default: the context's, else default"),
    OPT(CS_OPT_FLAG, "force-conflicts", force_conflicts, NULL,
	"take fields another field manager owns"),
    GROUP("Output"),
    OPT(CS_OPT_STRING, "json", json_file, "FILE",
	"write the result as JSON: app, coe, changed, status\n"
	"(converged, planned, rolled_back, failed), exit_code,\n"
	"objects (kind, name, action), endpoints, error; written\n"
	"on failure too; '-' for standard output"),
    {.type = CS_OPT_FLAG,
     .name = "print-model",
     .flags = CS_OPT_HIDDEN,
     .offset = offsetof(struct dep_args, print_model),
     .help = "print the loaded model and stop (tests)"},
    {.type = CS_OPT_END},
};

static const struct cs_exit_doc exit_codes[] = {
    {CS_EXIT_OK, "converged (or nothing to do; --dry-run: planned)"},
    {CS_EXIT_USAGE, "invalid input (nothing changed)"},
    {CS_EXIT_UNREACHABLE, "bay unreachable"},
    {CS_EXIT_REFUSED, "the bay rejected a change"},
    {CS_EXIT_ROLLED_BACK, "rollout failed and was rolled back"},
    {CS_EXIT_ROLLBACK_FAILED, "rollout failed and the rollback failed too"},
    {CS_EXIT_TIMEOUT, "timed out (and rolled back)"},
    {CS_EXIT_LOCKED, "another deployment of the app holds its lock (nothing changed)"},
    {CS_EXIT_SIGINT, "stopped by SIGINT, 143 by SIGTERM (what the run changed is\n"
		     "restored first)"},
    {0, NULL},
};

static const struct cs_opts_spec spec = {
    .prog = "caas-deployer",
    .module = "caas_deploy",
    .summary = "deploy an application's Compose files or manifests to a bay",
    .synopsis = "--coe swarm|compose|kubernetes [--bay URL] --app NAME -f FILE [-f FILE...]\n"
		"[--set K=V...] [--env-file FILE] [--timeout SECONDS] [--prune]\n"
		"[--dry-run] [--json FILE] [--registry-user USER\n"
		"--registry-password-file FILE] [--publish-mode MODE]\n"
		"[--keep-on-failure] [--stable-for SECONDS] [--lock-timeout SECONDS]\n"
		"[--break-lock ID]\n"
		"[--resolve-image always|changed|never] [-v|-q]\n"
		"kubernetes: [--kubeconfig FILE] [--context NAME] [--namespace NS]\n"
		"[--force-conflicts]",
    .description = "Deploys an application's Compose files to a bay (a swarm, a plain engine, or\n"
		   "Kubernetes: manifests, directories of them, or a Compose file translated) and\n"
		   "waits until it converges, rolling back on failure.\n"
		   "\n"
		   "The endpoints are the result, on stdout (\"endpoint URL\" lines, or the\n"
		   "document of --json -); the plan, the applied changes and the wait (one line\n"
		   "per task, container or pod state change, and the stability window) are\n"
		   "progress on stderr (-q hides them).",
    .opts = options,
    .environment =
	"DOCKER_HOST (the bay when --bay is absent; swarm, compose), DOCKER_TLS_VERIFY,\n"
	"DOCKER_CERT_PATH, DOCKER_CONFIG (registry credentials), KUBECONFIG (kubernetes).",
    .notes = "Module result: app, coe, status (converged, planned, rolled_back, failed),\n"
	     "objects (kind, name, action: created, updated, unchanged, removed),\n"
	     "endpoints. changed is true only when an object was created, updated or\n"
	     "removed (false after a rollback). Check mode plans only (as --dry-run):\n"
	     "changed then says whether the plan would change something.\n"
	     "registry_password is used like --registry-password-file.",
    .exits = exit_codes,
};

/* The checks the table cannot express. 0 or CS_EXIT_USAGE. */
static int
check_options(struct cs_opts_run *run, const struct dep_args *a)
{
	int passwords = !!a->registry_password_file + !!a->registry_password;

	if (a->app == NULL && !a->print_model)
		return cs_opts_usage_error(run, "%s is required", run->module ? "app" : "--app");
	if (a->publish_mode && strcmp(a->coe, "kubernetes") != 0 &&
	    (strcmp(a->publish_mode, "loadbalancer") == 0 ||
	     strcmp(a->publish_mode, "nodeport") == 0))
		return cs_opts_usage_error(
		    run, "--publish-mode nodeport and loadbalancer are for --coe kubernetes");
	return cs_opts_check_login(
	    run, a->registry_user, passwords,
	    "registry_password and --registry-password-file exclude each other",
	    "--registry-user and --registry-password-file go together");
}

/* Log the input errors, one line each; *text gets them joined by newlines (caller frees). */
static void
print_errors(char **text, const struct cs_strvec *errors)
{
	struct cs_buf b = CS_BUF_INIT;
	size_t i;

	if (errors->nr == 0)
		cs_buf_adds(&b, cs_err_msg());
	for (i = 0; i < errors->nr; i++)
		cs_buf_addf(&b, "%s%s", i ? "\n" : "", errors->v[i]);
	if (errors->nr == 0)
		cs_log(CS_LOG_ERROR, "%s", b.buf);
	for (i = 0; i < errors->nr; i++)
		cs_log(CS_LOG_ERROR, "%s", errors->v[i]);
	free(*text);
	*text = cs_buf_detach(&b, NULL);
}

/* Every "image" string below v (Compose services, Kubernetes containers), in order. */
static void
collect_images(struct cs_strvec *out, json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, e)
		{
			if (strcmp(k, "image") == 0 && json_is_string(e))
				cs_strvec_push(out, json_string_value(e));
			else
				collect_images(out, e);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) { collect_images(out, e); }
	}
}

/* The registry host of the first image that names one (caller frees), or NULL. */
static char *
first_registry(json_t *model)
{
	struct cs_strvec images = CS_STRVEC_INIT;
	char *host = NULL;
	size_t i;

	collect_images(&images, json_object_get(model, "services")
				    ? json_object_get(model, "services")
				    : json_object_get(model, "manifests"));
	for (i = 0; i < images.nr && host == NULL; i++) {
		struct cs_imageref ref;

		if (cs_imageref_parse(&ref, images.v[i]) < 0)
			continue;
		if (ref.registry)
			host = cs_xstrdup(ref.registry);
		cs_imageref_release(&ref);
	}
	cs_strvec_clear(&images);
	return host;
}

/* Kubernetes: the -f files are one Compose file (translated), else manifests. */
static int
compose_input(const struct cs_strvec *files)
{
	return files->nr > 0 && dep_kube_is_compose(files->v[0]);
}

/*
 * The registry credential the bay needs to pull, parsed (each backend encodes
 * it for its transport): from --registry-user and --registry-password-file
 * (or the module's registry_password), else docker's config.json for the registry of the first
 * image (as `docker stack deploy --with-registry-auth`). *found is 1 when there is one. 0 or an
 * exit code.
 */
static int
load_registry_cred(struct cs_dockerauth *out, int *found, const struct dep_args *a, json_t *model)
{
	char *host = first_registry(model);
	int error, rc = 0;

	*found = 0;
	if (a->registry_user && a->registry_password)
		error = cs_dockerauth_from_password(out, a->registry_user, a->registry_password,
						    "registry_password");
	else if (a->registry_user)
		error = cs_dockerauth_from_file(out, a->registry_user, a->registry_password_file);
	else if (host)
		error = cs_dockerauth_lookup(out, host);
	else
		error = CS_ENOTFOUND;
	if (error == CS_ENOTFOUND && a->registry_user == NULL) {
		error = 0; /* anonymous pulls */
	} else if (error < 0) {
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
		rc = DEP_EXIT_INVALID;
	} else {
		if (out->server == NULL && host)
			out->server = cs_xstrdup(host);
		if (out->password == NULL && out->identitytoken == NULL) {
			cs_err_set(CS_EINVAL,
				   "registry credentials for '%s' have no password or token",
				   host ? host : "?");
			cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
			rc = DEP_EXIT_INVALID;
		} else {
			*found = 1;
		}
	}
	free(host);
	return rc;
}

/*
 * The bay of a Docker backend: --bay, else $DOCKER_HOST, else the local
 * engine (as the docker CLI). Says which on stderr at debug level.
 */
static const char *
docker_bay(const struct dep_args *a)
{
	const char *env = getenv("DOCKER_HOST");

	if (a->bay)
		return a->bay;
	if (env && *env) {
		cs_log(CS_LOG_DEBUG, "no --bay: the bay is DOCKER_HOST=%s", env);
		return env;
	}
	cs_log(CS_LOG_DEBUG, "no --bay and no DOCKER_HOST: the bay is the local engine");
	return "unix:///var/run/docker.sock";
}

/* The module's msg on success: what the run did, in one line (caller frees). */
static char *
summary(const struct dep_result *res)
{
	static const char *const actions[] = {"created", "updated", "removed", "unchanged"};
	struct cs_buf b = CS_BUF_INIT;
	size_t i, j, n;
	int first = 1;

	cs_buf_addf(&b, "%s %s", res->app ? res->app : "app", res->status);
	for (j = 0; j < sizeof(actions) / sizeof(actions[0]); j++) {
		for (i = n = 0; i < res->objects_nr; i++)
			n += strcmp(res->objects[i].action, actions[j]) == 0;
		if (n) {
			cs_buf_addf(&b, "%s%zu %s", first ? ": " : ", ", n, actions[j]);
			first = 0;
		}
	}
	for (i = 0; i < res->endpoints.nr; i++)
		cs_buf_addf(&b, "%s%s", i ? " " : "; endpoints: ", res->endpoints.v[i]);
	return cs_buf_detach(&b, NULL);
}

int
main(int argc, char **argv)
{
	struct dep_args a = {.files = CS_STRVEC_INIT,
			     .sets = CS_STRVEC_INIT,
			     .timeout = 300,
			     .stable_for = DEP_DEFAULT_STABLE_S,
			     .lock_timeout = 300};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct cs_strvec errors = CS_STRVEC_INIT;
	struct dep_compose_opts o = {0};
	struct dep_deploy_opts d = {0};
	struct dep_result res = DEP_RESULT_INIT;
	struct cs_dockerauth cred = CS_DOCKERAUTH_INIT;
	json_t *model = NULL, *result = NULL;
	char *error_text = NULL, *msg = NULL;
	int rc, have_cred = 0, ran = 0, curl_ready = 0, stdout_taken;

	cs_log_init("caas-deployer");
	if (cs_opts_parse(&run, &spec, &a, argc, argv)) {
		rc = run.exit_code;
		goto done;
	}
	if ((rc = check_options(&run, &a)) != 0)
		goto finish;
	stdout_taken = run.module || (a.json_file && strcmp(a.json_file, "-") == 0);
	o.files = &a.files;
	o.app = a.app;
	o.sets = &a.sets;
	o.env_file = a.env_file;
	o.target = a.coe;
	o.errors = &errors;
	rc = DEP_EXIT_INVALID;
	if (strcmp(a.coe, "kubernetes") == 0 && !compose_input(&a.files)) {
		struct dep_kube_input ki = {
		    .files = &a.files, .sets = &a.sets, .env_file = a.env_file, .errors = &errors};

		if (dep_kube_load(&model, &ki) < 0) {
			print_errors(&error_text, &errors);
			goto finish;
		}
	} else if (dep_compose_load(&model, &o) < 0) {
		print_errors(&error_text, &errors);
		goto finish;
	}
	if (a.print_model) {
		char *s = json_dumps(model, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (s) {
			cs_out_raw(s, strlen(s));
			cs_out_raw("\n", 1);
		}
		free(s);
	}
	if (json_object_get(model, "services") && dep_compose_deployable(model, &errors) < 0) {
		print_errors(&error_text, &errors);
		goto finish;
	}
	if (a.print_model) {
		rc = DEP_EXIT_OK;
		goto done; /* a look at the model only: never contact the bay */
	}
	if (strcmp(a.coe, "kubernetes") == 0 && json_object_get(model, "services")) {
		json_t *km = NULL;

		/* the same Compose model, translated into Kubernetes objects */
		if (dep_kube_from_compose(&km, model, a.publish_mode, NULL) < 0)
			goto fail;
		json_decref(model);
		model = km;
	}
	if ((rc = load_registry_cred(&cred, &have_cred, &a, model)) != 0)
		goto finish;
	d.coe = a.coe;
	d.bay = strcmp(a.coe, "kubernetes") == 0 ? a.bay : docker_bay(&a);
	d.app = a.app;
	d.timeout_s = (int)a.timeout;
	d.prune = a.prune;
	d.dry_run = a.dry_run || run.check_mode;
	d.keep_on_failure = a.keep_on_failure;
	d.stable_for_s = a.stable_for;
	d.lock_timeout_s = (int)a.lock_timeout;
	d.break_lock = a.break_lock;
	d.publish_mode = a.publish_mode == NULL		       ? DEP_PUBLISH_AS_FILE
			 : strcmp(a.publish_mode, "host") == 0 ? DEP_PUBLISH_HOST
							       : DEP_PUBLISH_INGRESS;
	d.resolve_image = a.resolve_image;
	d.registry_cred = have_cred ? &cred : NULL;
	d.kubeconfig = a.kubeconfig;
	d.context = a.context;
	d.namespace = a.namespace;
	d.force_conflicts = a.force_conflicts;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_ready = 1;
	dep_signals_install();
	ran = 1;
	rc = dep_deploy_run(&res, model, &d);
	for (size_t i = 0; rc == DEP_EXIT_OK && !d.dry_run && i < res.endpoints.nr; i++) {
		/* the result; on stderr when stdout carries a JSON document */
		if (stdout_taken)
			cs_log_progress("endpoint %s", res.endpoints.v[i]);
		else
			cs_result("endpoint %s", res.endpoints.v[i]);
	}
	if (rc != DEP_EXIT_OK && res.message) {
		free(error_text);
		error_text = cs_xstrdup(res.message);
	}
	goto finish;

fail:
	free(error_text);
	error_text = cs_xstrdup(cs_err_msg());
	cs_log(CS_LOG_ERROR, "%s", error_text);
finish:
	if (!ran) {
		/* failed before the flow: the report still says which app and target */
		res.app = a.app ? cs_xstrdup(a.app) : NULL;
		res.coe = a.coe ? cs_xstrdup(a.coe) : NULL;
		res.exit_code = rc;
	}
	result = dep_result_json(&res);
	if (rc == DEP_EXIT_OK)
		msg = summary(&res);
	rc = cs_opts_finish(&run, result, a.json_file, rc, res.changed, msg, error_text);
done:
	json_decref(result);
	free(error_text);
	free(msg);
	dep_result_release(&res);
	cs_dockerauth_release(&cred);
	cs_opts_release(&run);
	cs_log_secret_clear();
	json_decref(model);
	cs_strvec_clear(&errors);
	cs_strvec_clear(&a.files);
	cs_strvec_clear(&a.sets);
	if (curl_ready)
		curl_global_cleanup();
	return rc;
}
