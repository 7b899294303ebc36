/*
 * Docker Engine API client: connection from DOCKER_HOST (unix:// default
 * /var/run/docker.sock; tcp:// with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH),
 * API version negotiated with the engine (GET /_ping, Api-Version header,
 * capped at the newest version we speak), and helpers for JSON calls and
 * streamed endpoints. Paths passed here have no version prefix: "/images/json".
 */
#ifndef CS_DOCKER_H
#define CS_DOCKER_H

#include <jansson.h>

#include "http.h"
#include "jsonstream.h"

struct cs_docker;

/*
 * Connect to host ("unix:///path", "tcp://h:p"), or to $DOCKER_HOST when host
 * is NULL, and negotiate the API version. Errors: CS_ENET when the engine
 * does not answer (message names the address), CS_EHTTP, CS_EINVAL when
 * DOCKER_TLS_VERIFY is set and ca.pem, cert.pem or key.pem cannot be read.
 */
int cs_docker_connect(struct cs_docker **out, const char *host);
void cs_docker_free(struct cs_docker *d);

/*
 * Whether the engine still answers GET /_ping within timeout_ms: 0, or CS_ENET
 * (CS_ETIMEOUT when it accepts but does not answer) with a message naming the
 * address and curl's reason. For a connection that may have been lost.
 */
int cs_docker_ping(struct cs_docker *d, long timeout_ms);

/* The negotiated version, e.g. "1.41" (borrowed). */
const char *cs_docker_api_version(const struct cs_docker *d);
/* The address used, e.g. "unix:///var/run/docker.sock" (borrowed). */
const char *cs_docker_host(const struct cs_docker *d);
/* The underlying HTTP client, for raw requests; paths then need cs_docker_path(). */
struct cs_http *cs_docker_http(struct cs_docker *d);
/* "/v1.41" + path, appended to out. */
int cs_docker_path(struct cs_buf *out, const struct cs_docker *d, const char *path);

/*
 * A JSON request: method on path (no version prefix), with body (may be NULL;
 * borrowed) and extra headers (may be NULL). *status receives the HTTP status;
 * *out (may be NULL) the decoded response, or NULL when the body is empty or
 * not JSON. A non-2xx answer is not an error here: the caller decides; use
 * cs_docker_error_message() for the engine's {"message": ...}.
 * Errors: CS_ENET, CS_ETIMEOUT.
 */
int cs_docker_json(struct cs_docker *d, const char *method, const char *path, json_t *body,
		   const struct cs_strvec *headers, long *status, json_t **out);

/* The engine's error text from a response object, or fallback (borrowed). */
const char *cs_docker_error_message(json_t *resp, const char *fallback);

/*
 * A streamed request whose response is a JSON message stream: each message is
 * passed to cb. body/read_cb as in struct cs_http_req. *status receives the
 * HTTP status; for a non-2xx answer the body is read as one error object and
 * cb is not called (the message is in cs_err_msg()) and CS_EHTTP is returned.
 */
int cs_docker_stream(struct cs_docker *d, const char *method, const char *path,
		     const struct cs_strvec *headers, cs_http_read_fn read_cb, void *read_payload,
		     cs_jsonstream_fn cb, void *payload, long *status);

/*
 * A request whose raw response body is streamed to write_cb (e.g. GET
 * /images/{name}/get). Non-2xx: CS_EHTTP with the engine's message.
 */
int cs_docker_raw(struct cs_docker *d, const char *method, const char *path,
		  cs_http_write_fn write_cb, void *payload);

/*
 * Whether the engine names registry host ("host:port") in its own
 * insecure-registries list (GET /info, RegistryConfig.IndexConfigs[host]
 * with Secure false): 1 yes, 0 no or unknown. The engine's CIDR list is not
 * read: it holds 127.0.0.0/8 by default, and a loopback registry must still
 * be verified unless named.
 */
int cs_docker_registry_insecure(struct cs_docker *d, const char *host);

#endif
