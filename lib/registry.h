/*
 * Client for a registry's HTTP API v2 (the CNCF distribution registry and
 * OCI-conformant ones): check credentials, and read a manifest's digest with
 * HEAD so a push can be verified. HTTPS with a private CA: the CA is
 * opts->ca_file, else /etc/docker/certs.d/HOST[:PORT]/ca.crt when present,
 * else the system store. Auth: HTTP Basic, or the Bearer token flow when the
 * registry's WWW-Authenticate asks for it. Transient failures (connection
 * errors, timeouts, HTTP 429 and 5xx) are retried with backoff; a refused
 * certificate (CS_ETLS) is not. Each request
 * has a 10 s connect timeout (TLS handshake included) and is abandoned when
 * it moves less than 1 byte/s for 20 s or lasts 60 s; the cancel flag stops a
 * request or a backoff within a second.
 */
#ifndef CS_REGISTRY_H
#define CS_REGISTRY_H

#include <signal.h>

#include "buf.h"
#include "http.h"

struct cs_registry;

struct cs_registry_opts {
	const char *host;     /* "host[:port]" */
	const char *ca_file;  /* NULL: certs.d or the system store */
	const char *username; /* NULL: anonymous */
	const char *password; /* borrowed; never logged */
	int plain_http;	      /* 1: http:// from the start */
	/*
	 * 1: an insecure registry, as docker's insecure-registries: HTTPS
	 * without verifying the certificate, and plain HTTP when the registry
	 * does not speak TLS (decided by cs_registry_check). Never the default.
	 */
	int insecure;
	int max_attempts;	       /* transient-failure retries; 0 = 4 */
	volatile sig_atomic_t *cancel; /* abort requests and retries when *cancel != 0 (CS_EINTR) */
	int stall_seconds;	       /* give up a request under 1 byte/s for this long; 0 = 20 */
};

/* Errors: CS_EINVAL for a bad host. Strings are copied (the password too, wiped on free). */
int cs_registry_open(struct cs_registry **out, const struct cs_registry_opts *opts);
void cs_registry_free(struct cs_registry *r);

/*
 * GET /v2/ with the credentials. Errors: CS_EAUTH (refused: the message says
 * so and names the user, never the password), CS_ENET, CS_EHTTP.
 */
int cs_registry_check(struct cs_registry *r);

/* "https" or "http": how the client talks to the registry (after cs_registry_check). */
const char *cs_registry_scheme(const struct cs_registry *r);

/*
 * HEAD the manifest repository:reference and give its digest
 * ("sha256:..."; caller frees). Errors: CS_ENOTFOUND, CS_EAUTH, CS_ENET, CS_EHTTP.
 */
int cs_registry_manifest_digest(char **out, struct cs_registry *r, const char *repository,
				const char *reference);

/*
 * GET the image manifest repository:reference (Docker v2 schema 2 or OCI)
 * and give its digest, computed from the bytes received (and checked
 * against the registry's Docker-Content-Digest), and its config.digest,
 * which is the image ID of the image the engine pushed. Both "sha256:...",
 * caller frees. Errors: CS_ENOTFOUND, CS_EAUTH, CS_ENET, CS_EHTTP (also a
 * digest that does not match the bytes, or no config: a manifest list).
 */
int cs_registry_manifest_config(char **digest, char **config_digest, struct cs_registry *r,
				const char *repository, const char *reference);

/* DELETE a manifest by digest (tests and cleanup). */
int cs_registry_delete_manifest(struct cs_registry *r, const char *repository, const char *digest);

/* 1 if an HTTP status is worth retrying (429, 5xx). */
int cs_registry_status_is_transient(long status);

/*
 * GET the manifest repository:reference (schema 2, OCI manifest, list or
 * index), appending the body to out (at most 4 MiB) and giving its media type
 * (Content-Type without parameters; caller frees). Errors: CS_ENOTFOUND,
 * CS_EAUTH, CS_ENET, CS_EHTTP, CS_ETOOBIG.
 */
int cs_registry_get_manifest(struct cs_buf *out, char **media_type, struct cs_registry *r,
			     const char *repository, const char *reference);

/*
 * Stream the blob digest of repository into cb (a redirect to storage is
 * followed without our credentials, https only). The caller checks the
 * digest of what it receives; a body that is not the blob (an error status)
 * may have been passed to cb too, and the call then fails. Errors:
 * CS_ENOTFOUND, CS_EAUTH, CS_ENET, CS_EHTTP, or cb's error.
 */
int cs_registry_get_blob(struct cs_registry *r, const char *repository, const char *digest,
			 cs_http_write_fn cb, void *payload);

#endif
