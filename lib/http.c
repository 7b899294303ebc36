/*
 * HTTP on libcurl for the engine (unix socket or TCP+TLS) and registries.
 * Bodies stream both ways through callbacks so memory stays bounded; the
 * trace callback redacts credentials before anything reaches stderr.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

struct cs_http {
	CURL *curl;
	char *base;	 /* "http://localhost" for a socket, else scheme://host:port */
	char *display;	 /* what to call the peer in messages */
	char *unix_path; /* NULL unless a unix socket */
	char *ca_file, *cert_file, *key_file;
	char *ca_pem, *cert_pem, *key_pem;
	int insecure;
	volatile sig_atomic_t *cancel;
};

/* Per-request state handed to the curl callbacks. */
struct xfer {
	CURL *curl;
	const struct cs_http_req *req;
	struct cs_http_resp *resp;
	volatile sig_atomic_t *cancel;
	int cb_error; /* error returned by a user callback */
	int interrupted;
};

/* PEM text handed to curl, which copies it (CURL_BLOB_COPY). */
static void
set_blob(CURL *c, CURLoption opt, const char *pem)
{
	struct curl_blob b = {.data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};

	curl_easy_setopt(c, opt, &b);
}

static char *
dup_or_null(const char *s)
{
	return s ? cs_xstrdup(s) : NULL;
}

int
cs_http_new(struct cs_http **out, const char *base_url, const struct cs_http_tls *tls)
{
	struct cs_http *h;
	int use_tls = tls && (tls->ca_file || tls->cert_file || tls->ca_pem || tls->cert_pem);

	*out = NULL;
	h = cs_xcalloc(1, sizeof(*h));
	if (strncmp(base_url, "unix://", 7) == 0) {
		if (base_url[7] == '\0') {
			free(h);
			return cs_err_set(CS_EINVAL, "empty unix socket path in '%s'", base_url);
		}
		h->unix_path = cs_xstrdup(base_url + 7);
		h->base = cs_xstrdup("http://localhost");
	} else if (strncmp(base_url, "tcp://", 6) == 0) {
		h->base = cs_xasprintf("%s://%s", use_tls ? "https" : "http", base_url + 6);
	} else if (strncmp(base_url, "http://", 7) == 0 || strncmp(base_url, "https://", 8) == 0) {
		h->base = cs_xstrdup(base_url);
	} else {
		free(h);
		return cs_err_set(
		    CS_EINVAL,
		    "unsupported address '%s' (want unix://, tcp://, http:// or https://)",
		    base_url);
	}
	/* no trailing slash: paths start with one */
	while (strlen(h->base) > 8 && h->base[strlen(h->base) - 1] == '/')
		h->base[strlen(h->base) - 1] = '\0';
	h->display = cs_xstrdup(base_url);
	if (tls) {
		h->ca_file = dup_or_null(tls->ca_file);
		h->cert_file = dup_or_null(tls->cert_file);
		h->key_file = dup_or_null(tls->key_file);
		h->ca_pem = dup_or_null(tls->ca_pem);
		h->cert_pem = dup_or_null(tls->cert_pem);
		h->key_pem = dup_or_null(tls->key_pem);
		h->insecure = tls->insecure;
	}
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		cs_http_free(h);
		return cs_err_set(CS_ERROR, "cannot initialise libcurl");
	}
	*out = h;
	return 0;
}

void
cs_http_free(struct cs_http *h)
{
	if (h == NULL)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->base);
	free(h->display);
	free(h->unix_path);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	free(h->ca_pem);
	free(h->cert_pem);
	if (h->key_pem)
		explicit_bzero(h->key_pem, strlen(h->key_pem));
	free(h->key_pem);
	free(h);
}

const char *
cs_http_base(const struct cs_http *h)
{
	return h->base;
}

volatile sig_atomic_t *
cs_http_set_cancel(struct cs_http *h, volatile sig_atomic_t *flag)
{
	volatile sig_atomic_t *prev = h->cancel;

	h->cancel = flag;
	return prev;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *payload)
{
	struct xfer *x = payload;
	size_t len = size * nmemb, n = len;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue or a redirect): start over */
		cs_strvec_clear(&x->resp->headers);
		return len;
	}
	while (n && (data[n - 1] == '\r' || data[n - 1] == '\n'))
		n--;
	if (n)
		cs_strvec_push_take(&x->resp->headers, cs_xstrndup(data, n));
	return len;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *payload)
{
	struct xfer *x = payload;
	size_t len = size * nmemb;
	long status = 0;
	int error;

	/* an error answer's body is kept for the caller, not streamed */
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->req->write_cb && status < 300) {
		error = x->req->write_cb(data, len, x->req->write_payload);
	} else {
		error = cs_buf_add(&x->resp->body, data, len);
	}
	if (error < 0) {
		x->cb_error = error;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *payload)
{
	struct xfer *x = payload;
	long n = x->req->read_cb(buf, size * nmemb, x->req->read_payload);

	if (n < 0) {
		x->cb_error = CS_ERROR;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static int
on_progress(void *payload, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	    curl_off_t ulnow)
{
	struct xfer *x = payload;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (x->cancel && *x->cancel) {
		x->interrupted = 1;
		return 1;
	}
	return 0;
}

/* Query parameters whose values may hold secrets (docker build --build-arg NPM_TOKEN=...). */
static const char *const redacted_params[] = {"buildargs", NULL};

int
cs_http_display_path(struct cs_buf *out, const char *path)
{
	const char *p = path, *q = strchr(path, '?');
	size_t i, n;
	int error = 0;

	if (q == NULL)
		return cs_buf_adds(out, path);
	for (; *p && error == 0;) {
		/* copy up to and including the next '?' or '&', then look at the name */
		n = strcspn(p, "?& ");
		error = cs_buf_add(out, p, n + (p[n] ? 1 : 0));
		p += n + (p[n] ? 1 : 0);
		if (p <= q || p[-1] == ' ')
			continue;
		for (i = 0; redacted_params[i]; i++) {
			size_t l = strlen(redacted_params[i]);

			if (strncmp(p, redacted_params[i], l) == 0 && p[l] == '=') {
				error = cs_buf_add(out, p, l + 1);
				if (error == 0)
					error = cs_buf_adds(out, "<redacted>");
				p += l + 1 + strcspn(p + l + 1, "& ");
				break;
			}
		}
	}
	return error;
}

static const char *const redacted_headers[] = {"authorization", "x-registry-auth",
					       "x-registry-config", "cookie", NULL};

/*
 * Print the lines of data to stderr; wherever a credential header name
 * appears (also inside curl's HTTP/2 notes like "[authorization: Basic ...]")
 * everything after it is replaced by <redacted>.
 */
static void
trace_lines(const char *prefix, const char *data, size_t size)
{
	struct cs_buf line = CS_BUF_INIT;
	size_t i = 0;

	while (i < size) {
		size_t j = i, k;

		while (j < size && data[j] != '\n')
			j++;
		cs_buf_reset(&line);
		cs_buf_add(&line, data + i, j - i);
		cs_buf_rtrim(&line);
		for (k = 0; redacted_headers[k]; k++) {
			char *p = strcasestr(line.buf, redacted_headers[k]);
			size_t at;

			if (p == NULL)
				continue;
			at = (size_t)(p - line.buf) + strlen(redacted_headers[k]);
			line.len = at;
			line.buf[at] = '\0';
			cs_buf_adds(&line, ": <redacted>");
			break;
		}
		if (strchr(line.buf, '?')) {
			struct cs_buf shown = CS_BUF_INIT;

			cs_http_display_path(&shown, line.buf);
			cs_buf_reset(&line);
			cs_buf_add(&line, shown.buf, shown.len);
			cs_buf_wipe(&shown);
		}
		if (line.len)
			cs_log_trace("http %s %s", prefix, line.buf);
		i = j + 1;
	}
	cs_buf_release(&line);
}

static int
on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *payload)
{
	(void)c, (void)payload;
	switch (type) {
	case CURLINFO_HEADER_OUT:
		trace_lines(">", data, size);
		break;
	case CURLINFO_HEADER_IN:
		trace_lines("<", data, size);
		break;
	case CURLINFO_TEXT:
		trace_lines("*", data, size);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * A certificate the peer showed, or ours, is refused, or the peer does not
 * speak TLS at all (a plain-HTTP server: "wrong version number"): trying
 * again changes nothing.
 */
static int
is_certificate_error(CURLcode rc, const char *errbuf)
{
	if (rc == CURLE_SSL_CONNECT_ERROR && strstr(errbuf, "wrong version number"))
		return 1;
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return 1;
	default:
		return 0;
	}
}

int
cs_http_do(struct cs_http *h, const struct cs_http_req *req, struct cs_http_resp *resp)
{
	struct curl_slist *hdrs = NULL;
	struct cs_buf url = CS_BUF_INIT, shown = CS_BUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *method = req->method ? req->method : "GET";
	struct xfer x = {.curl = h->curl, .req = req, .resp = resp, .cancel = h->cancel};
	const char *trace = getenv("CS_TRACE_HTTP");
	CURL *c = h->curl;
	CURLcode rc;
	size_t i;
	int error = 0;

	resp->status = 0;
	cs_buf_reset(&resp->body);
	cs_strvec_clear(&resp->headers);
	curl_easy_reset(c);

	cs_buf_adds(&url, h->base);
	cs_buf_adds(&url, req->path);
	curl_easy_setopt(c, CURLOPT_URL, url.buf);
	if (h->unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->unix_path);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
	if (h->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
	if (h->ca_pem && !h->ca_file)
		set_blob(c, CURLOPT_CAINFO_BLOB, h->ca_pem);
	if (h->cert_pem && !h->cert_file) {
		set_blob(c, CURLOPT_SSLCERT_BLOB, h->cert_pem);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (h->key_pem && !h->key_file) {
		set_blob(c, CURLOPT_SSLKEY_BLOB, h->key_pem);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms ? req->connect_timeout_ms : 10000L);
	if (req->timeout_ms)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->fresh_connect) {
		/* a kept connection may reach a peer that has stopped listening */
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	}
	if (req->stall_seconds) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req->stall_seconds);
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "caas-devops/1.0");
	if (trace && strcmp(trace, "1") == 0) {
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	}

	if (strcmp(method, "HEAD") == 0 || req->no_body) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (req->read_cb) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (req->headers)
		for (i = 0; i < req->headers->nr; i++)
			hdrs = curl_slist_append(hdrs, req->headers->v[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc == CURLE_OK)
		goto out;
	cs_http_display_path(&shown, req->path);
	if (x.interrupted || (h->cancel && *h->cancel)) {
		error = cs_err_set(CS_EINTR, "%s %s: interrupted", method, shown.buf);
	} else if (x.cb_error) {
		error = x.cb_error; /* the callback set the message */
	} else if (is_certificate_error(rc, errbuf)) {
		error = cs_err_set(CS_ETLS, "%s %s%s: %s", method, h->display, shown.buf,
				   errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		error =
		    cs_err_set(CS_ETIMEOUT, "%s %s%s: timed out", method, h->display, shown.buf);
	} else {
		error = cs_err_set(CS_ENET, "%s %s%s: %s", method, h->display, shown.buf,
				   errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
out:
	curl_slist_free_all(hdrs);
	cs_buf_wipe(&url);
	cs_buf_wipe(&shown);
	return error;
}

const char *
cs_http_resp_header(const struct cs_http_resp *resp, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < resp->headers.nr; i++) {
		const char *l = resp->headers.v[i];

		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			l += n + 1;
			while (*l == ' ' || *l == '\t')
				l++;
			return l;
		}
	}
	return NULL;
}

void
cs_http_resp_release(struct cs_http_resp *resp)
{
	cs_buf_release(&resp->body);
	cs_strvec_clear(&resp->headers);
	resp->status = 0;
}

int
cs_http_urlencode(struct cs_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int error = 0;

	for (; *s && error == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			error = cs_buf_addch(out, c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			error = cs_buf_add(out, e, 3);
		}
	}
	return error;
}
