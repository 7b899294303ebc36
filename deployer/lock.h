/*
 * The lock on the bay per application: two deployments of the same app at
 * once must never interleave (one would plan from a state the other is
 * changing). The lock is an engine object with a unique name, created
 * atomically by the engine: a swarm config APP.caas-deployer-lock (a swarm
 * bay; the cluster's store refuses a second one), or a never-started
 * container of that name on a plain engine (the engine's name registry
 * refuses a second one); on Kubernetes a Lease of that name (lower case;
 * else caas-deployer-lock.HASH) in the run's namespace (the API server
 * refuses a second create with 409). Its labels (a Lease: its annotations)
 * say who holds it, since when, and until when it is valid.
 */
#ifndef DEP_LOCK_H
#define DEP_LOCK_H

#include <time.h>

#include "backend.h"

#define DEP_LOCK_LABEL "io.caas.deployer.lock"
/* The image of the plain engine's lock containers (an empty imported layer). */
#define DEP_LOCK_IMAGE "caas-deployer-lock:1"

struct dep_lock {
	char *name; /* the lock object's name */
	char *id;   /* its engine ID (Kubernetes: metadata.uid) while we hold it, else NULL */
	int swarm;  /* a swarm config (1) or a container (0) */
	int kube;   /* a Kubernetes Lease (coordination.k8s.io/v1) in namespace ns */
	const char *ns;
	char token[33];	   /* the lock ID: --break-lock names it */
	long long expires; /* its expiry (time(), seconds) */
};

/*
 * Take the lock of ctx->opts->app on the bay (ctx->docker must be open):
 * create the lock object; while another run holds it, wait (a progress line
 * says who holds it) up to ctx->opts->lock_timeout_s seconds. A stale lock
 * is removed first: one whose holder process is gone (same machine, same
 * PID namespace), or one past its expiry (2 x --timeout + 15 min after it
 * was taken). Returns 0 with the lock held, CS_ETIMEOUT (the message names
 * the holder) when it stayed held, or the engine error (CS_ENET, CS_EHTTP).
 * lk must be zeroed; release it with dep_lock_release() either way.
 * Kubernetes: when the namespace does not exist yet, or the user may not
 * create Leases (403), the run goes on without the lock, with a warning.
 */
int dep_lock_acquire(struct dep_ctx *ctx, struct dep_lock *lk);

/*
 * Remove the lock object if we hold it (by ID: never another run's), and
 * free lk's contents. When it cannot be removed (the bay is gone), returns a
 * new message for the report that says how a later run gets past it (the
 * lock ID for --break-lock), also logged as a warning; else NULL.
 */
char *dep_lock_release(struct dep_ctx *ctx, struct dep_lock *lk);

/*
 * Why a lock described by labels (the lock object's labels or annotations)
 * may be broken regardless of its holder, or NULL: its lock ID is break_id
 * (--break-lock; NULL or "" names none), or now is past its expiry. Caller
 * frees. The holder-process check of this machine is done besides.
 */
char *dep_lock__break_reason(json_t *labels, time_t now, const char *break_id);

#endif
