/*
 * Helpers shared by the Docker Engine backends (swarm.c, engine_compose.c):
 * checked JSON requests, filter query strings, and small accessors for the
 * normalized model.
 */
#ifndef DEP_ENGINE_H
#define DEP_ENGINE_H

#include <jansson.h>

#include "backend.h"

struct cs_docker;
struct cs_dockerauth;

/*
 * The connection of a Docker Engine backend. swarm.c and engine_compose.c
 * keep one as the FIRST member of their ctx->priv, so dep_engine() finds it.
 */
struct dep_engine {
	struct cs_docker *docker; /* owned */
	struct cs_strvec auth;	  /* "X-Registry-Auth: ..." for pulls, or empty (a secret) */
};

/*
 * Connect e to ctx->opts->bay and encode ctx->opts->registry_cred (if any)
 * as the X-Registry-Auth header this transport wants. Hands ctx->cancel to
 * the HTTP client. Errors: those of cs_docker_connect, CS_EINVAL.
 */
int dep_engine_open(struct dep_engine *e, struct dep_ctx *ctx);
/* Close the connection and wipe the header. Accepts a zeroed struct. */
void dep_engine_close(struct dep_engine *e);
/* The engine connection of ctx (the first member of ctx->priv); NULL for other backends. */
struct dep_engine *dep_engine(struct dep_ctx *ctx);

/*
 * method path (no version prefix) with body (borrowed, may be NULL); auth
 * adds ctx->headers (X-Registry-Auth). A 2xx answer is 0 and *out (may be
 * NULL) receives the decoded body (new reference, or NULL when empty);
 * otherwise CS_ENOTFOUND for 404, CS_EHTTP for other statuses, with the
 * engine's message, or the transport error (CS_ENET, CS_ETIMEOUT).
 */
int dep_call(struct dep_ctx *ctx, const char *method, const char *path, json_t *body, int auth,
	     json_t **out);

/* path + "?filters=" (or "&filters=") + the urlencoded JSON; caller frees. */
char *dep_filter_path(const char *path, json_t *filters);

/* GET path?filters={"label":[label]}; *out is a new JSON array. */
int dep_list_labelled(struct dep_ctx *ctx, const char *path, const char *label, json_t **out);

/* The keys of obj (may be NULL), sorted, appended to out. */
void dep_sorted_keys(struct cs_strvec *out, json_t *obj);
/* o[key] when it is a non-empty string, else NULL (borrowed). */
const char *dep_str(json_t *o, const char *key);
/* o[key] as an integer (reals truncated), 0 when absent. */
json_int_t dep_num(json_t *o, const char *key);
/* Set o[key] only when the value is not empty/zero (set_obj steals v either way). */
void dep_set_str(json_t *o, const char *key, const char *s);
void dep_set_int(json_t *o, const char *key, json_int_t v);
void dep_set_obj(json_t *o, const char *key, json_t *v);
/* A new array with the string elements of a. */
json_t *dep_string_array(json_t *a);
/* ["K=V", ...] in key order from {K: V}; a null V takes $K, or is left out. New reference. */
json_t *dep_env_list(json_t *env);

/*
 * GET path (a /containers/{id}/logs or /tasks/{id}/logs request) and append
 * its last max_lines lines, demultiplexed and escaped, to out. Nothing is
 * appended when the logs cannot be read: they only illustrate a failure.
 */
void dep_fetch_logs(struct dep_ctx *ctx, struct cs_buf *out, const char *path, int max_lines);

/* Read a (small) file: CS_EINVAL naming the path when it cannot be read or is over max bytes. */
int dep_read_file(struct cs_buf *out, const char *path, size_t max);

/* The engine name of model network key: its name:, the key itself when external, else APP_KEY. */
char *dep_network_name(struct dep_ctx *ctx, const char *key);

/*
 * The end of one pass of a converge loop: CS_ERROR when an item failed, 1
 * when nothing is waiting any more, CS_ETIMEOUT past ctx->deadline, else 0
 * after sleeping one poll interval (opts->poll_ms, default 250 ms).
 */
int dep_poll_next(struct dep_ctx *ctx, int failed, int waiting);

/*
 * A request of a converge loop failed with error (its message is the current
 * one). A bay that is unreachable (cs_err_unreachable: the connection was
 * dropped or refused) may come back: the first loss is logged with its
 * reason, *lost set, and 0 returned after one poll interval, until
 * ctx->deadline; past it, CS_ENET "the bay stayed unreachable until the
 * deadline: REASON". Any other error, or a signal (CS_EINTR), is returned.
 */
int dep_poll_lost(struct dep_ctx *ctx, int error, int *lost);

/* A request of a converge loop succeeded: if *lost, log that the bay answers again. */
void dep_poll_found(int *lost);

/* The model's network keys some service is on, as a new object {KEY: true} ("default" included). */
json_t *dep_used_networks(json_t *model);

/*
 * Add to the engine mount m the options of model volume vol for a mount of
 * type: ReadOnly, BindOptions.Propagation, TmpfsOptions.SizeBytes and
 * VolumeOptions.NoCopy (merged into VolumeOptions m may already have).
 */
void dep_mount_options(json_t *m, json_t *vol, const char *type);

/* The engine name of model volume key, by the same rule as networks. */
char *dep_volume_name(struct dep_ctx *ctx, const char *key);

/*
 * The network attachments of model service svc (named key) as a new array of
 * {name_field: network, aliases_field: [key, aliases...]}; a service without
 * networks is on "default". Swarm wants Target/Aliases, the compose target
 * name/aliases.
 */
json_t *dep_network_attachments(struct dep_ctx *ctx, json_t *svc, const char *key,
				const char *name_field, const char *aliases_field);

#endif
