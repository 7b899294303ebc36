/*
 * caas-deployer: parse the command line, load the Compose input into the
 * model (compose.h) and report warnings. The deploy flow itself lives in
 * deploy.c; main() only maps its result to an exit code.
 */
#include <errno.h>
#include <getopt.h>
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
#include "imageref.h"
#include "kube.h"
#include "log.h"
#include "xalloc.h"

static const char usage_text[] =
    "usage: caas-deployer --coe swarm|compose|kubernetes --bay URL --app NAME -f FILE [-f "
    "FILE...]\n"
    "                     [--set K=V...] [--env-file FILE] [--timeout SECONDS] [--prune]\n"
    "                     [--dry-run] [--json FILE] [--registry-user USER\n"
    "                     --registry-password-file FILE] [--publish-mode ingress|host]\n"
    "                     [--keep-on-failure] [--stable-for SECONDS]\n"
    "                     [--lock-timeout SECONDS] [--resolve-image always|changed|never]\n"
    "                     [-v...]\n"
    "  kubernetes:        [--kubeconfig FILE] [--context NAME] [--namespace NS]\n"
    "                     [--force-conflicts]   (-f: manifests, directories, or a Compose file;\n"
    "                     --bay http(s)://HOST:PORT instead of a kubeconfig;\n"
    "                     --publish-mode loadbalancer for Compose ports)\n"
    "\n"
    "Deploys an application's Compose files to a bay and waits until it converges,\n"
    "rolling back on failure.\n"
    "\n"
    "exit codes:\n"
    "  0   converged\n"
    "  2   invalid input (nothing changed)\n"
    "  6   bay unreachable\n"
    "  7   the bay rejected a change\n"
    "  8   rollout failed and was rolled back\n"
    "  9   rollout failed and the rollback failed too\n"
    "  10  timed out (and rolled back)\n"
    "  11  another deployment of the app holds its lock (nothing changed)\n"
    "  130 stopped by SIGINT, 143 by SIGTERM (what the run changed is restored first)\n"
    "\n"
    "--stable-for SECONDS: every task must stay running (healthy) this long to\n"
    "  count as converged (default 5; a service's update_config.monitor wins)\n"
    "--lock-timeout SECONDS: wait this long for another deployment of the app to\n"
    "  finish (default 300; 0: fail at once)\n";

enum {
	OPT_COE = 256,
	OPT_BAY,
	OPT_APP,
	OPT_SET,
	OPT_ENV_FILE,
	OPT_TIMEOUT,
	OPT_PRUNE,
	OPT_DRY_RUN,
	OPT_JSON,
	OPT_REG_USER,
	OPT_REG_PW_FILE,
	OPT_PUBLISH_MODE,
	OPT_KEEP,
	OPT_RESOLVE_IMAGE,
	OPT_PRINT_MODEL,
	OPT_KUBECONFIG,
	OPT_CONTEXT,
	OPT_NAMESPACE,
	OPT_FORCE_CONFLICTS,
	OPT_STABLE_FOR,
	OPT_LOCK_TIMEOUT
};

static const struct option long_opts[] = {
    {"coe", required_argument, NULL, OPT_COE},
    {"bay", required_argument, NULL, OPT_BAY},
    {"app", required_argument, NULL, OPT_APP},
    {"file", required_argument, NULL, 'f'},
    {"set", required_argument, NULL, OPT_SET},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"prune", no_argument, NULL, OPT_PRUNE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"json", required_argument, NULL, OPT_JSON},
    {"registry-user", required_argument, NULL, OPT_REG_USER},
    {"registry-password-file", required_argument, NULL, OPT_REG_PW_FILE},
    {"publish-mode", required_argument, NULL, OPT_PUBLISH_MODE},
    {"keep-on-failure", no_argument, NULL, OPT_KEEP},
    {"resolve-image", required_argument, NULL, OPT_RESOLVE_IMAGE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"print-model", no_argument, NULL, OPT_PRINT_MODEL}, /* hidden: tests */
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"force-conflicts", no_argument, NULL, OPT_FORCE_CONFLICTS},
    {"stable-for", required_argument, NULL, OPT_STABLE_FOR},
    {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
    {NULL, 0, NULL, 0},
};

static int
usage_error(const char *msg)
{
	cs_log(CS_LOG_ERROR, "%s", msg);
	fputs(usage_text, stderr);
	return DEP_EXIT_INVALID;
}

static int
parse_args(struct dep_args *a, int argc, char **argv)
{
	char *end;
	int c;

	a->timeout = 300;
	a->stable_for = DEP_DEFAULT_STABLE_S;
	a->lock_timeout = 300;
	while ((c = getopt_long(argc, argv, "f:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_COE:
			a->coe = optarg;
			break;
		case OPT_BAY:
			a->bay = optarg;
			break;
		case OPT_APP:
			a->app = optarg;
			break;
		case 'f':
			cs_strvec_push(&a->files, optarg);
			break;
		case OPT_SET:
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return usage_error("--set wants KEY=VALUE");
			cs_strvec_push(&a->sets, optarg);
			break;
		case OPT_ENV_FILE:
			a->env_file = optarg;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			a->timeout = strtol(optarg, &end, 10);
			/* 4294967297 used to wrap to 1 s on the way to an int */
			if (*optarg == '\0' || *end != '\0' || errno == ERANGE || a->timeout <= 0 ||
			    a->timeout > 86400)
				return usage_error("--timeout wants a number of seconds from 1 to "
						   "86400 (a day)");
			break;
		case OPT_PRUNE:
			a->prune = 1;
			break;
		case OPT_DRY_RUN:
			a->dry_run = 1;
			break;
		case OPT_JSON:
			a->json_file = optarg;
			break;
		case OPT_REG_USER:
			a->registry_user = optarg;
			break;
		case OPT_REG_PW_FILE:
			a->registry_password_file = optarg;
			break;
		case OPT_PUBLISH_MODE:
			if (strcmp(optarg, "ingress") && strcmp(optarg, "host") &&
			    strcmp(optarg, "loadbalancer") && strcmp(optarg, "nodeport"))
				return usage_error(
				    "--publish-mode wants ingress or host (kubernetes: "
				    "nodeport or loadbalancer)");
			a->publish_mode = optarg;
			break;
		case OPT_KEEP:
			a->keep_on_failure = 1;
			break;
		case OPT_RESOLVE_IMAGE:
			if (strcmp(optarg, "always") && strcmp(optarg, "changed") &&
			    strcmp(optarg, "never"))
				return usage_error(
				    "--resolve-image wants always, changed or never");
			a->resolve_image = optarg;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case OPT_PRINT_MODEL:
			a->print_model = 1;
			break;
		case OPT_KUBECONFIG:
			a->kubeconfig = optarg;
			break;
		case OPT_CONTEXT:
			a->context = optarg;
			break;
		case OPT_NAMESPACE:
			a->namespace = optarg;
			break;
		case OPT_FORCE_CONFLICTS:
			a->force_conflicts = 1;
			break;
		case OPT_STABLE_FOR:
			a->stable_for = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(a->stable_for >= 0) ||
			    a->stable_for > 86400)
				return usage_error(
				    "--stable-for wants a number of seconds (0 to 86400)");
			break;
		case OPT_LOCK_TIMEOUT:
			a->lock_timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->lock_timeout < 0 ||
			    a->lock_timeout > 86400)
				return usage_error(
				    "--lock-timeout wants a number of seconds (0 to 86400)");
			break;
		default:
			return usage_error("invalid option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument");
	if (dep_backend_find(a->coe) == NULL)
		return usage_error("--coe wants swarm, compose or kubernetes");
	if (a->files.nr == 0)
		return usage_error("at least one -f FILE is needed");
	if (a->app == NULL && !a->print_model)
		return usage_error("--app NAME is needed");
	if (a->bay == NULL && !a->print_model && !a->dry_run && strcmp(a->coe, "kubernetes") != 0)
		return usage_error("--bay URL is needed");
	if (a->publish_mode && strcmp(a->coe, "kubernetes") != 0 &&
	    (strcmp(a->publish_mode, "loadbalancer") == 0 ||
	     strcmp(a->publish_mode, "nodeport") == 0))
		return usage_error(
		    "--publish-mode nodeport and loadbalancer are for --coe kubernetes");
	if ((a->registry_user == NULL) != (a->registry_password_file == NULL))
		return usage_error("--registry-user and --registry-password-file go together");
	return 0;
}

static void
print_errors(const struct cs_strvec *errors)
{
	size_t i;

	if (errors->nr == 0)
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
	for (i = 0; i < errors->nr; i++)
		cs_log(CS_LOG_ERROR, "%s", errors->v[i]);
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
 * it for its transport): from --registry-user and --registry-password-file,
 * else docker's config.json for the registry of the first image (as `docker
 * stack deploy --with-registry-auth`). *found is 1 when there is one.
 * 0 or an exit code.
 */
static int
load_registry_cred(struct cs_dockerauth *out, int *found, const struct dep_args *a, json_t *model)
{
	char *host = first_registry(model);
	int error, rc = 0;

	*found = 0;
	if (a->registry_user)
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
			cs_log(CS_LOG_ERROR,
			       "registry credentials for '%s' have no password or token",
			       host ? host : "?");
			rc = DEP_EXIT_INVALID;
		} else {
			*found = 1;
		}
	}
	free(host);
	return rc;
}

int
main(int argc, char **argv)
{
	struct dep_args a = {.files = CS_STRVEC_INIT, .sets = CS_STRVEC_INIT};
	struct cs_strvec errors = CS_STRVEC_INIT;
	struct dep_compose_opts o = {0};
	struct dep_deploy_opts d = {0};
	struct dep_result res = DEP_RESULT_INIT;
	struct cs_dockerauth cred = CS_DOCKERAUTH_INIT;
	json_t *model = NULL;
	int rc, have_cred = 0;

	cs_log_init("caas-deployer");
	if ((rc = parse_args(&a, argc, argv)) != 0) {
		rc = rc < 0 ? DEP_EXIT_OK : rc;
		goto out;
	}
	cs_log_set_level(a.verbose >= 2 ? CS_LOG_DEBUG : a.verbose ? CS_LOG_INFO : CS_LOG_WARN);
	o.files = &a.files;
	o.app = a.app;
	o.sets = &a.sets;
	o.env_file = a.env_file;
	o.target = a.coe;
	o.errors = &errors;
	if (strcmp(a.coe, "kubernetes") == 0 && !compose_input(&a.files)) {
		struct dep_kube_input ki = {
		    .files = &a.files, .sets = &a.sets, .env_file = a.env_file, .errors = &errors};

		if (dep_kube_load(&model, &ki) < 0) {
			print_errors(&errors);
			rc = DEP_EXIT_INVALID;
			goto out;
		}
	} else if (dep_compose_load(&model, &o) < 0) {
		print_errors(&errors);
		rc = DEP_EXIT_INVALID;
		goto out;
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
		print_errors(&errors);
		rc = DEP_EXIT_INVALID;
		goto out;
	}
	if (a.print_model)
		goto out; /* a look at the model only: never contact the bay */
	if (strcmp(a.coe, "kubernetes") == 0 && json_object_get(model, "services")) {
		json_t *km = NULL;

		/* the same Compose model, translated into Kubernetes objects */
		if (dep_kube_from_compose(&km, model, a.publish_mode, NULL) < 0) {
			cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
			rc = DEP_EXIT_INVALID;
			goto out;
		}
		json_decref(model);
		model = km;
	}
	if ((rc = load_registry_cred(&cred, &have_cred, &a, model)) != 0)
		goto out;
	d.coe = a.coe;
	d.bay = a.bay;
	d.app = a.app;
	d.timeout_s = (int)a.timeout;
	d.prune = a.prune;
	d.dry_run = a.dry_run;
	d.keep_on_failure = a.keep_on_failure;
	d.stable_for_s = a.stable_for;
	d.lock_timeout_s = (int)a.lock_timeout;
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
	dep_signals_install();
	rc = dep_deploy_run(&res, model, &d);
	for (size_t i = 0; rc == DEP_EXIT_OK && !a.dry_run && i < res.endpoints.nr; i++)
		cs_out("endpoint %s", res.endpoints.v[i]);
	if (a.json_file && dep_result_write_json(&res, a.json_file) < 0) {
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
		if (rc == DEP_EXIT_OK)
			rc = DEP_EXIT_INVALID;
	}
	dep_result_release(&res);
	curl_global_cleanup();
out:
	cs_dockerauth_release(&cred);
	cs_log_secret_clear();
	json_decref(model);
	cs_strvec_clear(&errors);
	cs_strvec_clear(&a.files);
	cs_strvec_clear(&a.sets);
	return rc;
}
