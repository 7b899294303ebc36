/*
 * The command line of caas-deployer, parsed by main.c and read by the
 * deploy flow (deploy.c), and the exit codes of issue 4 (shared with the
 * Kubernetes backend).
 */
#ifndef DEP_ARGS_H
#define DEP_ARGS_H

#include "exitcode.h"
#include "strvec.h"

/* The deployer's names for the shared exit codes (lib/exitcode.h). */
enum dep_exit {
	DEP_EXIT_OK = CS_EXIT_OK,			  /* converged (or nothing to do) */
	DEP_EXIT_INVALID = CS_EXIT_USAGE,		  /* invalid input: nothing changed */
	DEP_EXIT_UNREACHABLE = CS_EXIT_UNREACHABLE,	  /* bay unreachable */
	DEP_EXIT_REJECTED = CS_EXIT_REFUSED,		  /* the bay rejected a change */
	DEP_EXIT_ROLLED_BACK = CS_EXIT_ROLLED_BACK,	  /* rollout failed and was rolled back */
	DEP_EXIT_ROLLBACK_FAIL = CS_EXIT_ROLLBACK_FAILED, /* the rollback failed too */
	DEP_EXIT_TIMEOUT = CS_EXIT_TIMEOUT,		  /* timed out (and rolled back) */
	DEP_EXIT_LOCKED = CS_EXIT_LOCKED, /* another deployment held the lock: nothing changed */
};

struct dep_args {
	const char *coe; /* "swarm", "compose" or "kubernetes" */
	const char
	    *bay; /* unix:///..., tcp://host:2375, tcp://host:2376 (TLS); NULL: $DOCKER_HOST */
	const char *app;
	struct cs_strvec files; /* -f, in order */
	struct cs_strvec sets;	/* --set K=V */
	const char *env_file;
	long timeout; /* seconds; default 300 */
	int prune, dry_run, keep_on_failure, print_model;
	const char *json_file;
	const char *registry_user;
	const char *registry_password_file; /* the password is read by the flow, never argv */
	const char *registry_password;	    /* module arguments only (a secret) */
	const char *publish_mode;	    /* NULL (as the file says), "ingress" or "host" */
	const char *resolve_image;	    /* NULL (always), "always", "changed", "never" */
	const char *kubeconfig, *context, *namespace; /* kubernetes */
	int force_conflicts;			      /* kubernetes */
	double stable_for;			      /* seconds; default DEP_DEFAULT_STABLE_S */
	long lock_timeout;			      /* seconds; default 300 */
	const char *break_lock;			      /* --break-lock ID */
};

#endif
