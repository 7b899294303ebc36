/*
 * What the Compose input means for a target: warnings for keys a target
 * ignores or that nobody knows (one per key, naming file and line), and the
 * refusal of services that cannot be deployed because they have no image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compose.h"
#include "compose_int.h"
#include "err.h"
#include "imageref.h"
#include "xalloc.h"
#include "yamldoc.h"

enum {
	IGN_SWARM = 1 << 0,    /* docker stack deploy (and we) do not apply it */
	IGN_COMPOSE = 1 << 1,  /* not applied on a plain engine */
	UNSUPPORTED = 1 << 2,  /* not implemented by caas-deployer on any target */
	KUBE_APPLIES = 1 << 3, /* ignored by swarm, but kubernetes applies it (kube_compose.c) */
};

struct key {
	const char *name;
	unsigned flags;
};

/* Every service key of the Compose Specification and of the version 2.x/3.x schemas. */
static const struct key service_keys[] = {
    {"annotations", IGN_SWARM | IGN_COMPOSE},
    {"attach", IGN_SWARM | IGN_COMPOSE},
    {"blkio_config", IGN_SWARM | IGN_COMPOSE},
    {"build", IGN_SWARM | IGN_COMPOSE},
    {"cap_add", 0},
    {"cap_drop", 0},
    {"cgroup", IGN_SWARM | IGN_COMPOSE},
    {"cgroup_parent", IGN_SWARM | IGN_COMPOSE},
    {"cgroupns_mode", IGN_SWARM | IGN_COMPOSE},
    {"command", 0},
    {"configs", 0},
    {"container_name", IGN_SWARM}, /* version 2: a network alias, with a warning */
    {"cpu_count", IGN_SWARM | IGN_COMPOSE},
    {"cpu_percent", IGN_SWARM | IGN_COMPOSE},
    {"cpu_period", IGN_SWARM | IGN_COMPOSE},
    {"cpu_quota", IGN_SWARM | IGN_COMPOSE},
    {"cpu_rt_period", IGN_SWARM | IGN_COMPOSE},
    {"cpu_rt_runtime", IGN_SWARM | IGN_COMPOSE},
    {"cpu_shares", IGN_SWARM | IGN_COMPOSE},
    {"cpus", 0},
    {"cpuset", IGN_SWARM | IGN_COMPOSE},
    {"credential_spec", UNSUPPORTED},
    {"depends_on", 0},
    {"deploy", 0},
    {"develop", UNSUPPORTED},
    {"device_cgroup_rules", IGN_SWARM | IGN_COMPOSE},
    {"devices", IGN_SWARM},
    {"dns", 0},
    {"dns_opt", IGN_SWARM | IGN_COMPOSE},
    {"dns_search", 0},
    {"domainname", IGN_SWARM},
    {"entrypoint", 0},
    {"env_file", 0},
    {"environment", 0},
    {"expose", IGN_SWARM | KUBE_APPLIES},
    {"extends", UNSUPPORTED},
    {"external_links", IGN_SWARM | IGN_COMPOSE},
    {"extra_hosts", 0},
    {"gpus", IGN_SWARM | IGN_COMPOSE},
    {"group_add", IGN_SWARM | IGN_COMPOSE},
    {"healthcheck", 0},
    {"hostname", 0},
    {"image", 0},
    {"init", 0},
    {"ipc", IGN_SWARM | IGN_COMPOSE},
    {"isolation", 0},
    {"label_file", UNSUPPORTED},
    {"labels", 0},
    {"links", IGN_SWARM}, /* version 2: network aliases, with a warning */
    {"logging", 0},
    {"mac_address", IGN_SWARM | IGN_COMPOSE},
    {"mem_limit", 0},
    {"mem_reservation", 0},
    {"mem_swappiness", IGN_SWARM | IGN_COMPOSE},
    {"memswap_limit", IGN_SWARM | IGN_COMPOSE},
    {"models", UNSUPPORTED},
    {"network_mode", IGN_SWARM | IGN_COMPOSE},
    {"networks", 0},
    {"oom_kill_disable", IGN_SWARM | IGN_COMPOSE},
    {"oom_score_adj", IGN_SWARM | IGN_COMPOSE},
    {"pid", IGN_SWARM | IGN_COMPOSE},
    {"pids_limit", 0},
    {"platform", IGN_SWARM | IGN_COMPOSE},
    {"ports", 0},
    {"post_start", UNSUPPORTED},
    {"pre_stop", UNSUPPORTED},
    {"privileged", IGN_SWARM | KUBE_APPLIES},
    {"profiles", 0}, /* services with profiles are skipped, with a warning */
    {"provider", UNSUPPORTED},
    {"pull_policy", IGN_SWARM | IGN_COMPOSE},
    {"pull_refresh_after", IGN_SWARM | IGN_COMPOSE},
    {"read_only", 0},
    {"restart", 0},
    {"runtime", IGN_SWARM | IGN_COMPOSE},
    {"scale", 0},
    {"secrets", 0},
    {"security_opt", IGN_SWARM},
    {"shm_size", IGN_SWARM | IGN_COMPOSE},
    {"stdin_open", 0},
    {"stop_grace_period", 0},
    {"stop_signal", 0},
    {"storage_opt", IGN_SWARM | IGN_COMPOSE},
    {"sysctls", 0},
    {"tmpfs", IGN_SWARM},
    {"tty", 0},
    {"ulimits", 0},
    {"use_api_socket", IGN_SWARM | IGN_COMPOSE},
    {"user", 0},
    {"userns_mode", IGN_SWARM | IGN_COMPOSE},
    {"uts", IGN_SWARM | IGN_COMPOSE},
    {"volume_driver", IGN_SWARM | IGN_COMPOSE},
    {"volumes", 0},
    {"volumes_from", IGN_SWARM | IGN_COMPOSE},
    {"working_dir", 0},
};

static const struct key deploy_keys[] = {
    {"endpoint_mode", IGN_COMPOSE},
    {"labels", 0},
    {"mode", 0},
    {"placement", IGN_COMPOSE},
    {"replicas", 0},
    {"resources", 0},
    {"restart_policy", 0},
    {"rollback_config", IGN_COMPOSE},
    {"update_config", IGN_COMPOSE},
};

static const struct key top_keys[] = {
    {"configs", 0},  {"include", UNSUPPORTED}, {"models", UNSUPPORTED},
    {"name", 0},     {"networks", 0},	       {"secrets", 0},
    {"services", 0}, {"version", 0},	       {"volumes", 0},
};

static const struct key *
find_key(const struct key *tab, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

static int
is_v2(const json_t *doc)
{
	const char *v = json_string_value(json_object_get(doc, "version"));

	return v && v[0] == '2';
}

static unsigned
target_flag(const char *target)
{
	return !strcmp(target, "compose") ? IGN_COMPOSE : IGN_SWARM;
}

/* One warning for key k of obj; what = "service 'x': " or "" */
static void
check_keys(struct cs_strvec *w, const json_t *obj, const struct key *tab, size_t n,
	   const struct cs_yamlpos *pos, const char *what, const char *prefix, const char *target,
	   int v2_swarm)
{
	const struct key *kd;
	const char *k;
	json_t *v;
	int line;

	json_object_foreach((json_t *)obj, k, v)
	{
		if (!strncmp(k, "x-", 2))
			continue;
		line = cs_yamlpos_key_line(pos, obj, k, NULL);
		kd = find_key(tab, n, k);
		if (kd == NULL)
			continue; /* an error: dep_compose__validate() */
		if (kd->flags & UNSUPPORTED)
			dep_compose__warn(w,
					  "%s:%d: %skey '%s%s' is not supported by caas-deployer "
					  "and is ignored",
					  cs_yamlpos_file(pos), line, what, prefix, k);
		else if ((kd->flags & target_flag(target)) &&
			 !(v2_swarm && (!strcmp(k, "container_name") || !strcmp(k, "links"))) &&
			 !((kd->flags & KUBE_APPLIES) && !strcmp(target, "kubernetes")))
			dep_compose__warn(w, "%s:%d: %skey '%s%s' is ignored by %s",
					  cs_yamlpos_file(pos), line, what, prefix, k, target);
	}
}

/*
 * Version 2 files on a swarm: container_name and links become network
 * aliases (deployer/swarm_spec.c); say so instead of "ignored".
 */
static void
v2_aliases(struct cs_strvec *w, const json_t *doc, const json_t *svc, const struct cs_yamlpos *pos,
	   const char *what, const char *target)
{
	const json_t *l;
	size_t i;

	if (!is_v2(doc) || strcmp(target, "swarm"))
		return;
	if (json_is_string(json_object_get(svc, "container_name")))
		dep_compose__warn(w,
				  "%s:%d: %scontainer_name '%s' becomes a network alias of the "
				  "service (a swarm service has no container name)",
				  cs_yamlpos_file(pos),
				  cs_yamlpos_key_line(pos, svc, "container_name", NULL), what,
				  json_string_value(json_object_get(svc, "container_name")));
	json_array_foreach(json_object_get(svc, "links"), i, l)
	{
		const char *s = json_string_value(l), *colon = s ? strchr(s, ':') : NULL;

		if (s && !colon)
			dep_compose__warn(
			    w,
			    "%s:%d: %slinks '%s': a swarm has no links, the service is "
			    "reached by its name on a shared network",
			    cs_yamlpos_file(pos), cs_yamlpos_key_line(pos, svc, "links", NULL),
			    what, s);
		else if (colon)
			dep_compose__warn(w,
					  "%s:%d: %slinks '%s' becomes the network alias '%s' of "
					  "service '%.*s' (a swarm has no links)",
					  cs_yamlpos_file(pos),
					  cs_yamlpos_key_line(pos, svc, "links", NULL), what, s,
					  colon + 1, (int)(colon - s), s);
	}
}

void
dep_compose_check(struct cs_strvec *warnings, const json_t *doc, const struct cs_yamlpos *pos,
		  const char *target)
{
	const json_t *services, *svc, *dep, *v;
	const char *name, *k, *cond;
	char what[300];

	if (target == NULL)
		target = "swarm";
	if (!json_is_object(doc))
		return;
	check_keys(warnings, doc, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), pos, "", "",
		   target, 0);
	services = json_object_get(doc, "services");
	if (!json_is_object(services))
		return;
	json_object_foreach((json_t *)services, name, svc)
	{
		if (!json_is_object(svc))
			continue;
		snprintf(what, sizeof(what), "service '%s': ", name);
		check_keys(warnings, svc, service_keys,
			   sizeof(service_keys) / sizeof(service_keys[0]), pos, what, "", target,
			   is_v2(doc) && !strcmp(target, "swarm"));
		if (json_is_object(dep = json_object_get(svc, "deploy")))
			check_keys(warnings, dep, deploy_keys,
				   sizeof(deploy_keys) / sizeof(deploy_keys[0]), pos, what,
				   "deploy.", target, 0);
		v2_aliases(warnings, doc, svc, pos, what, target);
		dep = json_object_get(svc, "depends_on");
		if (!json_is_object(dep) || !strcmp(target, "compose"))
			continue;
		json_object_foreach((json_t *)dep, k, v)
		{
			cond = json_string_value(json_object_get(v, "condition"));
			if (cond && strcmp(cond, "service_started"))
				dep_compose__warn(warnings,
						  "%s:%d: %skey 'depends_on.%s.condition' (%s) is "
						  "ignored by %s: it orders creation only",
						  cs_yamlpos_file(pos),
						  cs_yamlpos_key_line(pos, v, "condition", NULL),
						  what, k, cond, target);
		}
	}
}

/* Keys below deploy:, as the Compose schemas define them (NULL-terminated). */
static const char *const resources_keys[] = {"limits", "reservations", NULL};
static const char *const limits_keys[] = {"cpus", "memory", "pids", NULL};
static const char *const reservations_keys[] = {"cpus", "memory", "generic_resources", "devices",
						NULL};
static const char *const placement_keys[] = {"constraints", "preferences", "max_replicas_per_node",
					     NULL};
static const char *const restart_keys[] = {"condition", "delay", "max_attempts", "window", NULL};
static const char *const update_keys[] = {
    "parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order", NULL};

static const char *const network_keys[] = {"driver",	  "driver_opts", "ipam",   "external",
					   "internal",	  "attachable",	 "labels", "name",
					   "enable_ipv6", "enable_ipv4", NULL};
static const char *const ipam_keys[] = {"driver", "config", "options", NULL};
static const char *const ipam_config_keys[] = {"subnet", "ip_range", "gateway", "aux_addresses",
					       NULL};
static const char *const volume_keys[] = {"driver", "driver_opts", "external",
					  "labels", "name",	   NULL};
static const char *const secret_keys[] = {"file", "environment", "external",	"labels",
					  "name", "driver",	 "driver_opts", "template_driver",
					  NULL};
static const char *const config_keys[] = {"file",   "environment", "content",	      "external",
					  "labels", "name",	   "template_driver", NULL};

static int
in_list(const char *const *list, const char *k)
{
	for (; *list; list++)
		if (!strcmp(*list, k))
			return 1;
	return 0;
}

static void
unknown_key(struct cs_strvec *errors, const struct cs_yamlpos *pos, const json_t *obj,
	    const char *k, const char *what, const char *prefix)
{
	cs_strvec_pushf(errors, "%s:%d: %sunknown key '%s%s' (not in the Compose schema)",
			cs_yamlpos_file(pos), cs_yamlpos_key_line(pos, obj, k, NULL), what, prefix,
			k);
}

/* Every key of obj (a mapping) must be in list, or start with "x-". */
static void
validate_list(struct cs_strvec *errors, const struct cs_yamlpos *pos, const json_t *obj,
	      const char *const *list, const char *what, const char *prefix)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (strncmp(k, "x-", 2) && !in_list(list, k))
			unknown_key(errors, pos, obj, k, what, prefix);
	}
}

static void
validate_tab(struct cs_strvec *errors, const struct cs_yamlpos *pos, const json_t *obj,
	     const struct key *tab, size_t n, const char *what, const char *prefix)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (strncmp(k, "x-", 2) && find_key(tab, n, k) == NULL)
			unknown_key(errors, pos, obj, k, what, prefix);
	}
}

/* The version values of Compose formats: 2.0-2.4, 3.0-3.14, "2", "3" (or none). */
static int
known_version(const char *v)
{
	static const char *const known[] = {
	    "2",   "2.0", "2.1", "2.2", "2.3", "2.4",  "3",    "3.0",  "3.1",  "3.2",  "3.3", "3.4",
	    "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", NULL};

	return in_list(known, v);
}

int
dep_compose__validate(struct cs_strvec *errors, const json_t *doc, const struct cs_yamlpos *pos)
{
	const json_t *services, *svc, *dep, *v, *res;
	const char *name;
	char what[300];
	size_t before = errors->nr;

	if (!json_is_object(doc))
		return 0;
	v = json_object_get(doc, "version");
	if (v && !json_is_null(v) && (!json_is_string(v) || !known_version(json_string_value(v))))
		cs_strvec_pushf(errors,
				"%s:%d: version '%s' is no Compose file format (2.0 to 2.4, 3.0 "
				"to 3.14, or none for the Compose Specification)",
				cs_yamlpos_file(pos),
				cs_yamlpos_key_line(pos, doc, "version", NULL),
				json_is_string(v) ? json_string_value(v) : "?");
	validate_tab(errors, pos, doc, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), "", "");
	json_object_foreach((json_t *)json_object_get(doc, "networks"), name, v)
	{
		const json_t *c;
		size_t i;

		snprintf(what, sizeof(what), "network '%s': ", name);
		validate_list(errors, pos, v, network_keys, what, "");
		validate_list(errors, pos, json_object_get(v, "ipam"), ipam_keys, what, "ipam.");
		json_array_foreach(json_object_get(json_object_get(v, "ipam"), "config"), i, c)
		    validate_list(errors, pos, c, ipam_config_keys, what, "ipam.config.");
	}
	json_object_foreach((json_t *)json_object_get(doc, "volumes"), name, v)
	{
		snprintf(what, sizeof(what), "volume '%s': ", name);
		validate_list(errors, pos, v, volume_keys, what, "");
	}
	json_object_foreach((json_t *)json_object_get(doc, "secrets"), name, v)
	{
		snprintf(what, sizeof(what), "secret '%s': ", name);
		validate_list(errors, pos, v, secret_keys, what, "");
	}
	json_object_foreach((json_t *)json_object_get(doc, "configs"), name, v)
	{
		snprintf(what, sizeof(what), "config '%s': ", name);
		validate_list(errors, pos, v, config_keys, what, "");
	}
	services = json_object_get(doc, "services");
	json_object_foreach((json_t *)services, name, svc)
	{
		snprintf(what, sizeof(what), "service '%s': ", name);
		validate_tab(errors, pos, svc, service_keys,
			     sizeof(service_keys) / sizeof(service_keys[0]), what, "");
		dep = json_object_get(svc, "deploy");
		validate_tab(errors, pos, dep, deploy_keys,
			     sizeof(deploy_keys) / sizeof(deploy_keys[0]), what, "deploy.");
		res = json_object_get(dep, "resources");
		validate_list(errors, pos, res, resources_keys, what, "deploy.resources.");
		validate_list(errors, pos, json_object_get(res, "limits"), limits_keys, what,
			      "deploy.resources.limits.");
		validate_list(errors, pos, json_object_get(res, "reservations"), reservations_keys,
			      what, "deploy.resources.reservations.");
		validate_list(errors, pos, json_object_get(dep, "placement"), placement_keys, what,
			      "deploy.placement.");
		validate_list(errors, pos, json_object_get(dep, "restart_policy"), restart_keys,
			      what, "deploy.restart_policy.");
		validate_list(errors, pos, json_object_get(dep, "update_config"), update_keys, what,
			      "deploy.update_config.");
		validate_list(errors, pos, json_object_get(dep, "rollback_config"), update_keys,
			      what, "deploy.rollback_config.");
	}
	return errors->nr > before ? CS_EINVAL : 0;
}

int
dep_compose_key_mapped(const char *target, const char *key)
{
	const struct key *kd =
	    find_key(service_keys, sizeof(service_keys) / sizeof(service_keys[0]), key);

	if (kd == NULL)
		return -1;
	return (kd->flags & (UNSUPPORTED | target_flag(target ? target : "swarm"))) ? 0 : 1;
}

/*
 * Depth-first visit with an explicit stack (a chain of 100,000 services
 * linked by depends_on must not overflow the C stack); state 1 = on the
 * path, 2 = done. Dependencies are depends_on, then links to known services.
 */
struct visit_frame {
	const char *name;
	const json_t *svc;
	size_t dep, link; /* next depends_on and links entries to follow */
	size_t mark;	  /* path length before this service was added */
};

struct visit_stack {
	struct visit_frame *v;
	size_t nr, alloc;
};

/* Enter name: 0 when there is nothing to do or a frame was pushed, CS_EINVAL on a cycle. */
static int
visit_enter(struct visit_stack *stk, json_t *state, const json_t *services, const char *name,
	    struct cs_buf *path)
{
	json_int_t st = json_integer_value(json_object_get(state, name));
	struct visit_frame *f;
	size_t mark = path->len;

	if (st == 2)
		return 0;
	cs_buf_addf(path, "%s'%s'", path->len ? " -> " : "", name);
	if (st == 1)
		return cs_err_set(CS_EINVAL, "services depend on each other: %s", path->buf);
	json_object_set_new(state, name, json_integer(1));
	CS_ALLOC_GROW(stk->v, stk->nr + 1, stk->alloc);
	f = &stk->v[stk->nr++];
	f->name = name;
	f->svc = json_object_get(services, name);
	f->dep = f->link = 0;
	f->mark = mark;
	return 0;
}

static int
visit(json_t *order, json_t *state, const json_t *services, const char *root, struct cs_buf *path)
{
	struct visit_stack stk = {0};
	int error;

	if ((error = visit_enter(&stk, state, services, root, path)) < 0)
		goto out;
	while (stk.nr) {
		struct visit_frame *f = &stk.v[stk.nr - 1];
		const json_t *deps = json_object_get(f->svc, "depends_on");
		const json_t *links = json_object_get(f->svc, "links");
		const char *next = NULL;

		if (f->dep < json_array_size(deps)) {
			next = json_string_value(json_array_get(deps, f->dep++));
		} else if (f->link < json_array_size(links)) {
			const char *l = json_string_value(json_array_get(links, f->link++));
			const char *colon = strchr(l, ':');
			char *dep = colon ? cs_xstrndup(l, (size_t)(colon - l)) : cs_xstrdup(l);
			void *it = json_object_iter_at((json_t *)services, dep);

			/* the key inside services outlives dep */
			if (it && strcmp(dep, f->name))
				next = json_object_iter_key(it);
			free(dep);
			if (next == NULL)
				continue;
		} else {
			json_object_set_new(state, f->name, json_integer(2));
			json_array_append_new(order, json_string(f->name));
			path->len = f->mark;
			path->buf[f->mark] = '\0';
			stk.nr--;
			continue;
		}
		if ((error = visit_enter(&stk, state, services, next, path)) < 0)
			goto out;
	}
out:
	free(stk.v);
	return error;
}

int
dep_compose_order(json_t **out, const json_t *model)
{
	const json_t *services = json_object_get(model, "services"), *svc;
	json_t *order = json_array(), *state = json_object();
	struct cs_buf path = CS_BUF_INIT;
	const char *name;
	int error = 0;

	*out = NULL;
	json_object_foreach((json_t *)services, name, svc)
	{
		if ((error = visit(order, state, services, name, &path)) < 0)
			break;
	}
	cs_buf_release(&path);
	json_decref(state);
	if (error < 0) {
		json_decref(order);
		return error;
	}
	*out = order;
	return 0;
}

int
dep_compose_deployable(const json_t *model, struct cs_strvec *errors)
{
	struct cs_buf msg = CS_BUF_INIT;
	const json_t *svc;
	const char *name;
	int error = 0;

	json_object_foreach((json_t *)json_object_get(model, "services"), name, svc)
	{
		const char *image = json_string_value(json_object_get(svc, "image"));
		struct cs_imageref ref = CS_IMAGEREF_INIT;
		int bad_ref = 0;
		size_t start;

		if (image) {
			/* e.g. "$PRIVATE_REGISTRY:5000/app:$TAG" with the variables unset */
			bad_ref = cs_imageref_parse(&ref, image) < 0;
			cs_imageref_release(&ref);
			if (!bad_ref)
				continue;
		}
		if (msg.len)
			cs_buf_adds(&msg, "; ");
		start = msg.len;
		cs_buf_addf(&msg, "%s:%d: service '%s' ",
			    json_string_value(json_object_get(svc, "file")),
			    (int)json_integer_value(json_object_get(svc, "line")), name);
		if (bad_ref)
			cs_buf_addf(&msg, "cannot be deployed: %s", cs_err_msg());
		else if (json_is_true(json_object_get(svc, "build")))
			cs_buf_adds(&msg, "has build: but no image: it cannot be deployed (build "
					  "and push the image first, then name it in image:)");
		else
			cs_buf_adds(&msg, "has no image: it cannot be deployed");
		if (errors)
			cs_strvec_push(errors, msg.buf + start);
	}
	if (msg.len)
		error = cs_err_set(CS_EINVAL, "%s", msg.buf);
	cs_buf_release(&msg);
	return error;
}
