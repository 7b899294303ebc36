/*
 * The Swarm objects of a Compose model, built the way `docker stack deploy`
 * (docker CLI 28.2, cli/compose/convert) builds them, so that a stack first
 * deployed by docker and then by caas-deployer from the same file plans no
 * change. Only spec building: no request goes to the bay here except the
 * digest lookups of dep_swarm_resolve_image().
 */
#ifndef DEP_SWARM_SPEC_H
#define DEP_SWARM_SPEC_H

#include <jansson.h>

struct dep_ctx;

/*
 * The ServiceSpec of model service key (svc), as docker stack deploy sends
 * it: image in docker's canonical form (NAME:latest when neither tag nor
 * digest is given), entrypoint/command, environment sorted (a variable
 * without value and unset stays a bare "NAME", as docker sends it),
 * extra_hosts as "IP HOST", DNSConfig, cap_add/cap_drop normalized
 * (CAP_ prefix, upper case, ALL), sysctls, ulimits (sorted), tty, stdin_open,
 * read_only, init, stop_signal, isolation, logging (LogDriver), resources
 * (limits pids, reservations generic_resources), placement (constraints,
 * spread preferences, max_replicas_per_node), restart policy, update and
 * rollback configs, networks sorted by name with aliases (the file's, then
 * the service name) and per-network driver_opts, ports sorted by published
 * port, secrets and configs. Secret/config references carry the model name
 * in SecretName/ConfigName (the caller renames them, then calls
 * dep_swarm_sort_refs()). New reference; never fails.
 */
/* {K: V} of src with string values (integers as text), plus the stack namespace label of app. */
json_t *dep_swarm_labels(json_t *src, const char *app);

/* A Compose restart_policy's condition as swarm names it (no -> none, always -> any), or NULL. */
const char *dep_swarm_restart_condition(json_t *rp);

json_t *dep_swarm_service_spec(struct dep_ctx *ctx, const char *key, json_t *svc);

/*
 * Sort the Secrets and Configs of ContainerSpec cs by their (engine) names,
 * as docker does, then by target (docker leaves references to one object in
 * a random order).
 */
void dep_swarm_sort_refs(json_t *cs);

/*
 * The network create body of model network key, engine name name, driver
 * (already defaulted): Labels, Driver, Options (driver_opts), Internal,
 * Attachable and IPAM (driver and subnets, as docker stack deploy sends
 * them). New reference.
 */
json_t *dep_swarm_network_spec(struct dep_ctx *ctx, const char *key, const char *name,
			       const char *driver);

/*
 * docker's canonical form of an image reference (the CLI's
 * reference.FamiliarString(TagNameOnly(...))): "busybox" -> "busybox:latest",
 * "docker.io/library/busybox:1" -> "busybox:1", a digest kept. A reference
 * that does not parse is returned unchanged. Caller frees.
 */
char *dep_image_canonical(const char *image);

/*
 * --resolve-image for the service spec about to be planned: mode "always"
 * looks the image up with GET /distribution/{image}/json (X-Registry-Auth
 * from ctx->headers) and stores NAME:TAG@sha256:... and the image's
 * platforms in Placement.Platforms, as docker's client does; "changed" does
 * that only when the image differs from current's com.docker.stack.image
 * label; "never" (and "changed" with the same image) keep current's pinned
 * image when the label matches, like docker stack deploy. current is the
 * service's stored spec, or NULL for a new service.
 * Errors: CS_EINVAL when the registry answers that it does not have the
 * image ("image 'x' not found in its registry"); other lookup failures (no
 * registry answers, no credentials) are a warning and keep the tag, as
 * docker's CLI does.
 */
int dep_swarm_resolve_image(struct dep_ctx *ctx, json_t *spec, json_t *current, const char *mode);

#endif
