/*
 * Internals shared by the Kubernetes backend's files: kube.c (connection,
 * discovery, plan, apply, restore) and kube_wait.c (wait, endpoints).
 */
#ifndef DEP_KUBE_INT_H
#define DEP_KUBE_INT_H

#include <jansson.h>

#include "backend.h"
#include "converge.h"
#include "kubeconfig.h"
#include "strvec.h"

struct cs_http;

struct kube {
	struct cs_kubeconfig kc;
	struct cs_http *http;
	struct cs_strvec auth; /* Authorization header (a secret) */
	const char *ns;	       /* the default namespace (borrowed from opts or kc) */
	json_t *disc;	       /* "apiVersion Kind" -> {"resource", "namespaced"} */
	int aggregated;	       /* the server offered aggregated discovery */
};

struct kitem {
	char *api, *kind, *ns, *name; /* ns NULL: cluster-scoped */
	char *where;		      /* "FILE: document N (line L)", or NULL (objects we add) */
	int order;
	int seq;	      /* position in the files: order within a kind group */
	int deleting;	      /* the rollback deletes it: wait until it is gone */
	int unknown;	      /* kind served only once a CRD of this run is established */
	struct dep_stable st; /* the pod states printed by the wait (only .seen is used) */
};

static inline struct kube *
K(struct dep_ctx *ctx)
{
	return ctx->priv;
}

/*
 * One request to the API server. body (borrowed, may be NULL) is sent as
 * JSON with Content-Type ctype; accept NULL means "Accept: application/json".
 * *status gets the HTTP status and *out (may be NULL) the decoded body.
 * Errors: transport only (CS_ENET, CS_ETIMEOUT, CS_EINTR).
 */
int dep_kube__call(struct kube *k, const char *method, const char *path, const char *ctype,
		   json_t *body, const char *accept, long *status, json_t **out);
/* GET path: 0 and *out (new reference), CS_ENOTFOUND for 404, CS_EHTTP otherwise. */
int dep_kube__get(struct kube *k, const char *path, json_t **out);
/* The "message" of a Status answer, or "no message" (borrowed). */
const char *dep_kube__status_message(json_t *resp);
/* The API path of the item's object; NULL while its kind is not served. Caller frees. */
char *dep_kube__obj_path(struct kube *k, const struct kitem *p);
/* Deployment, StatefulSet, DaemonSet, Job or Pod: something the wait watches. */
int dep_kube__is_workload(const char *kind);

/* The backend's wait and report operations (backend.h). */
int dep_kube__wait(struct dep_ctx *ctx);
int dep_kube__report(struct dep_ctx *ctx);

#endif
