/*
 * kubeconfig files (clientcmd's format and merge rules) resolved into one
 * connection, and the HTTP client for it. The YAML is read by lib/yamldoc.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "kubeconfig.h"
#include "log.h"
#include "xalloc.h"
#include "yamldoc.h"

extern char **environ;

#define KC_MAX_FILE (4 << 20)

static const char *
getenv_in(const char *const *env, const char *key)
{
	size_t n = strlen(key);

	if (env == NULL)
		return getenv(key);
	for (; *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int
read_file(struct cs_buf *out, const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int error = 0;

	if (f == NULL)
		return cs_err_set(CS_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > max) {
			error = cs_err_set(CS_ETOOBIG, "'%s' is over %zu bytes", path, max);
			break;
		}
		cs_buf_add(out, chunk, n);
	}
	if (error == 0 && ferror(f))
		error = cs_err_set(CS_EIO, "cannot read '%s'", path);
	fclose(f);
	return error;
}

/* dir of path (with the trailing '/'), or "" */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? cs_xstrndup(path, (size_t)(slash - path + 1)) : cs_xstrdup("");
}

/*
 * Merge the named entries of list (clusters, users, contexts) of one file
 * into into[name] = {"v": entry[field], "dir": dir, "file": file}: the first
 * definition wins.
 */
static int
merge_named(json_t *into, json_t *list, const char *field, const char *dir, const char *file)
{
	json_t *e;
	size_t i;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return cs_err_set(CS_EPARSE, "%s: '%ss' is not a list", file, field);
	json_array_foreach(list, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *v = json_object_get(e, field);

		if (name == NULL)
			return cs_err_set(CS_EPARSE, "%s: %ss[%zu] has no name", file, field, i);
		if (json_object_get(into, name))
			continue;
		/* "o" takes the reference: a new empty object when the entry has no field */
		json_object_set_new(into, name,
				    json_pack("{s:o, s:s, s:s}", "v",
					      v ? json_incref(v) : json_object(), "dir", dir,
					      "file", file));
	}
	return 0;
}

/* path relative to the entry's file directory; a new string, or NULL */
static char *
resolve_path(json_t *entry, const char *key)
{
	const char *p = json_string_value(json_object_get(json_object_get(entry, "v"), key));

	if (p == NULL || *p == '\0')
		return NULL;
	if (p[0] == '/')
		return cs_xstrdup(p);
	return cs_xasprintf("%s%s", json_string_value(json_object_get(entry, "dir")), p);
}

static int
decode_data(char **out, json_t *entry, const char *key, int secret)
{
	const char *s = json_string_value(json_object_get(json_object_get(entry, "v"), key));
	struct cs_buf b = CS_BUF_INIT;

	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	if (cs_base64_decode(&b, s, strlen(s)) < 0) {
		cs_buf_wipe(&b); /* what a failed decode allocated (it may hold a key) */
		return cs_err_set(CS_EINVAL, "%s: %s is not valid base64",
				  json_string_value(json_object_get(entry, "file")), key);
	}
	*out = cs_buf_detach(&b, NULL);
	if (secret)
		cs_log_secret_add(*out);
	return 0;
}

static int
load_one(json_t *clusters, json_t *users, json_t *contexts, char **current, const char *path)
{
	struct cs_buf text = CS_BUF_INIT;
	json_t *doc = NULL;
	char *dir = NULL;
	const char *cur;
	int error;

	if ((error = read_file(&text, path, KC_MAX_FILE)) < 0)
		goto out;
	if ((error = cs_yamldoc_load(&doc, NULL, text.buf, text.len, path, 0)) < 0)
		goto out;
	if (json_is_null(doc))
		goto out; /* an empty file is allowed */
	if (!json_is_object(doc)) {
		error = cs_err_set(CS_EPARSE, "%s: not a kubeconfig (not a mapping)", path);
		goto out;
	}
	dir = dir_of(path);
	if ((error = merge_named(clusters, json_object_get(doc, "clusters"), "cluster", dir,
				 path)) < 0 ||
	    (error = merge_named(users, json_object_get(doc, "users"), "user", dir, path)) < 0 ||
	    (error =
		 merge_named(contexts, json_object_get(doc, "contexts"), "context", dir, path)) < 0)
		goto out;
	cur = json_string_value(json_object_get(doc, "current-context"));
	if (*current == NULL && cur && *cur)
		*current = cs_xstrdup(cur);
out:
	free(dir);
	json_decref(doc);
	cs_buf_wipe(&text);
	return error;
}

static int
resolve_user(struct cs_kubeconfig *out, json_t *u, const char *name)
{
	json_t *v = json_object_get(u, "v");
	const char *file = json_string_value(json_object_get(u, "file"));
	const char *tok = json_string_value(json_object_get(v, "token"));
	const char *user = json_string_value(json_object_get(v, "username"));
	const char *pw = json_string_value(json_object_get(v, "password"));
	char *tf;
	int error;

	if (json_object_get(v, "exec") || json_object_get(v, "auth-provider"))
		return cs_err_set(CS_EINVAL,
				  "%s: user '%s' uses an exec or auth-provider plugin: not "
				  "supported (use a token, tokenFile or a client certificate)",
				  file, name);
	out->cert_file = resolve_path(u, "client-certificate");
	out->key_file = resolve_path(u, "client-key");
	if ((error = decode_data(&out->cert_pem, u, "client-certificate-data", 0)) < 0 ||
	    (error = decode_data(&out->key_pem, u, "client-key-data", 1)) < 0)
		return error;
	if (tok && *tok) {
		out->token = cs_xstrdup(tok);
	} else if ((tf = resolve_path(u, "tokenFile")) != NULL) {
		struct cs_buf b = CS_BUF_INIT;

		error = read_file(&b, tf, 64 << 10);
		free(tf);
		if (error < 0) {
			cs_buf_wipe(&b);
			return error;
		}
		cs_buf_rtrim(&b);
		out->token = cs_buf_detach(&b, NULL);
	}
	if (out->token)
		cs_log_secret_add(out->token);
	if (user && pw && out->token == NULL) {
		out->basic = cs_xasprintf("%s:%s", user, pw);
		cs_log_secret_add(pw);
	}
	return 0;
}

int
cs_kubeconfig_load(struct cs_kubeconfig *out, const char *path, const char *context,
		   const char *const *env)
{
	json_t *clusters = json_object(), *users = json_object(), *contexts = json_object();
	json_t *ctx, *cl, *u;
	struct cs_strvec files = CS_STRVEC_INIT;
	const char *list, *home, *cname, *uname, *ns, *server;
	char *current = NULL;
	size_t i;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (path) {
		cs_strvec_push(&files, path);
	} else if ((list = getenv_in(env, "KUBECONFIG")) != NULL && *list) {
		const char *p = list;

		while (*p) {
			size_t n = strcspn(p, ":");
			char *f = cs_xstrndup(p, n);

			/* kubectl skips the list's files that do not exist */
			if (n && access(f, F_OK) == 0 && !cs_strvec_has(&files, f))
				cs_strvec_push(&files, f);
			free(f);
			p += n;
			if (*p == ':')
				p++;
		}
		if (files.nr == 0) {
			error = cs_err_set(CS_ENOTFOUND, "no file of KUBECONFIG '%s' exists", list);
			goto out;
		}
	} else if ((home = getenv_in(env, "HOME")) != NULL) {
		cs_strvec_pushf(&files, "%s/.kube/config", home);
	} else {
		error =
		    cs_err_set(CS_ENOTFOUND, "no kubeconfig: give --kubeconfig or set KUBECONFIG");
		goto out;
	}
	for (i = 0; i < files.nr; i++)
		if ((error = load_one(clusters, users, contexts, &current, files.v[i])) < 0)
			goto out;
	cname = context ? context : current;
	if (cname == NULL) {
		error =
		    cs_err_set(CS_ENOTFOUND, "%s: no current-context (give --context)", files.v[0]);
		goto out;
	}
	if ((ctx = json_object_get(contexts, cname)) == NULL) {
		error = cs_err_set(CS_ENOTFOUND, "context '%s' is not in %s", cname, files.v[0]);
		goto out;
	}
	out->context = cs_xstrdup(cname);
	ns = json_string_value(json_object_get(json_object_get(ctx, "v"), "namespace"));
	if (ns && *ns)
		out->namespace = cs_xstrdup(ns);
	cl = json_object_get(
	    clusters,
	    json_string_value(json_object_get(json_object_get(ctx, "v"), "cluster")) ?: "");
	if (cl == NULL) {
		error = cs_err_set(CS_ENOTFOUND, "context '%s': its cluster is not defined", cname);
		goto out;
	}
	server = json_string_value(json_object_get(json_object_get(cl, "v"), "server"));
	if (server == NULL || *server == '\0') {
		error = cs_err_set(CS_EINVAL, "context '%s': the cluster has no server", cname);
		goto out;
	}
	out->server = cs_xstrdup(server);
	while (strlen(out->server) > 8 && out->server[strlen(out->server) - 1] == '/')
		out->server[strlen(out->server) - 1] = '\0';
	out->ca_file = resolve_path(cl, "certificate-authority");
	if ((error = decode_data(&out->ca_pem, cl, "certificate-authority-data", 0)) < 0)
		goto out;
	out->insecure =
	    json_is_true(json_object_get(json_object_get(cl, "v"), "insecure-skip-tls-verify"));
	if (out->insecure)
		cs_log(CS_LOG_WARN,
		       "context '%s': insecure-skip-tls-verify is set: the server's certificate "
		       "is not checked",
		       cname);
	if (json_object_get(json_object_get(cl, "v"), "tls-server-name"))
		cs_log(CS_LOG_WARN, "context '%s': tls-server-name is ignored", cname);
	uname = json_string_value(json_object_get(json_object_get(ctx, "v"), "user"));
	if (uname && *uname) {
		if ((u = json_object_get(users, uname)) == NULL) {
			error = cs_err_set(CS_ENOTFOUND, "context '%s': user '%s' is not defined",
					   cname, uname);
			goto out;
		}
		if ((error = resolve_user(out, u, uname)) < 0)
			goto out;
	}
	for (i = 0; i < files.nr; i++)
		cs_strvec_push(&out->files, files.v[i]);
out:
	if (error < 0)
		cs_kubeconfig_release(out);
	free(current);
	cs_strvec_clear(&files);
	json_decref(clusters);
	json_decref(users);
	json_decref(contexts);
	return error;
}

int
cs_kubeconfig_from_url(struct cs_kubeconfig *out, const char *url)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cs_err_set(CS_EINVAL,
				  "--bay '%s': want http://HOST:PORT or https://HOST:PORT", url);
	out->server = cs_xstrdup(url);
	while (strlen(out->server) > 8 && out->server[strlen(out->server) - 1] == '/')
		out->server[strlen(out->server) - 1] = '\0';
	return 0;
}

static void
wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void
cs_kubeconfig_release(struct cs_kubeconfig *kc)
{
	free(kc->server);
	free(kc->context);
	free(kc->namespace);
	free(kc->ca_file);
	free(kc->ca_pem);
	free(kc->cert_file);
	free(kc->cert_pem);
	free(kc->key_file);
	wipe_free(kc->key_pem);
	wipe_free(kc->token);
	wipe_free(kc->basic);
	cs_strvec_clear(&kc->files);
	memset(kc, 0, sizeof(*kc));
}

int
cs_kubeconfig_client(struct cs_http **out, struct cs_strvec *headers,
		     const struct cs_kubeconfig *kc)
{
	struct cs_http_tls tls = {
	    .ca_file = kc->ca_file,
	    .cert_file = kc->cert_file,
	    .key_file = kc->key_file,
	    .insecure = kc->insecure,
	    .ca_pem = kc->ca_pem,
	    .cert_pem = kc->cert_pem,
	    .key_pem = kc->key_pem,
	};
	int error;

	if ((error = cs_http_new(out, kc->server, &tls)) < 0)
		return error;
	if (kc->token) {
		cs_strvec_pushf(headers, "Authorization: Bearer %s", kc->token);
	} else if (kc->basic) {
		struct cs_buf b = CS_BUF_INIT;

		cs_base64_encode(&b, kc->basic, strlen(kc->basic), 0);
		cs_log_secret_add(b.buf);
		cs_strvec_pushf(headers, "Authorization: Basic %s", b.buf);
		cs_buf_wipe(&b);
	}
	return 0;
}
