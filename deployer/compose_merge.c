/*
 * The canonical raw form of a Compose file (every list-or-map and
 * short-or-long syntax reduced to one shape) and the merge of several files
 * in order, following the "Merge and override" section of the Compose
 * Specification: mappings merge key by key, scalars are replaced, sequences
 * append, command/entrypoint/healthcheck.test are replaced, and ports,
 * volumes, secrets and configs are unique by their key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "compose_int.h"
#include "err.h"
#include "xalloc.h"
#include "yamldoc.h"

struct cctx {
	const struct cs_yamlpos *pos;
	const char *file;
	const char *svc;
	json_t *svcobj;
};

static int
cerr(struct cctx *c, const char *key, const char *msg, const char *detail)
{
	int line = cs_yamlpos_key_line(c->pos, c->svcobj, key, NULL);

	return cs_err_set(CS_EINVAL, "%s:%d: service '%s': %s%s%s", c->file, line, c->svc, msg,
			  detail ? ": " : "", detail ? detail : "");
}

/* ["K=V", "K"] → {"K": "V", "K": empty}; a map stays (non-string scalars kept). */
static int
list_to_map(json_t *parent, const char *key, json_t *empty, struct cctx *c)
{
	json_t *v = json_object_get(parent, key), *m, *item;
	const char *s, *eq;
	char *k;
	size_t i;

	if (v == NULL || json_is_object(v) || json_is_null(v)) {
		if (json_is_null(v))
			json_object_set_new(parent, key, json_object());
		json_decref(empty);
		return 0;
	}
	if (!json_is_array(v)) {
		json_decref(empty);
		return cerr(c, key, "must be a list or a mapping", key);
	}
	m = json_object();
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item)) {
			json_decref(m);
			json_decref(empty);
			return cerr(c, key, "list items must be strings", key);
		}
		s = json_string_value(item);
		if ((eq = strchr(s, '=')) != NULL) {
			k = cs_xstrndup(s, (size_t)(eq - s));
			json_object_set_new(m, k, json_string(eq + 1));
			free(k);
		} else {
			json_object_set(m, s, empty);
		}
	}
	json_decref(empty);
	json_object_set_new(parent, key, m);
	return 0;
}

static void
string_to_list(json_t *parent, const char *key)
{
	json_t *v = json_object_get(parent, key), *a;

	if (json_is_string(v)) {
		a = json_array();
		json_array_append(a, v);
		json_object_set_new(parent, key, a);
	}
}

static int
is_path(const char *s)
{
	return s[0] == '.' || s[0] == '/' || s[0] == '~';
}

static json_t *
volume_short(const char *spec)
{
	json_t *o = json_object();
	char *s = cs_xstrdup(spec), *parts[3] = {NULL, NULL, NULL}, *p, *opt, *save;
	int n = 0;

	for (p = s; n < 3; n++) {
		parts[n] = p;
		if ((p = strchr(p, ':')) == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n == 1) {
		json_object_set_new(o, "type", json_string("volume"));
		json_object_set_new(o, "target", json_string(parts[0]));
	} else {
		json_object_set_new(o, "type", json_string(is_path(parts[0]) ? "bind" : "volume"));
		json_object_set_new(o, "source", json_string(parts[0]));
		json_object_set_new(o, "target", json_string(parts[1]));
	}
	if (n == 3 && parts[2]) {
		for (opt = strtok_r(parts[2], ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			if (!strcmp(opt, "ro"))
				json_object_set_new(o, "read_only", json_true());
			else if (!strcmp(opt, "nocopy"))
				json_object_set_new(o, "volume", json_pack("{s:b}", "nocopy", 1));
			else if (!strcmp(opt, "shared") || !strcmp(opt, "rshared") ||
				 !strcmp(opt, "slave") || !strcmp(opt, "rslave") ||
				 !strcmp(opt, "private") || !strcmp(opt, "rprivate"))
				json_object_set_new(o, "bind",
						    json_pack("{s:s}", "propagation", opt));
		}
	}
	free(s);
	return o;
}

static int
canon_list(json_t *svc, const char *key, struct cctx *c)
{
	json_t *v = json_object_get(svc, key), *out, *item;
	size_t i;

	if (v == NULL || json_is_null(v)) {
		json_object_del(svc, key);
		return 0;
	}
	if (!json_is_array(v))
		return cerr(c, key, "must be a list", key);
	out = json_array();
	json_array_foreach(v, i, item)
	{
		if (json_is_object(item)) {
			json_array_append(out, item);
		} else if (!json_is_string(item)) {
			json_decref(out);
			return cerr(c, key, "invalid list item", key);
		} else if (!strcmp(key, "ports")) {
			if (dep_parse_port(out, json_string_value(item)) < 0) {
				char msg[256];

				/* cs_err_msg() is the buffer cs_err_set() writes to */
				snprintf(msg, sizeof(msg), "%s", cs_err_msg());
				json_decref(out);
				return cerr(c, key, msg, NULL);
			}
		} else if (!strcmp(key, "volumes")) {
			json_array_append_new(out, volume_short(json_string_value(item)));
		} else {
			json_array_append_new(out, json_pack("{s:O}", "source", item));
		}
	}
	json_object_set_new(svc, key, out);
	return 0;
}

static int
canon_service(json_t *svc, struct cctx *c)
{
	static const char *const lists[] = {"dns",     "dns_search", "tmpfs",	    "env_file",
					    "cap_add", "cap_drop",   "profiles",    "expose",
					    "dns_opt", "devices",    "security_opt"};
	static const char *const uniq[] = {"ports", "volumes", "secrets", "configs"};
	json_t *v, *m, *item;
	const char *k;
	size_t i;
	int error;

	if ((error = list_to_map(svc, "environment", json_null(), c)) < 0 ||
	    (error = list_to_map(svc, "labels", json_string(""), c)) < 0)
		return error;
	if (json_is_object(v = json_object_get(svc, "deploy")) &&
	    (error = list_to_map(v, "labels", json_string(""), c)) < 0)
		return error;
	if (json_is_string(v = json_object_get(svc, "build")))
		json_object_set_new(svc, "build", json_pack("{s:O}", "context", v));
	if (json_is_object(v = json_object_get(svc, "build")) &&
	    ((error = list_to_map(v, "labels", json_string(""), c)) < 0 ||
	     (error = list_to_map(v, "args", json_null(), c)) < 0))
		return error;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		string_to_list(svc, lists[i]);
	for (i = 0; i < sizeof(uniq) / sizeof(uniq[0]); i++)
		if ((error = canon_list(svc, uniq[i], c)) < 0)
			return error;
	v = json_object_get(svc, "depends_on");
	if (json_is_array(v)) {
		m = json_object();
		json_array_foreach(v, i, item) if (json_is_string(item)) json_object_set_new(
		    m, json_string_value(item), json_pack("{s:s}", "condition", "service_started"));
		json_object_set_new(svc, "depends_on", m);
	} else if (v && !json_is_object(v) && !json_is_null(v)) {
		return cerr(c, "depends_on", "must be a list or a mapping", NULL);
	}
	v = json_object_get(svc, "networks");
	if (json_is_array(v)) {
		m = json_object();
		json_array_foreach(v, i, item) if (json_is_string(item))
		    json_object_set_new(m, json_string_value(item), json_null());
		json_object_set_new(svc, "networks", m);
	} else if (v && !json_is_object(v) && !json_is_null(v)) {
		return cerr(c, "networks", "must be a list or a mapping", NULL);
	}
	v = json_object_get(svc, "extra_hosts");
	if (json_is_object(v)) {
		m = json_array();
		json_object_foreach(v, k, item) if (json_is_string(item))
		    json_array_append_new(m, json_sprintf("%s:%s", k, json_string_value(item)));
		json_object_set_new(svc, "extra_hosts", m);
	}
	return 0;
}

int
dep_compose__canon(json_t *doc, const struct cs_yamlpos *pos, const char *file)
{
	static const char *const tops[] = {"networks", "volumes", "secrets", "configs"};
	struct cctx c = {.pos = pos, .file = file};
	json_t *services = json_object_get(doc, "services"), *svc, *obj, *v;
	const char *name, *k;
	size_t i;
	int error;

	if (services == NULL || json_is_null(services)) {
		json_object_set_new(doc, "services", json_object());
	} else if (!json_is_object(services)) {
		return cs_err_set(CS_EINVAL, "%s:%d: services must be a mapping", file,
				  cs_yamlpos_key_line(pos, doc, "services", NULL));
	} else {
		json_object_foreach(services, name, svc)
		{
			int line = cs_yamlpos_key_line(pos, services, name, NULL);

			if (json_is_null(svc)) {
				svc = json_object();
				json_object_set_new(services, name, svc);
			}
			if (!json_is_object(svc))
				return cs_err_set(CS_EINVAL,
						  "%s:%d: service '%s' must be a mapping", file,
						  line, name);
			c.svc = name;
			c.svcobj = svc;
			if ((error = canon_service(svc, &c)) < 0)
				return error;
			json_object_set_new(svc, DEP_SRC_FILE, json_string(file));
			json_object_set_new(svc, DEP_SRC_LINE, json_integer(line));
		}
	}
	for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		obj = json_object_get(doc, tops[i]);
		if (obj == NULL || json_is_null(obj)) {
			json_object_set_new(doc, tops[i], json_object());
			continue;
		}
		if (!json_is_object(obj))
			return cs_err_set(CS_EINVAL, "%s:%d: %s must be a mapping", file,
					  cs_yamlpos_key_line(pos, doc, tops[i], NULL), tops[i]);
		json_object_foreach(obj, k, v)
		{
			int line = cs_yamlpos_key_line(pos, obj, k, NULL);

			if (json_is_null(v)) {
				v = json_object();
				json_object_set_new(obj, k, v);
			}
			if (!json_is_object(v))
				return cs_err_set(CS_EINVAL, "%s:%d: %s '%s' must be a mapping",
						  file, line, tops[i], k);
			json_object_set_new(v, DEP_SRC_FILE, json_string(file));
			json_object_set_new(v, DEP_SRC_LINE, json_integer(line));
		}
	}
	return 0;
}

/* Merge */

static int
same_str(const json_t *a, const json_t *b, const char *key)
{
	return json_equal(json_object_get(a, key), json_object_get(b, key));
}

static int
same_entry(const char *list, const json_t *a, const json_t *b)
{
	if (!strcmp(list, "ports"))
		return same_str(a, b, "host_ip") && same_str(a, b, "target") &&
		       same_str(a, b, "published") && same_str(a, b, "protocol");
	if (!strcmp(list, "volumes") || json_object_get(a, "target") ||
	    json_object_get(b, "target"))
		return same_str(a, b, "target");
	return same_str(a, b, "source");
}

static void merge_obj(json_t *base, const json_t *over, const struct cs_yamlpos *pos,
		      const char *ctx);

static void
merge_unique(json_t *base, const json_t *over, const char *list)
{
	json_t *item, *b;
	size_t i, j;
	int found;

	json_array_foreach(over, i, item)
	{
		found = 0;
		json_array_foreach(base, j, b)
		{
			if (json_is_object(b) && json_is_object(item) &&
			    same_entry(list, b, item)) {
				json_array_set(base, j, item);
				found = 1;
				break;
			}
		}
		if (!found)
			json_array_append(base, item);
	}
}

static void
merge_append(json_t *base, const json_t *over)
{
	json_t *item, *b;
	size_t i, j;
	int found;

	json_array_foreach(over, i, item)
	{
		found = 0;
		json_array_foreach(base, j, b) if (json_equal(b, item)) found = 1;
		if (!found)
			json_array_append(base, item);
	}
}

/*
 * ctx names where we are: "service" for a service mapping, "healthcheck",
 * or "" elsewhere; it selects the exceptions of the merge rules.
 */
static void
merge_obj(json_t *base, const json_t *over, const struct cs_yamlpos *pos, const char *ctx)
{
	const char *k, *tag;
	json_t *ov, *bv;

	json_object_foreach((json_t *)over, k, ov)
	{
		if (!strncmp(k, "x-cs-", 5) && json_object_get(base, k))
			continue; /* the origin is where it was first defined */
		tag = cs_yamlpos_key_tag(pos, over, k);
		if (tag && !strcmp(tag, "!reset")) {
			json_object_del(base, k);
			continue;
		}
		bv = json_object_get(base, k);
		if (json_is_null(ov) && (json_is_object(bv) || json_is_array(bv)))
			continue; /* "front:" with no settings adds nothing to front */
		if (bv == NULL || (tag && !strcmp(tag, "!override")) || json_is_null(bv)) {
			json_object_set_new(base, k, json_deep_copy(ov));
			continue;
		}
		if (!strcmp(ctx, "service") &&
		    (!strcmp(k, "command") || !strcmp(k, "entrypoint"))) {
			json_object_set_new(base, k, json_deep_copy(ov));
		} else if (!strcmp(ctx, "healthcheck") && !strcmp(k, "test")) {
			json_object_set_new(base, k, json_deep_copy(ov));
		} else if (json_is_object(bv) && json_is_object(ov)) {
			merge_obj(bv, ov, pos,
				  !strcmp(ctx, "service") && !strcmp(k, "healthcheck")
				      ? "healthcheck"
				      : "");
		} else if (json_is_array(bv) && json_is_array(ov)) {
			if (!strcmp(ctx, "service") &&
			    (!strcmp(k, "ports") || !strcmp(k, "volumes") ||
			     !strcmp(k, "secrets") || !strcmp(k, "configs")))
				merge_unique(bv, ov, k);
			else
				merge_append(bv, ov);
		} else {
			json_object_set_new(base, k, json_deep_copy(ov));
		}
	}
}

void
dep_compose__merge(json_t *base, const json_t *over, const struct cs_yamlpos *pos)
{
	static const char *const tops[] = {"networks", "volumes", "secrets", "configs"};
	json_t *bs = json_object_get(base, "services"), *os = json_object_get(over, "services");
	json_t *ov, *bv;
	const char *k;
	size_t i;

	json_object_foreach(os, k, ov)
	{
		bv = json_object_get(bs, k);
		if (bv == NULL)
			json_object_set_new(bs, k, json_deep_copy(ov));
		else
			merge_obj(bv, ov, pos, "service");
	}
	for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
		merge_obj(json_object_get(base, tops[i]), json_object_get(over, tops[i]), pos, "");
	json_object_foreach((json_t *)over, k, ov)
	{
		if (strcmp(k, "services") && strcmp(k, "networks") && strcmp(k, "volumes") &&
		    strcmp(k, "secrets") && strcmp(k, "configs"))
			json_object_set_new(base, k, json_deep_copy(ov));
	}
}
