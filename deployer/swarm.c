/*
 * Swarm backend: `docker stack deploy` semantics through the Engine API.
 * Services APP_NAME, networks APP_NET, secrets and configs with versioned
 * immutable names, all labelled com.docker.stack.namespace=APP; changed
 * services are updated in place (version index), and convergence is judged
 * from one /services and one /tasks request per poll for all services.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "backend.h"
#include "converge.h"
#include "docker.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "swarm_nodes.h"
#include "swarm_spec.h"
#include "xalloc.h"

#define NS_LABEL "com.docker.stack.namespace"
#define IMAGE_LABEL "com.docker.stack.image"
#define SECRET_MAX (500 * 1024) /* the swarm's limit for secrets and configs */
#define LOG_TAIL 20

struct swarm {
	struct dep_engine eng; /* first: dep_engine() */
	char *node_addr;       /* Swarm.NodeAddr of the manager we talk to */
	json_t *ids;	       /* "network:NAME", "secret:NAME", "config:NAME" -> engine ID */
	json_t *net_name;      /* network ID -> name, for comparing specs */
	json_t *nodes;	       /* GET /nodes of this poll (NULL: not asked, or unknown) */
	int nodes_asked;       /* asked in this poll */
};

struct svc_priv {
	double since; /* engine time of our create/update: tasks older than that are history */
	long long replicas;
	int global;
	int one_shot; /* restart condition none/on-failure: a completed task is done */
	/*
	 * Host-mode ports changed: the swarm replaces the tasks although their
	 * spec stays the same, so only the update status tells when it is done.
	 */
	int host_ports_changed;
	struct dep_stable st; /* the stability window and the task states printed */
};

static int
list_app(struct dep_ctx *ctx, const char *what, json_t **out)
{
	char *label = cs_xasprintf(NS_LABEL "=%s", ctx->opts->app);
	int error = dep_list_labelled(ctx, what, label, out);

	free(label);
	return error;
}

/* Model helpers. */

/*
 * A copy of a spec for comparison: network IDs replaced by names, secret and
 * config IDs dropped, engine-filled defaults removed, empties pruned.
 */
static json_t *
normalize_task(struct swarm *sw, json_t *tt)
{
	json_t *t = json_deep_copy(tt), *cs, *n, *v;
	size_t i;

	cs = json_object_get(t, "ContainerSpec");
	json_object_del(t, "ForceUpdate");
	if (json_is_string(json_object_get(t, "Runtime")) &&
	    strcmp(dep_str(t, "Runtime") ? dep_str(t, "Runtime") : "", "container") == 0)
		json_object_del(t, "Runtime");
	if (dep_str(cs, "Isolation") && strcmp(dep_str(cs, "Isolation"), "default") == 0)
		json_object_del(cs, "Isolation");
	json_array_foreach(json_object_get(cs, "Secrets"), i, v) { json_object_del(v, "SecretID"); }
	json_array_foreach(json_object_get(cs, "Configs"), i, v) { json_object_del(v, "ConfigID"); }
	dep_swarm_sort_refs(cs);
	json_array_foreach(json_object_get(t, "Networks"), i, n)
	{
		const char *id = dep_str(n, "Target");
		const char *name = id ? json_string_value(json_object_get(sw->net_name, id)) : NULL;

		if (name)
			json_object_set_new(n, "Target", json_string(name));
	}
	v = dep_json_prune(t);
	json_decref(t);
	return v;
}

static void
drop_default(json_t *o, const char *key, const char *def)
{
	if (dep_str(o, key) && strcmp(dep_str(o, key), def) == 0)
		json_object_del(o, key);
}

static json_t *
normalize_spec(struct swarm *sw, json_t *spec)
{
	json_t *s = json_deep_copy(spec), *res;

	if (json_object_get(s, "TaskTemplate"))
		json_object_set_new(s, "TaskTemplate",
				    normalize_task(sw, json_object_get(s, "TaskTemplate")));
	/* the engine fills in the default failure action of an update or rollback config */
	drop_default(json_object_get(s, "UpdateConfig"), "FailureAction", "pause");
	drop_default(json_object_get(s, "RollbackConfig"), "FailureAction", "pause");
	if (dep_str(json_object_get(s, "EndpointSpec"), "Mode") &&
	    strcmp(dep_str(json_object_get(s, "EndpointSpec"), "Mode"), "vip") == 0)
		json_object_del(json_object_get(s, "EndpointSpec"), "Mode");
	res = dep_json_prune(s);
	json_decref(s);
	return res;
}

static int
has_host_port(json_t *ep)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(ep, "Ports"), i, p)
	{
		if (dep_str(p, "PublishMode") && strcmp(dep_str(p, "PublishMode"), "host") == 0)
			return 1;
	}
	return 0;
}

static int
host_ports_changed(json_t *want, json_t *have)
{
	return !json_equal(json_object_get(want, "Ports"), json_object_get(have, "Ports")) &&
	       (has_host_port(want) || has_host_port(have));
}

/* Open and plan. */

static int
swarm_open(struct dep_ctx *ctx)
{
	struct swarm *sw = cs_xcalloc(1, sizeof(*sw));
	json_t *info = NULL, *s;
	int error;

	sw->ids = json_object();
	sw->net_name = json_object();
	ctx->priv = sw;
	if ((error = dep_engine_open(&sw->eng, ctx)) < 0)
		return error;
	if ((error = dep_call(ctx, "GET", "/info", NULL, 0, &info)) < 0)
		return error;
	s = json_object_get(info, "Swarm");
	if (dep_str(s, "NodeAddr"))
		sw->node_addr = cs_xstrdup(dep_str(s, "NodeAddr"));
	if (!dep_str(s, "LocalNodeState") || strcmp(dep_str(s, "LocalNodeState"), "active") != 0 ||
	    !json_is_true(json_object_get(s, "ControlAvailable")))
		error =
		    cs_err_set(CS_EHTTP, "bay '%s' is not a swarm manager (node state '%s')",
			       cs_docker_host(sw->eng.docker),
			       dep_str(s, "LocalNodeState") ? dep_str(s, "LocalNodeState") : "?");
	json_decref(info);
	return error;
}

static json_t *
find_by_name(json_t *list, const char *name, int spec)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o)
	{
		json_t *n = spec ? json_object_get(json_object_get(o, "Spec"), "Name")
				 : json_object_get(o, "Name");

		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return o;
	}
	return NULL;
}

/*
 * Versioned secret and config names end in 12 hex digits of
 * HMAC-SHA256(key, content), with a random 256-bit key per stack and kind
 * kept in the VERSION_KEY_LABEL of the app's objects. An unsalted hash let
 * anyone who sees a name (a console log, a service spec, the --json report)
 * test guesses of the content offline: a 4-digit PIN fell in milliseconds.
 * The label is readable only through the engine API, whose users can mount
 * the secret into a container anyway. Same key and content, same name: a
 * redeploy of unchanged content changes nothing.
 */
#define VERSION_KEY_LABEL "com.caas-devops.version-key"

/*
 * The key of the app's objects in list (the smallest if several, so two
 * readers agree), else a new random one; *key gets 64 hex digits.
 */
static int
version_key(char key[65], json_t *list)
{
	unsigned char rnd[32];
	json_t *o;
	size_t i;
	const char *k, *best = NULL;

	json_array_foreach(list, i, o)
	{
		k = json_string_value(json_object_get(
		    json_object_get(json_object_get(o, "Spec"), "Labels"), VERSION_KEY_LABEL));
		if (k && strlen(k) == 64 && strspn(k, "0123456789abcdef") == 64 &&
		    (best == NULL || strcmp(k, best) < 0))
			best = k;
	}
	if (best) {
		memcpy(key, best, 65);
		return 0;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cs_err_set(CS_ERROR, "cannot draw a random key for secret names");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(key + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

/* out gets the first 12 hex digits of HMAC-SHA256(key, data). */
static int
keyed_hash(char out[13], const char key[65], const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (HMAC(EVP_sha256(), key, 64, data, len, md, &mdlen) == NULL || mdlen < 6)
		return cs_err_set(CS_ERROR, "cannot compute the version of a secret");
	for (i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/*
 * Plan the secrets (kind "secret") or configs used by the services: versioned
 * names APP_NAME-<keyed hash of the content>; external ones are looked up.
 * names receives model name -> engine name.
 */
static int
plan_files(struct dep_ctx *ctx, const char *kind, json_t *used, json_t *names)
{
	struct swarm *sw = ctx->priv;
	int secret = strcmp(kind, "secret") == 0;
	json_t *top = json_object_get(ctx->model, secret ? "secrets" : "configs");
	json_t *list = NULL, *found;
	struct cs_strvec keys = CS_STRVEC_INIT;
	struct cs_buf data = CS_BUF_INIT, path = CS_BUF_INIT;
	char key[65] = "";
	size_t i;
	int error;

	if ((error = list_app(ctx, secret ? "/secrets" : "/configs", &list)) < 0)
		goto out;
	if ((error = version_key(key, list)) < 0)
		goto out;
	dep_sorted_keys(&keys, used);
	for (i = 0; i < keys.nr; i++) {
		json_t *def = json_object_get(top, keys.v[i]);
		char hash[13], *name, *b64, *idkey;
		struct dep_item *it;
		size_t b64len;

		if (def == NULL) {
			error = cs_err_set(CS_EINVAL, "%s '%s' is used but not defined", kind,
					   keys.v[i]);
			goto out;
		}
		if (json_is_true(json_object_get(def, "external"))) {
			const char *en = dep_str(def, "name") ? dep_str(def, "name") : keys.v[i];
			json_t *obj = NULL;

			cs_buf_reset(&path);
			cs_buf_addf(&path, "/%ss/%s", kind, en);
			if ((error = dep_call(ctx, "GET", path.buf, NULL, 0, &obj)) < 0) {
				if (error == CS_ENOTFOUND)
					error = cs_err_set(CS_EINVAL, "external %s '%s' not found",
							   kind, en);
				goto out;
			}
			idkey = cs_xasprintf("%s:%s", kind, en);
			json_object_set_new(sw->ids, idkey, json_string(dep_str(obj, "ID")));
			free(idkey);
			json_object_set_new(names, keys.v[i], json_string(en));
			json_decref(obj);
			continue;
		}
		if (!dep_str(def, "file")) {
			error = cs_err_set(CS_EINVAL, "%s '%s' has no file", kind, keys.v[i]);
			goto out;
		}
		cs_buf_release(&data);
		if ((error = dep_read_file(&data, dep_str(def, "file"), SECRET_MAX)) < 0)
			goto out;
		if ((error = keyed_hash(hash, key, data.buf, data.len)) < 0)
			goto out;
		name = cs_xasprintf("%s_%s-%s", ctx->opts->app, keys.v[i], hash);
		json_object_set_new(names, keys.v[i], json_string(name));
		found = find_by_name(list, name, 1);
		it = dep_plan_add(&ctx->plan, secret ? DEP_KIND_SECRET : DEP_KIND_CONFIG,
				  found ? DEP_ACT_UNCHANGED : DEP_ACT_CREATE, name, keys.v[i]);
		idkey = cs_xasprintf("%s:%s", kind, name);
		if (found) {
			it->id = cs_xstrdup(dep_str(found, "ID"));
			json_object_set_new(sw->ids, idkey, json_string(it->id));
		}
		free(idkey);
		b64len = 4 * ((data.len + 2) / 3) + 1;
		b64 = cs_xmalloc(b64len);
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)data.buf,
				(int)data.len);
		it->desired = json_pack(
		    "{s:s, s:o, s:s}", "Name", name, "Labels",
		    dep_swarm_labels(json_object_get(def, "labels"), ctx->opts->app), "Data", b64);
		json_object_set_new(json_object_get(it->desired, "Labels"), VERSION_KEY_LABEL,
				    json_string(key));
		if (secret)
			explicit_bzero(b64, b64len);
		free(b64);
		free(name);
	}
out:
	explicit_bzero(key, sizeof(key));
	cs_buf_wipe(&data);
	cs_buf_release(&path);
	cs_strvec_clear(&keys);
	json_decref(list);
	return error;
}

/* Replace the model names of secret/config references in spec by their engine names. */
static void
rename_refs(json_t *cs, const char *field, const char *namefield, json_t *names)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(cs, field), i, r)
	{
		json_t *n =
		    json_object_get(names, dep_str(r, namefield) ? dep_str(r, namefield) : "");

		if (n)
			json_object_set(r, namefield, n);
	}
}

/*
 * --prune: the app's networks, secrets and configs that the plan does not
 * use (old secret versions included) are removed once the rest converged.
 */
static int
plan_prune(struct dep_ctx *ctx, const char *what, enum dep_kind kind)
{
	json_t *list = NULL, *v;
	size_t i, j;
	int error;

	if ((error = list_app(ctx, what, &list)) < 0)
		return error;
	json_array_foreach(list, i, v)
	{
		const char *name = kind == DEP_KIND_NETWORK
				       ? dep_str(v, "Name")
				       : dep_str(json_object_get(v, "Spec"), "Name");
		const char *id = kind == DEP_KIND_NETWORK ? dep_str(v, "Id") : dep_str(v, "ID");
		int used = 0;

		for (j = 0; name && j < ctx->plan.nr; j++)
			used |=
			    ctx->plan.v[j].kind == kind && strcmp(ctx->plan.v[j].name, name) == 0;
		if (name == NULL || id == NULL || used)
			continue;
		dep_plan_add(&ctx->plan, kind, DEP_ACT_REMOVE, name, NULL)->id = cs_xstrdup(id);
	}
	json_decref(list);
	return 0;
}

static int
swarm_plan(struct dep_ctx *ctx)
{
	struct swarm *sw = ctx->priv;
	json_t *services = json_object_get(ctx->model, "services"), *nets = NULL, *current = NULL;
	json_t *used_nets = dep_used_networks(ctx->model), *used_secrets = json_object(),
	       *used_configs = json_object();
	json_t *secret_names = json_object(), *config_names = json_object(), *svc, *v;
	struct cs_strvec order = CS_STRVEC_INIT, keys = CS_STRVEC_INIT;
	const char *k;
	size_t i, j;
	int error;

	if ((error = dep_service_order(&order, ctx->model)) < 0)
		goto out;
	json_object_foreach(services, k, svc)
	{
		json_array_foreach(json_object_get(svc, "secrets"), j, v)
		{
			const char *s =
			    json_is_string(v) ? json_string_value(v) : dep_str(v, "source");

			if (s)
				json_object_set_new(used_secrets, s, json_true());
		}
		json_array_foreach(json_object_get(svc, "configs"), j, v)
		{
			const char *s =
			    json_is_string(v) ? json_string_value(v) : dep_str(v, "source");

			if (s)
				json_object_set_new(used_configs, s, json_true());
		}
	}

	/* networks */
	if ((error = dep_call(ctx, "GET", "/networks", NULL, 0, &nets)) < 0)
		goto out;
	json_array_foreach(nets, i, v)
	{
		if (dep_str(v, "Id") && dep_str(v, "Name"))
			json_object_set_new(sw->net_name, dep_str(v, "Id"),
					    json_string(dep_str(v, "Name")));
	}
	dep_sorted_keys(&keys, used_nets);
	for (i = 0; i < keys.nr; i++) {
		json_t *def = json_object_get(json_object_get(ctx->model, "networks"), keys.v[i]);
		char *name = dep_network_name(ctx, keys.v[i]),
		     *idkey = cs_xasprintf("network:%s", name);
		json_t *found = find_by_name(nets, name, 0);

		/* a network removed from the cluster can linger in the node's list */
		if (found && dep_str(found, "Id") && dep_str(found, "Scope") &&
		    strcmp(dep_str(found, "Scope"), "swarm") == 0) {
			char *np = cs_xasprintf("/networks/%s", dep_str(found, "Id"));

			if (dep_call(ctx, "GET", np, NULL, 0, NULL) == CS_ENOTFOUND)
				found = NULL;
			free(np);
		}
		const char *driver = dep_str(def, "driver") ? dep_str(def, "driver") : "overlay";
		struct dep_item *it;

		if (def == NULL && strcmp(keys.v[i], "default") != 0) {
			error = cs_err_set(CS_EINVAL, "network '%s' is used but not defined",
					   keys.v[i]);
			free(name);
			free(idkey);
			goto out;
		}
		if (json_is_true(json_object_get(def, "external"))) {
			if (found == NULL)
				error =
				    cs_err_set(CS_EINVAL, "external network '%s' not found", name);
			else
				json_object_set_new(sw->ids, idkey,
						    json_string(dep_str(found, "Id")));
			free(name);
			free(idkey);
			if (error < 0)
				goto out;
			continue;
		}
		if (strcmp(driver, "bridge") == 0) {
			cs_log(CS_LOG_WARN,
			       "network '%s': driver bridge cannot span a swarm, using "
			       "overlay",
			       keys.v[i]);
			driver = "overlay";
		}
		it = dep_plan_add(&ctx->plan, DEP_KIND_NETWORK,
				  found ? DEP_ACT_UNCHANGED : DEP_ACT_CREATE, name, keys.v[i]);
		if (found) {
			it->id = cs_xstrdup(dep_str(found, "Id"));
			json_object_set_new(sw->ids, idkey, json_string(it->id));
			if (dep_str(found, "Driver") &&
			    strcmp(dep_str(found, "Driver"), driver) != 0)
				cs_log(CS_LOG_WARN,
				       "network '%s' exists with driver '%s', not '%s': left as is",
				       name, dep_str(found, "Driver"), driver);
		}
		it->desired = dep_swarm_network_spec(ctx, keys.v[i], name, driver);
		free(name);
		free(idkey);
	}

	if ((error = plan_files(ctx, "secret", used_secrets, secret_names)) < 0)
		goto out;
	if ((error = plan_files(ctx, "config", used_configs, config_names)) < 0)
		goto out;

	/* services */
	if ((error = list_app(ctx, "/services", &current)) < 0)
		goto out;
	for (i = 0; i < order.nr; i++) {
		json_t *spec =
		    dep_swarm_service_spec(ctx, order.v[i], json_object_get(services, order.v[i]));
		json_t *cs =
		    json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
		json_t *deploy = json_object_get(json_object_get(services, order.v[i]), "deploy");
		const char *name = dep_str(spec, "Name"), *cond;
		json_t *found = find_by_name(current, name, 1);
		struct svc_priv *p = cs_xcalloc(1, sizeof(*p));
		struct dep_item *it;

		rename_refs(cs, "Secrets", "SecretName", secret_names);
		rename_refs(cs, "Configs", "ConfigName", config_names);
		dep_swarm_sort_refs(cs);
		if ((error = dep_swarm_resolve_image(ctx, spec,
						     found ? json_object_get(found, "Spec") : NULL,
						     ctx->opts->resolve_image)) < 0) {
			json_decref(spec);
			free(p);
			goto out;
		}
		it = dep_plan_add(&ctx->plan, DEP_KIND_SERVICE, DEP_ACT_CREATE, name, order.v[i]);
		it->desired = spec;
		if (cs_log_get_level() >= CS_LOG_DEBUG) {
			char *d = json_dumps(spec, JSON_COMPACT);

			cs_log(CS_LOG_DEBUG, "service %s: spec %s", name, d ? d : "?");
			free(d);
		}
		it->priv = p;
		p->global = json_object_get(json_object_get(spec, "Mode"), "Global") != NULL;
		p->replicas = dep_num(json_object_get(json_object_get(spec, "Mode"), "Replicated"),
				      "Replicas");
		cond = dep_swarm_restart_condition(json_object_get(deploy, "restart_policy"));
		p->one_shot = cond && strcmp(cond, "any") != 0;
		if (found) {
			json_t *a = normalize_spec(sw, spec);
			json_t *b = normalize_spec(sw, json_object_get(found, "Spec"));

			it->id = cs_xstrdup(dep_str(found, "ID"));
			it->version = dep_num(json_object_get(found, "Version"), "Index");
			it->current = json_incref(json_object_get(found, "Spec"));
			it->action = json_equal(a, b) ? DEP_ACT_UNCHANGED : DEP_ACT_UPDATE;
			p->host_ports_changed =
			    it->action == DEP_ACT_UPDATE &&
			    host_ports_changed(json_object_get(a, "EndpointSpec"),
					       json_object_get(b, "EndpointSpec"));
			if (it->action == DEP_ACT_UPDATE && cs_log_get_level() >= CS_LOG_DEBUG) {
				char *sa = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
				char *sb = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);

				cs_log(CS_LOG_DEBUG, "service %s: desired %s", name, sa);
				cs_log(CS_LOG_DEBUG, "service %s: current %s", name, sb);
				free(sa);
				free(sb);
			}
			json_decref(a);
			json_decref(b);
		}
	}
	if (ctx->opts->prune) {
		json_array_foreach(current, i, v)
		{
			const char *name = dep_str(json_object_get(v, "Spec"), "Name");
			struct dep_item *it;
			int keep = 0;

			for (j = 0; name && j < order.nr; j++) {
				char *n = cs_xasprintf("%s_%s", ctx->opts->app, order.v[j]);

				keep |= strcmp(n, name) == 0;
				free(n);
			}
			if (name == NULL || keep)
				continue;
			it = dep_plan_add(&ctx->plan, DEP_KIND_SERVICE, DEP_ACT_REMOVE, name, NULL);
			it->id = cs_xstrdup(dep_str(v, "ID"));
		}
		if ((error = plan_prune(ctx, "/networks", DEP_KIND_NETWORK)) < 0 ||
		    (error = plan_prune(ctx, "/secrets", DEP_KIND_SECRET)) < 0 ||
		    (error = plan_prune(ctx, "/configs", DEP_KIND_CONFIG)) < 0)
			goto out;
	}
out:
	cs_strvec_clear(&order);
	cs_strvec_clear(&keys);
	json_decref(nets);
	json_decref(current);
	json_decref(used_nets);
	json_decref(used_secrets);
	json_decref(used_configs);
	json_decref(secret_names);
	json_decref(config_names);
	return error;
}

/* Apply. */

/* Set id_field of each reference in refs from the ids we created ("kind:name"). */
static void
resolve_refs(struct swarm *sw, json_t *refs, const char *kind, const char *name_field,
	     const char *id_field)
{
	json_t *r;
	size_t i;

	json_array_foreach(refs, i, r)
	{
		char *k = cs_xasprintf("%s:%s", kind,
				       dep_str(r, name_field) ? dep_str(r, name_field) : "");
		json_t *id = json_object_get(sw->ids, k);

		if (id)
			json_object_set(r, id_field, id);
		free(k);
	}
}

/* Fill SecretID / ConfigID from what plan found and apply created. */
static void
resolve_ids(struct swarm *sw, json_t *spec)
{
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");

	resolve_refs(sw, json_object_get(cs, "Secrets"), "secret", "SecretName", "SecretID");
	resolve_refs(sw, json_object_get(cs, "Configs"), "config", "ConfigName", "ConfigID");
}

/* Remember the engine's version and the time of our change for converge. */
static int
refresh_service(struct dep_ctx *ctx, struct dep_item *it)
{
	struct svc_priv *p = it->priv;
	json_t *svc = NULL;
	char *path = cs_xasprintf("/services/%s", it->id);
	const char *t;
	int error;

	if ((error = dep_call(ctx, "GET", path, NULL, 0, &svc)) < 0)
		goto out;
	it->version = dep_num(json_object_get(svc, "Version"), "Index");
	t = dep_str(svc, "UpdatedAt") ? dep_str(svc, "UpdatedAt") : dep_str(svc, "CreatedAt");
	if (p && (t == NULL || dep_parse_time(&p->since, t) < 0))
		p->since = 0;
	it->done = 0;
out:
	free(path);
	json_decref(svc);
	return error;
}

/* 1 while GET /networks still lists network id (the node's view lags the cluster's). */
static int
network_listed(struct dep_ctx *ctx, const char *id)
{
	json_t *f = json_pack("{s:[s]}", "id", id), *list = NULL;
	char *path = dep_filter_path("/networks", f);
	int listed = 1;

	if (dep_call(ctx, "GET", path, NULL, 0, &list) == 0)
		listed = json_array_size(list) > 0;
	json_decref(list);
	json_decref(f);
	free(path);
	return listed;
}

/* 1 while containers on this node are attached to network id (load balancer endpoints aside). */
static int
network_busy(struct dep_ctx *ctx, const char *id)
{
	char *path = cs_xasprintf("/networks/%s", id);
	json_t *net = NULL, *v;
	const char *k;
	int busy = 0;

	if (dep_call(ctx, "GET", path, NULL, 0, &net) == 0) {
		json_object_foreach(json_object_get(net, "Containers"), k, v)
		{
			busy |= strncmp(k, "lb-", 3) != 0;
		}
	}
	json_decref(net);
	free(path);
	return busy;
}

/*
 * 1 while this node still has containers of the removed service id: the
 * swarm stops and removes them after the service is gone, and a failed
 * first deployment must leave nothing behind when we exit.
 */
static int
service_containers_left(struct dep_ctx *ctx, const char *id)
{
	char *label = cs_xasprintf("com.docker.swarm.service.id=%s", id);
	json_t *list = NULL;
	int left = 0;

	if (dep_list_labelled(ctx, "/containers/json?all=1", label, &list) == 0)
		left = json_array_size(list) > 0;
	json_decref(list);
	free(label);
	return left;
}

static int
remove_object(struct dep_ctx *ctx, struct dep_item *it)
{
	char *path = cs_xasprintf("/%ss/%s", dep_kind_name(it->kind), it->id);
	double until = cs_clock_now() + 30;
	int error;

	/*
	 * Removed from the cluster while this node still has containers on it,
	 * an overlay network lingers on the node for a while (listed, and
	 * refusing a new network of its name): let the tasks go first.
	 */
	while (it->kind == DEP_KIND_NETWORK && cs_clock_now() < until && network_busy(ctx, it->id))
		cs_clock_sleep_ms(250);
	/* a network stays in use until the removed service's tasks are gone */
	while ((error = dep_call(ctx, "DELETE", path, NULL, 0, NULL)) == CS_EHTTP &&
	       cs_clock_now() < until)
		cs_clock_sleep_ms(500);
	if (error == CS_ENOTFOUND)
		error = 0;
	while (error == 0 && it->kind == DEP_KIND_SERVICE && cs_clock_now() < until &&
	       service_containers_left(ctx, it->id))
		cs_clock_sleep_ms(250);
	/*
	 * The node keeps showing a removed overlay network until its tasks are
	 * gone, and a new deployment would then take it for existing: wait.
	 */
	while (error == 0 && it->kind == DEP_KIND_NETWORK && cs_clock_now() < until &&
	       network_listed(ctx, it->id))
		cs_clock_sleep_ms(250);
	free(path);
	return error;
}

/* POST /{networks,secrets,configs}/create for it. */
static int
create_object(struct dep_ctx *ctx, struct dep_item *it)
{
	struct swarm *sw = ctx->priv;
	const char *kind = dep_kind_name(it->kind);
	char *path = cs_xasprintf("/%ss/create", kind), *idkey;
	double until = cs_clock_now() + 20;
	json_t *resp = NULL;
	int error;

	/*
	 * An overlay network removed a moment ago (our own rollback) can linger
	 * in the engine for a few seconds after it left the cluster and the
	 * node's list, and a new one with its name is refused with 409.
	 */
	while ((error = dep_call(ctx, "POST", path, it->desired, 0, &resp)) == CS_EHTTP &&
	       it->kind == DEP_KIND_NETWORK && strstr(cs_err_msg(), "HTTP 409") &&
	       cs_clock_now() < until)
		cs_clock_sleep_ms(250);
	if (error < 0)
		goto out;
	if (!dep_str(resp, "Id") && !dep_str(resp, "ID")) {
		error = cs_err_set(CS_EHTTP, "POST %s: no ID in the answer", path);
		goto out;
	}
	free(it->id);
	it->id = cs_xstrdup(dep_str(resp, "Id") ? dep_str(resp, "Id") : dep_str(resp, "ID"));
	it->applied = 1;
	idkey = cs_xasprintf("%s:%s", kind, it->name);
	json_object_set_new(sw->ids, idkey, json_string(it->id));
	free(idkey);
	cs_out("created %s %s", kind, it->name);
out:
	free(path);
	json_decref(resp);
	return error;
}

/*
 * The engine says a network that plan found does not exist (the node listed
 * one that was being removed): create the planned networks named in msg.
 * 1 when one was created, 0 when none applies, or an error.
 */
static int
create_vanished_networks(struct dep_ctx *ctx, const char *msg)
{
	size_t i;
	int error, created = 0;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *n = &ctx->plan.v[i];

		if (n->kind != DEP_KIND_NETWORK || n->action != DEP_ACT_UNCHANGED ||
		    strstr(msg, n->name) == NULL)
			continue;
		cs_log(CS_LOG_INFO, "network %s vanished since the plan: creating it", n->name);
		n->action = DEP_ACT_CREATE;
		if ((error = create_object(ctx, n)) < 0)
			return error;
		created = 1;
	}
	return created;
}

static int
apply_service(struct dep_ctx *ctx, struct dep_item *it, json_t **resp)
{
	char *path = NULL;
	int error;

	resolve_ids(ctx->priv, it->desired);
	if (it->action == DEP_ACT_CREATE) {
		error = dep_call(ctx, "POST", "/services/create", it->desired, 1, resp);
	} else {
		path = cs_xasprintf("/services/%s/update?version=%lld", it->id, it->version);
		error = dep_call(ctx, "POST", path, it->desired, 1, resp);
	}
	free(path);
	return error;
}

static int
swarm_apply(struct dep_ctx *ctx, struct dep_item *it)
{
	json_t *resp = NULL;
	const char *kind = dep_kind_name(it->kind);
	char *msg;
	int error = 0;

	if (it->action == DEP_ACT_REMOVE) {
		if ((error = remove_object(ctx, it)) == 0) {
			it->applied = 1;
			cs_out("removed %s %s", kind, it->name);
		}
		return error;
	}
	if (it->kind != DEP_KIND_SERVICE)
		return create_object(ctx, it);

	error = apply_service(ctx, it, &resp);
	if (error < 0 && strstr(cs_err_msg(), "network") && strstr(cs_err_msg(), "not found")) {
		msg = cs_xstrdup(cs_err_msg());
		error = create_vanished_networks(ctx, msg);
		if (error > 0)
			error = apply_service(ctx, it, &resp);
		else if (error == 0)
			error = cs_err_set(CS_EHTTP, "%s", msg);
		free(msg);
	}
	if (error < 0)
		goto out;
	if (it->action == DEP_ACT_CREATE)
		it->id = cs_xstrdup(dep_str(resp, "ID") ? dep_str(resp, "ID") : "");
	it->applied = 1;
	it->wait = 1;
	if (json_array_size(json_object_get(resp, "Warnings")))
		cs_log(CS_LOG_WARN, "service %s: %s", it->name,
		       json_string_value(json_array_get(json_object_get(resp, "Warnings"), 0)));
	if ((error = refresh_service(ctx, it)) < 0)
		goto out;
	cs_out("%s service %s", it->action == DEP_ACT_CREATE ? "created" : "updated", it->name);
out:
	json_decref(resp);
	return error;
}

/*
 * apply(it) got no answer: did the create or update reach the swarm? An
 * object of the planned name that plan did not see is ours (the app's lock
 * keeps other runs of it away); an update moved the service's version.
 */
static int
swarm_recheck(struct dep_ctx *ctx, struct dep_item *it)
{
	struct swarm *sw = ctx->priv;
	const char *kind = dep_kind_name(it->kind);
	json_t *f = NULL, *list = NULL, *o, *svc = NULL;
	char *path = NULL, *idkey;
	int error;

	if (it->action == DEP_ACT_REMOVE)
		return 0;
	if (it->kind == DEP_KIND_SERVICE && it->action == DEP_ACT_UPDATE) {
		path = cs_xasprintf("/services/%s", it->id);
		if ((error = dep_call(ctx, "GET", path, NULL, 0, &svc)) < 0)
			goto out;
		if (!it->applied &&
		    dep_num(json_object_get(svc, "Version"), "Index") == it->version)
			goto out; /* not updated */
		it->applied = it->wait = 1;
		error = refresh_service(ctx, it);
		goto out;
	}
	if (it->applied && it->kind == DEP_KIND_SERVICE) {
		it->wait = 1;
		error = refresh_service(ctx, it);
		goto out;
	}
	f = json_pack("{s:[s]}", "name", it->name);
	idkey = cs_xasprintf("/%ss", kind);
	path = dep_filter_path(idkey, f);
	free(idkey);
	if ((error = dep_call(ctx, "GET", path, NULL, 0, &list)) < 0)
		goto out;
	/* the name filter matches prefixes too; networks have no Spec */
	o = find_by_name(list, it->name, it->kind != DEP_KIND_NETWORK);
	if (o == NULL || (!dep_str(o, "ID") && !dep_str(o, "Id")))
		goto out;
	free(it->id);
	it->id = cs_xstrdup(dep_str(o, "ID") ? dep_str(o, "ID") : dep_str(o, "Id"));
	it->applied = 1;
	cs_log(CS_LOG_INFO, "%s %s was created (its answer was lost)", kind, it->name);
	if (it->kind == DEP_KIND_SERVICE) {
		it->wait = 1;
		error = refresh_service(ctx, it);
		goto out;
	}
	idkey = cs_xasprintf("%s:%s", kind, it->name);
	json_object_set_new(sw->ids, idkey, json_string(it->id));
	free(idkey);
out:
	free(path);
	json_decref(f);
	json_decref(list);
	json_decref(svc);
	return error;
}

/* Converge. */

static const char *
task_state(json_t *t)
{
	const char *s = dep_str(json_object_get(t, "Status"), "State");

	return s ? s : "unknown";
}

static void
task_logs(struct dep_ctx *ctx, struct cs_buf *out, const char *task_id)
{
	char *path = cs_xasprintf("/tasks/%s/logs?stdout=1&stderr=1&tail=%d", task_id, LOG_TAIL);

	dep_fetch_logs(ctx, out, path, LOG_TAIL);
	free(path);
}

static void
set_diag(struct dep_item *it, char *diag)
{
	free(it->diag);
	it->diag = diag;
}

static const char *
created_at(json_t *t)
{
	const char *s = dep_str(json_object_get(t, "Meta"), "CreatedAt");

	return s ? s : dep_str(t, "CreatedAt");
}

static int
state_is(json_t *t, const char *s)
{
	return strcmp(task_state(t), s) == 0;
}

static char *
task_diag(struct dep_ctx *ctx, json_t *t, int with_logs)
{
	json_t *st = json_object_get(t, "Status");
	json_t *cst = json_object_get(st, "ContainerStatus");
	struct cs_buf b = CS_BUF_INIT, logs = CS_BUF_INIT;
	const char *id = dep_str(t, "ID") ? dep_str(t, "ID") : "?";

	cs_buf_addf(&b, "task %.12s (slot %" JSON_INTEGER_FORMAT ") state %s", id,
		    dep_num(t, "Slot"), task_state(t));
	if (dep_str(st, "Err"))
		cs_buf_addf(&b, ", error \"%s\"", dep_str(st, "Err"));
	else if (dep_str(st, "Message"))
		cs_buf_addf(&b, " (%s)", dep_str(st, "Message"));
	if (json_is_integer(json_object_get(cst, "ExitCode")) &&
	    (state_is(t, "failed") || state_is(t, "complete") || state_is(t, "shutdown")))
		cs_buf_addf(&b, ", exit code %" JSON_INTEGER_FORMAT, dep_num(cst, "ExitCode"));
	if (with_logs && dep_str(t, "ID")) {
		task_logs(ctx, &logs, dep_str(t, "ID"));
		if (logs.len)
			cs_buf_addf(&b, "; last log lines:\n%s", logs.buf);
		else
			cs_buf_adds(&b, "; no log output");
	}
	cs_buf_release(&logs);
	return cs_buf_detach(&b, NULL);
}

/* "running", or "failed: task: non-zero exit (1)" for the progress lines. */
static char *
task_progress_state(json_t *t)
{
	json_t *st = json_object_get(t, "Status");
	json_t *cst = json_object_get(st, "ContainerStatus");
	struct cs_buf b = CS_BUF_INIT;

	cs_buf_adds(&b, task_state(t));
	if (dep_str(st, "Err"))
		cs_buf_addf(&b, ": %s", dep_str(st, "Err"));
	else if (json_is_integer(json_object_get(cst, "ExitCode")) &&
		 (state_is(t, "failed") || state_is(t, "complete")))
		cs_buf_addf(&b, ": exit code %" JSON_INTEGER_FORMAT, dep_num(cst, "ExitCode"));
	return cs_buf_detach(&b, NULL);
}

/* Print the task's state on stderr when it changed since the last poll. */
static void
note_task(struct dep_item *it, struct svc_priv *p, json_t *t)
{
	char *subject, *state;

	if (!dep_str(t, "ID"))
		return;
	/* "web: task app_web.1 4f2a9c1d0e3b", as docker stack ps names the task */
	if (p->global)
		subject = cs_xasprintf("%s: task %s.%.12s %.12s", it->key ? it->key : it->name,
				       it->name, dep_str(t, "NodeID") ? dep_str(t, "NodeID") : "?",
				       dep_str(t, "ID"));
	else
		subject = cs_xasprintf("%s: task %s.%" JSON_INTEGER_FORMAT " %.12s",
				       it->key ? it->key : it->name, it->name, dep_num(t, "Slot"),
				       dep_str(t, "ID"));
	state = task_progress_state(t);
	dep_stable_note(&p->st, subject, dep_str(t, "ID"), state);
	free(state);
	free(subject);
}

struct hist_entry {
	double created;
	json_t *task;
};

static int
hist_newest_first(const void *a, const void *b)
{
	const struct hist_entry *x = a, *y = b;

	return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

#define HISTORY_LINES 5

/*
 * The last tasks of t's slot (its node for a global service), newest first,
 * one line each, like `docker service ps`: what the swarm did before and
 * after the failure.
 */
static void
slot_history(struct cs_buf *out, struct dep_item *it, struct svc_priv *p, json_t *t, json_t *tasks)
{
	struct hist_entry *v = NULL;
	size_t nr = 0, alloc = 0, i;
	json_t *x;

	json_array_foreach(tasks, i, x)
	{
		if (!dep_str(x, "ServiceID") || strcmp(dep_str(x, "ServiceID"), it->id) != 0)
			continue;
		if (p->global ? strcmp(dep_str(x, "NodeID") ? dep_str(x, "NodeID") : "",
				       dep_str(t, "NodeID") ? dep_str(t, "NodeID") : "") != 0
			      : dep_num(x, "Slot") != dep_num(t, "Slot"))
			continue;
		CS_ALLOC_GROW(v, nr + 1, alloc);
		v[nr].task = x;
		v[nr].created = 0;
		dep_parse_time(&v[nr].created, created_at(x));
		nr++;
	}
	if (nr == 0)
		return;
	qsort(v, nr, sizeof(*v), hist_newest_first);
	if (p->global)
		cs_buf_addf(out, "; state history on node %.12s, newest first:",
			    dep_str(t, "NodeID") ? dep_str(t, "NodeID") : "?");
	else
		cs_buf_addf(out, "; state history of slot %" JSON_INTEGER_FORMAT ", newest first:",
			    dep_num(t, "Slot"));
	for (i = 0; i < nr && i < HISTORY_LINES; i++) {
		json_t *st = json_object_get(v[i].task, "Status");
		const char *why = dep_str(st, "Err") ? dep_str(st, "Err") : dep_str(st, "Message");

		cs_buf_addf(out, "\ntask %.12s %s (desired %s) at %s%s%s",
			    dep_str(v[i].task, "ID") ? dep_str(v[i].task, "ID") : "?",
			    task_state(v[i].task),
			    dep_str(v[i].task, "DesiredState") ? dep_str(v[i].task, "DesiredState")
							       : "?",
			    dep_str(st, "Timestamp") ? dep_str(st, "Timestamp") : "?",
			    why ? ": " : "", why ? why : "");
	}
	if (nr > HISTORY_LINES)
		cs_buf_addf(out, "\n(%zu older tasks)", nr - HISTORY_LINES);
	free(v);
}

/*
 * A task the scheduler says it cannot place: pending with "no suitable node"
 * (a constraint no node satisfies, a host-mode port in use on every node,
 * not enough resources) for UNSCHEDULABLE_GRACE_S since it was created, while
 * the swarm wants it running. The swarm would keep it pending for ever: the
 * wait ends now, not at its timeout. A task of a rolling update waits
 * longer (UNSCHEDULABLE_UPDATE_GRACE_S): the scheduler frees its
 * predecessor's host port some seconds after that task stopped.
 */
#define UNSCHEDULABLE_GRACE_S 3.0
#define UNSCHEDULABLE_UPDATE_GRACE_S 30.0

/*
 * 1 when another task of t's service ran in t's slot before it: t replaces
 * it, and the scheduler may still count the port or the resources the old
 * task held for a while after it stopped.
 */
static int
replaces_a_task(json_t *tasks, json_t *t)
{
	const char *svc = dep_str(t, "ServiceID"), *id = dep_str(t, "ID");
	json_int_t slot = json_integer_value(json_object_get(t, "Slot"));
	json_t *o;
	size_t i;

	json_array_foreach(tasks, i, o)
	{
		if (o == t || svc == NULL || id == NULL || dep_str(o, "ServiceID") == NULL ||
		    strcmp(dep_str(o, "ServiceID"), svc) != 0 ||
		    json_integer_value(json_object_get(o, "Slot")) != slot)
			continue;
		if (dep_str(o, "ID") && strcmp(dep_str(o, "ID"), id) != 0)
			return 1;
	}
	return 0;
}

/* Seconds since t was created, or -1 when t is not pending for want of a node. */
static double
unplaced_for(json_t *t, double created)
{
	const char *err = dep_str(json_object_get(t, "Status"), "Err");
	struct timespec now;

	/* "desired ready": a rolling update waits for the old task to free the port */
	if (!state_is(t, "pending") || err == NULL || strstr(err, "no suitable node") == NULL ||
	    dep_str(t, "DesiredState") == NULL || strcmp(dep_str(t, "DesiredState"), "running"))
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)now.tv_sec + now.tv_nsec / 1e9 - created;
}

static int
unschedulable(json_t *tasks, json_t *t, double created)
{
	double age = unplaced_for(t, created);

	return age >= 0 && age >= (replaces_a_task(tasks, t) ? UNSCHEDULABLE_UPDATE_GRACE_S
							     : UNSCHEDULABLE_GRACE_S);
}

/* GET /nodes, at most once per poll; NULL when the bay does not say (borrowed). */
static json_t *
poll_nodes(struct dep_ctx *ctx)
{
	struct swarm *sw = ctx->priv;

	if (!sw->nodes_asked) {
		sw->nodes_asked = 1;
		if (dep_call(ctx, "GET", "/nodes", NULL, 0, &sw->nodes) < 0 ||
		    !json_is_array(sw->nodes)) {
			json_decref(sw->nodes);
			sw->nodes = NULL;
			cs_err_clear();
		}
	}
	return sw->nodes;
}

/*
 * A task pending for want of a node that replaces a task lost with its node
 * (the managers mark that node down): no grace for a port to be freed, the
 * node may never come back. The lost task, or NULL.
 */
static json_t *
lost_with_node(struct dep_ctx *ctx, json_t *tasks, json_t *t, double created)
{
	if (unplaced_for(t, created) < UNSCHEDULABLE_GRACE_S)
		return NULL;
	return dep_swarm_lost_predecessor(tasks, t, poll_nodes(ctx));
}

/* Why a pending task cannot be placed, for its failure message; caller frees. */
static char *
unplaceable_note(struct dep_ctx *ctx, json_t *lost)
{
	struct cs_buf b = CS_BUF_INIT;

	cs_buf_adds(&b, "the scheduler cannot place it");
	if (lost) {
		cs_buf_addf(&b, ", and the node of the task it replaces (%.12s) is gone: ",
			    dep_str(lost, "ID"));
		dep_swarm_node_describe(
		    &b, dep_swarm_node_find(poll_nodes(ctx), dep_str(lost, "NodeID")));
	} else {
		dep_swarm_down_nodes(&b, poll_nodes(ctx));
	}
	return cs_buf_detach(&b, NULL);
}

/* A failed task of it: its state, error and exit code, its slot's history, its last log lines. */
static char *
failure_diag(struct dep_ctx *ctx, struct dep_item *it, json_t *t, json_t *tasks, const char *note)
{
	struct cs_buf b = CS_BUF_INIT, logs = CS_BUF_INIT;
	char *head = task_diag(ctx, t, 0);

	cs_buf_adds(&b, head);
	free(head);
	if (note)
		cs_buf_addf(&b, ", %s", note);
	slot_history(&b, it, it->priv, t, tasks);
	if (dep_str(t, "ID") && !state_is(t, "pending")) { /* a task never placed has no logs */
		task_logs(ctx, &logs, dep_str(t, "ID"));
		if (logs.len)
			cs_buf_addf(&b, "\nlast log lines:\n%s", logs.buf);
		else
			cs_buf_adds(&b, "\nno log output");
	}
	cs_buf_release(&logs);
	return cs_buf_detach(&b, NULL);
}

/* 1 when the task template has a healthcheck that is not disabled. */
static int
has_healthcheck(json_t *svc)
{
	json_t *hc = json_object_get(
	    json_object_get(json_object_get(json_object_get(svc, "Spec"), "TaskTemplate"),
			    "ContainerSpec"),
	    "Healthcheck");
	const char *t0 = json_string_value(json_array_get(json_object_get(hc, "Test"), 0));

	return json_array_size(json_object_get(hc, "Test")) > 0 && !(t0 && !strcmp(t0, "NONE"));
}

/*
 * The health of a running task's container ("starting", "healthy",
 * "unhealthy"; caller frees) when it runs on the node we talk to, else NULL:
 * the swarm reports a task running while its container is unhealthy until
 * the container has been stopped, up to its stop grace period later.
 * *last_check receives the output of the last health check (caller frees).
 */
static char *
task_health(struct dep_ctx *ctx, json_t *t, char **last_check)
{
	const char *cid = dep_str(json_object_get(json_object_get(t, "Status"), "ContainerStatus"),
				  "ContainerID");
	json_t *ins = NULL, *health, *log;
	char *path, *res = NULL;

	*last_check = NULL;
	if (cid == NULL)
		return NULL;
	path = cs_xasprintf("/containers/%s/json", cid);
	if (dep_call(ctx, "GET", path, NULL, 0, &ins) == 0) {
		health = json_object_get(json_object_get(ins, "State"), "Health");
		log = json_object_get(health, "Log");
		if (dep_str(health, "Status"))
			res = cs_xstrdup(dep_str(health, "Status"));
		if (dep_str(json_array_get(log, json_array_size(log) - 1), "Output")) {
			char *o = cs_xstrdup(
			    dep_str(json_array_get(log, json_array_size(log) - 1), "Output"));

			o[strcspn(o, "\n")] = '\0';
			*last_check = o;
		}
	}
	free(path);
	json_decref(ins);
	return res;
}

/*
 * Judge one service from this poll's service and task lists: 1 ready (every
 * task of the desired version running: the stability window then decides),
 * 2 done (a one-shot service whose tasks all completed), 0 not yet, -1
 * failed. A task of the desired version created by this run that failed, was
 * rejected, or completed while the restart policy restarts it (a restart) is
 * a failure. *what receives a summary ("1/1 tasks running").
 */
static int
judge(struct dep_ctx *ctx, struct dep_item *it, json_t *svc, json_t *tasks, struct cs_buf *what)
{
	struct swarm *sw = ctx->priv;
	struct svc_priv *p = it->priv;
	json_t *us = json_object_get(svc, "UpdateStatus"), *want, *t, *pending = NULL;
	json_t *failed_t = NULL, *lost;
	const char *ust = dep_str(us, "State");
	long long running = 0, completed = 0, desired_running = 0, health_starting = 0;
	double failed_created = 0;
	int updating = 0, fresh_status = 0, ret, check_health = has_healthcheck(svc);
	size_t i;

	if (ust) {
		double when = 0;

		dep_parse_time(&when, dep_str(us, "StartedAt"));
		fresh_status = when + 0.001 >= p->since;
		if (fresh_status) {
			if (strcmp(ust, "updating") == 0) {
				updating = 1;
			} else if (strcmp(ust, "paused") == 0) {
				set_diag(it, cs_xasprintf("update paused: %s",
							  dep_str(us, "Message")
							      ? dep_str(us, "Message")
							      : "no reason given"));
				ret = -1;
				goto failed_task;
			} else if (strncmp(ust, "rollback_", 9) == 0) {
				set_diag(it,
					 cs_xasprintf(
					     "the swarm rolled the update back (%s): %s", ust,
					     dep_str(us, "Message") ? dep_str(us, "Message") : ""));
				ret = -1;
				goto failed_task;
			}
		}
	}
	want = normalize_task(sw, json_object_get(json_object_get(svc, "Spec"), "TaskTemplate"));
	json_array_foreach(tasks, i, t)
	{
		json_t *norm;
		double created = 0;
		int match, fresh;

		if (!dep_str(t, "ServiceID") || strcmp(dep_str(t, "ServiceID"), it->id) != 0)
			continue;
		norm = normalize_task(sw, json_object_get(t, "Spec"));
		match = json_equal(norm, want);
		json_decref(norm);
		if (!match)
			continue;
		dep_parse_time(&created, created_at(t));
		fresh = created + 0.001 >= p->since;
		if (fresh)
			note_task(it, p, t);
		if (dep_str(t, "DesiredState") &&
		    strcmp(dep_str(t, "DesiredState"), "running") == 0) {
			desired_running++;
			if (state_is(t, "running") && check_health && fresh) {
				char *last = NULL, *h = task_health(ctx, t, &last);

				if (h && strcmp(h, "unhealthy") == 0) {
					char *note = cs_xasprintf(
					    "container unhealthy (last health check: %s)",
					    last && *last ? last : "no output");

					set_diag(it, failure_diag(ctx, it, t, tasks, note));
					free(note);
					free(h);
					free(last);
					json_decref(want);
					return -1;
				}
				health_starting += h && strcmp(h, "starting") == 0;
				free(h);
				free(last);
			}
			if (state_is(t, "running")) {
				running++;
				continue;
			}
		}
		if (!fresh)
			continue;
		if (state_is(t, "complete") && p->one_shot) {
			completed++;
		} else if (state_is(t, "failed") || state_is(t, "rejected") ||
			   state_is(t, "complete")) {
			/* a completed task of a restarted service is a restart too */
			if (failed_t == NULL || created >= failed_created) {
				failed_t = t;
				failed_created = created;
			}
		} else if (!state_is(t, "shutdown") && !state_is(t, "orphaned") &&
			   !state_is(t, "remove")) {
			pending = t;
			lost = lost_with_node(ctx, tasks, t, created);
			if (lost && ctx->rolling_back) {
				/*
				 * The previous spec is back, which is what a rollback can
				 * do: no node is left to run it, as before this run or
				 * since its node went. Waiting for it would end at the
				 * timeout with exit 9 for a node, not for the rollback.
				 */
				char *note = unplaceable_note(ctx, lost);

				cs_log(
				    CS_LOG_WARN,
				    "service %s has its previous spec again but cannot run: task "
				    "%.12s: %s",
				    it->name, dep_str(t, "ID"), note);
				free(note);
				json_decref(want);
				return 2;
			}
			if (lost || unschedulable(tasks, t, created)) {
				char *note = unplaceable_note(ctx, lost);

				set_diag(it, failure_diag(ctx, it, t, tasks, note));
				free(note);
				json_decref(want);
				return -1;
			}
		}
	}
	json_decref(want);
	if (failed_t) {
		set_diag(it, failure_diag(ctx, it, failed_t, tasks, NULL));
		return -1;
	}
	if (pending)
		set_diag(it, task_diag(ctx, pending, 0));
	if (p->global)
		cs_buf_addf(what, "%lld/%lld tasks running", running, desired_running);
	else
		cs_buf_addf(what, "%lld/%lld tasks running", running, p->replicas);
	if (completed)
		cs_buf_addf(what, ", %lld completed", completed);
	if (health_starting)
		cs_buf_addf(what, ", %lld health starting", health_starting);
	/*
	 * While the swarm monitors its update, a replicated service whose every
	 * replica already runs the new spec is ready: the window runs alongside
	 * the swarm's own monitor period, as docker's progress monitor does. A
	 * global service has no replica count to tell that.
	 */
	if ((updating && (p->global || running < p->replicas)) || health_starting)
		return 0;
	if (p->host_ports_changed && !(ust && fresh_status && strcmp(ust, "completed") == 0))
		return 0;
	if (p->global)
		return running >= 1 && running == desired_running;
	/* one-shot tasks that completed cannot change any more, nor can 0 replicas: no window */
	if (completed >= p->replicas)
		return 2;
	return running + completed >= p->replicas;

failed_task:
	/* name the newest failed task too, with its history and logs */
	{
		json_t *worst = NULL;
		double best = 0;

		json_array_foreach(tasks, i, t)
		{
			double c = 0;

			if (!dep_str(t, "ServiceID") ||
			    strcmp(dep_str(t, "ServiceID"), it->id) != 0 ||
			    !(state_is(t, "failed") || state_is(t, "rejected")))
				continue;
			dep_parse_time(&c, created_at(t));
			/* history from earlier deployments says nothing about this one */
			if (c + 0.001 >= p->since && c >= best) {
				best = c;
				worst = t;
			}
		}
		if (worst) {
			char *td = failure_diag(ctx, it, worst, tasks, NULL),
			     *d = cs_xasprintf("%s; %s", it->diag, td);

			free(td);
			set_diag(it, d);
		}
	}
	return ret;
}

static int
swarm_wait(struct dep_ctx *ctx)
{
	struct swarm *sw = ctx->priv;
	json_t *services = NULL, *tasks = NULL, *f = NULL, *ids;
	int error = 0, lost = 0;
	size_t i, j;

	for (;;) {
		int waiting = 0, failed = 0;
		char *path;
		json_t *svc, *v;

		ids = json_array();
		for (i = 0; i < ctx->plan.nr; i++) {
			struct dep_item *it = &ctx->plan.v[i];
			struct svc_priv *p = it->priv;

			if (it->wait && it->kind == DEP_KIND_SERVICE && p && !it->done)
				json_array_append_new(ids, json_string(it->id));
		}
		if (json_array_size(ids) == 0) {
			json_decref(ids);
			break;
		}
		f = json_pack("{s:o}", "service", ids);
		path = dep_filter_path("/tasks", f);
		error = dep_call(ctx, "GET", path, NULL, 0, &tasks);
		free(path);
		json_decref(f);
		f = NULL;
		if (error == 0)
			error = list_app(ctx, "/services", &services);
		if (error < 0) {
			json_decref(tasks);
			tasks = NULL;
			/* a bay that dropped the connection may come back before the deadline */
			if ((error = dep_poll_lost(ctx, error, &lost)) < 0)
				goto out;
			continue;
		}
		dep_poll_found(&lost);
		for (i = 0; i < ctx->plan.nr; i++) {
			struct dep_item *it = &ctx->plan.v[i];
			struct svc_priv *p = it->priv;
			int r;

			if (!it->wait || it->kind != DEP_KIND_SERVICE || p == NULL || it->done)
				continue;
			svc = NULL;
			json_array_foreach(services, j, v)
			{
				if (dep_str(v, "ID") && strcmp(dep_str(v, "ID"), it->id) == 0)
					svc = v;
			}
			if (svc == NULL) {
				set_diag(it, cs_xstrdup("the service disappeared"));
				r = -1;
			} else {
				struct cs_buf what = CS_BUF_INIT;

				r = judge(ctx, it, svc, tasks, &what);
				if (r == 2)
					r = 1;
				else if (r >= 0)
					r = dep_stable_check(ctx, it, &p->st, r, what.buf);
				cs_buf_release(&what);
			}
			if (r > 0) {
				it->done = 1;
				CS_FREE_AND_NULL(it->diag);
				cs_out("%s %s", ctx->rolling_back ? "rolled back" : "converged",
				       it->name);
			} else if (r < 0) {
				it->failed = 1;
				failed = 1;
			} else {
				waiting = 1;
			}
		}
		json_decref(tasks);
		json_decref(services);
		tasks = services = NULL;
		json_decref(sw->nodes);
		sw->nodes = NULL;
		sw->nodes_asked = 0;
		if ((error = dep_poll_next(ctx, failed, waiting)) != 0)
			break;
	}
	if (error > 0)
		error = 0;
out:
	json_decref(tasks);
	json_decref(services);
	json_decref(f);
	return error;
}

/* Rollback. */

static int
swarm_rollback(struct dep_ctx *ctx, struct dep_item *it)
{
	json_t *svc = NULL, *resp = NULL;
	char *path = NULL;
	int error = 0;

	it->wait = 0;
	if (it->action == DEP_ACT_REMOVE)
		return 0; /* NEEDSWORK: a pruned service is not brought back */
	if (it->action == DEP_ACT_CREATE) {
		if (ctx->opts->keep_on_failure) {
			cs_log(CS_LOG_WARN, "keeping %s %s (--keep-on-failure)",
			       dep_kind_name(it->kind), it->name);
			return 0;
		}
		if ((error = remove_object(ctx, it)) == 0)
			cs_out("removed %s %s", dep_kind_name(it->kind), it->name);
		return error;
	}
	if (it->kind != DEP_KIND_SERVICE || it->current == NULL)
		return 0;
	/* back to the spec we found, through a new update on the current version */
	path = cs_xasprintf("/services/%s", it->id);
	if ((error = dep_call(ctx, "GET", path, NULL, 0, &svc)) < 0)
		goto out;
	free(path);
	path = cs_xasprintf("/services/%s/update?version=%" JSON_INTEGER_FORMAT, it->id,
			    dep_num(json_object_get(svc, "Version"), "Index"));
	if ((error = dep_call(ctx, "POST", path, it->current, 1, &resp)) < 0)
		goto out;
	if ((error = refresh_service(ctx, it)) < 0)
		goto out;
	if (it->priv)
		dep_stable_reset(&((struct svc_priv *)it->priv)->st);
	it->wait = 1;
	it->failed = 0;
out:
	free(path);
	json_decref(svc);
	json_decref(resp);
	return error;
}

/* Report. */

static int
swarm_report(struct dep_ctx *ctx)
{
	struct swarm *sw = ctx->priv;
	json_t *services = NULL, *v, *p;
	struct cs_buf host = CS_BUF_INIT;
	size_t i, j;
	int error;

	if ((error = list_app(ctx, "/services", &services)) < 0)
		goto out;
	/* a local socket: the node's own address (host-mode ports listen there) */
	if (sw->node_addr && strncmp(cs_docker_host(sw->eng.docker), "tcp://", 6) != 0)
		cs_buf_adds(&host, sw->node_addr);
	else
		dep_bay_host(&host, cs_docker_host(sw->eng.docker));
	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];

		if (it->kind != DEP_KIND_SERVICE || it->action == DEP_ACT_REMOVE)
			continue;
		json_array_foreach(services, j, v)
		{
			size_t k;

			if (!dep_str(json_object_get(v, "Spec"), "Name") ||
			    strcmp(dep_str(json_object_get(v, "Spec"), "Name"), it->name) != 0)
				continue;
			json_array_foreach(json_object_get(json_object_get(v, "Endpoint"), "Ports"),
					   k, p)
			{
				char *url;

				if (dep_num(p, "PublishedPort") == 0 ||
				    (dep_str(p, "Protocol") &&
				     strcmp(dep_str(p, "Protocol"), "tcp") != 0))
					continue;
				url = cs_xasprintf("http://%s:%" JSON_INTEGER_FORMAT, host.buf,
						   dep_num(p, "PublishedPort"));
				if (!cs_strvec_has(&ctx->result->endpoints, url))
					cs_strvec_push(&ctx->result->endpoints, url);
				free(url);
			}
		}
	}
out:
	cs_buf_release(&host);
	json_decref(services);
	return error;
}

static void
swarm_close(struct dep_ctx *ctx)
{
	struct swarm *sw = ctx->priv;

	if (sw) {
		free(sw->node_addr);
		json_decref(sw->nodes);
		json_decref(sw->ids);
		json_decref(sw->net_name);
		dep_engine_close(&sw->eng);
		free(sw);
		ctx->priv = NULL;
	}
}

static void
swarm_item_release(struct dep_item *it)
{
	struct svc_priv *p = it->priv;

	if (p)
		dep_stable_release(&p->st);
	CS_FREE_AND_NULL(it->priv);
}

const struct dep_backend dep_backend_swarm = {
    .coe = "swarm",
    .open = swarm_open,
    .plan = swarm_plan,
    .apply = swarm_apply,
    .wait = swarm_wait,
    .rollback = swarm_rollback,
    .recheck = swarm_recheck,
    .report = swarm_report,
    .close = swarm_close,
    .item_release = swarm_item_release,
};
