/*
 * The container settings of a Compose service on a plain engine (--coe
 * compose) beyond the basics engine_compose.c builds: the keys docker
 * compose puts in the create body's Config and HostConfig.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_hostconfig.h"
#include "xalloc.h"

static void
set_true(json_t *o, const char *key, json_t *svc, const char *model_key)
{
	if (json_is_true(json_object_get(svc, model_key)))
		json_object_set_new(o, key, json_true());
}

static void
set_list(json_t *o, const char *key, json_t *svc, const char *model_key)
{
	dep_set_obj(o, key, dep_string_array(json_object_get(svc, model_key)));
}

void
dep_engine_container_extras(json_t *body, json_t *hc, json_t *svc)
{
	json_t *v, *a, *lg, *lim, *rsv;
	struct cs_strvec keys = CS_STRVEC_INIT;
	size_t i;

	set_true(body, "Tty", svc, "tty");
	set_true(body, "OpenStdin", svc, "stdin_open");
	dep_set_str(body, "StopSignal", dep_str(svc, "stop_signal"));
	dep_set_str(body, "Domainname", dep_str(svc, "domainname"));
	/* expose: "3000" or "3000/udp", as ExposedPorts keys ("3000/tcp") */
	a = json_object_get(body, "ExposedPorts");
	json_array_foreach(json_object_get(svc, "expose"), i, v)
	{
		const char *e = json_string_value(v);
		char *key;

		if (e == NULL)
			continue;
		if (a == NULL) {
			a = json_object();
			json_object_set_new(body, "ExposedPorts", a);
		}
		key = strchr(e, '/') ? cs_xstrdup(e) : cs_xasprintf("%s/tcp", e);
		json_object_set_new(a, key, json_object());
		free(key);
	}

	set_true(hc, "Privileged", svc, "privileged");
	set_true(hc, "ReadonlyRootfs", svc, "read_only");
	set_true(hc, "Init", svc, "init");
	set_list(hc, "CapAdd", svc, "cap_add");
	set_list(hc, "CapDrop", svc, "cap_drop");
	set_list(hc, "Dns", svc, "dns");
	set_list(hc, "DnsSearch", svc, "dns_search");
	set_list(hc, "ExtraHosts", svc, "extra_hosts");
	set_list(hc, "SecurityOpt", svc, "security_opt");
	dep_set_str(hc, "Isolation", dep_str(svc, "isolation"));
	if (json_object_size(json_object_get(svc, "sysctls")))
		json_object_set(hc, "Sysctls", json_object_get(svc, "sysctls"));
	a = json_object();
	json_array_foreach(json_object_get(svc, "tmpfs"), i, v)
	{
		const char *t = json_string_value(v), *colon = t ? strchr(t, ':') : NULL;

		if (t == NULL)
			continue;
		if (colon) {
			char *path = cs_xstrndup(t, (size_t)(colon - t));

			json_object_set_new(a, path, json_string(colon + 1));
			free(path);
		} else
			json_object_set_new(a, t, json_string(""));
	}
	dep_set_obj(hc, "Tmpfs", a);
	a = json_array();
	json_array_foreach(json_object_get(svc, "devices"), i, v)
	{
		const char *d = json_string_value(v), *c1, *c2;
		char *host, *ctr;

		if (d == NULL)
			continue;
		c1 = strchr(d, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		host = c1 ? cs_xstrndup(d, (size_t)(c1 - d)) : cs_xstrdup(d);
		ctr = c1 ? (c2 ? cs_xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : cs_xstrdup(c1 + 1))
			 : cs_xstrdup(d);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "PathOnHost", host,
						   "PathInContainer", ctr, "CgroupPermissions",
						   c2 ? c2 + 1 : "rwm"));
		free(host);
		free(ctr);
	}
	dep_set_obj(hc, "Devices", a);
	a = json_array();
	dep_sorted_keys(&keys, json_object_get(svc, "ulimits"));
	for (i = 0; i < keys.nr; i++) {
		v = json_object_get(json_object_get(svc, "ulimits"), keys.v[i]);
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "Name", keys.v[i], "Soft",
						   dep_num(v, "soft"), "Hard", dep_num(v, "hard")));
	}
	cs_strvec_clear(&keys);
	dep_set_obj(hc, "Ulimits", a);
	lg = json_object_get(svc, "logging");
	if (json_is_object(lg)) {
		v = json_object();
		dep_set_str(v, "Type", dep_str(lg, "driver"));
		if (json_object_size(json_object_get(lg, "options")))
			json_object_set(v, "Config", json_object_get(lg, "options"));
		dep_set_obj(hc, "LogConfig", v);
	}
	lim =
	    json_object_get(json_object_get(json_object_get(svc, "deploy"), "resources"), "limits");
	rsv = json_object_get(json_object_get(json_object_get(svc, "deploy"), "resources"),
			      "reservations");
	dep_set_int(hc, "PidsLimit", dep_num(lim, "pids"));
	dep_set_int(hc, "MemoryReservation", dep_num(rsv, "memory_bytes"));
}

void
dep_engine_network_extras(json_t *body, json_t *def)
{
	json_t *ipam = json_object_get(def, "ipam"), *cfg, *c, *ip;
	size_t i;

	if (json_is_true(json_object_get(def, "internal")))
		json_object_set_new(body, "Internal", json_true());
	if (json_is_true(json_object_get(def, "attachable")))
		json_object_set_new(body, "Attachable", json_true());
	if (!json_is_object(ipam))
		return;
	ip = json_object();
	dep_set_str(ip, "Driver", dep_str(ipam, "driver"));
	cfg = json_array();
	json_array_foreach(json_object_get(ipam, "config"), i, c)
	{
		json_t *one = json_object();

		dep_set_str(one, "Subnet", dep_str(c, "subnet"));
		dep_set_str(one, "Gateway", dep_str(c, "gateway"));
		dep_set_str(one, "IPRange", dep_str(c, "ip_range"));
		json_array_append_new(cfg, one);
	}
	dep_set_obj(ip, "Config", cfg);
	dep_set_obj(body, "IPAM", ip);
}
