/*
 * The push step: POST /images/{name}/push with X-Registry-Auth, the digest
 * read from the push stream, then verified against the manifest the registry
 * serves (its digest, and its config digest against the image ID).
 * Transient failures are retried with backoff; an authentication failure is
 * final at once.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "br.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "registry.h"
#include "xalloc.h"

/* The retries on top of the engine's own (it retries a layer upload 5 times over ~50 s). */
#define PUSH_ATTEMPTS 4
#define PUSH_RETRY_WINDOW_S 90.0

struct push_state {
	char *digest;
	struct cs_buf error;
	enum br_push_fault fault;
};

static int
on_message(json_t *msg, void *payload)
{
	struct push_state *st = payload;
	json_t *aux = json_object_get(msg, "aux");
	const char *s;

	if ((s = json_string_value(json_object_get(aux, "Digest"))) != NULL) {
		free(st->digest);
		st->digest = cs_xstrdup(s);
	}
	if ((s = json_string_value(json_object_get(msg, "error"))) != NULL) {
		json_t *detail = json_object_get(msg, "errorDetail");
		const char *m = json_string_value(json_object_get(detail, "message"));

		cs_buf_reset(&st->error);
		cs_buf_adds(&st->error, m ? m : s);
		st->fault = br_push_classify(detail, st->error.buf);
	}
	if ((s = json_string_value(json_object_get(msg, "status"))) != NULL) {
		const char *id = json_string_value(json_object_get(msg, "id"));

		/* skip the per-layer progress bars; keep state changes */
		if (json_object_size(json_object_get(msg, "progressDetail")) == 0) {
			if (id)
				cs_out("%s: %s", id, s);
			else
				cs_out("%s", s);
		}
	}
	return 0;
}

static enum br_push_fault
by_status(long code)
{
	if (code == 401 || code == 403)
		return BR_PUSH_AUTH;
	if (code == 408 || code == 429 || (code >= 500 && code <= 599))
		return BR_PUSH_TRANSIENT;
	return BR_PUSH_PERMANENT;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum br_push_fault
br_push_classify(const json_t *detail, const char *m)
{
	/* distribution's error codes (errcode descriptors), as "<code>: <message>" */
	static const char *const auth_codes[] = {"unauthorized: ", "denied: ", NULL};
	static const char *const transient_codes[] = {
	    "toomanyrequests: ",     "unavailable: ",	      "unknown: ",
	    "blob upload unknown: ", "blob upload invalid: ", NULL};
	/* the end of Go's net, io and tls errors: the connection failed, not the request */
	static const char *const net_suffixes[] = {": connection refused",
						   ": connection reset by peer",
						   ": broken pipe",
						   ": EOF",
						   "unexpected EOF",
						   ": i/o timeout",
						   ": no route to host",
						   "TLS handshake timeout",
						   NULL};
	const char *p;
	json_t *code = json_object_get(detail, "code");
	size_t i;

	if (json_is_integer(code) && json_integer_value(code) >= 100 &&
	    json_integer_value(code) <= 599)
		return by_status((long)json_integer_value(code));
	if (m == NULL)
		return BR_PUSH_PERMANENT;
	/* a certificate problem never heals by itself: never retried */
	if (strstr(m, "x509: ") || strstr(m, "tls: "))
		return BR_PUSH_PERMANENT;
	if ((p = strstr(m, "received unexpected HTTP status: ")) != NULL)
		return by_status(strtol(p + strlen("received unexpected HTTP status: "), NULL, 10));
	for (i = 0; auth_codes[i]; i++)
		if (has_prefix(m, auth_codes[i]))
			return BR_PUSH_AUTH;
	if (strstr(m, "no basic auth credentials"))
		return BR_PUSH_AUTH;
	for (i = 0; transient_codes[i]; i++)
		if (has_prefix(m, transient_codes[i]))
			return BR_PUSH_TRANSIENT;
	for (i = 0; net_suffixes[i]; i++)
		if (has_suffix(m, net_suffixes[i]))
			return BR_PUSH_TRANSIENT;
	return BR_PUSH_PERMANENT;
}

/* Split "HOST:PORT/REPO:TAG" into repo (without host) and tag; caller frees both. */
static int
split_name(char **repo, char **tag, const char *name, const char *registry)
{
	const char *p = name, *colon;
	size_t rl = strlen(registry);

	if (strncmp(name, registry, rl) == 0 && name[rl] == '/')
		p = name + rl + 1;
	colon = strrchr(p, ':');
	if (colon == NULL || strchr(colon, '/'))
		return cs_err_set(CS_EINVAL, "image name '%s' has no tag", name);
	*repo = cs_xstrndup(p, (size_t)(colon - p));
	*tag = cs_xstrdup(colon + 1);
	return 0;
}

static int
push_once(struct push_state *st, struct cs_docker *d, const char *repo_full, const char *tag,
	  const struct br_push_opts *o)
{
	struct cs_strvec hdrs = CS_STRVEC_INIT;
	struct cs_buf path = CS_BUF_INIT;
	long status = 0;
	int error;

	cs_buf_adds(&path, "/images/");
	cs_http_urlencode(&path, repo_full);
	cs_buf_adds(&path, "/push?tag=");
	cs_http_urlencode(&path, tag);
	/* the engine requires the header; "e30=" is base64 "{}" (anonymous) */
	cs_strvec_pushf(&hdrs, "X-Registry-Auth: %s", o->auth_header ? o->auth_header : "e30=");
	cs_buf_reset(&st->error);
	st->fault = BR_PUSH_PERMANENT;
	error = cs_docker_stream(d, "POST", path.buf, &hdrs, NULL, NULL, on_message, st, &status);
	if (error == 0 && st->error.len)
		error = cs_err_set(st->fault == BR_PUSH_AUTH ? CS_EAUTH : CS_EHTTP,
				   "push %s:%s: %s", repo_full, tag, st->error.buf);
	else if (error == 0 && st->digest == NULL)
		error = cs_err_set(CS_EHTTP, "push %s:%s: the engine reported no digest", repo_full,
				   tag);
	cs_strvec_wipe(&hdrs);
	cs_buf_release(&path);
	return error;
}

int
br_push(char **digest, struct cs_docker *d, const char *name, const struct br_push_opts *o)
{
	struct push_state st = {.error = CS_BUF_INIT};
	char *repo = NULL, *tag = NULL, *repo_full = NULL, *remote = NULL, *config = NULL;
	unsigned delay = 1;
	double start = cs_clock_now();
	int attempt, error;

	*digest = NULL;
	if ((error = split_name(&repo, &tag, name, o->registry)) < 0)
		goto out;
	repo_full = cs_xasprintf("%s/%s", o->registry, repo);
	for (attempt = 1;; attempt++) {
		error = push_once(&st, d, repo_full, tag, o);
		if (error == 0 || error == CS_EAUTH || error == CS_EINTR || br_interrupted)
			break;
		/*
		 * Only a failure the engine's stream classifies as transient is
		 * retried (not an error of the engine's own API, which is not the
		 * registry's), and only within the bounds.
		 */
		if (st.error.len == 0 || st.fault != BR_PUSH_TRANSIENT)
			break;
		if (attempt >= PUSH_ATTEMPTS) {
			error = cs_err_set(error, "%s (gave up after %d attempts)", cs_err_msg(),
					   attempt);
			break;
		}
		if (cs_clock_now() - start > PUSH_RETRY_WINDOW_S) {
			error = cs_err_set(error, "%s (gave up after %.0f s)", cs_err_msg(),
					   cs_clock_now() - start);
			break;
		}
		cs_log(CS_LOG_WARN, "%s; retrying in %u s (%d/%d)", cs_err_msg(), delay, attempt,
		       PUSH_ATTEMPTS - 1);
		cs_clock_sleep_ms(delay * 1000L);
		delay *= 2;
	}
	if (error < 0)
		goto out;
	if ((error = cs_registry_manifest_config(&remote, &config, o->client, repo, tag)) < 0)
		goto out;
	if (strcmp(remote, st.digest) != 0) {
		error =
		    cs_err_set(CS_EHTTP, "push %s: the engine reported %s but the registry has %s",
			       name, st.digest, remote);
		goto out;
	}
	/* the manifest's config is the image: it must be the one built and validated */
	if (o->image_id && strcmp(config, o->image_id) != 0) {
		error = cs_err_set(CS_EHTTP,
				   "push %s: the registry holds image %s, not the image %s that "
				   "was built%s: another push replaced it",
				   name, config, o->image_id, o->validated ? " and validated" : "");
		goto out;
	}
	*digest = st.digest;
	st.digest = NULL;
out:
	free(remote);
	free(config);
	free(repo);
	free(tag);
	free(repo_full);
	free(st.digest);
	cs_buf_release(&st.error);
	return error;
}
