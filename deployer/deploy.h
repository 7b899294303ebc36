/*
 * The deployment flow shared by every target (swarm, compose, and later
 * kubernetes): plan -> apply in order -> wait for all in parallel -> roll
 * back on failure -> report. The input is the normalized model produced by
 * compose.c (the shape of `docker compose config`, durations in ns, sizes in
 * bytes); the backends in backend.h turn it into engine objects.
 */
#ifndef DEP_DEPLOY_H
#define DEP_DEPLOY_H

#include <jansson.h>
#include <stdio.h>

#include "args.h"
#include "strvec.h"

/* The exit classes (enum dep_exit) are defined in args.h, with the command line. */

enum dep_publish_mode {
	DEP_PUBLISH_AS_FILE = 0, /* what each port says; ingress when it says nothing */
	DEP_PUBLISH_INGRESS,	 /* --publish-mode ingress */
	DEP_PUBLISH_HOST,	 /* --publish-mode host: every published port in host mode */
};

struct cs_dockerauth;
struct dep_backend;

/* Options of one run; every string is borrowed and must outlive dep_deploy_run(). */
struct dep_deploy_opts {
	const char *coe;     /* "swarm", "compose" or "kubernetes" */
	const char *bay;     /* engine address (unix://, tcp://); NULL: $DOCKER_HOST */
	const char *app;     /* application (stack / project) name; NULL: the model's "name" */
	int timeout_s;	     /* converge limit in seconds; 0: 300 */
	int prune;	     /* remove the app's services that are not in the model */
	int dry_run;	     /* print the plan, change nothing */
	int keep_on_failure; /* a failed first deployment is left in place */
	enum dep_publish_mode publish_mode;
	/*
	 * Registry credentials for pulling the images (borrowed), or NULL. Each
	 * backend encodes them as its transport wants: the engine backends as an
	 * X-Registry-Auth header, kubernetes as a kubernetes.io/dockerconfigjson
	 * Secret referenced by the pods' imagePullSecrets.
	 */
	const struct cs_dockerauth *registry_cred;
	int poll_ms; /* converge poll interval; 0: 250 */
	/* kubernetes only (borrowed, may be NULL) */
	const char *kubeconfig; /* --kubeconfig; NULL: $KUBECONFIG, else ~/.kube/config */
	const char *context;	/* --context */
	const char *namespace;	/* --namespace; NULL: the context's, else "default" */
	int force_conflicts;	/* --force-conflicts: take fields other managers own */
	/*
	 * swarm: --resolve-image "always" (NULL means always), "changed" or
	 * "never", as docker stack deploy (see deployer/swarm_spec.h)
	 */
	const char *resolve_image;
	/*
	 * Stability window in seconds: a waited object must stay ready this
	 * long (converge.h; a service's update_config.monitor wins); 0: none.
	 * main() passes --stable-for, default DEP_DEFAULT_STABLE_S.
	 */
	double stable_for_s;
	/*
	 * How long to wait for another run's lock on the app (lock.h); 0: fail
	 * at once when it is held. main() passes --lock-timeout.
	 */
	int lock_timeout_s;
	/*
	 * --break-lock ID: take over the app's lock if its ID (lock.h) is this
	 * one, whoever holds it (a run whose bay was lost left it); NULL: none.
	 */
	const char *break_lock;
	/* tests: the backend to use instead of the one coe names (NULL: by coe) */
	const struct dep_backend *backend;
};

/* One object of the report: kind "service", "network", "secret", "config", "container". */
struct dep_result_object {
	char *kind;
	char *name;
	char *action; /* created, updated, unchanged, removed (dry run: the same words) */
};

/*
 * What a run did, for the --json report. Filled by dep_deploy_run(), even on
 * failure; released with dep_result_release().
 */
struct dep_result {
	char *app;
	char *coe;
	int changed; /* the bay differs from before the run (dry run: would); 0 after a rollback */
	const char *status; /* "converged", "rolled_back", "failed"; "planned" for a dry run */
	int exit_code;	    /* enum dep_exit */
	char *message;	    /* the failure, one line per problem, or NULL */
	struct dep_result_object *objects;
	size_t objects_nr, objects_alloc;
	struct cs_strvec endpoints; /* "http://HOST:PORT", one per published port */
};

/* clang-format off */
#define DEP_RESULT_INIT { .status = "failed", .endpoints = CS_STRVEC_INIT }
/* clang-format on */

/*
 * Deploy model (borrowed; not modified) to the bay described by opts and fill
 * *out (which must be DEP_RESULT_INIT; release it with dep_result_release()).
 * Returns the exit class (enum dep_exit), also stored in out->exit_code; the
 * reasons are logged (cs_log) and kept in out->message. Progress lines and the
 * dry-run plan go to stderr through cs_out() (hidden by -q).
 *
 * Swarm: services APP_NAME, networks APP_NET (overlay; external ones are
 * looked up), secrets and configs APP_NAME-<12 hex of the content's sha256>
 * (immutable objects: a new content gets a new name, and the service update
 * switches atomically), all labelled com.docker.stack.namespace=APP like
 * `docker stack deploy`. Compose: containers APP_SERVICE_N with the
 * com.docker.compose.* labels and a com.docker.compose.config-hash label.
 * See docs/caas-deployer.md.
 */
int dep_deploy_run(struct dep_result *out, json_t *model, const struct dep_deploy_opts *opts);

/* The --json report of res as a new JSON object (caller json_decref()s). */
json_t *dep_result_json(const struct dep_result *res);

/*
 * Write the --json report to path ("-" is stdout). Errors: CS_EIO (message
 * names the path).
 */
int dep_result_write_json(const struct dep_result *res, const char *path);

/* Free the contents; back to DEP_RESULT_INIT. Accepts INIT. */
void dep_result_release(struct dep_result *res);

/* Record one object in the report (strings are copied). */
void dep_result_add(struct dep_result *res, const char *kind, const char *name, const char *action);

#endif
