/*
 * The backend interface of the deployment flow (deploy.c). A backend turns
 * the normalized model into a plan of engine objects, applies one item at a
 * time, waits for all changed items at once, rolls items back, and reports
 * endpoints. swarm.c and engine_compose.c (over the Docker Engine API) and
 * kube.c (over the Kubernetes API) implement it; dep_backend_find() picks one
 * by --coe from a table. The shared context carries no client: each backend
 * keeps its own connection in ctx->priv.
 */
#ifndef DEP_BACKEND_H
#define DEP_BACKEND_H

#include <jansson.h>
#include <signal.h>

#include "buf.h"
#include "deploy.h"
#include "strvec.h"

enum dep_kind {
	DEP_KIND_NETWORK,
	DEP_KIND_VOLUME,
	DEP_KIND_SECRET,
	DEP_KIND_CONFIG,
	DEP_KIND_SERVICE,
	DEP_KIND_CONTAINER,
	DEP_KIND_OBJECT, /* a Kubernetes object: kind_name says which kind */
};

enum dep_action {
	DEP_ACT_CREATE,
	DEP_ACT_UPDATE,
	DEP_ACT_UNCHANGED,
	DEP_ACT_REMOVE,
};

/*
 * One object of the plan. The plan owns every field: dep_item_release()
 * frees name, key, id, desired, current, diag and calls the backend's
 * item_release for priv.
 */
struct dep_item {
	enum dep_kind kind;
	enum dep_action action;
	char *name;	   /* name on the engine: APP_web, APP_default, APP_web_1, ... */
	char *kind_name;   /* Kubernetes kind ("Deployment"), or NULL: dep_kind_name(kind) */
	char *key;	   /* name in the model (service, network, secret), or NULL */
	char *id;	   /* engine ID of the current object; of the new one after apply */
	long long version; /* version index of the current object (swarm) */
	json_t *desired;   /* what apply sends (create or update body), or NULL */
	json_t *current;   /* the engine's current spec, or NULL when there is none */
	int applied;	   /* apply changed it on the engine during this run */
	int wait;	   /* converge has to wait for it */
	int done;	   /* converge found it converged */
	int failed;	   /* converge found it failed (diag says why) */
	int uncertain;	   /* apply ended without an answer: did the change reach the bay? */
	int partial;	   /* recheck: only part of the change reached the bay */
	char *diag;	   /* failure description (task state, error, exit code, logs) */
	void *priv;	   /* backend data */
};

struct dep_plan {
	struct dep_item *v;
	size_t nr, alloc;
};

struct dep_ctx;

/*
 * Operations. Each returns 0 or a negative cs_err_code with a message set:
 * CS_ENET (unreachable), CS_EINVAL (the model cannot be deployed: nothing was
 * changed yet), CS_EHTTP (the engine rejected a request), CS_ETIMEOUT.
 */
struct dep_backend {
	const char *coe;
	/* Connect to the bay (ctx->opts->bay) and check it is the right kind of engine. */
	int (*open)(struct dep_ctx *ctx);
	/* Read the current state and fill ctx->plan, in apply order. Changes nothing. */
	int (*plan)(struct dep_ctx *ctx);
	/* Apply one item (create, update or remove); set it->applied and it->wait. */
	int (*apply)(struct dep_ctx *ctx, struct dep_item *it);
	/*
	 * Wait for every item with wait set until converged or ctx->deadline
	 * (monotonic seconds). 0: all converged; CS_ERROR: some failed (their
	 * failed and diag are set); CS_ETIMEOUT: the deadline passed (diag of
	 * the items not converged says what they were doing).
	 */
	int (*wait)(struct dep_ctx *ctx);
	/*
	 * Undo an applied item: an update goes back to the previous spec and
	 * sets it->wait again; a created object is removed unless
	 * opts->keep_on_failure. Called in reverse apply order.
	 */
	int (*rollback)(struct dep_ctx *ctx, struct dep_item *it);
	/*
	 * apply(it) ended without an answer (the bay went away, or a signal
	 * cut the request): look on the bay whether the change took effect.
	 * If it did, set it->applied (and id, wait) as apply would have, and
	 * it->partial when only part of it did (some steps of a multi-request
	 * change): rollback() can undo it either way. 0 once the bay answered,
	 * or a transport error (CS_ENET...) while it does not.
	 */
	int (*recheck)(struct dep_ctx *ctx, struct dep_item *it);
	/*
	 * Optional (may be NULL): called once everything converged, before the
	 * removals, to drop what a rollback would have needed (the compose
	 * backend's renamed old containers).
	 */
	int (*finish)(struct dep_ctx *ctx);
	/* Add the endpoints to ctx->result. */
	int (*report)(struct dep_ctx *ctx);
	/* Free ctx->priv and the connection. Accepts a context that open() never reached. */
	void (*close)(struct dep_ctx *ctx);
	/* Free it->priv. */
	void (*item_release)(struct dep_item *it);
};

struct dep_ctx {
	json_t *model; /* borrowed */
	const struct dep_deploy_opts *opts;
	const struct dep_backend *be;
	struct dep_result *result;
	struct dep_plan plan;
	double deadline;  /* monotonic seconds */
	int rolling_back; /* wait() is waiting for a rollback */
	/*
	 * Set (non-zero) by SIGINT/SIGTERM while applying or waiting; a
	 * backend hands it to its HTTP client (cs_http_set_cancel) so that a
	 * long request stops too. Cleared again before the rollback.
	 */
	volatile sig_atomic_t *cancel;
	void *priv; /* the backend's own state, including its connection */
};

extern const struct dep_backend dep_backend_swarm;
extern const struct dep_backend dep_backend_compose;
extern const struct dep_backend dep_backend_kubernetes;

/* The backend for --coe NAME ("swarm", "compose", "kubernetes"), or NULL. */
const struct dep_backend *dep_backend_find(const char *coe);

/*
 * Signals. dep_signals_install() makes SIGINT and SIGTERM stop the run
 * cleanly (the flow rolls back what it changed, writes the report, and
 * main() exits 128+signal) and ignores SIGPIPE. dep_interrupted() is the
 * signal received, or 0. A signal that arrives during the rollback is noted
 * but does not cut the rollback short (it is bounded by --timeout).
 */
void dep_signals_install(void);
int dep_interrupted(void);

/* Add a new item to the plan; strings are copied; returns it (valid until the next add). */
struct dep_item *dep_plan_add(struct dep_plan *plan, enum dep_kind kind, enum dep_action action,
			      const char *name, const char *key);
void dep_plan_release(struct dep_plan *plan, const struct dep_backend *be);

const char *dep_kind_name(enum dep_kind kind);
/* it->kind_name, else dep_kind_name(it->kind). */
const char *dep_item_kind(const struct dep_item *it);

/*
 * The model's service names in creation order: depends_on and links first, otherwise
 * by name. Errors: CS_EINVAL for a cycle or a dependency on an unknown service.
 */
int dep_service_order(struct cs_strvec *out, json_t *model);

/* First 12 hex digits of sha256(data), into out (13 bytes). */
void dep_short_hash(char out[13], const void *data, size_t len);
/* sha256 of the compact, key-sorted encoding of v, in hex (65 bytes). */
void dep_json_hash(char out[65], json_t *v);

/*
 * A deep copy of v without nulls, empty strings, zeros, false, and empty
 * objects and arrays (recursively; array elements are kept but pruned), for
 * comparing a spec we send with what the engine stores. New reference.
 */
json_t *dep_json_prune(json_t *v);

/* "http://HOST:PORT" host part for the bay: the tcp:// host, or 127.0.0.1 for a socket. */
void dep_bay_host(struct cs_buf *out, const char *bay);

/*
 * Demultiplex an engine log stream (8-byte headers when there is no TTY)
 * into text, keeping at most the last max_lines lines; control characters
 * escaped. A stream without headers is taken as plain text.
 */
void dep_logs_demux(struct cs_buf *out, const char *data, size_t len, int max_lines);

/* Parse an RFC 3339 time as the engine writes it; 0 on success. */
int dep_parse_time(double *out, const char *s);

#endif
