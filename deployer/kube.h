/*
 * The Kubernetes side of caas-deployer: reading manifests (kube_input.c),
 * translating a Compose model into manifests (kube_compose.c), and the
 * backend over the Kubernetes API (kube.c, in backend.h's table).
 *
 * The model the kubernetes backend consumes:
 * {
 *   "name": "app" | null,
 *   "manifests": [{"file": "k8s/app.yml", "doc": 1, "line": 12,
 *                  "object": {apiVersion, kind, metadata, ...}}]
 * }
 * "doc" is the 1-based index of the document in its file, "line" where it
 * starts; both only for messages.
 */
#ifndef DEP_KUBE_H
#define DEP_KUBE_H

#include <jansson.h>

#include "strvec.h"

struct dep_kube_input {
	const struct cs_strvec *files; /* -f FILE or DIR, in order */
	const struct cs_strvec *sets;  /* --set K=V, highest priority */
	const char *env_file;	       /* --env-file, or NULL */
	const char *const *env;	       /* "K=V" NULL-terminated; NULL: environ */
	struct cs_strvec *errors;      /* every problem, one line each (optional) */
};

/*
 * Read every file (a directory: its *.yaml, *.yml and *.json files in name
 * order) as multi-document YAML after replacing $VAR, ${VAR} and the Compose
 * forms (${VAR:-d}, ${VAR:?err}, ...) for the variables of --set, the
 * environment and --env-file; a $NAME or ${NAME} naming no variable, and $$,
 * stay as written (so shell text in commands is untouched). A "List" is
 * expanded into its items. Every document is checked (apiVersion, kind,
 * metadata.name; removed APIs name their replacement) before the caller
 * sends anything. On success *out is a new model (shape above).
 * Errors (all collected in in->errors, each "FILE: document N (line L): ..."):
 * CS_EIO, CS_EPARSE, CS_EINVAL.
 */
int dep_kube_load(json_t **out, const struct dep_kube_input *in);

/*
 * 1 when path is a Compose file rather than Kubernetes manifests: a regular
 * file whose first document is a mapping with "services" and no "kind".
 */
int dep_kube_is_compose(const char *path);

/*
 * The replacement of a removed API: "apps/v1" for extensions/v1beta1
 * Deployment, ...; NULL when apiVersion/kind is still served.
 */
const char *dep_kube_removed_api(const char *api_version, const char *kind,
				 const char **removed_in);

/*
 * Translate a normalized Compose model (compose.h) into a manifests model:
 * a Deployment per service (a StatefulSet when it mounts a named volume),
 * a Service for its ports (ClusterIP; NodePort for published ports, or
 * LoadBalancer with publish_mode "loadbalancer" or x-kubernetes-service-type
 * on the service), ConfigMaps and Secrets from configs and secrets, PVCs
 * from named volumes, probes from healthcheck, resources, replicas. Keys
 * that have no translation are warnings naming the key and the service's
 * line. *out is a new reference. CS_EINVAL when a file cannot be read.
 */
int dep_kube_from_compose(json_t **out, json_t *model, const char *publish_mode,
			  struct cs_strvec *warnings);

#endif
