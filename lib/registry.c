/*
 * Registry HTTP API v2: credential check, manifest HEAD, delete. Basic auth is
 * sent once the registry asks for it; a Bearer challenge is answered by
 * fetching a token from its realm with the same credentials.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "clock.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "registry.h"
#include "xalloc.h"

#include <jansson.h>
#include <openssl/evp.h>

struct cs_registry {
	struct cs_http *http;
	char *host;
	char *ca_file; /* the CA of the registry, for its token server too; NULL: system store */
	int plain_http;
	int insecure; /* HTTPS unverified, falling back to plain HTTP */
	char *username;
	char *password;
	char *auth_header; /* "Authorization: ..." once known; a secret */
	int max_attempts;
	int stall_seconds;
	volatile sig_atomic_t *cancel;
};

#define REQUEST_TIMEOUT_MS 60000L
#define STALL_SECONDS 20

static int
cancelled(const struct cs_registry *r)
{
	return r->cancel && *r->cancel;
}

/* Backoff that a signal cuts short. */
static int
backoff(struct cs_registry *r, long ms)
{
	for (; ms > 0 && !cancelled(r); ms -= 100)
		cs_clock_sleep_ms(ms < 100 ? ms : 100);
	return cancelled(r) ? cs_err_set(CS_EINTR, "registry %s: interrupted", r->host) : 0;
}

int
cs_registry_status_is_transient(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

static int
file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

int
cs_registry_open(struct cs_registry **out, const struct cs_registry_opts *opts)
{
	struct cs_http_tls tls = {0};
	struct cs_registry *r;
	char *certs_d = NULL, *url = NULL;
	int error;

	*out = NULL;
	if (opts->host == NULL || *opts->host == '\0' || strpbrk(opts->host, "/@ ") != NULL)
		return cs_err_set(CS_EINVAL, "invalid registry host '%s'",
				  opts->host ? opts->host : "");
	r = cs_xcalloc(1, sizeof(*r));
	r->host = cs_xstrdup(opts->host);
	r->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 4;
	if (opts->username)
		r->username = cs_xstrdup(opts->username);
	if (opts->password) {
		r->password = cs_xstrdup(opts->password);
		cs_log_secret_add(r->password);
	}
	tls.ca_file = opts->ca_file;
	if (tls.ca_file == NULL) {
		certs_d = cs_xasprintf("/etc/docker/certs.d/%s/ca.crt", opts->host);
		if (file_exists(certs_d))
			tls.ca_file = certs_d;
	}
	r->ca_file = tls.ca_file ? cs_xstrdup(tls.ca_file) : NULL;
	r->plain_http = opts->plain_http;
	r->insecure = opts->insecure;
	tls.insecure = opts->insecure;
	url = cs_xasprintf("%s://%s", opts->plain_http ? "http" : "https", opts->host);
	if ((error = cs_http_new(&r->http, url, &tls)) < 0)
		goto out;
	r->cancel = opts->cancel;
	r->stall_seconds = opts->stall_seconds > 0 ? opts->stall_seconds : STALL_SECONDS;
	cs_http_set_cancel(r->http, r->cancel);
	*out = r;
	r = NULL;
out:
	free(url);
	free(certs_d);
	cs_registry_free(r);
	return error;
}

static void
free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
cs_registry_free(struct cs_registry *r)
{
	if (r == NULL)
		return;
	cs_http_free(r->http);
	free(r->host);
	free(r->ca_file);
	free(r->username);
	free_secret(r->password);
	free_secret(r->auth_header);
	free(r);
}

static char *
basic_header(const struct cs_registry *r)
{
	struct cs_buf plain = CS_BUF_INIT, enc = CS_BUF_INIT;
	char *h;

	cs_buf_addf(&plain, "%s:%s", r->username, r->password ? r->password : "");
	cs_base64_encode(&enc, plain.buf, plain.len, 0);
	h = cs_xasprintf("Authorization: Basic %s", enc.buf);
	cs_buf_wipe(&plain);
	cs_buf_wipe(&enc);
	return h;
}

/* Value of key="value" in a WWW-Authenticate challenge; caller frees. */
static char *
challenge_param(const char *ch, const char *key)
{
	size_t n = strlen(key);
	const char *p = ch;

	while ((p = strcasestr(p, key)) != NULL) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[n] == '=') {
			const char *v = p + n + 1, *e;

			if (*v == '"') {
				v++;
				e = strchr(v, '"');
			} else {
				e = v + strcspn(v, ",");
			}
			return e ? cs_xstrndup(v, (size_t)(e - v)) : NULL;
		}
		p += n;
	}
	return NULL;
}

/* Fetch a bearer token for the challenge; sets r->auth_header. */
static int
bearer_token(struct cs_registry *r, const char *challenge)
{
	char *realm = challenge_param(challenge, "realm");
	char *service = challenge_param(challenge, "service");
	char *scope = challenge_param(challenge, "scope");
	struct cs_buf path = CS_BUF_INIT;
	struct cs_strvec hdrs = CS_STRVEC_INIT;
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_http *th = NULL;
	json_t *v = NULL;
	const char *tok;
	char *slash;
	int error;

	if (realm == NULL) {
		error =
		    cs_err_set(CS_EAUTH, "registry %s: bearer challenge without a realm", r->host);
		goto out;
	}
	/* split realm into base URL and path */
	slash = strchr(strstr(realm, "://") ? strstr(realm, "://") + 3 : realm, '/');
	cs_buf_adds(&path, slash ? slash : "/");
	if (slash)
		*slash = '\0';
	cs_buf_addch(&path, strchr(path.buf, '?') ? '&' : '?');
	if (service) {
		cs_buf_adds(&path, "service=");
		cs_http_urlencode(&path, service);
	}
	if (scope) {
		cs_buf_adds(&path, "&scope=");
		cs_http_urlencode(&path, scope);
	}
	/*
	 * The token server gets the credentials: never in clear unless the
	 * registry itself was declared plain HTTP, and verified with the
	 * registry's own CA (a private registry's token server has the same).
	 */
	if (strncasecmp(realm, "https://", 8) != 0 &&
	    !(r->plain_http && strncasecmp(realm, "http://", 7) == 0)) {
		error =
		    cs_err_set(CS_EAUTH,
			       "registry %s: refusing the token server '%s': credentials "
			       "would go over plain HTTP (or an unknown scheme) to a TLS registry",
			       r->host, realm);
		goto out;
	}
	{
		struct cs_http_tls tls = {.ca_file = r->ca_file};

		if ((error = cs_http_new(&th, realm, &tls)) < 0)
			goto out;
	}
	cs_http_set_cancel(th, r->cancel);
	if (r->username)
		cs_strvec_push_take(&hdrs, basic_header(r));
	{
		struct cs_http_req req = {.path = path.buf,
					  .headers = &hdrs,
					  .timeout_ms = REQUEST_TIMEOUT_MS,
					  .stall_seconds = r->stall_seconds};

		if ((error = cs_http_do(th, &req, &resp)) < 0)
			goto out;
	}
	if (resp.status == 401 || resp.status == 403) {
		error = cs_err_set(CS_EAUTH, "registry %s: authentication failed for user '%s'",
				   r->host, r->username ? r->username : "(anonymous)");
		goto out;
	}
	v = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
	tok = json_string_value(json_object_get(v, "token"));
	if (tok == NULL)
		tok = json_string_value(json_object_get(v, "access_token"));
	if (resp.status != 200 || tok == NULL) {
		error = cs_err_set(CS_EAUTH, "registry %s: token server answered HTTP %ld", r->host,
				   resp.status);
		goto out;
	}
	cs_log_secret_add(tok);
	free_secret(r->auth_header);
	r->auth_header = cs_xasprintf("Authorization: Bearer %s", tok);
	error = 0;
out:
	if (v)
		json_decref(v);
	cs_http_resp_release(&resp);
	cs_http_free(th);
	cs_strvec_wipe(&hdrs);
	cs_buf_release(&path);
	free(realm);
	free(service);
	free(scope);
	return error;
}

/*
 * One request with auth and retries. On a 401 the challenge is answered once
 * (Basic or Bearer) and the request repeated.
 */
static int
request(struct cs_registry *r, const char *method, const char *path, const char *accept,
	struct cs_http_resp *resp)
{
	int attempt, answered = 0, error = 0;
	unsigned delay_ms = 500;

	for (attempt = 1;; attempt++) {
		struct cs_strvec hdrs = CS_STRVEC_INIT;
		struct cs_http_req req = {.method = method,
					  .path = path,
					  .headers = &hdrs,
					  .timeout_ms = REQUEST_TIMEOUT_MS,
					  .stall_seconds = r->stall_seconds};
		const char *ch;

		if (accept)
			cs_strvec_pushf(&hdrs, "Accept: %s", accept);
		if (r->auth_header)
			cs_strvec_push(&hdrs, r->auth_header);
		error = cs_http_do(r->http, &req, resp);
		cs_strvec_wipe(&hdrs);
		if (error == 0 && resp->status == 401 && !answered) {
			answered = 1;
			ch = cs_http_resp_header(resp, "WWW-Authenticate");
			if (ch && strncasecmp(ch, "Bearer", 6) == 0) {
				char *copy = cs_xstrdup(ch);

				error = bearer_token(r, copy);
				free(copy);
				if (error < 0)
					return error;
				attempt--;
				continue;
			}
			if (r->username && r->auth_header == NULL) {
				r->auth_header = basic_header(r);
				attempt--;
				continue;
			}
		}
		if (error == 0 && resp->status == 401)
			return cs_err_set(CS_EAUTH,
					  "registry %s: authentication failed for user '%s'",
					  r->host, r->username ? r->username : "(anonymous)");
		if (error == CS_EINTR || error == CS_EINVAL)
			return error;
		if ((error == CS_ENET || error == CS_ETIMEOUT ||
		     (error == 0 && cs_registry_status_is_transient(resp->status))) &&
		    attempt < r->max_attempts) {
			cs_log(CS_LOG_WARN, "registry %s: %s %s: %s; retrying (%d/%d)", r->host,
			       method, path, error ? cs_err_msg() : "transient HTTP error", attempt,
			       r->max_attempts - 1);
			if ((error = backoff(r, (long)delay_ms)) < 0)
				return error;
			delay_ms *= 2;
			continue;
		}
		return error;
	}
}

/* GET path (a manifest of repository:reference) into resp: 0 on 200. */
static int
get_manifest(struct cs_http_resp *resp, struct cs_registry *r, const char *accept, const char *path,
	     const char *repository, const char *reference)
{
	int error;

	if ((error = request(r, "GET", path, accept, resp)) < 0)
		return error;
	if (resp->status == 404)
		return cs_err_set(CS_ENOTFOUND, "registry %s: no manifest %s:%s", r->host,
				  repository, reference);
	if (resp->status != 200)
		return cs_err_set(CS_EHTTP, "registry %s: GET %s: HTTP %ld", r->host, path,
				  resp->status);
	return 0;
}

int
cs_registry_check(struct cs_registry *r)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	int error;

	error = request(r, "GET", "/v2/", NULL, &resp);
	if (cs_err_unreachable(error) && r->insecure && !r->plain_http) {
		/* an insecure registry without TLS: plain HTTP, as the engine does */
		struct cs_http *plain = NULL;
		char *url = cs_xasprintf("http://%s", r->host);

		cs_http_resp_release(&resp);
		if ((error = cs_http_new(&plain, url, NULL)) == 0) {
			cs_http_free(r->http);
			r->http = plain;
			r->plain_http = 1;
			cs_http_set_cancel(r->http, r->cancel);
			error = request(r, "GET", "/v2/", NULL, &resp);
		}
		free(url);
	}
	if (error == CS_ETLS && strstr(cs_err_msg(), "wrong version number")) {
		error = cs_err_set(CS_ETLS,
				   "registry %s does not speak TLS (a plain-HTTP registry must be "
				   "named as insecure, like docker's insecure-registries)",
				   r->host);
		goto out;
	}
	if (error < 0 && strncmp(cs_err_msg(), "registry ", 9) != 0) {
		char *msg = cs_xstrdup(cs_err_msg());

		error = cs_err_set(error, "registry %s: %s", r->host, msg);
		free(msg);
	}
	if (error < 0)
		goto out;
	if (resp.status != 200)
		error =
		    cs_err_set(CS_EHTTP, "registry %s: GET /v2/: HTTP %ld", r->host, resp.status);
out:
	cs_http_resp_release(&resp);
	return error;
}

const char *
cs_registry_scheme(const struct cs_registry *r)
{
	return r->plain_http ? "http" : "https";
}

static const char manifest_accept[] =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

int
cs_registry_manifest_digest(char **out, struct cs_registry *r, const char *repository,
			    const char *reference)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	char *path = cs_xasprintf("/v2/%s/manifests/%s", repository, reference);
	const char *dg;
	int error;

	*out = NULL;
	if ((error = request(r, "HEAD", path, manifest_accept, &resp)) < 0)
		goto out;
	if (resp.status == 404) {
		error = cs_err_set(CS_ENOTFOUND, "registry %s: no manifest %s:%s", r->host,
				   repository, reference);
		goto out;
	}
	dg = cs_http_resp_header(&resp, "Docker-Content-Digest");
	if (resp.status != 200 || dg == NULL) {
		error = cs_err_set(CS_EHTTP, "registry %s: HEAD %s: HTTP %ld%s", r->host, path,
				   resp.status, dg ? "" : " without Docker-Content-Digest");
		goto out;
	}
	*out = cs_xstrdup(dg);
out:
	cs_http_resp_release(&resp);
	free(path);
	return error;
}

static const char image_manifest_accept[] = "application/vnd.docker.distribution.manifest.v2+json, "
					    "application/vnd.oci.image.manifest.v1+json";

/* "sha256:<hex>" of data into out (72 bytes). */
static void
sha256_digest(char out[72], const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	memcpy(out, "sha256:", 7);
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		mdlen = 0;
	for (i = 0; i < mdlen && i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[7 + 2 * i] = '\0';
}

int
cs_registry_manifest_config(char **digest, char **config_digest, struct cs_registry *r,
			    const char *repository, const char *reference)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	char *path = cs_xasprintf("/v2/%s/manifests/%s", repository, reference);
	char computed[72];
	const char *dg, *cfg;
	json_t *m = NULL;
	int error;

	*digest = *config_digest = NULL;
	if ((error = get_manifest(&resp, r, image_manifest_accept, path, repository, reference)) <
	    0)
		goto out;
	/* the digest is computed, not taken on trust: it names exactly these bytes */
	sha256_digest(computed, resp.body.buf, resp.body.len);
	dg = cs_http_resp_header(&resp, "Docker-Content-Digest");
	if (dg && strcmp(dg, computed) != 0) {
		error = cs_err_set(CS_EHTTP,
				   "registry %s: manifest %s:%s is %s but the registry calls it %s",
				   r->host, repository, reference, computed, dg);
		goto out;
	}
	m = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
	cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	if (cfg == NULL) {
		error = cs_err_set(CS_EHTTP,
				   "registry %s: manifest %s:%s is not an image manifest with a "
				   "config",
				   r->host, repository, reference);
		goto out;
	}
	*digest = cs_xstrdup(computed);
	*config_digest = cs_xstrdup(cfg);
out:
	json_decref(m);
	cs_http_resp_release(&resp);
	free(path);
	return error;
}

int
cs_registry_delete_manifest(struct cs_registry *r, const char *repository, const char *digest)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	char *path = cs_xasprintf("/v2/%s/manifests/%s", repository, digest);
	int error;

	if ((error = request(r, "DELETE", path, NULL, &resp)) < 0)
		goto out;
	if (resp.status != 202 && resp.status != 200)
		error = cs_err_set(resp.status == 404 ? CS_ENOTFOUND : CS_EHTTP,
				   "registry %s: DELETE %s: HTTP %ld", r->host, path, resp.status);
out:
	cs_http_resp_release(&resp);
	free(path);
	return error;
}

/* ---- reading images: manifests and blobs (the validator's registry path) ---- */

int
cs_registry_get_manifest(struct cs_buf *out, char **media_type, struct cs_registry *r,
			 const char *repository, const char *reference)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	char *path = cs_xasprintf("/v2/%s/manifests/%s", repository, reference);
	const char *ct;
	int error;

	*media_type = NULL;
	if ((error = get_manifest(&resp, r, manifest_accept, path, repository, reference)) < 0)
		goto out;
	if (resp.body.len > ((size_t)4 << 20)) {
		error = cs_err_set(CS_ETOOBIG, "registry %s: manifest %s:%s is larger than 4 MiB",
				   r->host, repository, reference);
		goto out;
	}
	ct = cs_http_resp_header(&resp, "Content-Type");
	*media_type = cs_xstrndup(ct ? ct : "", ct ? strcspn(ct, "; ") : 0);
	error = cs_buf_add(out, resp.body.buf, resp.body.len);
out:
	cs_http_resp_release(&resp);
	free(path);
	return error;
}

/* GET an absolute URL without our credentials (a blob redirected to storage). */
static int
get_redirected(struct cs_registry *r, const char *location, cs_http_write_fn cb, void *payload,
	       long *status)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_http_tls tls = {0};
	struct cs_http *h = NULL;
	const char *p = strstr(location, "://");
	char *base;
	int error;

	if (p == NULL || strncmp(location, "https://", 8) != 0)
		return cs_err_set(CS_EHTTP, "registry %s: blob redirected to a non-https URL",
				  r->host);
	p = strchr(p + 3, '/');
	base = cs_xstrndup(location, p ? (size_t)(p - location) : strlen(location));
	if ((error = cs_http_new(&h, base, &tls)) == 0) {
		struct cs_http_req req = {.path = p ? p : "/",
					  .write_cb = cb,
					  .write_payload = payload,
					  .timeout_ms = 3600000};

		error = cs_http_do(h, &req, &resp);
		*status = resp.status;
	}
	cs_http_resp_release(&resp);
	cs_http_free(h);
	free(base);
	return error;
}

int
cs_registry_get_blob(struct cs_registry *r, const char *repository, const char *digest,
		     cs_http_write_fn cb, void *payload)
{
	struct cs_http_resp resp = CS_HTTP_RESP_INIT, head = CS_HTTP_RESP_INIT;
	struct cs_strvec hdrs = CS_STRVEC_INIT;
	char *path = cs_xasprintf("/v2/%s/blobs/%s", repository, digest);
	long status = 0;
	int error;

	/* the HEAD answers the auth challenge (and retries) before the body streams */
	if ((error = request(r, "HEAD", path, NULL, &head)) < 0)
		goto out;
	if (head.status == 404) {
		error = cs_err_set(CS_ENOTFOUND, "registry %s: no blob %s in %s", r->host, digest,
				   repository);
		goto out;
	}
	if (r->auth_header)
		cs_strvec_push(&hdrs, r->auth_header);
	{
		struct cs_http_req req = {.path = path,
					  .headers = &hdrs,
					  .write_cb = cb,
					  .write_payload = payload,
					  .timeout_ms = 3600000};

		if ((error = cs_http_do(r->http, &req, &resp)) < 0)
			goto out;
	}
	status = resp.status;
	if (status >= 300 && status < 400 && cs_http_resp_header(&resp, "Location") != NULL &&
	    (error = get_redirected(r, cs_http_resp_header(&resp, "Location"), cb, payload,
				    &status)) < 0)
		goto out;
	if (status != 200)
		error = cs_err_set(status == 404 ? CS_ENOTFOUND : CS_EHTTP,
				   "registry %s: GET %s: HTTP %ld", r->host, path, status);
out:
	cs_strvec_wipe(&hdrs);
	cs_http_resp_release(&resp);
	cs_http_resp_release(&head);
	free(path);
	return error;
}
