/*
 * From the merged canonical Compose document to the model of compose.h:
 * every key present, types converted (the loader keeps plain scalars as
 * strings), durations, sizes and CPUs in integer units, paths absolute, and
 * references between services and top-level objects checked.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "compose.h"
#include "compose_int.h"
#include "err.h"
#include "xalloc.h"

struct nctx {
	const char *file;
	int line;
	const char *svc;
	const char *app;
	const char *dir;
	const json_t *vars;
	const char *const *env;
	const json_t *doc;
	struct cs_strvec *warnings;
};

static int nerr(struct nctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
nerr(struct nctx *c, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->svc)
		return cs_err_set(CS_EINVAL, "%s:%d: service '%s': %s", c->file, c->line, c->svc,
				  msg);
	return cs_err_set(CS_EINVAL, "%s:%d: %s", c->file, c->line, msg);
}

/* Scalars */

static const char *
sval(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A scalar as a new JSON string (numbers and booleans printed), or NULL. */
static json_t *
as_string(const json_t *v)
{
	if (json_is_string(v))
		return json_copy((json_t *)v);
	if (json_is_integer(v))
		return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return json_sprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return json_string(json_is_true(v) ? "true" : "false");
	return NULL;
}

static int
to_bool(struct nctx *c, const json_t *v, const char *key, int *out)
{
	const char *s = sval(v);

	if (v == NULL || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))) {
		*out = 1;
		return 0;
	}
	if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))) {
		*out = 0;
		return 0;
	}
	return nerr(c, "'%s' must be a boolean", key);
}

static int
to_int(struct nctx *c, const json_t *v, const char *key, long long *out, int octal)
{
	const char *s = sval(v);
	char *end;
	int base = 10;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (s == NULL || *s == '\0')
		return nerr(c, "'%s' must be an integer", key);
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		s += 2, base = 8;
	else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2, base = 16;
	else if (octal && s[0] == '0' && s[1])
		base = 8;
	errno = 0;
	*out = strtoll(s, &end, base);
	if (errno || *end != '\0' || end == s)
		return nerr(c, "'%s' must be an integer, not '%s'", key, sval(v));
	return 0;
}

static int
to_real(struct nctx *c, const json_t *v, const char *key, double *out)
{
	const char *s = sval(v);
	char *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (s == NULL || *s == '\0')
		return nerr(c, "'%s' must be a number", key);
	errno = 0;
	*out = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(*out))
		return nerr(c, "'%s' must be a number, not '%s'", key, s);
	return 0;
}

static int
to_dur(struct nctx *c, const json_t *v, const char *key, long long *out)
{
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v) * 1000000000LL;
		return 0;
	}
	if (!json_is_string(v) || dep_parse_duration(out, json_string_value(v)) < 0)
		return nerr(c, "'%s' must be a duration like 1m30s, not '%s'", key,
			    sval(v) ? sval(v) : "?");
	return 0;
}

static int
to_size(struct nctx *c, const json_t *v, const char *key, long long *out)
{
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v) || dep_parse_size(out, json_string_value(v)) < 0)
		return nerr(c, "'%s' must be a size like 512m, not '%s'", key,
			    sval(v) ? sval(v) : "?");
	return 0;
}

static int
to_cpus(struct nctx *c, const json_t *v, const char *key, long long *out)
{
	double d;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (to_real(c, v, key, &d) < 0)
		return -1;
	if (d < 0)
		return nerr(c, "'%s' must not be negative", key);
	*out = (long long)(d * 1e9 + 0.5);
	return 0;
}

static json_t *
str_or_null(const json_t *v)
{
	json_t *s = as_string(v);

	return s ? s : json_null();
}

/* A string or a list of scalars → new list of strings. */
static json_t *
str_list(const json_t *v)
{
	json_t *a = json_array(), *item, *s;
	size_t i;

	if (json_is_string(v)) {
		json_array_append(a, (json_t *)v);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) if ((s = as_string(item)) != NULL)
		    json_array_append_new(a, s);
	}
	return a;
}

/* A mapping (or "K=V" list) → new mapping of strings; null values become "". */
static json_t *
str_map(const json_t *v)
{
	json_t *m = json_object(), *item, *s;
	const char *k, *eq;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, item)
		{
			s = as_string(item);
			json_object_set_new(m, k, s ? s : json_string(""));
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			const char *str = sval(item);
			char *key;

			if (str == NULL)
				continue;
			eq = strchr(str, '=');
			key = eq ? cs_xstrndup(str, (size_t)(eq - str)) : cs_xstrdup(str);
			json_object_set_new(m, key, json_string(eq ? eq + 1 : ""));
			free(key);
		}
	}
	return m;
}

/* Resolve a path from a file against the project directory; "~" is $HOME. */
static json_t *
abs_path(struct nctx *c, const char *p)
{
	struct cs_buf b = CS_BUF_INIT;
	const char *home;
	json_t *r;

	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		home = dep_compose__getenv(c->env, "HOME");
		cs_buf_addf(&b, "%s%s", home ? home : "", p + 1);
	} else if (p[0] == '/') {
		/* as docker's loader: an absolute path is kept as written (a trailing '/' too) */
		r = json_string(p);
		cs_buf_release(&b);
		return r;
	} else {
		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (!strcmp(p, "."))
			p = "";
		cs_buf_addf(&b, "%s%s%s", c->dir, *p ? "/" : "", p);
	}
	while (b.len > 1 && b.buf[b.len - 1] == '/')
		b.buf[--b.len] = '\0';
	r = json_string(b.buf);
	cs_buf_release(&b);
	return r;
}

/* Service parts */

static int
norm_command(struct nctx *c, json_t *s, const json_t *svc, const char *key)
{
	const json_t *v = json_object_get(svc, key);
	json_t *a;

	if (v == NULL || json_is_null(v)) {
		json_object_set_new(s, key, json_null());
	} else if (json_is_string(v)) {
		if (dep_shlex_split(&a, json_string_value(v)) < 0)
			return nerr(c, "%s: %s", key, cs_err_msg());
		json_object_set_new(s, key, a);
	} else if (json_is_array(v)) {
		json_object_set_new(s, key, str_list(v));
	} else {
		return nerr(c, "'%s' must be a string or a list", key);
	}
	return 0;
}

static int
norm_environment(struct nctx *c, json_t *s, const json_t *svc)
{
	const json_t *files = json_object_get(svc, "env_file"), *item, *v;
	json_t *env = json_object(), *parsed = NULL, *path;
	struct cs_buf text = CS_BUF_INIT;
	const char *k;
	size_t i;
	int required, error = 0;

	json_array_foreach(files, i, item)
	{
		const char *p = sval(item);

		required = 1;
		if (json_is_object(item)) {
			p = sval(json_object_get(item, "path"));
			if ((error = to_bool(c, json_object_get(item, "required"), "required",
					     &required)) < 0)
				goto out;
			if (json_object_get(item, "required") == NULL)
				required = 1;
		}
		if (p == NULL) {
			error = nerr(c, "env_file entries need a path");
			goto out;
		}
		path = abs_path(c, p);
		error = dep_compose__read_file(&text, json_string_value(path));
		if (error == CS_EIO && !required) {
			error = 0;
			json_decref(path);
			continue;
		}
		if (error == 0)
			error = dep_envfile_parse(&parsed, text.buf, text.len,
						  json_string_value(path), c->vars);
		json_decref(path);
		cs_buf_release(&text);
		if (error < 0) {
			error = nerr(c, "env_file: %s", cs_err_msg());
			goto out;
		}
		json_object_update(env, parsed);
		json_decref(parsed);
		parsed = NULL;
	}
	json_object_foreach((json_t *)json_object_get(svc, "environment"), k, v)
	{
		json_t *sv = as_string(v);

		json_object_set_new(env, k, sv ? sv : json_null());
	}
	/*
	 * As docker's loader (updateEnvironment): a variable without value, or
	 * with an empty one, takes its value from the environment when set there.
	 */
	json_object_foreach(env, k, parsed)
	{
		if ((json_is_null(parsed) ||
		     (json_is_string(parsed) && json_string_length(parsed) == 0)) &&
		    json_is_string(json_object_get(c->vars, k)))
			json_object_set(env, k, json_object_get(c->vars, k));
	}
	parsed = NULL;
	json_object_set(s, "environment", env);
out:
	json_decref(env);
	return error;
}

static int
norm_ports(struct nctx *c, json_t *s, const json_t *svc)
{
	const json_t *ports = json_object_get(svc, "ports"), *p;
	json_t *out = json_array(), *o;
	long long n;
	size_t i;
	const char *mode, *proto;

	json_array_foreach(ports, i, p)
	{
		o = json_object();
		json_array_append_new(out, o);
		if (to_int(c, json_object_get(p, "target"), "ports.target", &n, 0) < 0)
			goto fail;
		if (n <= 0 || n > 65535) {
			nerr(c, "invalid port target %lld", n);
			goto fail;
		}
		json_object_set_new(o, "target", json_integer(n));
		if (json_is_integer(json_object_get(p, "published")) ||
		    (sval(json_object_get(p, "published")) &&
		     *sval(json_object_get(p, "published")))) {
			if (to_int(c, json_object_get(p, "published"), "ports.published", &n, 0) <
			    0)
				goto fail;
			if (n <= 0 || n > 65535) {
				nerr(c, "invalid published port %lld", n);
				goto fail;
			}
			json_object_set_new(o, "published", json_integer(n));
		} else {
			json_object_set_new(o, "published", json_null());
		}
		json_object_set_new(o, "host_ip", str_or_null(json_object_get(p, "host_ip")));
		proto = sval(json_object_get(p, "protocol"));
		mode = sval(json_object_get(p, "mode"));
		if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp") &&
		    strcmp(proto, "sctp")) {
			nerr(c, "invalid port protocol '%s'", proto);
			goto fail;
		}
		if (mode && strcmp(mode, "ingress") && strcmp(mode, "host")) {
			nerr(c, "invalid port mode '%s'", mode);
			goto fail;
		}
		json_object_set_new(o, "protocol", json_string(proto ? proto : "tcp"));
		json_object_set_new(o, "mode", json_string(mode ? mode : "ingress"));
	}
	json_object_set_new(s, "ports", out);
	return 0;
fail:
	json_decref(out);
	return CS_EINVAL;
}

static int
norm_networks(struct nctx *c, json_t *s, const json_t *svc, json_t *used)
{
	const json_t *nets = json_object_get(svc, "networks"), *v;
	json_t *out = json_object(), *o;
	const char *k;

	if (json_object_size(nets) == 0 && !json_is_string(json_object_get(svc, "network_mode"))) {
		json_object_set_new(
		    out, "default",
		    json_pack("{s:[],s:n,s:n}", "aliases", "ipv4_address", "ipv6_address"));
		json_object_set_new(used, "default", json_true());
	}
	json_object_foreach((json_t *)nets, k, v)
	{
		if (!json_is_object(json_object_get(json_object_get(c->doc, "networks"), k)) &&
		    strcmp(k, "default")) {
			/* docker stack deploy refuses this; docker-cli's loader accepts it */
			dep_compose__warn(c->warnings,
					  "%s:%d: service '%s': network '%s' is not defined in the "
					  "top-level networks and is ignored",
					  c->file, c->line, c->svc, k);
			continue;
		}
		json_object_set_new(used, k, json_true());
		o = json_object();
		json_object_set_new(o, "aliases", str_list(json_object_get(v, "aliases")));
		json_object_set_new(o, "ipv4_address",
				    str_or_null(json_object_get(v, "ipv4_address")));
		json_object_set_new(o, "ipv6_address",
				    str_or_null(json_object_get(v, "ipv6_address")));
		json_object_set_new(o, "driver_opts", str_map(json_object_get(v, "driver_opts")));
		json_object_set_new(out, k, o);
	}
	json_object_set_new(s, "networks", out);
	return 0;
}

static int
norm_volumes(struct nctx *c, json_t *s, const json_t *svc)
{
	const json_t *vols = json_object_get(svc, "volumes"), *v;
	const char *type, *src, *tgt;
	json_t *out = json_array(), *o;
	long long n;
	size_t i;
	int b;

	json_array_foreach(vols, i, v)
	{
		o = json_object();
		json_array_append_new(out, o);
		src = sval(json_object_get(v, "source"));
		tgt = sval(json_object_get(v, "target"));
		type = sval(json_object_get(v, "type"));
		if (type == NULL)
			type = src && (src[0] == '.' || src[0] == '/' || src[0] == '~') ? "bind"
											: "volume";
		if (tgt == NULL || *tgt == '\0') {
			nerr(c, "volume entry %zu has no target", i + 1);
			goto fail;
		}
		if (strcmp(type, "volume") && strcmp(type, "bind") && strcmp(type, "tmpfs") &&
		    strcmp(type, "npipe") && strcmp(type, "cluster")) {
			nerr(c, "invalid volume type '%s'", type);
			goto fail;
		}
		json_object_set_new(o, "type", json_string(type));
		if (src && *src && !strcmp(type, "bind"))
			json_object_set_new(o, "source", abs_path(c, src));
		else
			json_object_set_new(o, "source",
					    src && *src ? json_string(src) : json_null());
		if (src && *src && !strcmp(type, "volume") &&
		    !json_is_object(json_object_get(json_object_get(c->doc, "volumes"), src)))
			dep_compose__warn(c->warnings,
					  "%s:%d: service '%s': volume '%s' is not defined in the "
					  "top-level volumes: the engine creates it, unmanaged",
					  c->file, c->line, c->svc, src);
		json_object_set_new(o, "target", json_string(tgt));
		if (to_bool(c, json_object_get(v, "read_only"), "read_only", &b) < 0)
			goto fail;
		json_object_set_new(o, "read_only", json_boolean(b));
		json_object_set_new(
		    o, "bind_propagation",
		    str_or_null(json_object_get(json_object_get(v, "bind"), "propagation")));
		if (to_bool(c, json_object_get(json_object_get(v, "volume"), "nocopy"), "nocopy",
			    &b) < 0)
			goto fail;
		json_object_set_new(o, "nocopy", json_boolean(b));
		if (to_size(c, json_object_get(json_object_get(v, "tmpfs"), "size"), "tmpfs.size",
			    &n) < 0)
			goto fail;
		json_object_set_new(o, "tmpfs_size_bytes", json_integer(n));
	}
	json_object_set_new(s, "volumes", out);
	return 0;
fail:
	json_decref(out);
	return CS_EINVAL;
}

static int
norm_refs(struct nctx *c, json_t *s, const json_t *svc, const char *kind)
{
	const json_t *list = json_object_get(svc, kind), *v;
	json_t *out = json_array(), *o;
	const char *src, *tgt;
	long long mode;
	size_t i;

	json_array_foreach(list, i, v)
	{
		src = sval(json_object_get(v, "source"));
		if (src == NULL ||
		    !json_is_object(json_object_get(json_object_get(c->doc, kind), src))) {
			nerr(c, "refers to undefined %.*s '%s'", (int)strlen(kind) - 1, kind,
			     src ? src : "");
			goto fail;
		}
		o = json_object();
		json_array_append_new(out, o);
		json_object_set_new(o, "source", json_string(src));
		tgt = sval(json_object_get(v, "target"));
		if (tgt && *tgt)
			json_object_set_new(o, "target", json_string(tgt));
		else
			json_object_set_new(o, "target", json_string(src));
		json_object_set_new(o, "uid",
				    json_object_get(v, "uid")
					? str_or_null(json_object_get(v, "uid"))
					: json_string("0"));
		json_object_set_new(o, "gid",
				    json_object_get(v, "gid")
					? str_or_null(json_object_get(v, "gid"))
					: json_string("0"));
		mode = 0444;
		if (json_object_get(v, "mode") &&
		    to_int(c, json_object_get(v, "mode"), "mode", &mode, 1) < 0)
			goto fail;
		json_object_set_new(o, "mode", json_integer(mode));
	}
	json_object_set_new(s, kind, out);
	return 0;
fail:
	json_decref(out);
	return CS_EINVAL;
}

static int
norm_healthcheck(struct nctx *c, json_t *s, const json_t *svc)
{
	const json_t *hc = json_object_get(svc, "healthcheck"), *t;
	json_t *o, *test;
	long long n;
	int disable = 0;

	if (hc == NULL || json_is_null(hc)) {
		json_object_set_new(s, "healthcheck", json_null());
		return 0;
	}
	if (!json_is_object(hc))
		return nerr(c, "'healthcheck' must be a mapping");
	o = json_object();
	json_object_set_new(s, "healthcheck", o);
	t = json_object_get(hc, "test");
	if (json_is_string(t))
		test = json_pack("[s,O]", "CMD-SHELL", t);
	else
		test = str_list(t);
	if (json_array_size(test) && !strcmp(json_string_value(json_array_get(test, 0)), "NONE"))
		disable = 1;
	json_object_set_new(o, "test", test);
	if (to_dur(c, json_object_get(hc, "interval"), "healthcheck.interval", &n) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "interval_ns", json_integer(n));
	if (to_dur(c, json_object_get(hc, "timeout"), "healthcheck.timeout", &n) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "timeout_ns", json_integer(n));
	n = 0;
	if (json_object_get(hc, "retries") &&
	    to_int(c, json_object_get(hc, "retries"), "healthcheck.retries", &n, 0) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "retries", json_integer(n));
	if (to_dur(c, json_object_get(hc, "start_period"), "healthcheck.start_period", &n) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "start_period_ns", json_integer(n));
	if (to_dur(c, json_object_get(hc, "start_interval"), "healthcheck.start_interval", &n) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "start_interval_ns", json_integer(n));
	if (json_object_get(hc, "disable")) {
		int d;

		if (to_bool(c, json_object_get(hc, "disable"), "healthcheck.disable", &d) < 0)
			return CS_EINVAL;
		disable |= d;
	}
	json_object_set_new(o, "disable", json_boolean(disable));
	return 0;
}

static int
norm_depends(struct nctx *c, json_t *s, const json_t *svc)
{
	const json_t *dep = json_object_get(svc, "depends_on"), *v;
	json_t *names = json_array(), *conds = json_object();
	const char *k, *cond;

	json_object_set_new(s, "depends_on", names);
	json_object_set_new(s, "depends_on_conditions", conds);
	json_object_foreach((json_t *)dep, k, v)
	{
		if (!json_is_object(json_object_get(json_object_get(c->doc, "services"), k))) {
			dep_compose__warn(c->warnings,
					  "%s:%d: service '%s': depends_on names undefined service "
					  "'%s', ignored",
					  c->file, c->line, c->svc, k);
			continue;
		}
		cond = sval(json_object_get(v, "condition"));
		if (cond == NULL)
			cond = "service_started";
		if (strcmp(cond, "service_started") && strcmp(cond, "service_healthy") &&
		    strcmp(cond, "service_completed_successfully"))
			return nerr(c, "depends_on '%s': invalid condition '%s'", k, cond);
		json_array_append_new(names, json_string(k));
		json_object_set_new(conds, k, json_string(cond));
	}
	return 0;
}

static int
norm_update(struct nctx *c, json_t *d, const json_t *dep, const char *key)
{
	const json_t *u = json_object_get(dep, key);
	json_t *o;
	long long n;
	double r = 0;

	if (u == NULL || json_is_null(u)) {
		json_object_set_new(d, key, json_null());
		return 0;
	}
	o = json_object();
	json_object_set_new(d, key, o);
	n = 1;
	if (json_object_get(u, "parallelism") &&
	    to_int(c, json_object_get(u, "parallelism"), "parallelism", &n, 0) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "parallelism", json_integer(n));
	if (to_dur(c, json_object_get(u, "delay"), "delay", &n) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "delay_ns", json_integer(n));
	json_object_set_new(o, "failure_action", str_or_null(json_object_get(u, "failure_action")));
	if (to_dur(c, json_object_get(u, "monitor"), "monitor", &n) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "monitor_ns", json_integer(n));
	if (json_object_get(u, "max_failure_ratio") &&
	    to_real(c, json_object_get(u, "max_failure_ratio"), "max_failure_ratio", &r) < 0)
		return CS_EINVAL;
	json_object_set_new(o, "max_failure_ratio", json_real(r));
	json_object_set_new(o, "order", str_or_null(json_object_get(u, "order")));
	return 0;
}

/* deploy.resources.reservations.generic_resources: discrete {kind, value} (named ones warn). */
static int
norm_generic(struct nctx *c, json_t *rsv, const json_t *list)
{
	json_t *out = json_object_get(rsv, "generic_resources");
	const json_t *g, *spec;
	long long n;
	size_t i;

	json_array_foreach(list, i, g)
	{
		spec = json_object_get(g, "discrete_resource_spec");
		if (!json_is_object(spec)) {
			dep_compose__warn(
			    c->warnings,
			    "%s:%d: service '%s': generic_resources entry %zu is not a "
			    "discrete_resource_spec: ignored (docker stack deploy "
			    "maps only those)",
			    c->file, c->line, c->svc, i + 1);
			continue;
		}
		n = 0;
		if (to_int(c, json_object_get(spec, "value"), "generic_resources.value", &n, 0) < 0)
			return CS_EINVAL;
		json_array_append_new(out, json_pack("{s:o,s:I}", "kind",
						     str_or_null(json_object_get(spec, "kind")),
						     "value", (json_int_t)n));
	}
	return 0;
}

static int
norm_resources(struct nctx *c, json_t *d, const json_t *svc, const json_t *dep)
{
	const json_t *res = json_object_get(dep, "resources");
	const json_t *lim = json_object_get(res, "limits"),
		     *rsv = json_object_get(res, "reservations");
	long long cpu, mem, pids, rcpu, rmem;

	if (to_cpus(c, json_object_get(lim, "cpus"), "cpus", &cpu) < 0 ||
	    to_size(c, json_object_get(lim, "memory"), "memory", &mem) < 0 ||
	    to_cpus(c, json_object_get(rsv, "cpus"), "cpus", &rcpu) < 0 ||
	    to_size(c, json_object_get(rsv, "memory"), "memory", &rmem) < 0)
		return CS_EINVAL;
	pids = 0;
	if (json_object_get(lim, "pids") &&
	    to_int(c, json_object_get(lim, "pids"), "pids", &pids, 0) < 0)
		return CS_EINVAL;
	/* version 2 service keys, when deploy: does not say */
	if (cpu == 0 && to_cpus(c, json_object_get(svc, "cpus"), "cpus", &cpu) < 0)
		return CS_EINVAL;
	if (mem == 0 && to_size(c, json_object_get(svc, "mem_limit"), "mem_limit", &mem) < 0)
		return CS_EINVAL;
	if (rmem == 0 &&
	    to_size(c, json_object_get(svc, "mem_reservation"), "mem_reservation", &rmem) < 0)
		return CS_EINVAL;
	if (pids == 0 && json_object_get(svc, "pids_limit") &&
	    to_int(c, json_object_get(svc, "pids_limit"), "pids_limit", &pids, 0) < 0)
		return CS_EINVAL;
	json_object_set_new(d, "resources",
			    json_pack("{s:{s:I,s:I,s:I},s:{s:I,s:I,s:o}}", "limits", "nano_cpus",
				      (json_int_t)cpu, "memory_bytes", (json_int_t)mem, "pids",
				      (json_int_t)pids, "reservations", "nano_cpus",
				      (json_int_t)rcpu, "memory_bytes", (json_int_t)rmem,
				      "generic_resources", json_array()));
	return norm_generic(c, json_object_get(json_object_get(d, "resources"), "reservations"),
			    json_object_get(rsv, "generic_resources"));
}

static int
norm_restart(struct nctx *c, json_t *d, const json_t *svc, const json_t *dep)
{
	const json_t *rp = json_object_get(dep, "restart_policy");
	const char *r = sval(json_object_get(svc, "restart")), *cond;
	long long delay, window, max = 0;

	if (rp && json_is_object(rp)) {
		cond = sval(json_object_get(rp, "condition"));
		if (to_dur(c, json_object_get(rp, "delay"), "delay", &delay) < 0 ||
		    to_dur(c, json_object_get(rp, "window"), "window", &window) < 0)
			return CS_EINVAL;
		if (json_object_get(rp, "max_attempts") &&
		    to_int(c, json_object_get(rp, "max_attempts"), "max_attempts", &max, 0) < 0)
			return CS_EINVAL;
		json_object_set_new(d, "restart_policy",
				    json_pack("{s:s,s:I,s:I,s:I}", "condition", cond ? cond : "any",
					      "delay_ns", (json_int_t)delay, "max_attempts",
					      (json_int_t)max, "window_ns", (json_int_t)window));
		return 0;
	}
	if (r == NULL) {
		json_object_set_new(d, "restart_policy", json_null());
		return 0;
	}
	if (!strcmp(r, "no"))
		cond = "none";
	else if (!strcmp(r, "always") || !strcmp(r, "unless-stopped"))
		cond = "any";
	else if (!strncmp(r, "on-failure", 10) && (r[10] == '\0' || r[10] == ':')) {
		cond = "on-failure";
		if (r[10] == ':') {
			json_t *tmp = json_string(r + 11);
			int e = to_int(c, tmp, "restart", &max, 0);

			json_decref(tmp);
			if (e < 0)
				return CS_EINVAL;
		}
	} else
		return nerr(c, "invalid restart '%s'", r);
	json_object_set_new(d, "restart_policy",
			    json_pack("{s:s,s:i,s:I,s:i}", "condition", cond, "delay_ns", 0,
				      "max_attempts", (json_int_t)max, "window_ns", 0));
	return 0;
}

static int
norm_deploy(struct nctx *c, json_t *s, const json_t *svc)
{
	const json_t *dep = json_object_get(svc, "deploy"), *pl, *item;
	const char *mode = sval(json_object_get(dep, "mode"));
	json_t *d = json_object(), *prefs;
	long long n = 1;
	size_t i;

	json_object_set_new(s, "deploy", d);
	if (dep && !json_is_object(dep) && !json_is_null(dep))
		return nerr(c, "'deploy' must be a mapping");
	if (mode && strcmp(mode, "replicated") && strcmp(mode, "global") &&
	    strcmp(mode, "replicated-job") && strcmp(mode, "global-job"))
		return nerr(c, "invalid deploy.mode '%s'", mode);
	json_object_set_new(d, "mode", json_string(mode ? mode : "replicated"));
	if (json_object_get(dep, "replicas") && !json_is_null(json_object_get(dep, "replicas"))) {
		if (to_int(c, json_object_get(dep, "replicas"), "replicas", &n, 0) < 0)
			return CS_EINVAL;
	} else if (json_object_get(svc, "scale") &&
		   to_int(c, json_object_get(svc, "scale"), "scale", &n, 0) < 0) {
		return CS_EINVAL;
	}
	if (n < 0)
		return nerr(c, "replicas must not be negative");
	json_object_set_new(d, "replicas", json_integer(n));
	mode = sval(json_object_get(dep, "endpoint_mode"));
	json_object_set_new(d, "endpoint_mode", json_string(mode ? mode : "vip"));
	if (norm_resources(c, d, svc, dep) < 0)
		return CS_EINVAL;
	pl = json_object_get(dep, "placement");
	prefs = json_array();
	json_array_foreach(json_object_get(pl, "preferences"), i, item)
	{
		const char *sp = sval(json_object_get(item, "spread"));

		if (sp)
			json_array_append_new(prefs, json_string(sp));
	}
	n = 0;
	if (json_object_get(pl, "max_replicas_per_node") &&
	    to_int(c, json_object_get(pl, "max_replicas_per_node"), "max_replicas_per_node", &n,
		   0) < 0) {
		json_decref(prefs);
		return CS_EINVAL;
	}
	json_object_set_new(d, "placement",
			    json_pack("{s:o,s:o,s:I}", "constraints",
				      str_list(json_object_get(pl, "constraints")), "preferences",
				      prefs, "max_replicas_per_node", (json_int_t)n));
	if (norm_restart(c, d, svc, dep) < 0 || norm_update(c, d, dep, "update_config") < 0 ||
	    norm_update(c, d, dep, "rollback_config") < 0)
		return CS_EINVAL;
	json_object_set_new(d, "labels", str_map(json_object_get(dep, "labels")));
	return 0;
}

static int
norm_misc(struct nctx *c, json_t *s, const json_t *svc)
{
	static const char *const strs[] = {"working_dir", "user",	  "hostname",
					   "domainname",  "stop_signal",  "container_name",
					   "restart",	  "network_mode", "isolation"};
	static const char *const bools[] = {"privileged", "read_only", "init", "tty", "stdin_open"};
	static const char *const lists[] = {"links",	    "cap_add",	   "cap_drop", "dns",
					    "dns_search",   "extra_hosts", "tmpfs",    "expose",
					    "security_opt", "devices",	   "profiles"};
	const json_t *v, *lg;
	json_t *ul = json_object();
	const char *k;
	long long n;
	size_t i;
	int b;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		json_object_set_new(s, strs[i], str_or_null(json_object_get(svc, strs[i])));
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (to_bool(c, json_object_get(svc, bools[i]), bools[i], &b) < 0)
			goto fail;
		json_object_set_new(s, bools[i], json_boolean(b));
	}
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		json_object_set_new(s, lists[i], str_list(json_object_get(svc, lists[i])));
	if (to_dur(c, json_object_get(svc, "stop_grace_period"), "stop_grace_period", &n) < 0)
		goto fail;
	json_object_set_new(s, "stop_grace_period_ns", json_integer(n));
	json_object_set_new(s, "sysctls", str_map(json_object_get(svc, "sysctls")));
	json_object_foreach((json_t *)json_object_get(svc, "ulimits"), k, v)
	{
		long long soft, hard;

		if (json_is_object(v)) {
			if (to_int(c, json_object_get(v, "soft"), "ulimits.soft", &soft, 0) < 0 ||
			    to_int(c, json_object_get(v, "hard"), "ulimits.hard", &hard, 0) < 0)
				goto fail;
		} else {
			if (to_int(c, v, "ulimits", &soft, 0) < 0)
				goto fail;
			hard = soft;
		}
		json_object_set_new(
		    ul, k,
		    json_pack("{s:I,s:I}", "soft", (json_int_t)soft, "hard", (json_int_t)hard));
	}
	json_object_set(s, "ulimits", ul);
	json_decref(ul);
	lg = json_object_get(svc, "logging");
	if (json_is_object(lg))
		json_object_set_new(s, "logging",
				    json_pack("{s:o,s:o}", "driver",
					      str_or_null(json_object_get(lg, "driver")), "options",
					      str_map(json_object_get(lg, "options"))));
	else
		json_object_set_new(s, "logging", json_null());
	return 0;
fail:
	json_decref(ul);
	return CS_EINVAL;
}

/*
 * Classic Swarm scheduling hints given as environment entries (seed-era
 * files): "constraint:node==x" becomes the placement constraint
 * "node.hostname==x", "constraint:KEY==V" (or !=) "node.labels.KEY==V";
 * "affinity:..." has no swarm-mode equivalent and is a warning. Neither stays
 * a variable.
 */
static void
norm_classic_hints(struct nctx *c, json_t *s)
{
	json_t *env = json_object_get(s, "environment"), *v;
	json_t *cons = json_object_get(json_object_get(json_object_get(s, "deploy"), "placement"),
				       "constraints");
	const char *k;
	void *tmp;

	json_object_foreach_safe(env, tmp, k, v)
	{
		const char *val = json_is_string(v) ? json_string_value(v) : "";
		size_t klen = strlen(k);
		int neg = klen && k[klen - 1] == '!';

		if (!strncmp(k, "constraint:", 11) && klen > 11) {
			int node =
			    (int)(klen - 11 - (size_t)neg) == 4 && !strncmp(k + 11, "node", 4);

			/* "constraint:KEY==V" splits as "constraint:KEY" = "=V" */
			if (val[0] == '=')
				val++;
			json_array_append_new(
			    cons,
			    json_sprintf("%s%.*s%s%s", node ? "node.hostname" : "node.labels.",
					 node ? 0 : (int)(klen - 11 - (size_t)neg), k + 11,
					 neg ? "!=" : "==", val));
			dep_compose__warn(
			    c->warnings,
			    "%s:%d: service '%s': environment '%s' is a classic Swarm "
			    "constraint: it becomes the placement constraint '%s'",
			    c->file, c->line, c->svc, k,
			    json_string_value(json_array_get(cons, json_array_size(cons) - 1)));
			json_object_del(env, k);
		} else if (!strncmp(k, "affinity:", 9)) {
			dep_compose__warn(
			    c->warnings,
			    "%s:%d: service '%s': environment '%s' is a classic Swarm "
			    "affinity, which swarm mode cannot express: dropped",
			    c->file, c->line, c->svc, k);
			json_object_del(env, k);
		}
	}
}

static int
norm_service(json_t **out, struct nctx *c, const char *name, const json_t *svc, json_t *used)
{
	json_t *s = json_object(), *b;

	c->svc = name;
	c->file = sval(json_object_get(svc, DEP_SRC_FILE));
	c->line = (int)json_integer_value(json_object_get(svc, DEP_SRC_LINE));
	if (c->file == NULL)
		c->file = "-";
	json_object_set_new(s, "name", json_string(name));
	json_object_set_new(s, "file", json_string(c->file));
	json_object_set_new(s, "line", json_integer(c->line));
	json_object_set_new(s, "image", str_or_null(json_object_get(svc, "image")));
	b = json_object_get(svc, "build");
	json_object_set_new(s, "build", json_boolean(b != NULL && !json_is_null(b)));
	if (norm_command(c, s, svc, "command") < 0 || norm_command(c, s, svc, "entrypoint") < 0 ||
	    norm_environment(c, s, svc) < 0 || norm_ports(c, s, svc) < 0 ||
	    norm_networks(c, s, svc, used) < 0 || norm_volumes(c, s, svc) < 0)
		goto fail;
	json_object_set_new(s, "labels", str_map(json_object_get(svc, "labels")));
	if (norm_healthcheck(c, s, svc) < 0 || norm_depends(c, s, svc) < 0 ||
	    norm_deploy(c, s, svc) < 0 || norm_refs(c, s, svc, "secrets") < 0 ||
	    norm_refs(c, s, svc, "configs") < 0 || norm_misc(c, s, svc) < 0)
		goto fail;
	norm_classic_hints(c, s);
	*out = s;
	return 0;
fail:
	json_decref(s);
	return CS_EINVAL;
}

/* Top-level objects */

static int
norm_top(json_t **out, struct nctx *c, const char *kind, const json_t *in)
{
	json_t *res = json_object(), *o, *ext;
	const json_t *v, *e;
	const char *k, *name;
	int external, b;

	json_object_foreach((json_t *)in, k, v)
	{
		c->file = sval(json_object_get(v, DEP_SRC_FILE));
		c->line = (int)json_integer_value(json_object_get(v, DEP_SRC_LINE));
		if (c->file == NULL)
			c->file = "-";
		o = json_object();
		json_object_set_new(res, k, o);
		e = json_object_get(v, "external");
		name = sval(json_object_get(v, "name"));
		external = 0;
		if (json_is_object(e)) {
			external = 1;
			if (sval(json_object_get(e, "name")))
				name = sval(json_object_get(e, "name"));
		} else if (e && to_bool(c, e, "external", &external) < 0) {
			goto fail;
		}
		if (name)
			json_object_set_new(o, "name", json_string(name));
		else if (external)
			json_object_set_new(o, "name", json_string(k));
		else
			json_object_set_new(o, "name", json_sprintf("%s_%s", c->app, k));
		json_object_set_new(o, "external", json_boolean(external));
		json_object_set_new(o, "labels", str_map(json_object_get(v, "labels")));
		if (!strcmp(kind, "networks") || !strcmp(kind, "volumes")) {
			json_object_set_new(o, "driver", str_or_null(json_object_get(v, "driver")));
			json_object_set_new(o, "driver_opts",
					    str_map(json_object_get(v, "driver_opts")));
		}
		if (!strcmp(kind, "networks")) {
			const json_t *ipam = json_object_get(v, "ipam"), *cfg;
			size_t i;

			if (to_bool(c, json_object_get(v, "attachable"), "attachable", &b) < 0)
				goto fail;
			json_object_set_new(o, "attachable", json_boolean(b));
			if (to_bool(c, json_object_get(v, "internal"), "internal", &b) < 0)
				goto fail;
			json_object_set_new(o, "internal", json_boolean(b));
			if (json_is_object(ipam)) {
				ext = json_array();
				json_array_foreach(json_object_get(ipam, "config"), i, cfg)
				    json_array_append_new(
					ext,
					json_pack("{s:o,s:o,s:o}", "subnet",
						  str_or_null(json_object_get(cfg, "subnet")),
						  "gateway",
						  str_or_null(json_object_get(cfg, "gateway")),
						  "ip_range",
						  str_or_null(json_object_get(cfg, "ip_range"))));
				json_object_set_new(
				    o, "ipam",
				    json_pack("{s:o,s:o}", "driver",
					      str_or_null(json_object_get(ipam, "driver")),
					      "config", ext));
			} else {
				json_object_set_new(o, "ipam", json_null());
			}
		}
		if (!strcmp(kind, "secrets") || !strcmp(kind, "configs")) {
			const char *f = sval(json_object_get(v, "file"));

			json_object_set_new(o, "file", f && *f ? abs_path(c, f) : json_null());
			json_object_set_new(o, "environment",
					    str_or_null(json_object_get(v, "environment")));
			if (!strcmp(kind, "configs"))
				json_object_set_new(o, "content",
						    str_or_null(json_object_get(v, "content")));
			if (!external && !f && !sval(json_object_get(v, "environment")) &&
			    !sval(json_object_get(v, "content")))
				dep_compose__warn(c->warnings,
						  "%s:%d: %s '%s' has no file:, environment: or "
						  "external: and cannot be created",
						  c->file, c->line, kind, k);
		}
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return CS_EINVAL;
}

int
dep_compose__normalize(json_t **out, const json_t *doc, const char *app, const char *project_dir,
		       const json_t *vars, const char *const *env, struct cs_strvec *warnings)
{
	struct nctx c = {.app = app,
			 .dir = project_dir,
			 .vars = vars,
			 .env = env,
			 .doc = doc,
			 .warnings = warnings};
	json_t *m = json_object(), *services = json_object(), *used = json_object(), *s, *top;
	const json_t *svc;
	const char *name;
	int error = 0;

	*out = NULL;
	json_object_set_new(m, "name", json_string(app));
	json_object_set_new(m, "project_dir", json_string(project_dir));
	json_object_set_new(m, "version", str_or_null(json_object_get(doc, "version")));
	json_object_set_new(m, "services", services);
	json_object_foreach((json_t *)json_object_get(doc, "services"), name, svc)
	{
		if ((error = norm_service(&s, &c, name, svc, used)) < 0)
			goto out;
		json_object_set_new(services, name, s);
	}
	c.svc = NULL;
	c.file = project_dir;
	if ((error = norm_top(&top, &c, "networks", json_object_get(doc, "networks"))) < 0)
		goto out;
	json_object_set_new(m, "networks", top);
	if (json_object_get(used, "default") && !json_object_get(top, "default")) {
		s = json_object();
		json_object_set_new(s, "name", json_sprintf("%s_default", app));
		json_object_set_new(s, "external", json_false());
		json_object_set_new(s, "labels", json_object());
		json_object_set_new(s, "driver", json_null());
		json_object_set_new(s, "driver_opts", json_object());
		json_object_set_new(s, "attachable", json_false());
		json_object_set_new(s, "internal", json_false());
		json_object_set_new(s, "ipam", json_null());
		json_object_set_new(top, "default", s);
	}
	if ((error = norm_top(&top, &c, "volumes", json_object_get(doc, "volumes"))) < 0)
		goto out;
	json_object_set_new(m, "volumes", top);
	if ((error = norm_top(&top, &c, "secrets", json_object_get(doc, "secrets"))) < 0)
		goto out;
	json_object_set_new(m, "secrets", top);
	if ((error = norm_top(&top, &c, "configs", json_object_get(doc, "configs"))) < 0)
		goto out;
	json_object_set_new(m, "configs", top);
	*out = m;
	m = NULL;
out:
	json_decref(m);
	json_decref(used);
	return error;
}
