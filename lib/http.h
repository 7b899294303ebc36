/*
 * HTTP client on libcurl for the Docker engine (unix socket or TCP, optional
 * TLS client certificates) and for registries (HTTPS with a private CA).
 *
 * One struct cs_http per peer; it owns its CURL handle and reuses the
 * connection. Requests can send a body from memory or stream one through a
 * read callback (the build context), and receive the response into a buffer
 * or stream it through a write callback (build output, image export).
 * With CS_TRACE_HTTP=1 requests are traced to stderr; Authorization,
 * X-Registry-Auth and Cookie values are always shown as <redacted>, and so
 * is the buildargs query parameter (see cs_http_display_path()).
 */
#ifndef CS_HTTP_H
#define CS_HTTP_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "strvec.h"

struct cs_http;

struct cs_http_tls {
	const char *ca_file;   /* PEM CA bundle to trust, or NULL for the system store */
	const char *cert_file; /* client certificate (engine TLS), or NULL */
	const char *key_file;  /* client key, or NULL */
	int insecure;	       /* 1: do not verify the peer (never the default) */
	/*
	 * PEM text instead of files (kubeconfig *-data), or NULL; copied, and
	 * the key is wiped when the client is freed. A file, when given, wins.
	 */
	const char *ca_pem, *cert_pem, *key_pem;
};

/*
 * Create a client for base_url: "unix:///var/run/docker.sock",
 * "tcp://host:2375" (TLS when tls->cert_file or tls->ca_file is set),
 * "http://host:port" or "https://host:port". tls may be NULL. Strings are copied.
 * Errors: CS_EINVAL for an unsupported URL.
 */
int cs_http_new(struct cs_http **out, const char *base_url, const struct cs_http_tls *tls);
void cs_http_free(struct cs_http *h);

/* The scheme://host:port that paths are appended to (borrowed). */
const char *cs_http_base(const struct cs_http *h);

/* Read callback: fill buf with up to size bytes; return the count, 0 at end, -1 on error. */
typedef long (*cs_http_read_fn)(char *buf, size_t size, void *payload);
/* Write callback: consume len bytes; return 0, or a negative error to abort the transfer. */
typedef int (*cs_http_write_fn)(const char *data, size_t len, void *payload);

struct cs_http_req {
	const char *method;		 /* "GET" when NULL */
	const char *path;		 /* path and query, e.g. "/v1.41/build?t=x" */
	const struct cs_strvec *headers; /* extra "Name: value" lines, or NULL */
	const void *body;		 /* request body in memory, or NULL */
	size_t body_len;
	cs_http_read_fn read_cb; /* or a streamed body (chunked), or NULL */
	void *read_payload;
	cs_http_write_fn write_cb; /* stream the response body here; NULL: into resp->body */
	void *write_payload;
	long timeout_ms;	 /* whole-request limit; 0 = none */
	long connect_timeout_ms; /* 0 = 10 s (the TLS handshake included) */
	long stall_seconds;	 /* give up (CS_ETIMEOUT) under 1 byte/s for this long; 0 = never */
	int no_body;		 /* HEAD: no response body expected */
	int fresh_connect;	 /* a new connection, neither reused nor kept (a liveness probe) */
};

struct cs_http_resp {
	long status;
	struct cs_buf body;	  /* the body when no write_cb was given (capped, see buf.h) */
	struct cs_strvec headers; /* "Name: value" lines of the final response */
};

/* clang-format off */
#define CS_HTTP_RESP_INIT { .body = CS_BUF_INIT, .headers = CS_STRVEC_INIT }
/* clang-format on */

/*
 * Perform one request. On return resp holds the status, headers and body
 * (also for non-2xx answers: the caller decides). Errors: CS_ENET when the
 * peer cannot be reached or the connection broke (message names the URL and
 * curl's reason), CS_ETLS when a certificate is refused (unknown CA, wrong
 * name, expired, unreadable CA or client certificate file), CS_ETIMEOUT, CS_EINTR when a callback
 * or a signal aborted the transfer, or the callback's own error.
 */
int cs_http_do(struct cs_http *h, const struct cs_http_req *req, struct cs_http_resp *resp);

/* The value of header name (case-insensitive) in resp, or NULL. Borrowed. */
const char *cs_http_resp_header(const struct cs_http_resp *resp, const char *name);
void cs_http_resp_release(struct cs_http_resp *resp);

/*
 * Abort transfers of this client when *flag becomes non-zero (a signal
 * handler sets it): cs_http_do then returns CS_EINTR. flag may be NULL.
 * Returns the flag set before, so a borrower can put it back.
 */
volatile sig_atomic_t *cs_http_set_cancel(struct cs_http *h, volatile sig_atomic_t *flag);

/*
 * Append path (and query) to out as it may be shown in a message or a trace:
 * the values of query parameters that can carry secrets ("buildargs") are
 * replaced by <redacted>. Every message and trace line of this module that
 * names a request goes through it; callers quoting a path do the same.
 */
int cs_http_display_path(struct cs_buf *out, const char *path);

/* Percent-encode s for a query string, appending to out. */
int cs_http_urlencode(struct cs_buf *out, const char *s);

#endif
