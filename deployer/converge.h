/*
 * Convergence as docker's own progress monitor defines it, shared by the
 * Docker backends (swarm.c, engine_compose.c): an object has converged once
 * it has been ready (every task of the desired version running, healthy when
 * it has a healthcheck) for a stability window without a failure or a
 * restart in between. Also the progress lines of the wait (stderr, one per
 * state change, and the window counting).
 */
#ifndef DEP_CONVERGE_H
#define DEP_CONVERGE_H

#include <jansson.h>

#include "backend.h"

/* The window when neither --stable-for nor the service's update_config.monitor says. */
#define DEP_DEFAULT_STABLE_S 5

/*
 * The stability state of one waited object, kept in the backend's item data.
 * All zero is the initial state; dep_stable_release() frees it.
 */
struct dep_stable {
	double since; /* monotonic time it became ready; 0: not ready */
	int shown;    /* whole seconds of the window already printed */
	int notready; /* "not ready" already printed since the last ready spell */
	json_t *seen; /* task or container ID -> the last state printed */
};

/*
 * The window for service key of the model, in seconds: its
 * deploy.update_config.monitor when it has one (as docker's progress
 * monitor), else ctx->opts->stable_for_s.
 */
double dep_stable_window(struct dep_ctx *ctx, const char *key);

/*
 * One poll's verdict on it: ready says whether it is ready now (what, may be
 * NULL, describes it: "1/1 tasks running"). Returns 1 once it has stayed
 * ready for the window of its service (it->key), else 0; a poll that is not
 * ready restarts the window. Prints the window counting on stderr and keeps
 * it->diag saying how far it got, for a timeout report.
 */
int dep_stable_check(struct dep_ctx *ctx, struct dep_item *it, struct dep_stable *st, int ready,
		     const char *what);

/*
 * Print "subject state" (or "subject old -> new") on stderr when id (a task,
 * container or pod) is new or its state differs from the last one printed
 * for it. subject names the service first: "web: task app_web.1 4f2a9c1d0e3b".
 */
void dep_stable_note(struct dep_stable *st, const char *subject, const char *id, const char *state);

/* Forget the window (a rollback starts a new wait); the printed states are kept. */
void dep_stable_reset(struct dep_stable *st);

/* Free the contents; back to all zero. */
void dep_stable_release(struct dep_stable *st);

#endif
