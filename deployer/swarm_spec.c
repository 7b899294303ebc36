/*
 * Service and network specs for the swarm backend, field by field as docker
 * stack deploy (docker CLI 28.2, cli/compose/convert/service.go) builds them,
 * and --resolve-image (the CLI's digest pinning through the engine's
 * distribution endpoint).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "engine.h"
#include "err.h"
#include "imageref.h"
#include "log.h"
#include "swarm_spec.h"
#include "xalloc.h"

#define NS_LABEL "com.docker.stack.namespace"
#define IMAGE_LABEL "com.docker.stack.image"

json_t *
dep_swarm_labels(json_t *src, const char *app)
{
	json_t *res = json_object(), *v;
	const char *k;

	json_object_foreach(src, k, v)
	{
		if (json_is_string(v))
			json_object_set(res, k, v);
		else if (json_is_integer(v))
			json_object_set_new(
			    res, k, json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
	}
	if (app)
		json_object_set_new(res, NS_LABEL, json_string(app));
	return res;
}

char *
dep_image_canonical(const char *image)
{
	struct cs_imageref ref = CS_IMAGEREF_INIT;
	struct cs_buf b = CS_BUF_INIT;
	const char *repo;

	if (image == NULL)
		return NULL;
	if (cs_imageref_parse(&ref, image) < 0)
		return cs_xstrdup(image);
	repo = ref.repository;
	if (cs_imageref_is_docker_hub(ref.registry)) {
		if (!strncmp(repo, "library/", 8) && strchr(repo + 8, '/') == NULL)
			repo += 8;
	} else {
		cs_buf_addf(&b, "%s/", ref.registry);
	}
	cs_buf_adds(&b, repo);
	if (ref.tag || !ref.digest)
		cs_buf_addf(&b, ":%s", cs_imageref_tag_or_default(&ref));
	if (ref.digest)
		cs_buf_addf(&b, "@%s", ref.digest);
	cs_imageref_release(&ref);
	return cs_buf_detach(&b, NULL);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Environment as docker's convertEnvironment: "K=V", a bare "K" when unset, sorted. */
static json_t *
env_list(json_t *env)
{
	size_t n = json_object_size(env), i = 0;
	char **v = cs_xcalloc(n ? n : 1, sizeof(*v));
	json_t *a = json_array(), *val;
	const char *k;

	json_object_foreach(env, k, val)
	{
		if (json_is_string(val))
			v[i++] = cs_xasprintf("%s=%s", k, json_string_value(val));
		else if (json_is_integer(val))
			v[i++] =
			    cs_xasprintf("%s=%" JSON_INTEGER_FORMAT, k, json_integer_value(val));
		else
			v[i++] = cs_xstrdup(k);
	}
	qsort(v, i, sizeof(*v), cmp_str);
	for (n = 0; n < i; n++) {
		json_array_append_new(a, json_string(v[n]));
		free(v[n]);
	}
	free(v);
	return a;
}

/* extra_hosts "HOST:IP" (or "HOST=IP") as the engine's "IP HOST". */
static json_t *
hosts_list(json_t *extra)
{
	json_t *a = json_array(), *v;
	size_t i;

	json_array_foreach(extra, i, v)
	{
		const char *s = json_string_value(v), *sep;

		if (s == NULL)
			continue;
		sep = strchr(s, '=');
		if (sep == NULL)
			sep = strchr(s, ':');
		if (sep == NULL)
			continue;
		json_array_append_new(a, json_sprintf("%s %.*s", sep + 1, (int)(sep - s), s));
	}
	return a;
}

static char *
norm_cap(const char *c)
{
	char *s = cs_xstrdup(c), *p, *res;

	for (p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if (!strcmp(s, "ALL") || !strcmp(s, "RESET") || !strncmp(s, "CAP_", 4))
		return s;
	res = cs_xasprintf("CAP_%s", s);
	free(s);
	return res;
}

/* The set (object) of normalized capabilities of list; ALL alone when it is there. */
static json_t *
cap_set(json_t *list)
{
	json_t *set = json_object(), *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		char *c;

		if (!json_is_string(v))
			continue;
		c = norm_cap(json_string_value(v));
		json_object_set_new(set, c, json_true());
		free(c);
	}
	if (json_object_get(set, "ALL")) {
		json_object_clear(set);
		json_object_set_new(set, "ALL", json_true());
	}
	return set;
}

static json_t *
sorted_keys_array(json_t *set, json_t *skip)
{
	struct cs_strvec keys = CS_STRVEC_INIT;
	json_t *a = json_array();
	size_t i;

	dep_sorted_keys(&keys, set);
	for (i = 0; i < keys.nr; i++)
		if (strcmp(keys.v[i], "RESET") && !(skip && json_object_get(skip, keys.v[i])))
			json_array_append_new(a, json_string(keys.v[i]));
	cs_strvec_clear(&keys);
	return a;
}

/* opts.EffectiveCapAddCapDrop */
static void
capabilities(json_t *cs, json_t *svc)
{
	json_t *add = cap_set(json_object_get(svc, "cap_add"));
	json_t *drop = cap_set(json_object_get(svc, "cap_drop"));

	dep_set_obj(cs, "CapabilityAdd", sorted_keys_array(add, NULL));
	dep_set_obj(cs, "CapabilityDrop", sorted_keys_array(drop, add));
	json_decref(add);
	json_decref(drop);
}

static json_t *
ulimits(json_t *ul)
{
	struct cs_strvec keys = CS_STRVEC_INIT;
	json_t *a = json_array(), *u;
	size_t i;

	dep_sorted_keys(&keys, ul);
	for (i = 0; i < keys.nr; i++) {
		u = json_object_get(ul, keys.v[i]);
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "Name", keys.v[i], "Soft",
						   dep_num(u, "soft"), "Hard", dep_num(u, "hard")));
	}
	cs_strvec_clear(&keys);
	return a;
}

const char *
dep_swarm_restart_condition(json_t *rp)
{
	const char *c = dep_str(rp, "condition");

	if (c == NULL)
		return NULL;
	if (strcmp(c, "no") == 0)
		return "none";
	if (strcmp(c, "always") == 0 || strcmp(c, "unless-stopped") == 0)
		return "any";
	return c;
}

static json_t *
update_config(json_t *uc)
{
	json_t *res = json_object(), *r;

	dep_set_int(res, "Parallelism", dep_num(uc, "parallelism"));
	dep_set_int(res, "Delay", dep_num(uc, "delay_ns"));
	dep_set_str(res, "FailureAction", dep_str(uc, "failure_action"));
	dep_set_int(res, "Monitor", dep_num(uc, "monitor_ns"));
	r = json_object_get(uc, "max_failure_ratio");
	if (json_number_value(r) != 0)
		json_object_set_new(res, "MaxFailureRatio", json_real(json_number_value(r)));
	dep_set_str(res, "Order", dep_str(uc, "order"));
	return res;
}

static json_t *
resources(json_t *r)
{
	json_t *res = json_object(), *lim = json_object(), *resv = json_object(), *gen, *g;
	json_t *l = json_object_get(r, "limits"), *rv = json_object_get(r, "reservations");
	size_t i;

	dep_set_int(lim, "NanoCPUs", dep_num(l, "nano_cpus"));
	dep_set_int(lim, "MemoryBytes", dep_num(l, "memory_bytes"));
	dep_set_int(lim, "Pids", dep_num(l, "pids"));
	dep_set_int(resv, "NanoCPUs", dep_num(rv, "nano_cpus"));
	dep_set_int(resv, "MemoryBytes", dep_num(rv, "memory_bytes"));
	gen = json_array();
	json_array_foreach(json_object_get(rv, "generic_resources"), i, g)
	{
		json_array_append_new(gen,
				      json_pack("{s:{s:s, s:I}}", "DiscreteResourceSpec", "Kind",
						dep_str(g, "kind") ? dep_str(g, "kind") : "",
						"Value", dep_num(g, "value")));
	}
	dep_set_obj(resv, "GenericResources", gen);
	dep_set_obj(res, "Limits", lim);
	dep_set_obj(res, "Reservations", resv);
	return res;
}

static const char *
uid_str(json_t *o, const char *key, char *tmp, size_t n)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v) && json_string_length(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	return "0";
}

/* Secret or config references: kind "secret" or "config"; the model name as *Name for now. */
static json_t *
file_refs(json_t *refs, const char *kind)
{
	json_t *res = json_array(), *r;
	size_t i;
	char u[32], g[32];

	json_array_foreach(refs, i, r)
	{
		const char *src = json_is_string(r) ? json_string_value(r) : dep_str(r, "source");
		const char *target = json_is_object(r) ? dep_str(r, "target") : NULL;
		json_t *mode = json_object_get(r, "mode"), *ref, *file;

		if (src == NULL)
			continue;
		file = json_pack(
		    "{s:s, s:s, s:s, s:I}", "Name", target ? target : src, "UID",
		    uid_str(r, "uid", u, sizeof(u)), "GID", uid_str(r, "gid", g, sizeof(g)), "Mode",
		    (json_int_t)(json_is_integer(mode) ? json_integer_value(mode) : 0444));
		ref = json_pack("{s:o}", "File", file);
		json_object_set_new(ref, strcmp(kind, "secret") == 0 ? "SecretName" : "ConfigName",
				    json_string(src));
		json_array_append_new(res, ref);
	}
	return res;
}

static int
cmp_ref(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx =
	    dep_str(x, "SecretName") ? dep_str(x, "SecretName") : dep_str(x, "ConfigName");
	const char *ny =
	    dep_str(y, "SecretName") ? dep_str(y, "SecretName") : dep_str(y, "ConfigName");

	int c = strcmp(nx ? nx : "", ny ? ny : "");

	/* docker's order among references to one object is random (a Go map): by target */
	if (c == 0)
		c = strcmp(dep_str(json_object_get(x, "File"), "Name")
			       ? dep_str(json_object_get(x, "File"), "Name")
			       : "",
			   dep_str(json_object_get(y, "File"), "Name")
			       ? dep_str(json_object_get(y, "File"), "Name")
			       : "");
	return c;
}

static void
sort_array(json_t *a, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(a), i;
	json_t **v;

	if (n < 2)
		return;
	v = cs_xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(a);
	for (i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
}

void
dep_swarm_sort_refs(json_t *cs)
{
	sort_array(json_object_get(cs, "Secrets"), cmp_ref);
	sort_array(json_object_get(cs, "Configs"), cmp_ref);
}

static int
cmp_target(const void *a, const void *b)
{
	return strcmp(dep_str(*(json_t *const *)a, "Target"),
		      dep_str(*(json_t *const *)b, "Target"));
}

static void
add_alias(json_t *aliases, const char *name)
{
	json_t *x;
	size_t i;

	json_array_foreach(aliases, i, x)
	{
		if (!strcmp(json_string_value(x), name))
			return;
	}
	json_array_append_new(aliases, json_string(name));
}

static int
v2_file(struct dep_ctx *ctx)
{
	const char *v = dep_str(ctx->model, "version");

	return v && v[0] == '2';
}

/*
 * Version 2 files: the aliases other services give service key with links
 * (SERVICE:ALIAS), on a network both are on.
 */
static void
link_aliases(struct dep_ctx *ctx, json_t *aliases, const char *key, const char *net)
{
	json_t *svc, *l;
	const char *other;
	size_t i;

	json_object_foreach(json_object_get(ctx->model, "services"), other, svc)
	{
		json_t *nets = json_object_get(svc, "networks");

		if (json_object_size(nets) ? !json_object_get(nets, net) : strcmp(net, "default"))
			continue;
		json_array_foreach(json_object_get(svc, "links"), i, l)
		{
			const char *s = json_string_value(l), *colon = s ? strchr(s, ':') : NULL;

			if (colon && (size_t)(colon - s) == strlen(key) &&
			    !strncmp(s, key, strlen(key)) && strcmp(colon + 1, key))
				add_alias(aliases, colon + 1);
		}
	}
}

static json_t *
attachments(struct dep_ctx *ctx, json_t *svc, const char *key)
{
	struct cs_strvec keys = CS_STRVEC_INIT;
	json_t *nets = json_array(), *v = json_object_get(svc, "networks"), *x;
	const char *cname = dep_str(svc, "container_name");
	size_t i, j;

	if (json_object_size(v) == 0)
		cs_strvec_push(&keys, "default");
	else
		dep_sorted_keys(&keys, v);
	for (i = 0; i < keys.nr; i++) {
		json_t *sn = json_object_get(v, keys.v[i]), *al = json_array(), *att;
		char *nn = dep_network_name(ctx, keys.v[i]);

		json_array_foreach(json_object_get(sn, "aliases"), j, x)
		{
			if (json_is_string(x))
				json_array_append(al, x);
		}
		if (v2_file(ctx)) {
			if (cname)
				add_alias(al, cname);
			link_aliases(ctx, al, key, keys.v[i]);
		}
		if (strcmp(nn, "host") && strcmp(nn, "bridge") && strcmp(nn, "none"))
			json_array_append_new(al, json_string(key));
		att = json_pack("{s:s}", "Target", nn);
		dep_set_obj(att, "Aliases", al);
		if (json_object_size(json_object_get(sn, "driver_opts")))
			json_object_set(att, "DriverOpts", json_object_get(sn, "driver_opts"));
		json_array_append_new(nets, att);
		free(nn);
	}
	cs_strvec_clear(&keys);
	sort_array(nets, cmp_target);
	return nets;
}

static json_t *
mounts(struct dep_ctx *ctx, const char *key, json_t *svc)
{
	json_t *a = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(svc, "volumes"), i, v)
	{
		const char *type = dep_str(v, "type") ? dep_str(v, "type") : "volume";
		const char *src = dep_str(v, "source");
		json_t *m;

		if (strcmp(type, "volume") != 0 && strcmp(type, "bind") != 0 &&
		    strcmp(type, "tmpfs") != 0 && strcmp(type, "npipe") != 0) {
			cs_log(CS_LOG_WARN,
			       "service '%s': %s mounts need a newer engine API: '%s' "
			       "not mounted",
			       key, type, dep_str(v, "target") ? dep_str(v, "target") : "?");
			continue;
		}
		m = json_pack("{s:s, s:s}", "Type", type, "Target",
			      dep_str(v, "target") ? dep_str(v, "target") : "");
		if (strcmp(type, "volume") == 0 && src) {
			json_t *top = json_object_get(json_object_get(ctx->model, "volumes"), src);
			char *vn = dep_volume_name(ctx, src);

			json_object_set_new(m, "Source", json_string(vn));
			free(vn);
			if (!json_is_true(json_object_get(top, "external"))) {
				json_t *vo =
				    json_pack("{s:o}", "Labels",
					      dep_swarm_labels(json_object_get(top, "labels"),
							       ctx->opts->app));

				if (dep_str(top, "driver"))
					json_object_set_new(
					    vo, "DriverConfig",
					    json_pack("{s:s, s:O}", "Name", dep_str(top, "driver"),
						      "Options",
						      json_object_get(top, "driver_opts")
							  ? json_object_get(top, "driver_opts")
							  : json_object()));
				json_object_set_new(m, "VolumeOptions", vo);
			}
		} else if (src) {
			json_object_set_new(m, "Source", json_string(src));
		}
		dep_mount_options(m, v, type);
		json_array_append_new(a, m);
	}
	return a;
}

static json_t *
healthcheck(json_t *v)
{
	json_t *hc = json_object();

	if (!json_is_object(v))
		return hc;
	if (json_is_true(json_object_get(v, "disable"))) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
		return hc;
	}
	dep_set_obj(hc, "Test", dep_string_array(json_object_get(v, "test")));
	dep_set_int(hc, "Interval", dep_num(v, "interval_ns"));
	dep_set_int(hc, "Timeout", dep_num(v, "timeout_ns"));
	dep_set_int(hc, "Retries", dep_num(v, "retries"));
	dep_set_int(hc, "StartPeriod", dep_num(v, "start_period_ns"));
	return hc;
}

static json_t *
container_spec(struct dep_ctx *ctx, const char *key, json_t *svc)
{
	json_t *cs = json_object(), *v, *dns;
	const char *app = ctx->opts->app;
	char *image = dep_image_canonical(dep_str(svc, "image"));

	json_object_set_new(cs, "Image", json_string(image ? image : ""));
	free(image);
	json_object_set_new(cs, "Labels", dep_swarm_labels(json_object_get(svc, "labels"), app));
	/* compose entrypoint replaces the image's ENTRYPOINT (Command), command its CMD (Args) */
	if (json_is_array(json_object_get(svc, "entrypoint")))
		json_object_set_new(cs, "Command",
				    dep_string_array(json_object_get(svc, "entrypoint")));
	if (json_is_array(json_object_get(svc, "command")))
		json_object_set_new(cs, "Args", dep_string_array(json_object_get(svc, "command")));
	dep_set_str(cs, "Hostname", dep_str(svc, "hostname"));
	dep_set_obj(cs, "Hosts", hosts_list(json_object_get(svc, "extra_hosts")));
	dns = json_object();
	dep_set_obj(dns, "Nameservers", dep_string_array(json_object_get(svc, "dns")));
	dep_set_obj(dns, "Search", dep_string_array(json_object_get(svc, "dns_search")));
	dep_set_obj(cs, "DNSConfig", dns);
	dep_set_obj(cs, "Healthcheck", healthcheck(json_object_get(svc, "healthcheck")));
	dep_set_obj(cs, "Env", env_list(json_object_get(svc, "environment")));
	dep_set_str(cs, "Dir", dep_str(svc, "working_dir"));
	dep_set_str(cs, "User", dep_str(svc, "user"));
	dep_set_obj(cs, "Mounts", mounts(ctx, key, svc));
	dep_set_int(cs, "StopGracePeriod", dep_num(svc, "stop_grace_period_ns"));
	dep_set_str(cs, "StopSignal", dep_str(svc, "stop_signal"));
	if (json_is_true(json_object_get(svc, "tty")))
		json_object_set_new(cs, "TTY", json_true());
	if (json_is_true(json_object_get(svc, "stdin_open")))
		json_object_set_new(cs, "OpenStdin", json_true());
	dep_set_obj(cs, "Secrets", file_refs(json_object_get(svc, "secrets"), "secret"));
	dep_set_obj(cs, "Configs", file_refs(json_object_get(svc, "configs"), "config"));
	if (json_is_true(json_object_get(svc, "read_only")))
		json_object_set_new(cs, "ReadOnly", json_true());
	dep_set_str(cs, "Isolation", dep_str(svc, "isolation"));
	if (json_is_true(json_object_get(svc, "init")))
		json_object_set_new(cs, "Init", json_true());
	v = json_object_get(svc, "sysctls");
	if (json_object_size(v))
		json_object_set(cs, "Sysctls", v);
	capabilities(cs, svc);
	dep_set_obj(cs, "Ulimits", ulimits(json_object_get(svc, "ulimits")));
	return cs;
}

static json_t *
placement(json_t *pl)
{
	json_t *p = json_object(), *prefs = json_array(), *v;
	size_t i;

	dep_set_obj(p, "Constraints", dep_string_array(json_object_get(pl, "constraints")));
	json_array_foreach(json_object_get(pl, "preferences"), i, v)
	{
		if (json_is_string(v))
			json_array_append_new(
			    prefs, json_pack("{s:{s:O}}", "Spread", "SpreadDescriptor", v));
	}
	dep_set_obj(p, "Preferences", prefs);
	dep_set_int(p, "MaxReplicas", dep_num(pl, "max_replicas_per_node"));
	return p;
}

static json_t *
service_mode(json_t *deploy)
{
	const char *mode = dep_str(deploy, "mode") ? dep_str(deploy, "mode") : "replicated";
	json_t *r = json_object_get(deploy, "replicas");
	json_int_t n = json_is_integer(r) ? json_integer_value(r) : 1;

	if (!strcmp(mode, "global"))
		return json_pack("{s:{}}", "Global");
	if (!strcmp(mode, "global-job"))
		return json_pack("{s:{}}", "GlobalJob");
	if (!strcmp(mode, "replicated-job"))
		return json_pack("{s:{s:I, s:I}}", "ReplicatedJob", "MaxConcurrent", n,
				 "TotalCompletions", n);
	return json_pack("{s:{s:I}}", "Replicated", "Replicas", n);
}

/* Stable sort of the port configs by published port, as docker's sort.Slice on few ports. */
static json_t *
endpoint(struct dep_ctx *ctx, json_t *svc, json_t *deploy)
{
	json_t *a = json_array(), *v, *e;
	size_t i, j, n;

	json_array_foreach(json_object_get(svc, "ports"), i, v)
	{
		const char *pm = dep_str(v, "mode") ? dep_str(v, "mode") : "ingress";
		json_t *p;

		if (ctx->opts->publish_mode == DEP_PUBLISH_HOST)
			pm = "host";
		else if (ctx->opts->publish_mode == DEP_PUBLISH_INGRESS)
			pm = "ingress";
		p = json_pack("{s:s, s:I, s:s}", "Protocol",
			      dep_str(v, "protocol") ? dep_str(v, "protocol") : "tcp", "TargetPort",
			      (json_int_t)dep_num(v, "target"), "PublishMode", pm);
		dep_set_int(p, "PublishedPort", dep_num(v, "published"));
		/* insertion: after every port with a published port <= this one */
		n = json_array_size(a);
		for (j = n; j > 0; j--)
			if (dep_num(json_array_get(a, j - 1), "PublishedPort") <=
			    dep_num(p, "PublishedPort"))
				break;
		json_array_insert_new(a, j, p);
	}
	e = json_pack("{s:s}", "Mode",
		      dep_str(deploy, "endpoint_mode") ? dep_str(deploy, "endpoint_mode") : "vip");
	dep_set_obj(e, "Ports", a);
	return e;
}

/* What a swarm cannot honour inside keys it maps: one warning each, with file and line. */
static void
warn_partial(const char *key, json_t *svc)
{
	const char *file = dep_str(svc, "file") ? dep_str(svc, "file") : "-";
	int line = (int)dep_num(svc, "line");
	const char *net;
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(svc, "ports"), i, v)
	{
		if (dep_str(v, "host_ip"))
			cs_log(CS_LOG_WARN,
			       "%s:%d: service '%s': ports: host IP '%s' is ignored by swarm (port "
			       "%" JSON_INTEGER_FORMAT " listens on every address)",
			       file, line, key, dep_str(v, "host_ip"), dep_num(v, "published"));
	}
	json_object_foreach(json_object_get(svc, "networks"), net, v)
	{
		if (dep_str(v, "ipv4_address") || dep_str(v, "ipv6_address"))
			cs_log(
			    CS_LOG_WARN,
			    "%s:%d: service '%s': networks.%s: a fixed ipv4_address/ipv6_address "
			    "is ignored by swarm",
			    file, line, key, net);
	}
	if (dep_num(json_object_get(svc, "healthcheck"), "start_interval_ns"))
		cs_log(CS_LOG_WARN,
		       "%s:%d: service '%s': healthcheck.start_interval needs engine API 1.44, "
		       "ignored",
		       file, line, key);
}

json_t *
dep_swarm_service_spec(struct dep_ctx *ctx, const char *key, json_t *svc)
{
	const char *app = ctx->opts->app;
	json_t *spec = json_object(), *tt = json_object(), *deploy = json_object_get(svc, "deploy");
	json_t *v, *lg;
	char *name = cs_xasprintf("%s_%s", app, key);

	json_object_set_new(spec, "Name", json_string(name));
	free(name);
	warn_partial(key, svc);
	v = dep_swarm_labels(json_object_get(deploy, "labels"), app);
	/* the image as the file names it: --resolve-image changed compares with it */
	json_object_set_new(v, IMAGE_LABEL, json_string(dep_str(svc, "image")));
	json_object_set_new(spec, "Labels", v);

	json_object_set_new(tt, "ContainerSpec", container_spec(ctx, key, svc));
	lg = json_object_get(svc, "logging");
	if (json_is_object(lg)) {
		v = json_object();
		dep_set_str(v, "Name", dep_str(lg, "driver"));
		if (json_object_size(json_object_get(lg, "options")))
			json_object_set(v, "Options", json_object_get(lg, "options"));
		dep_set_obj(tt, "LogDriver", v);
	}
	dep_set_obj(tt, "Resources", resources(json_object_get(deploy, "resources")));
	v = json_object_get(deploy, "restart_policy");
	if (json_is_object(v)) {
		json_t *rp = json_object();

		dep_set_str(rp, "Condition", dep_swarm_restart_condition(v));
		dep_set_int(rp, "Delay", dep_num(v, "delay_ns"));
		dep_set_int(rp, "MaxAttempts", dep_num(v, "max_attempts"));
		dep_set_int(rp, "Window", dep_num(v, "window_ns"));
		dep_set_obj(tt, "RestartPolicy", rp);
	}
	dep_set_obj(tt, "Placement", placement(json_object_get(deploy, "placement")));
	json_object_set_new(tt, "Networks", attachments(ctx, svc, key));
	json_object_set_new(spec, "TaskTemplate", tt);
	json_object_set_new(spec, "Mode", service_mode(deploy));
	if (json_is_object(json_object_get(deploy, "update_config")))
		dep_set_obj(spec, "UpdateConfig",
			    update_config(json_object_get(deploy, "update_config")));
	if (json_is_object(json_object_get(deploy, "rollback_config")))
		dep_set_obj(spec, "RollbackConfig",
			    update_config(json_object_get(deploy, "rollback_config")));
	json_object_set_new(spec, "EndpointSpec", endpoint(ctx, svc, deploy));
	return spec;
}

json_t *
dep_swarm_network_spec(struct dep_ctx *ctx, const char *key, const char *name, const char *driver)
{
	json_t *def = json_object_get(json_object_get(ctx->model, "networks"), key);
	json_t *ipam = json_object_get(def, "ipam"), *body, *cfg, *c;
	size_t i;

	body =
	    json_pack("{s:s, s:b, s:s, s:b, s:o}", "Name", name, "CheckDuplicate", 1, "Driver",
		      driver, "Attachable", json_is_true(json_object_get(def, "attachable")),
		      "Labels", dep_swarm_labels(json_object_get(def, "labels"), ctx->opts->app));
	if (json_is_true(json_object_get(def, "internal")))
		json_object_set_new(body, "Internal", json_true());
	if (json_object_size(json_object_get(def, "driver_opts")))
		json_object_set(body, "Options", json_object_get(def, "driver_opts"));
	if (json_is_object(ipam) &&
	    (dep_str(ipam, "driver") || json_array_size(json_object_get(ipam, "config")))) {
		json_t *ip = json_object();

		/* docker stack deploy sends the driver and each subnet (not gateway or range) */
		dep_set_str(ip, "Driver", dep_str(ipam, "driver"));
		cfg = json_array();
		json_array_foreach(json_object_get(ipam, "config"), i, c)
		{
			json_t *one = json_object();

			dep_set_str(one, "Subnet", dep_str(c, "subnet"));
			json_array_append_new(cfg, one);
		}
		dep_set_obj(ip, "Config", cfg);
		json_object_set_new(body, "IPAM", ip);
	}
	return body;
}

/* The spec's TaskTemplate.Placement, created when missing (borrowed). */
static json_t *
placement_of(json_t *spec)
{
	json_t *tt = json_object_get(spec, "TaskTemplate");

	if (json_object_get(tt, "Placement") == NULL)
		json_object_set_new(tt, "Placement", json_object());
	return json_object_get(tt, "Placement");
}

int
dep_swarm_resolve_image(struct dep_ctx *ctx, json_t *spec, json_t *current, const char *mode)
{
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	json_t *cur_cs = json_object_get(json_object_get(current, "TaskTemplate"), "ContainerSpec");
	const char *label = dep_str(json_object_get(spec, "Labels"), IMAGE_LABEL);
	const char *cur_label = dep_str(json_object_get(current, "Labels"), IMAGE_LABEL);
	const char *image = dep_str(cs, "Image");
	json_t *out = NULL, *pl, *plats, *p;
	char *path, *pinned;
	const char *digest;
	size_t i;
	int error, same = label && cur_label && !strcmp(label, cur_label);

	if (image == NULL)
		return 0;
	if (mode == NULL)
		mode = "always";
	if (strcmp(mode, "always") && same) {
		/* like docker: keep what the last deployment pinned */
		if (dep_str(cur_cs, "Image"))
			json_object_set(cs, "Image", json_object_get(cur_cs, "Image"));
		pl = json_object_get(json_object_get(current, "TaskTemplate"), "Placement");
		if (json_object_get(pl, "Platforms"))
			json_object_set(placement_of(spec), "Platforms",
					json_object_get(pl, "Platforms"));
		return 0;
	}
	if (!strcmp(mode, "never"))
		return 0;
	if (strchr(image, '@'))
		return 0; /* already pinned by the file */
	path = cs_xasprintf("/distribution/%s/json", image);
	error = dep_call(ctx, "GET", path, NULL, 1, &out);
	free(path);
	if (error == CS_ENOTFOUND) {
		error = cs_err_set(CS_EINVAL, "service '%s': image '%s' not found in its registry",
				   dep_str(spec, "Name"), image);
		goto out;
	}
	if (error < 0) {
		/* docker's CLI: warn, keep the tag, let each node pull it */
		cs_log(CS_LOG_WARN,
		       "image %s could not be accessed on a registry to record its digest (%s): "
		       "each node will access %s independently, possibly running different "
		       "versions of the image",
		       image, cs_err_msg(), image);
		error = 0;
		goto out;
	}
	digest = dep_str(json_object_get(out, "Descriptor"), "digest");
	if (digest == NULL) {
		error = cs_err_set(CS_EHTTP, "GET /distribution/%s/json: no digest", image);
		goto out;
	}
	pinned = cs_xasprintf("%s@%s", image, digest);
	json_object_set_new(cs, "Image", json_string(pinned));
	free(pinned);
	plats = json_array();
	json_array_foreach(json_object_get(out, "Platforms"), i, p)
	{
		const char *arch = dep_str(p, "architecture");
		json_t *one = json_object();

		if (arch && !strcmp(arch, "arm"))
			arch = NULL;
		dep_set_str(one, "Architecture", arch);
		dep_set_str(one, "OS", dep_str(p, "os"));
		json_array_append_new(plats, one);
	}
	if (json_array_size(plats))
		json_object_set(placement_of(spec), "Platforms", plats);
	json_decref(plats);
out:
	json_decref(out);
	return error;
}
