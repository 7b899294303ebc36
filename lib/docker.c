/*
 * Docker Engine API client: address from DOCKER_HOST, API version negotiated
 * with GET /_ping, JSON calls and streamed endpoints on top of lib/http.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"

/* The newest Engine API version this client speaks (Docker 20.10). */
#define CS_DOCKER_API_MAX "1.41"

struct cs_docker {
	struct cs_http *http;
	char *host;
	char version[16];
};

/* -1, 0, 1 as "1.40" compares to "1.41". */
static int
version_cmp(const char *a, const char *b)
{
	unsigned amaj = 0, amin = 0, bmaj = 0, bmin = 0;

	sscanf(a, "%u.%u", &amaj, &amin);
	sscanf(b, "%u.%u", &bmaj, &bmin);
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	if (amin != bmin)
		return amin < bmin ? -1 : 1;
	return 0;
}

/*
 * GET /_ping: the engine answers, and which API version to speak. ca is the CA file the
 * engine's certificate was checked against (NULL: no TLS), named when it is refused.
 */
static int
negotiate(struct cs_docker *d, const char *ca)
{
	struct cs_http_req req = {.path = "/_ping", .timeout_ms = 30000};
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	const char *v;
	int error;

	if ((error = cs_http_do(d->http, &req, &resp)) < 0) {
		const char *why = strrchr(cs_err_msg(), ':');

		if (error == CS_ETLS && ca != NULL)
			error = cs_err_set(CS_ETLS,
					   "cannot connect to the Docker engine at %s: its TLS "
					   "certificate is refused:%s (checked against '%s')",
					   d->host, why ? why + 1 : " unknown reason", ca);
		else
			error = cs_err_set(CS_ENET, "cannot connect to the Docker engine at %s:%s",
					   d->host, why ? why + 1 : " no answer");
		goto out;
	}
	if (resp.status != 200) {
		error = cs_err_set(CS_EHTTP, "Docker engine at %s: GET /_ping: HTTP %ld", d->host,
				   resp.status);
		goto out;
	}
	v = cs_http_resp_header(&resp, "Api-Version");
	if (v == NULL || version_cmp(v, CS_DOCKER_API_MAX) > 0)
		v = CS_DOCKER_API_MAX;
	snprintf(d->version, sizeof(d->version), "%s", v);
	cs_log(CS_LOG_DEBUG, "engine %s speaks API %s", d->host, d->version);
out:
	cs_http_resp_release(&resp);
	return error;
}

int
cs_docker_connect(struct cs_docker **out, const char *host)
{
	struct cs_http_tls tls = {0};
	struct cs_docker *d;
	char *ca = NULL, *cert = NULL, *key = NULL;
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	int error;

	*out = NULL;
	if (host == NULL || *host == '\0')
		host = getenv("DOCKER_HOST");
	if (host == NULL || *host == '\0')
		host = "unix:///var/run/docker.sock";
	d = cs_xcalloc(1, sizeof(*d));
	d->host = cs_xstrdup(host);
	if (strncmp(host, "tcp://", 6) == 0 && verify && *verify) {
		const char *dir = getenv("DOCKER_CERT_PATH");
		char *home_dir = NULL;

		if (dir == NULL || *dir == '\0') {
			const char *home = getenv("HOME");

			home_dir = cs_xasprintf("%s/.docker", home ? home : "");
			dir = home_dir;
		}
		ca = cs_xasprintf("%s/ca.pem", dir);
		cert = cs_xasprintf("%s/cert.pem", dir);
		key = cs_xasprintf("%s/key.pem", dir);
		{
			const char *files[] = {ca, cert, key};
			size_t i;

			for (i = 0; i < 3; i++) {
				if (access(files[i], R_OK) == 0)
					continue;
				error = cs_err_set(
				    CS_EINVAL,
				    "DOCKER_TLS_VERIFY is set but '%s' cannot be read: %s (%s; it "
				    "must name the directory of ca.pem, cert.pem and key.pem)",
				    files[i], strerror(errno),
				    home_dir ? "DOCKER_CERT_PATH is not set, ~/.docker is used"
					     : "check DOCKER_CERT_PATH");
				free(home_dir);
				goto out;
			}
		}
		tls.ca_file = ca;
		tls.cert_file = cert;
		tls.key_file = key;
		free(home_dir);
	}
	if ((error = cs_http_new(&d->http, host, &tls)) < 0)
		goto out;
	if ((error = negotiate(d, tls.ca_file)) < 0)
		goto out;
	*out = d;
	d = NULL;
out:
	free(ca);
	free(cert);
	free(key);
	cs_docker_free(d);
	return error;
}

void
cs_docker_free(struct cs_docker *d)
{
	if (d == NULL)
		return;
	cs_http_free(d->http);
	free(d->host);
	free(d);
}

const char *
cs_docker_api_version(const struct cs_docker *d)
{
	return d->version;
}

const char *
cs_docker_host(const struct cs_docker *d)
{
	return d->host;
}

struct cs_http *
cs_docker_http(struct cs_docker *d)
{
	return d->http;
}

int
cs_docker_path(struct cs_buf *out, const struct cs_docker *d, const char *path)
{
	return cs_buf_addf(out, "/v%s%s", d->version, path);
}

const char *
cs_docker_error_message(json_t *resp, const char *fallback)
{
	const char *m = json_string_value(json_object_get(resp, "message"));

	return m && *m ? m : fallback;
}

int
cs_docker_json(struct cs_docker *d, const char *method, const char *path, json_t *body,
	       const struct cs_strvec *headers, long *status, json_t **out)
{
	struct cs_http_req req = {.method = method};
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_strvec hdrs = CS_STRVEC_INIT;
	struct cs_buf url = CS_BUF_INIT;
	char *text = NULL;
	size_t i;
	int error;

	if (out)
		*out = NULL;
	*status = 0;
	cs_docker_path(&url, d, path);
	req.path = url.buf;
	if (headers)
		for (i = 0; i < headers->nr; i++)
			cs_strvec_push(&hdrs, headers->v[i]);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			error =
			    cs_err_set(CS_EINVAL, "%s %s: cannot encode the request", method, path);
			goto out;
		}
		req.body = text;
		req.body_len = strlen(text);
		cs_strvec_push(&hdrs, "Content-Type: application/json");
	}
	req.headers = &hdrs;
	if ((error = cs_http_do(d->http, &req, &resp)) < 0)
		goto out;
	*status = resp.status;
	if (out && resp.body.len) {
		json_error_t jerr;

		*out = json_loadb(resp.body.buf, resp.body.len, JSON_DECODE_ANY, &jerr);
		if (*out == NULL && resp.status >= 400) {
			/* a plain-text error: wrap it so callers read one shape */
			cs_buf_rtrim(&resp.body);
			*out = json_pack("{s:s%}", "message", resp.body.buf, resp.body.len);
		}
	}
out:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	cs_strvec_clear(&hdrs);
	cs_buf_release(&url);
	cs_http_resp_release(&resp);
	return error;
}

/* Set the error message from an error body (JSON {"message"} or text). */
static int
body_error(struct cs_buf *body, const char *method, const char *path, long status)
{
	json_t *v = json_loadb(body->buf, body->len, 0, NULL);
	struct cs_buf shown = CS_BUF_INIT;
	int error;

	cs_buf_rtrim(body);
	cs_http_display_path(&shown, path); /* no build args in messages */
	error =
	    cs_err_set(CS_EHTTP, "%s %s: %s (HTTP %ld)", method, shown.buf,
		       cs_docker_error_message(v, body->len ? body->buf : "no message"), status);
	cs_buf_wipe(&shown);
	json_decref(v);
	return error;
}

struct stream_state {
	struct cs_jsonstream js;
};

static int
stream_write(const char *data, size_t len, void *payload)
{
	struct stream_state *st = payload;
	int rc = cs_jsonstream_feed(&st->js, data, len);

	return rc > 0 ? CS_EINTR : rc;
}

int
cs_docker_stream(struct cs_docker *d, const char *method, const char *path,
		 const struct cs_strvec *headers, cs_http_read_fn read_cb, void *read_payload,
		 cs_jsonstream_fn cb, void *payload, long *status)
{
	struct cs_http_req req = {.method = method, .headers = headers};
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_buf url = CS_BUF_INIT;
	struct stream_state st;
	int error;

	*status = 0;
	cs_jsonstream_init(&st.js, cb, payload);
	cs_docker_path(&url, d, path);
	req.path = url.buf;
	req.read_cb = read_cb;
	req.read_payload = read_payload;
	req.write_cb = stream_write;
	req.write_payload = &st;
	error = cs_http_do(d->http, &req, &resp);
	*status = resp.status;
	if (error < 0)
		goto out;
	if (resp.status >= 300) {
		error = body_error(&resp.body, method, path, resp.status);
		goto out;
	}
	error = cs_jsonstream_finish(&st.js);
out:
	cs_jsonstream_release(&st.js);
	cs_buf_release(&url);
	cs_http_resp_release(&resp);
	return error;
}

int
cs_docker_ping(struct cs_docker *d, long timeout_ms)
{
	struct cs_http_req req = {.path = "/_ping", .timeout_ms = timeout_ms, .fresh_connect = 1};
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	const char *why;
	int error;

	if ((error = cs_http_do(d->http, &req, &resp)) < 0) {
		why = strrchr(cs_err_msg(), ':');
		error = cs_err_set(error == CS_ETIMEOUT ? CS_ETIMEOUT : CS_ENET,
				   "the Docker engine at %s does not answer:%s", d->host,
				   why ? why + 1 : " no answer");
		goto out;
	}
	if (resp.status != 200)
		error = cs_err_set(CS_ENET,
				   "the Docker engine at %s does not answer: GET /_ping: HTTP %ld",
				   d->host, resp.status);
out:
	cs_http_resp_release(&resp);
	return error;
}

int
cs_docker_raw(struct cs_docker *d, const char *method, const char *path, cs_http_write_fn write_cb,
	      void *payload)
{
	struct cs_http_req req = {.method = method, .write_cb = write_cb, .write_payload = payload};
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_buf url = CS_BUF_INIT;
	int error;

	cs_docker_path(&url, d, path);
	req.path = url.buf;
	if ((error = cs_http_do(d->http, &req, &resp)) < 0)
		goto out;
	if (resp.status >= 300)
		error = body_error(&resp.body, method, path, resp.status);
out:
	cs_buf_release(&url);
	cs_http_resp_release(&resp);
	return error;
}

int
cs_docker_registry_insecure(struct cs_docker *d, const char *host)
{
	json_t *info = NULL, *index;
	long status = 0;
	int insecure = 0;

	if (cs_docker_json(d, "GET", "/info", NULL, NULL, &status, &info) == 0 && status == 200) {
		index = json_object_get(
		    json_object_get(json_object_get(info, "RegistryConfig"), "IndexConfigs"), host);
		insecure = json_is_false(json_object_get(index, "Secure"));
	}
	json_decref(info);
	cs_err_clear();
	return insecure;
}
