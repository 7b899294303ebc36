/*
 * The exit codes of the three tools, and the one mapping from an error
 * (enum cs_err_code) and the phase it happened in to a code. Each tool's
 * --help lists the codes it can return; a code means the same thing in every
 * tool that returns it (7 is "the remote end refused": the registry for the
 * validator, the bay for the deployer).
 */
#ifndef CS_EXITCODE_H
#define CS_EXITCODE_H

enum cs_exit {
	CS_EXIT_OK = 0,
	CS_EXIT_BUILD = 1,	     /* a build step failed, or the engine refused the Dockerfile */
	CS_EXIT_USAGE = 2,	     /* usage or bad input: nothing was changed */
	CS_EXIT_INVALID = 3,	     /* the image breaks the policy: nothing pushed */
	CS_EXIT_PUSH = 4,	     /* push failed */
	CS_EXIT_SOURCE = 5,	     /* the git source failed */
	CS_EXIT_UNREACHABLE = 6,     /* engine or bay unreachable, or its API failed */
	CS_EXIT_REFUSED = 7,	     /* the registry (validator) or the bay (deployer) refused */
	CS_EXIT_ROLLED_BACK = 8,     /* rollout failed and was rolled back */
	CS_EXIT_ROLLBACK_FAILED = 9, /* rollout failed and the rollback failed too */
	CS_EXIT_TIMEOUT = 10,	     /* timed out (and rolled back) */
	CS_EXIT_LOCKED = 11,	     /* another deployment of the app held its lock */
	CS_EXIT_SIGINT = 130,
	CS_EXIT_SIGTERM = 143,
};

/* Where an error happened: the same error means different things in each. */
enum cs_phase {
	CS_PHASE_INPUT,	   /* options, files named by them, policies, Compose/manifests */
	CS_PHASE_SOURCE,   /* cloning and checking out the git source */
	CS_PHASE_ENGINE,   /* talking to the Docker engine (connect, inspect, tag, run) */
	CS_PHASE_BUILD,	   /* the engine's build */
	CS_PHASE_PUSH,	   /* pushing and verifying in the registry */
	CS_PHASE_REGISTRY, /* reading an image from a registry */
	CS_PHASE_BAY,	   /* talking to the bay (swarm, engine, Kubernetes API) */
};

/*
 * The exit code for error (a negative enum cs_err_code) in phase. sig is
 * the signal that interrupted the run (0 if none): an interrupted run exits
 * 128 + signal (130 for SIGINT, 143 for SIGTERM and CS_EINTR without one),
 * whatever the error.
 */
int cs_exit_for(int error, enum cs_phase phase, int sig);

#endif
