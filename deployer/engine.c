/*
 * Engine API helpers shared by the Docker backends: checked requests, filter
 * query strings, model accessors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "docker.h"
#include "dockerauth.h"
#include "http.h"
#include "log.h"
#include "engine.h"
#include "err.h"
#include "xalloc.h"

struct dep_engine *
dep_engine(struct dep_ctx *ctx)
{
	/* only the Docker backends keep a struct dep_engine first in their state */
	if (ctx->be != &dep_backend_swarm && ctx->be != &dep_backend_compose)
		return NULL;
	return ctx->priv;
}

int
dep_engine_open(struct dep_engine *e, struct dep_ctx *ctx)
{
	struct cs_buf hdr = CS_BUF_INIT;
	int error;

	if ((error = cs_docker_connect(&e->docker, ctx->opts->bay)) < 0)
		return error;
	cs_http_set_cancel(cs_docker_http(e->docker), ctx->cancel);
	if (ctx->opts->registry_cred == NULL)
		return 0;
	if ((error = cs_dockerauth_header(&hdr, ctx->opts->registry_cred)) == 0)
		cs_strvec_pushf(&e->auth, "X-Registry-Auth: %s", hdr.buf);
	cs_buf_wipe(&hdr);
	return error;
}

void
dep_engine_close(struct dep_engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	cs_docker_free(e->docker);
	e->docker = NULL;
	for (i = 0; i < e->auth.nr; i++)
		explicit_bzero(e->auth.v[i], strlen(e->auth.v[i]));
	cs_strvec_clear(&e->auth);
}

static int
request(struct dep_ctx *ctx, const char *method, const char *path, json_t *body, int auth,
	long *status, json_t **resp)
{
	struct dep_engine *e = dep_engine(ctx);

	return cs_docker_json(e->docker, method, path, body, auth && e->auth.nr ? &e->auth : NULL,
			      status, resp);
}

int
dep_call(struct dep_ctx *ctx, const char *method, const char *path, json_t *body, int auth,
	 json_t **out)
{
	json_t *resp = NULL;
	long status = 0;
	int error;

	if (out)
		*out = NULL;
	if ((error = request(ctx, method, path, body, auth, &status, &resp)) < 0)
		return error;
	if (status < 200 || status > 299) {
		error =
		    cs_err_set(status == 404 ? CS_ENOTFOUND : CS_EHTTP, "%s %s: HTTP %ld: %s",
			       method, path, status, cs_docker_error_message(resp, "no message"));
		json_decref(resp);
		return error;
	}
	if (out)
		*out = resp;
	else
		json_decref(resp);
	return 0;
}

char *
dep_filter_path(const char *path, json_t *filters)
{
	struct cs_buf b = CS_BUF_INIT;
	char *s = json_dumps(filters, JSON_COMPACT);

	cs_buf_addf(&b, "%s%cfilters=", path, strchr(path, '?') ? '&' : '?');
	cs_http_urlencode(&b, s ? s : "{}");
	free(s);
	return cs_buf_detach(&b, NULL);
}

void
dep_sorted_keys(struct cs_strvec *out, json_t *obj)
{
	const char *k;
	json_t *v;
	size_t i, j;

	json_object_foreach(obj, k, v) { cs_strvec_push(out, k); }
	for (i = 1; i < out->nr; i++)
		for (j = i; j > 0 && strcmp(out->v[j - 1], out->v[j]) > 0; j--) {
			char *t = out->v[j];
			out->v[j] = out->v[j - 1];
			out->v[j - 1] = t;
		}
}

const char *
dep_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : NULL;
}

json_int_t
dep_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return 0;
}

void
dep_set_str(json_t *o, const char *key, const char *s)
{
	if (s && *s)
		json_object_set_new(o, key, json_string(s));
}

void
dep_set_int(json_t *o, const char *key, json_int_t v)
{
	if (v)
		json_object_set_new(o, key, json_integer(v));
}

void
dep_set_obj(json_t *o, const char *key, json_t *v)
{
	if (json_object_size(v) || json_array_size(v))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

json_t *
dep_string_array(json_t *a)
{
	json_t *res = json_array(), *v;
	size_t i;

	json_array_foreach(a, i, v)
	{
		if (json_is_string(v))
			json_array_append(res, v);
	}
	return res;
}

int
dep_read_file(struct cs_buf *out, const char *path, size_t max)
{
	char chunk[8192];
	ssize_t n;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cs_err_set(CS_EINVAL, "cannot open '%s': %s", path, strerror(errno));
	cs_buf_init(out, max);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error =
			    cs_err_set(CS_EINVAL, "cannot read '%s': %s", path, strerror(errno));
			break;
		}
		if (cs_buf_add(out, chunk, (size_t)n) < 0) {
			error = cs_err_set(CS_EINVAL, "'%s' is larger than %zu bytes", path, max);
			break;
		}
	}
	close(fd);
	return error;
}

int
dep_list_labelled(struct dep_ctx *ctx, const char *path, const char *label, json_t **out)
{
	json_t *f = json_pack("{s:[s]}", "label", label);
	char *p = dep_filter_path(path, f);
	int error = dep_call(ctx, "GET", p, NULL, 0, out);

	json_decref(f);
	free(p);
	if (error == 0 && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		error = cs_err_set(CS_EHTTP, "GET %s: not a list", path);
	}
	return error;
}

json_t *
dep_env_list(json_t *env)
{
	struct cs_strvec keys = CS_STRVEC_INIT;
	json_t *a = json_array();
	size_t i;

	dep_sorted_keys(&keys, env);
	for (i = 0; i < keys.nr; i++) {
		json_t *val = json_object_get(env, keys.v[i]);
		const char *s = json_is_string(val) ? json_string_value(val) : getenv(keys.v[i]);

		if (json_is_integer(val))
			json_array_append_new(a, json_sprintf("%s=%" JSON_INTEGER_FORMAT, keys.v[i],
							      json_integer_value(val)));
		else if (s)
			json_array_append_new(a, json_sprintf("%s=%s", keys.v[i], s));
	}
	cs_strvec_clear(&keys);
	return a;
}

static int
log_write(const char *data, size_t len, void *payload)
{
	struct cs_buf *b = payload;

	if (b->len + len > (1 << 20))
		return 0; /* enough for a tail: drop the rest */
	return cs_buf_add(b, data, len);
}

void
dep_fetch_logs(struct dep_ctx *ctx, struct cs_buf *out, const char *path, int max_lines)
{
	struct cs_buf raw = CS_BUF_INIT;

	if (cs_docker_raw(dep_engine(ctx)->docker, "GET", path, log_write, &raw) == 0 && raw.len)
		dep_logs_demux(out, raw.buf, raw.len, max_lines);
	cs_buf_release(&raw);
}

char *
dep_network_name(struct dep_ctx *ctx, const char *key)
{
	json_t *net = json_object_get(json_object_get(ctx->model, "networks"), key);

	if (dep_str(net, "name"))
		return cs_xstrdup(dep_str(net, "name"));
	if (json_is_true(json_object_get(net, "external")))
		return cs_xstrdup(key);
	return cs_xasprintf("%s_%s", ctx->opts->app, key);
}

json_t *
dep_network_attachments(struct dep_ctx *ctx, json_t *svc, const char *key, const char *name_field,
			const char *aliases_field)
{
	struct cs_strvec keys = CS_STRVEC_INIT;
	json_t *nets = json_array(), *v = json_object_get(svc, "networks");
	size_t i;

	if (json_object_size(v) == 0) {
		char *nn = dep_network_name(ctx, "default");

		json_array_append_new(
		    nets, json_pack("{s:s, s:[s]}", name_field, nn, aliases_field, key));
		free(nn);
		return nets;
	}
	dep_sorted_keys(&keys, v);
	for (i = 0; i < keys.nr; i++) {
		json_t *al = json_pack("[s]", key), *x;
		char *nn = dep_network_name(ctx, keys.v[i]);
		size_t j;

		json_array_foreach(json_object_get(json_object_get(v, keys.v[i]), "aliases"), j, x)
		{
			if (json_is_string(x) && strcmp(json_string_value(x), key) != 0)
				json_array_append(al, x);
		}
		json_array_append_new(nets,
				      json_pack("{s:s, s:o}", name_field, nn, aliases_field, al));
		free(nn);
	}
	cs_strvec_clear(&keys);
	return nets;
}

char *
dep_volume_name(struct dep_ctx *ctx, const char *key)
{
	json_t *top = json_object_get(json_object_get(ctx->model, "volumes"), key);

	if (dep_str(top, "name"))
		return cs_xstrdup(dep_str(top, "name"));
	if (json_is_true(json_object_get(top, "external")))
		return cs_xstrdup(key);
	return cs_xasprintf("%s_%s", ctx->opts->app, key);
}

json_t *
dep_used_networks(json_t *model)
{
	json_t *used = json_object(), *svc, *x;
	const char *k, *nk;

	json_object_foreach(json_object_get(model, "services"), k, svc)
	{
		if (json_object_size(json_object_get(svc, "networks")) == 0)
			json_object_set_new(used, "default", json_true());
		json_object_foreach(json_object_get(svc, "networks"), nk, x)
		{
			json_object_set_new(used, nk, json_true());
		}
	}
	return used;
}

int
dep_poll_next(struct dep_ctx *ctx, int failed, int waiting)
{
	if (failed)
		return CS_ERROR;
	if (dep_interrupted() && !ctx->rolling_back)
		return cs_err_set(CS_EINTR, "interrupted by signal %d", dep_interrupted());
	if (!waiting)
		return 1;
	if (cs_clock_now() >= ctx->deadline)
		return cs_err_set(CS_ETIMEOUT, "the deployment did not converge in time");
	cs_clock_sleep_ms(ctx->opts->poll_ms > 0 ? ctx->opts->poll_ms : 250);
	return 0;
}

int
dep_poll_lost(struct dep_ctx *ctx, int error, int *lost)
{
	if (!cs_err_unreachable(error) || error == CS_ETLS)
		return error;
	if (!*lost) {
		double left = ctx->deadline - cs_clock_now();

		cs_log(CS_LOG_WARN, "lost the bay while waiting: %s; trying again for %.0f s",
		       cs_err_msg(), left > 0 ? left : 0);
		*lost = 1;
	}
	if (dep_interrupted() && !ctx->rolling_back)
		return cs_err_set(CS_EINTR, "interrupted by signal %d", dep_interrupted());
	if (cs_clock_now() >= ctx->deadline)
		return cs_err_set(CS_ENET, "the bay stayed unreachable until the deadline: %s",
				  cs_err_msg());
	cs_clock_sleep_ms(ctx->opts->poll_ms > 0 ? ctx->opts->poll_ms : 250);
	return 0;
}

void
dep_poll_found(int *lost)
{
	if (*lost)
		cs_log(CS_LOG_WARN, "the bay answers again");
	*lost = 0;
}

void
dep_mount_options(json_t *m, json_t *vol, const char *type)
{
	if (json_is_true(json_object_get(vol, "read_only")))
		json_object_set_new(m, "ReadOnly", json_true());
	if (dep_str(vol, "bind_propagation") && strcmp(type, "bind") == 0)
		json_object_set_new(
		    m, "BindOptions",
		    json_pack("{s:s}", "Propagation", dep_str(vol, "bind_propagation")));
	if (dep_num(vol, "tmpfs_size_bytes") && strcmp(type, "tmpfs") == 0)
		json_object_set_new(
		    m, "TmpfsOptions",
		    json_pack("{s:I}", "SizeBytes", dep_num(vol, "tmpfs_size_bytes")));
	if (json_is_true(json_object_get(vol, "nocopy")) && strcmp(type, "volume") == 0) {
		if (json_object_get(m, "VolumeOptions") == NULL)
			json_object_set_new(m, "VolumeOptions", json_object());
		json_object_set_new(json_object_get(m, "VolumeOptions"), "NoCopy", json_true());
	}
}
