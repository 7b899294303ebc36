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
    {"annotations", IGN_SWARM},
    {"attach", IGN_SWARM},
    {"blkio_config", IGN_SWARM},
    {"build", IGN_SWARM | IGN_COMPOSE},
    {"cap_add", 0},
    {"cap_drop", 0},
    {"cgroup", IGN_SWARM},
    {"cgroup_parent", IGN_SWARM},
    {"cgroupns_mode", IGN_SWARM},
    {"command", 0},
    {"configs", 0},
    {"container_name", IGN_SWARM},
    {"cpu_count", IGN_SWARM},
    {"cpu_percent", IGN_SWARM},
    {"cpu_period", IGN_SWARM},
    {"cpu_quota", IGN_SWARM},
    {"cpu_rt_period", IGN_SWARM},
    {"cpu_rt_runtime", IGN_SWARM},
    {"cpu_shares", IGN_SWARM},
    {"cpus", 0},
    {"cpuset", IGN_SWARM},
    {"credential_spec", IGN_COMPOSE},
    {"depends_on", 0},
    {"deploy", 0},
    {"develop", UNSUPPORTED},
    {"device_cgroup_rules", IGN_SWARM},
    {"devices", IGN_SWARM},
    {"dns", 0},
    {"dns_opt", 0},
    {"dns_search", 0},
    {"domainname", IGN_SWARM},
    {"entrypoint", 0},
    {"env_file", 0},
    {"environment", 0},
    {"expose", IGN_SWARM | KUBE_APPLIES},
    {"extends", UNSUPPORTED},
    {"external_links", IGN_SWARM},
    {"extra_hosts", 0},
    {"gpus", IGN_SWARM},
    {"group_add", 0},
    {"healthcheck", 0},
    {"hostname", 0},
    {"image", 0},
    {"init", 0},
    {"ipc", IGN_SWARM},
    {"isolation", 0},
    {"label_file", UNSUPPORTED},
    {"labels", 0},
    {"links", IGN_SWARM},
    {"logging", 0},
    {"mac_address", IGN_SWARM},
    {"mem_limit", 0},
    {"mem_reservation", 0},
    {"mem_swappiness", IGN_SWARM},
    {"memswap_limit", IGN_SWARM},
    {"models", UNSUPPORTED},
    {"network_mode", IGN_SWARM},
    {"networks", 0},
    {"oom_kill_disable", IGN_SWARM},
    {"oom_score_adj", IGN_SWARM},
    {"pid", IGN_SWARM},
    {"pids_limit", 0},
    {"platform", IGN_SWARM},
    {"ports", 0},
    {"post_start", UNSUPPORTED},
    {"pre_stop", UNSUPPORTED},
    {"privileged", IGN_SWARM | KUBE_APPLIES},
    {"profiles", 0}, /* services with profiles are skipped, with a warning */
    {"provider", UNSUPPORTED},
    {"pull_policy", IGN_SWARM},
    {"pull_refresh_after", IGN_SWARM},
    {"read_only", 0},
    {"restart", 0},
    {"runtime", IGN_SWARM},
    {"scale", 0},
    {"secrets", 0},
    {"security_opt", IGN_SWARM},
    {"shm_size", IGN_SWARM},
    {"stdin_open", 0},
    {"stop_grace_period", 0},
    {"stop_signal", 0},
    {"storage_opt", IGN_SWARM},
    {"sysctls", 0},
    {"tmpfs", IGN_SWARM},
    {"tty", 0},
    {"ulimits", 0},
    {"use_api_socket", IGN_SWARM},
    {"user", 0},
    {"userns_mode", IGN_SWARM},
    {"uts", IGN_SWARM},
    {"volume_driver", IGN_SWARM},
    {"volumes", 0},
    {"volumes_from", IGN_SWARM},
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

static unsigned
target_flag(const char *target)
{
	return !strcmp(target, "compose") ? IGN_COMPOSE : IGN_SWARM;
}

/* One warning for key k of obj; what = "service 'x': " or "" */
static void
check_keys(struct cs_strvec *w, const json_t *obj, const struct key *tab, size_t n,
	   const struct cs_yamlpos *pos, const char *what, const char *prefix, const char *target)
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
			dep_compose__warn(w, "%s:%d: %sunknown key '%s%s'", cs_yamlpos_file(pos),
					  line, what, prefix, k);
		else if (kd->flags & UNSUPPORTED)
			dep_compose__warn(w,
					  "%s:%d: %skey '%s%s' is not supported by caas-deployer "
					  "and is ignored",
					  cs_yamlpos_file(pos), line, what, prefix, k);
		else if ((kd->flags & target_flag(target)) &&
			 !((kd->flags & KUBE_APPLIES) && !strcmp(target, "kubernetes")))
			dep_compose__warn(w, "%s:%d: %skey '%s%s' is ignored by %s",
					  cs_yamlpos_file(pos), line, what, prefix, k, target);
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
		   target);
	services = json_object_get(doc, "services");
	if (!json_is_object(services))
		return;
	json_object_foreach((json_t *)services, name, svc)
	{
		if (!json_is_object(svc))
			continue;
		snprintf(what, sizeof(what), "service '%s': ", name);
		check_keys(warnings, svc, service_keys,
			   sizeof(service_keys) / sizeof(service_keys[0]), pos, what, "", target);
		if (json_is_object(dep = json_object_get(svc, "deploy")))
			check_keys(warnings, dep, deploy_keys,
				   sizeof(deploy_keys) / sizeof(deploy_keys[0]), pos, what,
				   "deploy.", target);
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

/* Depth-first visit; state 1 = on the path, 2 = done. */
static int
visit(json_t *order, json_t *state, const json_t *services, const char *name, struct cs_buf *path)
{
	const json_t *svc = json_object_get(services, name), *v;
	json_int_t st = json_integer_value(json_object_get(state, name));
	size_t i, mark = path->len;
	char *dep;

	if (st == 2)
		return 0;
	cs_buf_addf(path, "%s'%s'", path->len ? " -> " : "", name);
	if (st == 1)
		return cs_err_set(CS_EINVAL, "services depend on each other: %s", path->buf);
	json_object_set_new(state, name, json_integer(1));
	json_array_foreach(json_object_get(svc, "depends_on"), i, v)
	{
		if (visit(order, state, services, json_string_value(v), path) < 0)
			return CS_EINVAL;
	}
	json_array_foreach(json_object_get(svc, "links"), i, v)
	{
		const char *l = json_string_value(v), *colon = strchr(l, ':');

		dep = colon ? cs_xstrndup(l, (size_t)(colon - l)) : cs_xstrdup(l);
		if (json_object_get(services, dep) && strcmp(dep, name) &&
		    visit(order, state, services, dep, path) < 0) {
			free(dep);
			return CS_EINVAL;
		}
		free(dep);
	}
	json_object_set_new(state, name, json_integer(2));
	json_array_append_new(order, json_string(name));
	path->len = mark;
	path->buf[mark] = '\0';
	return 0;
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
