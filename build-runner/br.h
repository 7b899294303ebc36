/*
 * caas-build-runner internals: the options and results shared by the steps
 * (clone.c, build.c, push.c, result.c) and main.c, which runs them in order.
 */
#ifndef BR_H
#define BR_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "docker.h"
#include "strvec.h"

/* Exit codes (documented in --help and the README). */
enum br_exit {
	BR_EXIT_OK = 0,
	BR_EXIT_BUILD = 1,
	BR_EXIT_USAGE = 2,
	BR_EXIT_INVALID = 3,
	BR_EXIT_PUSH = 4,
	BR_EXIT_SOURCE = 5,
	BR_EXIT_ENGINE = 6,
	BR_EXIT_SIGINT = 130,
	BR_EXIT_SIGTERM = 143,
};

/* Set by the SIGINT/SIGTERM handler: the signal number, else 0. */
extern volatile sig_atomic_t br_interrupted;
/* Record SIGINT/SIGTERM in br_interrupted; ignore SIGPIPE. */
void br_install_signals(void);

struct br_build_opts {
	const char *context_dir;	    /* absolute path of the build context */
	const char *dockerfile;		    /* absolute path of the Dockerfile */
	time_t mtime;			    /* every tar entry gets it when non-zero */
	int exclude_git_dir;		    /* a checkout of ours: .git is not sent */
	const struct cs_strvec *tags;	    /* full names: HOST:PORT/NAME:TAG */
	const struct cs_strvec *build_args; /* K=V */
	json_t *labels;			    /* {K: V}, borrowed */
	const char *target;
	int no_cache, pull;
	/*
	 * Credentials for the registries the FROM lines name go to the engine
	 * (X-Registry-Config) for its pulls: for registry (--registry), auth when
	 * it holds a password or token; for the others, docker's config.json.
	 * Both may be NULL. Borrowed.
	 */
	const char *registry;
	const struct cs_dockerauth *auth;
};

struct br_build_result {
	char *image_id; /* "sha256:..." */
	uint64_t files;
	uint64_t bytes;
};

/*
 * Stream the context to POST /build and follow the output. Returns 0, or
 * CS_EBUILD (a step failed; the step and the engine's message are printed),
 * CS_EINTR, or an engine / context error.
 */
int br_build(struct br_build_result *out, struct cs_docker *d, const struct br_build_opts *o);
void br_build_result_release(struct br_build_result *r);

struct cs_dockerauth;

/*
 * The registry hosts ("host[:port]", "docker.io" for Docker Hub) of the base
 * images that the Dockerfile text[0..len) names in its FROM lines, each once, appended
 * to out. ARGs before the first FROM and build_args (K=V, or K from the
 * environment) are substituted ($K, ${K}, ${K:-w}, ${K:+w}); "scratch",
 * earlier stage names and references that do not parse are skipped. The
 * "# escape=" directive and line continuations are followed.
 */
void br_dockerfile_registries(struct cs_strvec *out, const char *text, size_t len,
			      const struct cs_strvec *build_args);

/*
 * Append to out the X-Registry-Config value for building dockerfile (a path):
 * the credentials of the registries br_dockerfile_registries() finds, auth
 * for registry when it has a password or token, else from docker's
 * config.json (cs_dockerauth_lookup; a registry without credentials is left
 * out, a failing credential store is a warning). out is left unchanged when
 * none is found. A secret: wipe it. Errors: CS_EIO, CS_ETOOBIG (reading the
 * Dockerfile), CS_EINTR.
 */
int br_registry_config(struct cs_buf *out, const char *dockerfile,
		       const struct cs_strvec *build_args, const char *registry,
		       const struct cs_dockerauth *auth);

struct cs_registry;

struct br_push_opts {
	const char *auth_header;    /* X-Registry-Auth value (base64url JSON); a secret */
	const char *registry;	    /* host[:port] */
	struct cs_registry *client; /* logged-in client of that registry, for the check */
	const char *image_id;	    /* the image name must hold ("sha256:..."), or NULL */
	int validated;		    /* it was validated (for the message) */
};

/* What a push error from the engine's stream calls for. */
enum br_push_fault {
	BR_PUSH_PERMANENT = 0, /* retrying cannot help: refused, invalid, certificate */
	BR_PUSH_TRANSIENT,     /* 5xx, 429, the connection to the registry failed */
	BR_PUSH_AUTH,	       /* 401/403, unauthorized, denied */
};

/*
 * Classify a push error by the engine's structured error: errorDetail.code
 * (an HTTP status) when the engine gives one, else the forms the engine's
 * registry client gives its message: "received unexpected HTTP status: NNN
 * ...", a registry error code "<code>: <message>" (toomanyrequests,
 * unavailable, unknown, blob upload unknown/invalid: transient; unauthorized,
 * denied: auth; others permanent), or a Go network error ending in
 * ": connection refused", ": connection reset by peer", ": EOF", ... Any x509
 * or tls error is permanent. detail may be NULL; unknown forms are permanent.
 */
enum br_push_fault br_push_classify(const json_t *detail, const char *message);

/*
 * Push name (HOST:PORT/REPO:TAG) through the engine, then GET the manifest
 * from the registry: its digest must be the one the engine reported and its
 * config digest o->image_id. *digest gets "sha256:..." (caller frees).
 * The caller holds the repository lock (br_repo_lock) from tagging name to
 * the return. A failure br_push_classify() calls transient is retried, at most
 * 4 attempts (1, 2, 4 s apart) and none started 90 s after the first.
 * Errors: CS_EAUTH, CS_EHTTP/CS_ENET (after retries; CS_EHTTP also for
 * another image in the registry), CS_EINTR.
 */
int br_push(char **digest, struct cs_docker *d, const char *name, const struct br_push_opts *o);

/*
 * Tags of a run. The build gets a name unique to the run (br_temp_name);
 * the requested names are given to the built image ID only after the
 * validation, under a lock per repository held until the pushes are
 * verified, so no other run can move a name between its tag and its push.
 */

/* "REPOSITORY:caas-build-<16 hex>", new each call; caller frees. */
char *br_temp_name(const char *repository);

/*
 * Take the lock of repository among the caas-build-runner processes of this
 * machine (flock on a file in $CAAS_LOCK_DIR, else /run/lock, else /tmp),
 * waiting while another run holds it; *fd gets the descriptor for
 * br_repo_unlock. Errors: CS_EIO, CS_EINTR (*cancel became non-zero).
 */
int br_repo_lock(int *fd, const char *repository, volatile sig_atomic_t *cancel);
void br_repo_unlock(int fd);

/* POST /images/{image_id}/tag: name (REPO:TAG) now points at image_id. */
int br_tag(struct cs_docker *d, const char *image_id, const char *name);

/* DELETE name with noprune (the image goes too if name was its only tag). */
int br_untag(struct cs_docker *d, const char *name);

/* How the validation was asked for (options; NULL fields fall back to the environment). */
struct br_validate_choice {
	const char *policy;   /* --validate FILE */
	const char *level;    /* --validate-level production|non-production */
	const char *activate; /* --activate_DockerImageFactory, else $activate_DockerImageFactory */
	const char *prod_ready; /* --DockerImageFactory_ProdReady, else the variable of that name */
	int no_processes;	/* --validate-no-processes */
	double observe_seconds; /* --validate-observe; 0 = the validator's default */
};

struct cs_filch;

/*
 * Load the policy the choice names into *out, or leave *out NULL when no
 * validation is asked for. Errors: CS_EINVAL (bad level or flag value),
 * CS_ENOTFOUND, CS_EPARSE, CS_EIO (policy file).
 */
int br_validate_policy(struct cs_filch **out, const struct br_validate_choice *c);

/*
 * Validate the built image (processes included unless c->no_processes),
 * printing one line per violation. *report gets {"status", "violations"}.
 * Returns 0 valid, 1 not valid (the message says it will not be pushed),
 * or a negative error (CS_ENET/CS_EHTTP engine, CS_EINTR, ...).
 */
int br_validate(json_t **report, struct cs_docker *d, const char *image_id, const char *name,
		const struct cs_filch *policy, const struct br_validate_choice *c);

#endif
