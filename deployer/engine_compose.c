/*
 * Compose backend: a plain Docker engine, like `docker compose up -d`.
 * Containers APP_SERVICE_N with the com.docker.compose.* labels and a
 * config-hash label (sha256 of the create body), one network per compose
 * network, started in depends_on order. A container whose config changed is
 * recreated: the old one is stopped and renamed aside, so a rollback can
 * rename it back and start it; it is removed once everything converged.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "backend.h"
#include "converge.h"
#include "docker.h"
#include "engine.h"
#include "engine_hostconfig.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"

#define L_PROJECT "com.docker.compose.project"
#define L_SERVICE "com.docker.compose.service"
#define L_NUMBER "com.docker.compose.container-number"
#define L_ONEOFF "com.docker.compose.oneoff"
#define L_HASH "com.docker.compose.config-hash"
#define L_NETWORK "com.docker.compose.network"
#define L_VOLUME "com.docker.compose.volume"
#define LOG_TAIL 20

struct ctr_priv {
	char *old_id;	  /* the container this one replaces (renamed aside), or NULL */
	char *old_name;	  /* its name while aside */
	int not_renamed;  /* the old one still has the service's name (the rename was cut) */
	int start_only;	  /* same config, just not running: start it */
	int one_shot;	  /* exit 0 counts as done */
	json_t *networks; /* [{"name": engine network, "aliases": [...]}], first one at create */
	json_t *volumes;  /* named volumes to create first: [{Name, Labels, Driver, DriverOpts}] */
	struct dep_stable st;	/* the stability window and the states printed */
	json_int_t restarts0;	/* RestartCount when this run started the container */
	int restarts_known;	/* restarts0 is set (a new container: 0) */
	long long started_unix; /* wall time this run started it, for its event history */
};

struct compose {
	struct dep_engine eng; /* first: dep_engine() */
	json_t *ids;	       /* "network:NAME" -> ID */
};

static char *
label_filter(struct dep_ctx *ctx)
{
	return cs_xasprintf(L_PROJECT "=%s", ctx->opts->app);
}

static int
list_containers(struct dep_ctx *ctx, json_t **out)
{
	char *label = label_filter(ctx);
	int error = dep_list_labelled(ctx, "/containers/json?all=1", label, out);

	free(label);
	return error;
}

static json_t *
str_labels(json_t *src)
{
	json_t *res = json_object(), *v;
	const char *k;

	json_object_foreach(src, k, v)
	{
		if (json_is_string(v))
			json_object_set(res, k, v);
	}
	return res;
}

static const char *
restart_name(const char *cond)
{
	if (cond == NULL || strcmp(cond, "none") == 0 || strcmp(cond, "no") == 0)
		return "no";
	if (strcmp(cond, "on-failure") == 0)
		return "on-failure";
	if (strcmp(cond, "unless-stopped") == 0)
		return "unless-stopped";
	return "always";
}

/*
 * The create body of one container of service key (without the number and
 * hash labels), the networks to attach, and the named volumes it needs.
 */
static json_t *
container_body(struct dep_ctx *ctx, const char *key, json_t *svc, json_t *nets, json_t *vols)
{
	const char *app = ctx->opts->app;
	json_t *body = json_object(), *hc = json_object(), *labels, *v, *a, *ports, *bind, *mounts;
	json_t *deploy = json_object_get(svc, "deploy"), *lim;
	const char *cond;
	size_t i;

	json_object_set_new(body, "Image", json_string(dep_str(svc, "image")));
	if (json_is_array(json_object_get(svc, "command")))
		json_object_set_new(body, "Cmd", dep_string_array(json_object_get(svc, "command")));
	if (json_is_array(json_object_get(svc, "entrypoint")))
		json_object_set_new(body, "Entrypoint",
				    dep_string_array(json_object_get(svc, "entrypoint")));
	dep_set_obj(body, "Env", dep_env_list(json_object_get(svc, "environment")));
	dep_set_str(body, "WorkingDir", dep_str(svc, "working_dir"));
	dep_set_str(body, "User", dep_str(svc, "user"));
	dep_set_str(body, "Hostname", dep_str(svc, "hostname"));
	labels = str_labels(json_object_get(svc, "labels"));
	json_object_set_new(labels, L_PROJECT, json_string(app));
	json_object_set_new(labels, L_SERVICE, json_string(key));
	json_object_set_new(labels, L_ONEOFF, json_string("False"));
	json_object_set_new(body, "Labels", labels);
	if (dep_num(svc, "stop_grace_period_ns"))
		json_object_set_new(
		    body, "StopTimeout",
		    json_integer((dep_num(svc, "stop_grace_period_ns") + 999999999) / 1000000000));
	v = json_object_get(svc, "healthcheck");
	if (json_is_object(v)) {
		if (json_is_true(json_object_get(v, "disable"))) {
			json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
		} else {
			dep_set_obj(hc, "Test", dep_string_array(json_object_get(v, "test")));
			dep_set_int(hc, "Interval", dep_num(v, "interval_ns"));
			dep_set_int(hc, "Timeout", dep_num(v, "timeout_ns"));
			dep_set_int(hc, "Retries", dep_num(v, "retries"));
			dep_set_int(hc, "StartPeriod", dep_num(v, "start_period_ns"));
		}
	}
	dep_set_obj(body, "Healthcheck", hc);

	/* host config */
	v = json_object();
	ports = json_object();
	bind = json_object();
	json_array_foreach(json_object_get(svc, "ports"), i, a)
	{
		char *pk = cs_xasprintf("%" JSON_INTEGER_FORMAT "/%s", dep_num(a, "target"),
					dep_str(a, "protocol") ? dep_str(a, "protocol") : "tcp");
		json_t *list = json_object_get(bind, pk);
		char hp[32] = "";

		json_object_set_new(ports, pk, json_object());
		if (list == NULL) {
			list = json_array();
			json_object_set_new(bind, pk, list);
		}
		if (dep_num(a, "published"))
			snprintf(hp, sizeof(hp), "%" JSON_INTEGER_FORMAT, dep_num(a, "published"));
		json_array_append_new(list,
				      json_pack("{s:s, s:s}", "HostIp",
						dep_str(a, "host_ip") ? dep_str(a, "host_ip") : "",
						"HostPort", hp));
		free(pk);
	}
	dep_set_obj(body, "ExposedPorts", ports);
	dep_set_obj(v, "PortBindings", bind);

	mounts = json_array();
	json_array_foreach(json_object_get(svc, "volumes"), i, a)
	{
		const char *type = dep_str(a, "type") ? dep_str(a, "type") : "volume";
		const char *src = dep_str(a, "source");
		json_t *m;

		if (strcmp(type, "volume") != 0 && strcmp(type, "bind") != 0 &&
		    strcmp(type, "tmpfs") != 0) {
			cs_log(CS_LOG_WARN,
			       "service '%s': %s mounts are not supported: '%s' not "
			       "mounted",
			       key, type, dep_str(a, "target") ? dep_str(a, "target") : "?");
			continue;
		}
		m = json_pack("{s:s, s:s}", "Type", type, "Target",
			      dep_str(a, "target") ? dep_str(a, "target") : "");

		if (strcmp(type, "volume") == 0 && src) {
			json_t *top = json_object_get(json_object_get(ctx->model, "volumes"), src);
			char *vn = dep_volume_name(ctx, src);

			if (!json_is_true(json_object_get(top, "external"))) {
				json_t *vl = str_labels(json_object_get(top, "labels"));

				json_object_set_new(vl, L_PROJECT, json_string(app));
				json_object_set_new(vl, L_VOLUME, json_string(src));
				json_t *vo = json_pack(
				    "{s:s, s:o, s:s}", "Name", vn, "Labels", vl, "Driver",
				    dep_str(top, "driver") ? dep_str(top, "driver") : "local");

				if (json_is_object(json_object_get(top, "driver_opts")))
					json_object_set(vo, "DriverOpts",
							json_object_get(top, "driver_opts"));
				json_array_append_new(vols, vo);
			}
			json_object_set_new(m, "Source", json_string(vn));
			free(vn);
		} else if (src) {
			json_object_set_new(m, "Source", json_string(src));
		}
		dep_mount_options(m, a, type);
		json_array_append_new(mounts, m);
	}
	/* file secrets and configs are bind-mounted, as compose does on a plain engine */
	json_array_foreach(json_object_get(svc, "secrets"), i, a)
	{
		const char *src = json_is_string(a) ? json_string_value(a) : dep_str(a, "source");
		const char *target = json_is_object(a) ? dep_str(a, "target") : NULL;
		json_t *def =
		    json_object_get(json_object_get(ctx->model, "secrets"), src ? src : "");
		char *t;

		if (!dep_str(def, "file")) {
			cs_log(CS_LOG_WARN, "service '%s': secret '%s' has no file: not mounted",
			       key, src ? src : "?");
			continue;
		}
		t = target && target[0] == '/'
			? cs_xstrdup(target)
			: cs_xasprintf("/run/secrets/%s", target ? target : src);
		json_array_append_new(mounts,
				      json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source",
						dep_str(def, "file"), "Target", t, "ReadOnly", 1));
		free(t);
	}
	json_array_foreach(json_object_get(svc, "configs"), i, a)
	{
		const char *src = json_is_string(a) ? json_string_value(a) : dep_str(a, "source");
		const char *target = json_is_object(a) ? dep_str(a, "target") : NULL;
		json_t *def =
		    json_object_get(json_object_get(ctx->model, "configs"), src ? src : "");
		char *t;

		if (!dep_str(def, "file")) {
			cs_log(CS_LOG_WARN, "service '%s': config '%s' has no file: not mounted",
			       key, src ? src : "?");
			continue;
		}
		/* a relative target is under / (as on a swarm) */
		t = target && target[0] == '/' ? cs_xstrdup(target)
					       : cs_xasprintf("/%s", target ? target : src);
		json_array_append_new(mounts,
				      json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source",
						dep_str(def, "file"), "Target", t, "ReadOnly", 1));
		free(t);
	}
	dep_set_obj(v, "Mounts", mounts);

	lim = json_object_get(json_object_get(deploy, "resources"), "limits");
	dep_set_int(v, "NanoCpus", dep_num(lim, "nano_cpus"));
	dep_set_int(v, "Memory", dep_num(lim, "memory_bytes"));
	cond = dep_str(json_object_get(deploy, "restart_policy"), "condition");
	if (dep_str(svc, "restart"))
		cond = dep_str(svc, "restart");
	json_object_set_new(v, "RestartPolicy", json_pack("{s:s}", "Name", restart_name(cond)));
	if (strcmp(restart_name(cond), "on-failure") == 0)
		dep_set_int(json_object_get(v, "RestartPolicy"), "MaximumRetryCount",
			    dep_num(json_object_get(deploy, "restart_policy"), "max_attempts"));

	/* networks: the first at create, the others connected before start */
	a = dep_network_attachments(ctx, svc, key, "name", "aliases");
	json_array_extend(nets, a); /* the caller's array: it keeps the attachments */
	json_decref(a);
	json_object_set_new(v, "NetworkMode",
			    json_string(dep_str(json_array_get(nets, 0), "name")));
	dep_engine_container_extras(body, v, svc);
	json_object_set_new(body, "HostConfig", v);
	json_object_set_new(body, "NetworkingConfig",
			    json_pack("{s:{s:{s:O}}}", "EndpointsConfig",
				      dep_str(json_array_get(nets, 0), "name"), "Aliases",
				      json_object_get(json_array_get(nets, 0), "aliases")));
	/* the other networks are part of the config too, for the hash */
	json_object_set(body, "x-networks", nets);
	return body;
}

static int
compose_open(struct dep_ctx *ctx)
{
	struct compose *c = cs_xcalloc(1, sizeof(*c));
	json_t *info = NULL;
	int error;

	c->ids = json_object();
	ctx->priv = c;
	if ((error = dep_engine_open(&c->eng, ctx)) < 0)
		return error;
	if ((error = dep_call(ctx, "GET", "/info", NULL, 0, &info)) < 0)
		return error;
	json_decref(info);
	return 0;
}

static json_t *
find_container(json_t *list, const char *service, long long number)
{
	json_t *c;
	size_t i;

	json_array_foreach(list, i, c)
	{
		json_t *l = json_object_get(c, "Labels");
		const char *s = dep_str(l, L_SERVICE), *n = dep_str(l, L_NUMBER);

		if (s && n && strcmp(s, service) == 0 && atoll(n) == number)
			return c;
	}
	return NULL;
}

/* The name of a listed container, without the leading '/'. */
static const char *
container_name(json_t *c)
{
	const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

	if (n && *n == '/')
		n++;
	return n && *n ? n : dep_str(c, "Id") ? dep_str(c, "Id") : "?";
}

static int
compose_plan(struct dep_ctx *ctx)
{
	struct compose *c = ctx->priv;
	json_t *services = json_object_get(ctx->model, "services"), *current = NULL, *nets = NULL;
	json_t *used = dep_used_networks(ctx->model), *v;
	struct cs_strvec order = CS_STRVEC_INIT, keys = CS_STRVEC_INIT;
	size_t i, j;
	int error;

	if ((error = dep_service_order(&order, ctx->model)) < 0)
		goto out;
	if ((error = dep_call(ctx, "GET", "/networks", NULL, 0, &nets)) < 0)
		goto out;
	dep_sorted_keys(&keys, used);
	for (i = 0; i < keys.nr; i++) {
		json_t *def = json_object_get(json_object_get(ctx->model, "networks"), keys.v[i]);
		char *name = dep_network_name(ctx, keys.v[i]),
		     *idkey = cs_xasprintf("network:%s", name);
		const char *driver = dep_str(def, "driver") ? dep_str(def, "driver") : "bridge";
		json_t *found = NULL, *labels;
		struct dep_item *it;

		json_array_foreach(nets, j, v)
		{
			if (dep_str(v, "Name") && strcmp(dep_str(v, "Name"), name) == 0)
				found = v;
		}
		if (json_is_true(json_object_get(def, "external"))) {
			if (found == NULL)
				error =
				    cs_err_set(CS_EINVAL, "external network '%s' not found", name);
			free(name);
			free(idkey);
			if (error < 0)
				goto out;
			continue;
		}
		if (strcmp(driver, "overlay") == 0) {
			/* the seed's version 2 files say overlay (Swarm 1.x); one engine needs
			 * bridge */
			cs_log(CS_LOG_INFO, "network '%s': overlay on a plain engine, using bridge",
			       keys.v[i]);
			driver = "bridge";
		}
		it = dep_plan_add(&ctx->plan, DEP_KIND_NETWORK,
				  found ? DEP_ACT_UNCHANGED : DEP_ACT_CREATE, name, keys.v[i]);
		if (found) {
			it->id = cs_xstrdup(dep_str(found, "Id"));
			json_object_set_new(c->ids, idkey, json_string(it->id));
		}
		labels = str_labels(json_object_get(def, "labels"));
		json_object_set_new(labels, L_PROJECT, json_string(ctx->opts->app));
		json_object_set_new(labels, L_NETWORK, json_string(keys.v[i]));
		it->desired = json_pack("{s:s, s:b, s:s, s:o}", "Name", name, "CheckDuplicate", 1,
					"Driver", driver, "Labels", labels);
		if (json_object_size(json_object_get(def, "driver_opts")))
			json_object_set(it->desired, "Options",
					json_object_get(def, "driver_opts"));
		dep_engine_network_extras(it->desired, def);
		free(name);
		free(idkey);
	}

	if ((error = list_containers(ctx, &current)) < 0)
		goto out;
	for (i = 0; i < order.nr; i++) {
		json_t *s = json_object_get(services, order.v[i]);
		json_t *deploy = json_object_get(s, "deploy");
		json_t *rn = json_object_get(deploy, "replicas");
		long long replicas = json_is_integer(rn) ? json_integer_value(rn) : 1, n;
		const char *cond = dep_str(json_object_get(deploy, "restart_policy"), "condition");
		char hash[65];
		json_t *nets_of = json_array(), *vols = json_array();
		json_t *body = container_body(ctx, order.v[i], s, nets_of, vols);

		if (cond == NULL)
			cond = dep_str(s, "restart");
		dep_json_hash(hash, body);
		json_object_del(body, "x-networks");
		json_object_set_new(json_object_get(body, "Labels"), L_HASH, json_string(hash));
		if (dep_str(deploy, "mode") && strcmp(dep_str(deploy, "mode"), "global") == 0)
			replicas = 1;
		if (dep_str(s, "container_name") && replicas > 1) {
			cs_log(CS_LOG_WARN,
			       "service '%s': container_name with %lld replicas: "
			       "using APP_SERVICE_N names",
			       order.v[i], replicas);
		}
		for (n = 1; n <= replicas; n++) {
			json_t *cur = find_container(current, order.v[i], n);
			struct ctr_priv *p = cs_xcalloc(1, sizeof(*p));
			struct dep_item *it;
			char *name, num[24];

			if (dep_str(s, "container_name") && replicas == 1)
				name = cs_xstrdup(dep_str(s, "container_name"));
			else
				name = cs_xasprintf("%s_%s_%lld", ctx->opts->app, order.v[i], n);
			it = dep_plan_add(&ctx->plan, DEP_KIND_CONTAINER, DEP_ACT_CREATE, name,
					  order.v[i]);
			free(name);
			it->priv = p;
			it->desired = json_deep_copy(body);
			snprintf(num, sizeof(num), "%lld", n);
			json_object_set_new(json_object_get(it->desired, "Labels"), L_NUMBER,
					    json_string(num));
			p->networks = json_incref(nets_of);
			p->volumes = json_incref(vols);
			p->one_shot = strcmp(restart_name(cond), "always") != 0 &&
				      strcmp(restart_name(cond), "unless-stopped") != 0;
			if (cur == NULL)
				continue;
			it->id = cs_xstrdup(dep_str(cur, "Id"));
			it->current = json_incref(cur);
			if (dep_str(json_object_get(cur, "Labels"), L_HASH) &&
			    strcmp(dep_str(json_object_get(cur, "Labels"), L_HASH), hash) == 0) {
				const char *st = dep_str(cur, "State");

				if (st &&
				    (strcmp(st, "running") == 0 ||
				     (p->one_shot && strcmp(st, "exited") == 0 &&
				      strstr(dep_str(cur, "Status") ? dep_str(cur, "Status") : "",
					     "(0)"))))
					it->action = DEP_ACT_UNCHANGED;
				else {
					it->action = DEP_ACT_UPDATE;
					p->start_only = 1;
				}
			} else {
				it->action = DEP_ACT_UPDATE;
			}
		}
		/* scaled down: the containers past the replica count go */
		json_array_foreach(current, j, v)
		{
			json_t *l = json_object_get(v, "Labels");
			struct dep_item *it;

			if (!dep_str(l, L_SERVICE) ||
			    strcmp(dep_str(l, L_SERVICE), order.v[i]) != 0 ||
			    atoll(dep_str(l, L_NUMBER) ? dep_str(l, L_NUMBER) : "0") <= replicas)
				continue;
			it = dep_plan_add(&ctx->plan, DEP_KIND_CONTAINER, DEP_ACT_REMOVE,
					  container_name(v), order.v[i]);
			it->id = cs_xstrdup(dep_str(v, "Id"));
		}
		json_decref(body);
		json_decref(nets_of);
		json_decref(vols);
	}
	if (ctx->opts->prune) {
		json_array_foreach(current, j, v)
		{
			const char *s = dep_str(json_object_get(v, "Labels"), L_SERVICE);
			struct dep_item *it;

			if (s == NULL || json_object_get(services, s) != NULL)
				continue;
			it = dep_plan_add(&ctx->plan, DEP_KIND_CONTAINER, DEP_ACT_REMOVE,
					  container_name(v), s);
			it->id = cs_xstrdup(dep_str(v, "Id"));
		}
		/* and the project's networks nothing uses any more */
		json_array_foreach(nets, j, v)
		{
			const char *nm = dep_str(v, "Name");
			size_t n;
			int keep = 0;

			if (nm == NULL || !dep_str(json_object_get(v, "Labels"), L_PROJECT) ||
			    strcmp(dep_str(json_object_get(v, "Labels"), L_PROJECT),
				   ctx->opts->app) != 0)
				continue;
			for (n = 0; n < ctx->plan.nr; n++)
				keep |= ctx->plan.v[n].kind == DEP_KIND_NETWORK &&
					strcmp(ctx->plan.v[n].name, nm) == 0;
			if (!keep)
				dep_plan_add(&ctx->plan, DEP_KIND_NETWORK, DEP_ACT_REMOVE, nm, NULL)
				    ->id = cs_xstrdup(dep_str(v, "Id"));
		}
	}
out:
	cs_strvec_clear(&order);
	cs_strvec_clear(&keys);
	json_decref(current);
	json_decref(nets);
	json_decref(used);
	return error;
}

/* Apply. */

struct pull {
	struct cs_buf err;
};

static int
pull_msg(json_t *msg, void *payload)
{
	struct pull *p = payload;
	const char *e = dep_str(msg, "error");

	if (e && p->err.len == 0)
		cs_buf_adds(&p->err, e);
	return 0;
}

/* Pull the image unless the engine has it. */
static int
ensure_image(struct dep_ctx *ctx, const char *image)
{
	struct cs_buf path = CS_BUF_INIT, repo = CS_BUF_INIT;
	struct pull p = {.err = CS_BUF_INIT};
	const char *slash = strrchr(image, '/'), *colon, *tag = "latest";
	long status = 0;
	int error;

	cs_buf_adds(&path, "/images/");
	cs_http_urlencode(&path, image);
	cs_buf_adds(&path, "/json");
	if ((error = dep_call(ctx, "GET", path.buf, NULL, 0, NULL)) != CS_ENOTFOUND)
		goto out;
	colon = strrchr(slash ? slash : image, ':');
	if (strchr(image, '@')) {
		cs_buf_adds(&repo, image);
		tag = NULL;
	} else if (colon) {
		cs_buf_add(&repo, image, (size_t)(colon - image));
		tag = colon + 1;
	} else {
		cs_buf_adds(&repo, image);
	}
	cs_buf_reset(&path);
	cs_buf_adds(&path, "/images/create?fromImage=");
	cs_http_urlencode(&path, repo.buf);
	if (tag) {
		cs_buf_adds(&path, "&tag=");
		cs_http_urlencode(&path, tag);
	}
	cs_out("pulling %s", image);
	error = cs_docker_stream(dep_engine(ctx)->docker, "POST", path.buf,
				 dep_engine(ctx)->auth.nr ? &dep_engine(ctx)->auth : NULL, NULL,
				 NULL, pull_msg, &p, &status);
	if (error == 0 && p.err.len)
		error = cs_err_set(CS_EHTTP, "cannot pull '%s': %s", image, p.err.buf);
out:
	cs_buf_release(&path);
	cs_buf_release(&repo);
	cs_buf_release(&p.err);
	return error;
}

static int
start_container(struct dep_ctx *ctx, const char *id)
{
	char *path = cs_xasprintf("/containers/%s/start", id);
	long status = 0;
	json_t *resp = NULL;
	int error =
	    cs_docker_json(dep_engine(ctx)->docker, "POST", path, NULL, NULL, &status, &resp);

	if (error == 0 && status != 204 && status != 304)
		error = cs_err_set(status == 404 ? CS_ENOTFOUND : CS_EHTTP, "POST %s: HTTP %ld: %s",
				   path, status, cs_docker_error_message(resp, "no message"));
	json_decref(resp);
	free(path);
	return error;
}

static int
stop_container(struct dep_ctx *ctx, const char *id, json_t *desired)
{
	json_int_t t = dep_num(desired, "StopTimeout");
	char *path = cs_xasprintf("/containers/%s/stop?t=%" JSON_INTEGER_FORMAT, id, t ? t : 10);
	long status = 0;
	int error =
	    cs_docker_json(dep_engine(ctx)->docker, "POST", path, NULL, NULL, &status, NULL);

	if (error == 0 && status != 204 && status != 304 && status != 404)
		error = cs_err_set(CS_EHTTP, "POST %s: HTTP %ld", path, status);
	free(path);
	return error;
}

static int
remove_container(struct dep_ctx *ctx, const char *id)
{
	char *path = cs_xasprintf("/containers/%s?force=1", id);
	int error = dep_call(ctx, "DELETE", path, NULL, 0, NULL);

	free(path);
	return error == CS_ENOTFOUND ? 0 : error;
}

static int
rename_container(struct dep_ctx *ctx, const char *id, const char *name)
{
	struct cs_buf path = CS_BUF_INIT;
	int error;

	cs_buf_addf(&path, "/containers/%s/rename?name=", id);
	cs_http_urlencode(&path, name);
	error = dep_call(ctx, "POST", path.buf, NULL, 0, NULL);
	cs_buf_release(&path);
	return error;
}

static int
create_container(struct dep_ctx *ctx, struct dep_item *it)
{
	struct ctr_priv *p = it->priv;
	struct cs_buf path = CS_BUF_INIT;
	json_t *resp = NULL, *n, *v;
	size_t i;
	int error;

	json_array_foreach(p->volumes, i, v)
	{
		if ((error = dep_call(ctx, "POST", "/volumes/create", v, 0, NULL)) < 0)
			goto out;
	}
	if ((error = ensure_image(ctx, dep_str(it->desired, "Image"))) < 0)
		goto out;
	cs_buf_adds(&path, "/containers/create?name=");
	cs_http_urlencode(&path, it->name);
	if ((error = dep_call(ctx, "POST", path.buf, it->desired, 0, &resp)) < 0)
		goto out;
	free(it->id);
	it->id = cs_xstrdup(dep_str(resp, "Id") ? dep_str(resp, "Id") : "");
	it->applied = 1;
	json_array_foreach(p->networks, i, n)
	{
		json_t *body;
		char *np;

		if (i == 0)
			continue;
		np = cs_xasprintf("/networks/%s/connect", dep_str(n, "name"));
		body = json_pack("{s:s, s:{s:O}}", "Container", it->id, "EndpointConfig", "Aliases",
				 json_object_get(n, "aliases"));
		error = dep_call(ctx, "POST", np, body, 0, NULL);
		json_decref(body);
		free(np);
		if (error < 0)
			goto out;
	}
	error = start_container(ctx, it->id);
out:
	cs_buf_release(&path);
	json_decref(resp);
	return error;
}

static int
compose_apply(struct dep_ctx *ctx, struct dep_item *it)
{
	struct compose *c = ctx->priv;
	struct ctr_priv *p = it->priv;
	json_t *resp = NULL;
	char *idkey;
	int error = 0;

	if (it->kind == DEP_KIND_NETWORK && it->action == DEP_ACT_REMOVE) {
		char *path = cs_xasprintf("/networks/%s", it->id);

		error = dep_call(ctx, "DELETE", path, NULL, 0, NULL);
		free(path);
		if (error == 0 || error == CS_ENOTFOUND) {
			it->applied = 1;
			cs_out("removed network %s", it->name);
			error = 0;
		}
		return error;
	}
	if (it->kind == DEP_KIND_NETWORK) {
		if ((error = dep_call(ctx, "POST", "/networks/create", it->desired, 0, &resp)) < 0)
			return error;
		it->id = cs_xstrdup(dep_str(resp, "Id") ? dep_str(resp, "Id") : "");
		it->applied = 1;
		idkey = cs_xasprintf("network:%s", it->name);
		json_object_set_new(c->ids, idkey, json_string(it->id));
		free(idkey);
		json_decref(resp);
		cs_out("created network %s", it->name);
		return 0;
	}
	if (it->action == DEP_ACT_REMOVE) {
		if ((error = remove_container(ctx, it->id)) == 0) {
			it->applied = 1;
			cs_out("removed container %s", it->name);
		}
		return error;
	}
	if (it->action == DEP_ACT_UPDATE && p->start_only) {
		p->started_unix = (long long)time(NULL);
		if ((error = start_container(ctx, it->id)) < 0)
			return error;
		it->applied = it->wait = 1;
		cs_out("started container %s", it->name);
		return 0;
	}
	if (it->action == DEP_ACT_UPDATE) {
		/* stop the old one and keep it aside for a rollback */
		p->old_id = it->id;
		it->id = NULL;
		free(p->old_name);
		p->old_name = cs_xasprintf("%s_old-%.12s", it->name, p->old_id);
		/* from the stop on, a rollback has to bring the old one back */
		it->applied = 1;
		p->not_renamed = 1;
		if ((error = stop_container(ctx, p->old_id, it->desired)) < 0 ||
		    (error = rename_container(ctx, p->old_id, p->old_name)) < 0)
			return error;
		p->not_renamed = 0;
	}
	/* a new container: every restart from now on counts */
	p->restarts0 = 0;
	p->restarts_known = 1;
	p->started_unix = (long long)time(NULL);
	if ((error = create_container(ctx, it)) < 0)
		return error;
	it->applied = it->wait = 1;
	cs_out("%s container %s", it->action == DEP_ACT_CREATE ? "created" : "recreated", it->name);
	return 0;
}

/*
 * apply(it) got no answer. A network is one request: it exists or not. A
 * container's change is several (stop, rename, create, connect, start):
 * whatever of it reached the engine is marked partial, so that the flow rolls
 * it back (the old container back under its name, a new one removed) before
 * it applies it again.
 */
static int
compose_recheck(struct dep_ctx *ctx, struct dep_item *it)
{
	struct compose *c = ctx->priv;
	struct ctr_priv *p = it->priv;
	json_t *o = NULL;
	char *path, *idkey;
	const char *id;
	int error;

	if (it->action == DEP_ACT_REMOVE)
		return 0;
	path = cs_xasprintf("/%s/%s%s", it->kind == DEP_KIND_NETWORK ? "networks" : "containers",
			    it->name, it->kind == DEP_KIND_NETWORK ? "" : "/json");
	error = dep_call(ctx, "GET", path, NULL, 0, &o);
	free(path);
	if (error == CS_ENOTFOUND)
		error = 0;
	if (error < 0)
		goto out;
	id = dep_str(o, "Id");
	if (it->kind == DEP_KIND_NETWORK) {
		if (id == NULL)
			goto out;
		free(it->id);
		it->id = cs_xstrdup(id);
		it->applied = 1;
		idkey = cs_xasprintf("network:%s", it->name);
		json_object_set_new(c->ids, idkey, json_string(it->id));
		free(idkey);
		goto out;
	}
	if (it->action == DEP_ACT_UPDATE && p->start_only) {
		it->applied = it->partial = 1; /* the rollback stops it; stopping twice is fine */
		goto out;
	}
	if (p->old_id) { /* a replacement (applied since its stop) */
		p->not_renamed = id && strcmp(id, p->old_id) == 0;
		if (id && !p->not_renamed) {
			free(it->id);
			it->id = cs_xstrdup(id);
		}
		it->applied = it->partial = 1;
		goto out;
	}
	if (id) {
		free(it->id);
		it->id = cs_xstrdup(id);
		it->applied = it->partial = 1;
	}
out:
	json_decref(o);
	return error;
}

/* Converge. */

/* The container's state, exit code and health, then history (may be ""), then its last logs. */
static char *
container_diag(struct dep_ctx *ctx, const char *id, const char *history)
{
	struct cs_buf b = CS_BUF_INIT, logs = CS_BUF_INIT;
	json_t *ins = NULL, *st, *hl;
	char *path = cs_xasprintf("/containers/%s/json", id);

	if (dep_call(ctx, "GET", path, NULL, 0, &ins) == 0) {
		st = json_object_get(ins, "State");
		cs_buf_addf(&b, "container %.12s state %s", id,
			    dep_str(st, "Status") ? dep_str(st, "Status") : "?");
		if (dep_str(json_object_get(st, "Health"), "Status") &&
		    json_is_true(json_object_get(st, "Running")))
			cs_buf_addf(&b, " (%s)", dep_str(json_object_get(st, "Health"), "Status"));
		if (dep_str(st, "Error"))
			cs_buf_addf(&b, ", error \"%s\"", dep_str(st, "Error"));
		if (dep_str(st, "Status") && strcmp(dep_str(st, "Status"), "running") != 0)
			cs_buf_addf(&b, ", exit code %" JSON_INTEGER_FORMAT,
				    dep_num(st, "ExitCode"));
		hl = json_object_get(json_object_get(st, "Health"), "Log");
		if (json_array_size(hl) &&
		    dep_str(json_array_get(hl, json_array_size(hl) - 1), "Output"))
			cs_buf_addf(&b, ", last health check: %s",
				    dep_str(json_array_get(hl, json_array_size(hl) - 1), "Output"));
	} else {
		cs_buf_addf(&b, "container %.12s: %s", id, cs_err_msg());
	}
	free(path);
	cs_buf_adds(&b, history);
	path = cs_xasprintf("/containers/%s/logs?stdout=1&stderr=1&tail=%d", id, LOG_TAIL);
	dep_fetch_logs(ctx, &logs, path, LOG_TAIL);
	if (logs.len)
		cs_buf_addf(&b, "%slast log lines:\n%s", *history ? "\n" : "; ", logs.buf);
	else
		cs_buf_addf(&b, "%sno log output", *history ? "\n" : "; ");
	free(path);
	cs_buf_release(&logs);
	json_decref(ins);
	return cs_buf_detach(&b, NULL);
}

struct events {
	struct cs_strvec lines;
};

static int
event_line(json_t *ev, void *payload)
{
	struct events *e = payload;
	const char *action = dep_str(ev, "Action") ? dep_str(ev, "Action") : dep_str(ev, "status");
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	time_t when = (time_t)dep_num(ev, "time");
	struct tm tm;
	char ts[32] = "?";

	/* the healthcheck's exec_* events come every interval and say nothing new */
	if (action == NULL || strncmp(action, "exec_", 5) == 0 || strcmp(action, "attach") == 0 ||
	    strcmp(action, "resize") == 0 || strcmp(action, "top") == 0)
		return 0;
	if (gmtime_r(&when, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (dep_str(attrs, "exitCode") && strcmp(action, "die") == 0)
		cs_strvec_pushf(&e->lines, "%s %s (exit code %s)", ts, action,
				dep_str(attrs, "exitCode"));
	else
		cs_strvec_pushf(&e->lines, "%s %s", ts, action);
	return 0;
}

#define HISTORY_LINES 6

/* The container's last state changes since this run started it (engine events), one a line. */
static void
container_history(struct dep_ctx *ctx, struct cs_buf *out, struct dep_item *it)
{
	struct ctr_priv *p = it->priv;
	struct events e = {.lines = CS_STRVEC_INIT};
	json_t *f = json_pack("{s:[s], s:[s]}", "container", it->id, "type", "container");
	char *base = cs_xasprintf("/events?since=%lld&until=%lld", p->started_unix - 1,
				  (long long)time(NULL) + 1);
	char *path = dep_filter_path(base, f);
	long status = 0;
	size_t i;

	if (cs_docker_stream(dep_engine(ctx)->docker, "GET", path, NULL, NULL, NULL, event_line, &e,
			     &status) == 0 &&
	    e.lines.nr) {
		cs_buf_adds(out, "\nstate history (engine events):");
		if (e.lines.nr > HISTORY_LINES)
			cs_buf_addf(out, "\n(%zu earlier events)", e.lines.nr - HISTORY_LINES);
		for (i = e.lines.nr > HISTORY_LINES ? e.lines.nr - HISTORY_LINES : 0;
		     i < e.lines.nr; i++)
			cs_buf_addf(out, "\n%s", e.lines.v[i]);
	}
	cs_strvec_clear(&e.lines);
	json_decref(f);
	free(base);
	free(path);
}

/* why (may be NULL), the container's state, exit code, health, event history and logs. */
static char *
failure_diag(struct dep_ctx *ctx, struct dep_item *it, const char *why)
{
	struct cs_buf b = CS_BUF_INIT, hist = CS_BUF_INIT;
	char *d;

	container_history(ctx, &hist, it);
	d = container_diag(ctx, it->id, hist.buf);
	if (why)
		cs_buf_addf(&b, "%s: ", why);
	cs_buf_adds(&b, d);
	free(d);
	cs_buf_release(&hist);
	return cs_buf_detach(&b, NULL);
}

/*
 * Judge one container from its inspect: 1 ready (running, healthy when it
 * has a healthcheck: the stability window then decides), 2 done (a one-shot
 * container that exited 0), 0 not yet, -1 failed (it->diag set): exited,
 * dead, unhealthy, or restarted since this run started it.
 */
static int
judge_container(struct dep_ctx *ctx, struct dep_item *it, json_t *ins, struct cs_buf *what)
{
	struct ctr_priv *p = it->priv;
	json_t *st = json_object_get(ins, "State");
	const char *status = dep_str(st, "Status") ? dep_str(st, "Status") : "unknown";
	const char *health = dep_str(json_object_get(st, "Health"), "Status");
	json_int_t restarts = dep_num(ins, "RestartCount");
	char *subject, *why = NULL;
	int ret = 0;

	cs_buf_adds(what, status);
	if (health && strcmp(status, "running") == 0)
		cs_buf_addf(what, " (%s)", health);
	if (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0)
		cs_buf_addf(what, ", exit code %" JSON_INTEGER_FORMAT, dep_num(st, "ExitCode"));
	if (!p->restarts_known) {
		p->restarts0 = restarts;
		p->restarts_known = 1;
	}
	if (restarts > p->restarts0)
		cs_buf_addf(what, ", restarted %" JSON_INTEGER_FORMAT " times",
			    restarts - p->restarts0);
	subject =
	    cs_xasprintf("%s: container %s %.12s", it->key ? it->key : it->name, it->name, it->id);
	dep_stable_note(&p->st, subject, it->id, what->buf);
	free(subject);

	if (restarts > p->restarts0) {
		why = cs_xasprintf("restarted %" JSON_INTEGER_FORMAT " times by its restart policy",
				   restarts - p->restarts0);
		ret = -1;
	} else if (strcmp(status, "running") == 0) {
		if (health && strcmp(health, "unhealthy") == 0)
			ret = -1;
		else
			ret = !(health && strcmp(health, "starting") == 0);
	} else if (strcmp(status, "exited") == 0 && p->one_shot && dep_num(st, "ExitCode") == 0) {
		ret = 2;
	} else if (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0 ||
		   strcmp(status, "restarting") == 0) {
		ret = -1;
	}
	if (ret < 0) {
		free(it->diag);
		it->diag = failure_diag(ctx, it, why);
	} else if (ret == 0) {
		free(it->diag);
		it->diag = cs_xasprintf("container %s", what->buf);
	}
	free(why);
	return ret;
}

static int
compose_wait(struct dep_ctx *ctx)
{
	json_t *ins = NULL;
	int error = 0, lost = 0;
	size_t i;

	for (;;) {
		int waiting = 0, failed = 0, any = 0, retry = 0;

		for (i = 0; i < ctx->plan.nr; i++)
			any |= ctx->plan.v[i].wait && !ctx->plan.v[i].done;
		if (!any)
			break;
		for (i = 0; i < ctx->plan.nr; i++) {
			struct dep_item *it = &ctx->plan.v[i];
			struct ctr_priv *p = it->priv;
			struct cs_buf what = CS_BUF_INIT;
			char *path;
			int r;

			if (!it->wait || it->done || it->kind != DEP_KIND_CONTAINER || p == NULL)
				continue;
			path = cs_xasprintf("/containers/%s/json", it->id ? it->id : "");
			error = dep_call(ctx, "GET", path, NULL, 0, &ins);
			free(path);
			if (error == CS_ENOTFOUND) {
				free(it->diag);
				it->diag = cs_xstrdup("the container disappeared");
				it->failed = failed = 1;
				continue;
			}
			if (error < 0) {
				/* the bay may come back before the deadline */
				if ((error = dep_poll_lost(ctx, error, &lost)) < 0)
					goto out;
				retry = 1;
				break;
			}
			dep_poll_found(&lost);
			r = judge_container(ctx, it, ins, &what);
			json_decref(ins);
			ins = NULL;
			if (r == 2) {
				it->done = 1;
				CS_FREE_AND_NULL(it->diag);
				cs_out("completed %s", it->name);
			} else if (r >= 0 && dep_stable_check(ctx, it, &p->st, r, what.buf)) {
				it->done = 1;
				CS_FREE_AND_NULL(it->diag);
				cs_out("%s %s", ctx->rolling_back ? "rolled back" : "running",
				       it->name);
			} else if (r >= 0) {
				waiting = 1;
			} else {
				it->failed = failed = 1;
			}
			cs_buf_release(&what);
		}
		if (retry)
			continue;
		if ((error = dep_poll_next(ctx, failed, waiting)) != 0)
			break;
	}
	if (error > 0)
		error = 0;
out:
	json_decref(ins);
	return error;
}

static int
compose_rollback(struct dep_ctx *ctx, struct dep_item *it)
{
	struct ctr_priv *p = it->priv;
	char *path;
	int error = 0;

	it->wait = 0;
	if (it->action == DEP_ACT_REMOVE)
		return 0;
	if (it->kind == DEP_KIND_NETWORK) {
		if (ctx->opts->keep_on_failure)
			return 0;
		path = cs_xasprintf("/networks/%s", it->id);
		error = dep_call(ctx, "DELETE", path, NULL, 0, NULL);
		free(path);
		if (error == 0)
			cs_out("removed network %s", it->name);
		return error == CS_ENOTFOUND ? 0 : error;
	}
	if (it->action == DEP_ACT_CREATE) {
		if (ctx->opts->keep_on_failure) {
			cs_log(CS_LOG_WARN, "keeping container %s (--keep-on-failure)", it->name);
			return 0;
		}
		if ((error = remove_container(ctx, it->id)) == 0)
			cs_out("removed container %s", it->name);
		return error;
	}
	if (p->start_only)
		return stop_container(ctx, it->id, it->desired);
	/* recreated: drop the new one, bring the old one back under its name */
	if (it->id && (error = remove_container(ctx, it->id)) < 0)
		return error;
	if (p->old_id == NULL)
		return 0;
	if ((!p->not_renamed && (error = rename_container(ctx, p->old_id, it->name)) < 0) ||
	    (error = start_container(ctx, p->old_id)) < 0)
		return error;
	p->not_renamed = 0;
	free(it->id);
	it->id = p->old_id;
	p->old_id = NULL;
	p->restarts_known = 0;
	p->started_unix = (long long)time(NULL);
	dep_stable_reset(&p->st);
	it->wait = 1;
	it->done = it->failed = 0;
	return 0;
}

/* Everything converged: the old containers kept for a rollback go. */
static int
compose_finish(struct dep_ctx *ctx)
{
	size_t i;
	int error, ret = 0;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct ctr_priv *p = ctx->plan.v[i].priv;

		if (ctx->plan.v[i].kind != DEP_KIND_CONTAINER || p == NULL || p->old_id == NULL)
			continue;
		if ((error = remove_container(ctx, p->old_id)) < 0)
			ret = error;
	}
	return ret;
}

static int
compose_report(struct dep_ctx *ctx)
{
	json_t *list = NULL, *c, *pt;
	struct cs_buf host = CS_BUF_INIT;
	size_t i, j;
	int error;

	if ((error = list_containers(ctx, &list)) < 0)
		return error;
	dep_bay_host(&host, cs_docker_host(dep_engine(ctx)->docker));
	json_array_foreach(list, i, c)
	{
		if (!dep_str(c, "State") || strcmp(dep_str(c, "State"), "running") != 0)
			continue;
		json_array_foreach(json_object_get(c, "Ports"), j, pt)
		{
			char *url;

			if (dep_num(pt, "PublicPort") == 0 ||
			    (dep_str(pt, "Type") && strcmp(dep_str(pt, "Type"), "tcp") != 0))
				continue;
			url = cs_xasprintf("http://%s:%" JSON_INTEGER_FORMAT, host.buf,
					   dep_num(pt, "PublicPort"));
			if (!cs_strvec_has(&ctx->result->endpoints, url))
				cs_strvec_push(&ctx->result->endpoints, url);
			free(url);
		}
	}
	cs_buf_release(&host);
	json_decref(list);
	return 0;
}

static void
compose_close(struct dep_ctx *ctx)
{
	struct compose *c = ctx->priv;

	if (c) {
		json_decref(c->ids);
		dep_engine_close(&c->eng);
		free(c);
		ctx->priv = NULL;
	}
}

static void
compose_item_release(struct dep_item *it)
{
	struct ctr_priv *p = it->priv;

	if (p == NULL)
		return;
	free(p->old_id);
	free(p->old_name);
	json_decref(p->networks);
	json_decref(p->volumes);
	dep_stable_release(&p->st);
	free(p);
	it->priv = NULL;
}

const struct dep_backend dep_backend_compose = {
    .coe = "compose",
    .open = compose_open,
    .plan = compose_plan,
    .apply = compose_apply,
    .wait = compose_wait,
    .rollback = compose_rollback,
    .recheck = compose_recheck,
    .finish = compose_finish,
    .report = compose_report,
    .close = compose_close,
    .item_release = compose_item_release,
};
