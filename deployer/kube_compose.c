/*
 * A Compose model (compose.h, the same loader as the Swarm backend)
 * translated into Kubernetes objects, so that one descriptor deploys to both
 * COEs. What has no Kubernetes counterpart is a warning naming the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "compose.h"
#include "engine.h"
#include "err.h"
#include "kube.h"
#include "log.h"
#include "xalloc.h"

#define L_NAME "app.kubernetes.io/name"

/* A DNS-1123 label from a Compose name: lower case, '_' and '.' become '-'. */
static char *
k8s_name(const char *s)
{
	char *r = cs_xstrdup(s), *p;

	for (p = r; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			*p = '-';
	}
	return r;
}

static void
warn(struct cs_strvec *warnings, json_t *svc, const char *key, const char *why)
{
	char *m = cs_xasprintf("%s:%d: service '%s': key '%s' %s", dep_str(svc, "file") ?: "?",
			       (int)dep_num(svc, "line"), dep_str(svc, "name") ?: "?", key, why);

	cs_log(CS_LOG_WARN, "%s", m);
	if (warnings)
		cs_strvec_push(warnings, m);
	free(m);
}

static void
add(json_t *list, json_t *obj, json_t *svc)
{
	json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:o}", "file",
					      svc ? dep_str(svc, "file") ?: "compose" : "compose",
					      "doc", 1, "line", svc ? (int)dep_num(svc, "line") : 0,
					      "object", obj));
}

static json_t *
meta(const char *name)
{
	return json_pack("{s:s}", "name", name);
}

static json_t *
probe(json_t *hc)
{
	json_t *test = json_object_get(hc, "test"), *cmd, *p;
	const char *kind = json_string_value(json_array_get(test, 0));
	size_t i;
	long long v;

	if (hc == NULL || json_is_null(hc) || json_is_true(json_object_get(hc, "disable")) ||
	    kind == NULL)
		return NULL;
	if (strcmp(kind, "CMD-SHELL") == 0)
		cmd = json_pack("[s, s, s]", "/bin/sh", "-c",
				json_string_value(json_array_get(test, 1)) ?: "true");
	else if (strcmp(kind, "CMD") == 0) {
		cmd = json_array();
		for (i = 1; i < json_array_size(test); i++)
			json_array_append(cmd, json_array_get(test, i));
	} else {
		return NULL;
	}
	p = json_pack("{s:{s:o}}", "exec", "command", cmd);
	if ((v = dep_num(hc, "interval_ns")) > 0)
		json_object_set_new(p, "periodSeconds",
				    json_integer((v + 999999999LL) / 1000000000LL));
	if ((v = dep_num(hc, "timeout_ns")) > 0)
		json_object_set_new(p, "timeoutSeconds",
				    json_integer((v + 999999999LL) / 1000000000LL));
	if ((v = dep_num(hc, "start_period_ns")) > 0)
		json_object_set_new(p, "initialDelaySeconds",
				    json_integer((v + 999999999LL) / 1000000000LL));
	if ((v = dep_num(hc, "retries")) > 0)
		json_object_set_new(p, "failureThreshold", json_integer(v));
	return p;
}

static json_t *
resources(json_t *deploy)
{
	json_t *r = json_object_get(deploy, "resources"), *out = json_object();
	static const char *const sides[][2] = {{"limits", "limits"}, {"reservations", "requests"}};
	size_t i;

	for (i = 0; i < 2; i++) {
		json_t *s = json_object_get(r, sides[i][0]), *o = json_object();
		long long cpu = dep_num(s, "nano_cpus"), mem = dep_num(s, "memory_bytes");

		if (cpu > 0) {
			char *c = cs_xasprintf("%lldm", (cpu + 999999) / 1000000);

			json_object_set_new(o, "cpu", json_string(c));
			free(c);
		}
		if (mem > 0) {
			char *m = cs_xasprintf("%lld", mem);

			json_object_set_new(o, "memory", json_string(m));
			free(m);
		}
		if (json_object_size(o))
			json_object_set_new(out, sides[i][1], o);
		else
			json_decref(o);
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Read a secret or config file into a base64 (secret) or text (config) value. */
static int
file_value(json_t **out, const char *path, int b64)
{
	struct cs_buf text = CS_BUF_INIT, enc = CS_BUF_INIT;
	int error;

	*out = NULL;
	if ((error = dep_read_file(&text, path, 1 << 20)) < 0)
		return error;
	if (b64) {
		cs_base64_encode(&enc, text.buf, text.len, 0);
		*out = json_string(enc.buf);
	} else {
		*out = json_stringn(text.buf, text.len);
	}
	cs_buf_wipe(&text);
	cs_buf_wipe(&enc);
	return *out ? 0 : cs_err_set(CS_EINVAL, "'%s' is not UTF-8 text", path);
}

/* ConfigMaps and Secrets from the top-level configs and secrets. */
static int
data_objects(json_t *list, json_t *model, const char *section, int secret)
{
	const char *key;
	json_t *d;
	int error;

	json_object_foreach(json_object_get(model, section), key, d)
	{
		char *name = k8s_name(key);
		json_t *v = NULL, *obj;

		if (json_is_true(json_object_get(d, "external"))) {
			free(name);
			continue; /* it exists already, by that name */
		}
		if (dep_str(d, "file")) {
			if ((error = file_value(&v, dep_str(d, "file"), secret)) < 0) {
				free(name);
				return error;
			}
		} else if (dep_str(d, "content")) {
			struct cs_buf enc = CS_BUF_INIT;

			if (secret)
				cs_base64_encode(&enc, dep_str(d, "content"),
						 strlen(dep_str(d, "content")), 0);
			v = json_string(secret ? enc.buf : dep_str(d, "content"));
			cs_buf_wipe(&enc);
		} else if (dep_str(d, "environment")) {
			const char *e = getenv(dep_str(d, "environment"));
			struct cs_buf enc = CS_BUF_INIT;

			if (secret)
				cs_base64_encode(&enc, e ? e : "", e ? strlen(e) : 0, 0);
			v = json_string(secret ? enc.buf : e ? e : "");
			cs_buf_wipe(&enc);
		} else {
			v = json_string("");
		}
		obj = json_pack("{s:s, s:s, s:o, s:{s:o}}", "apiVersion", "v1", "kind",
				secret ? "Secret" : "ConfigMap", "metadata", meta(name), "data",
				key, v);
		add(list, obj, NULL);
		free(name);
	}
	return 0;
}

/* Mount model secrets/configs of svc into the pod (volumes) and container (volumeMounts). */
static void
mount_data(json_t *svc, const char *section, int secret, json_t *vols, json_t *mounts)
{
	json_t *ref;
	size_t i;

	json_array_foreach(json_object_get(svc, section), i, ref)
	{
		const char *src = dep_str(ref, "source"), *target = dep_str(ref, "target");
		char *name, *vname, *path;
		json_t *vol;

		if (src == NULL)
			continue;
		name = k8s_name(src);
		vname = cs_xasprintf("%s-%s-%zu", secret ? "secret" : "config", name, i);
		if (target == NULL)
			target = src;
		path =
		    target[0] == '/' ? cs_xstrdup(target) : cs_xasprintf("/run/secrets/%s", target);
		vol = secret
			  ? json_pack("{s:s, s:{s:s}}", "name", vname, "secret", "secretName", name)
			  : json_pack("{s:s, s:{s:s}}", "name", vname, "configMap", "name", name);
		json_array_append_new(vols, vol);
		json_array_append_new(mounts,
				      json_pack("{s:s, s:s, s:s, s:b}", "name", vname, "mountPath",
						path, "subPath", src, "readOnly", 1));
		free(path);
		free(vname);
		free(name);
	}
}

/* Keys the Compose checker accepts for kubernetes but that have no translation here. */
static const char *const untranslated[] = {
    "cap_add", "cap_drop", "dns",	 "dns_search", "extra_hosts", "sysctls",
    "ulimits", "logging",  "depends_on", "init",       "stop_signal",
};

static int
translate_service(json_t *list, json_t *model, const char *key, json_t *svc, const char *app,
		  const char *publish_mode, struct cs_strvec *warnings)
{
	json_t *deploy = json_object_get(svc, "deploy"), *ctr, *podspec, *vols = json_array();
	json_t *mounts = json_array(), *env = json_array(), *cports = json_array(), *sports;
	json_t *labels, *v, *p, *tmpl, *workload, *spec, *x;
	const char *mode = dep_str(deploy, "mode") ? dep_str(deploy, "mode") : "replicated", *k;
	char *name = k8s_name(key);
	int stateful = 0, nodeport = 0;
	size_t i;

	(void)model;
	for (i = 0; i < sizeof(untranslated) / sizeof(untranslated[0]); i++) {
		x = json_object_get(svc, untranslated[i]);
		if ((json_is_array(x) && json_array_size(x)) ||
		    (json_is_object(x) && json_object_size(x)) || json_is_true(x) ||
		    (json_is_string(x) && json_string_length(x)))
			warn(warnings, svc, untranslated[i], "is not translated to Kubernetes");
	}
	if (json_array_size(json_object_get(json_object_get(deploy, "placement"), "constraints")))
		warn(warnings, svc, "deploy.placement.constraints",
		     "is not translated to Kubernetes (use nodeSelector in a manifest)");
	labels = json_pack("{s:s, s:s}", L_NAME, name, "app.kubernetes.io/instance", app);
	ctr = json_pack("{s:s, s:s}", "name", name, "image", dep_str(svc, "image") ?: "");
	if (json_array_size(json_object_get(svc, "entrypoint")))
		json_object_set(ctr, "command", json_object_get(svc, "entrypoint"));
	if (json_array_size(json_object_get(svc, "command")))
		json_object_set(ctr, "args", json_object_get(svc, "command"));
	json_object_foreach(json_object_get(svc, "environment"), k, v)
	{
		if (json_is_string(v))
			json_array_append_new(env, json_pack("{s:s, s:O}", "name", k, "value", v));
	}
	if (json_array_size(env))
		json_object_set(ctr, "env", env);
	if (dep_str(svc, "working_dir"))
		json_object_set_new(ctr, "workingDir", json_string(dep_str(svc, "working_dir")));
	sports = json_array();
	json_array_foreach(json_object_get(svc, "ports"), i, p)
	{
		const char *proto = dep_str(p, "protocol") ? dep_str(p, "protocol") : "tcp";
		char *up = k8s_name(proto), *q;
		json_int_t target = dep_num(p, "target"), pub = dep_num(p, "published");
		json_t *sp;
		char *pname;

		for (q = up; *q; q++)
			*q = (char)(*q - 'a' + 'A');
		json_array_append_new(
		    cports, json_pack("{s:I, s:s}", "containerPort", target, "protocol", up));
		pname = cs_xasprintf("p%zu-%" JSON_INTEGER_FORMAT, i, target);
		sp = json_pack("{s:s, s:I, s:I, s:s}", "name", pname, "port", pub ? pub : target,
			       "targetPort", target, "protocol", up);
		if (pub) {
			nodeport = 1;
			if (pub >= 30000 && pub <= 32767 &&
			    !(publish_mode && strcmp(publish_mode, "loadbalancer") == 0))
				json_object_set_new(sp, "nodePort", json_integer(pub));
		}
		json_array_append_new(sports, sp);
		free(pname);
		free(up);
	}
	/* expose: ports the other services reach (a ClusterIP Service) */
	json_array_foreach(json_object_get(svc, "expose"), i, p)
	{
		const char *e = json_string_value(p);
		long port = e ? strtol(e, NULL, 10) : 0;
		char *pname;

		if (port <= 0 || port > 65535)
			continue;
		pname = cs_xasprintf("e%zu-%ld", i, port);
		json_array_append_new(sports, json_pack("{s:s, s:i, s:i, s:s}", "name", pname,
							"port", (int)port, "targetPort", (int)port,
							"protocol", "TCP"));
		free(pname);
	}
	if (json_array_size(sports) == 0)
		warn(warnings, svc, "ports",
		     "is empty: no Kubernetes Service is made, so the other services cannot reach "
		     "this one by name (list its ports under expose:)");
	if (json_array_size(cports))
		json_object_set(ctr, "ports", cports);
	if ((p = probe(json_object_get(svc, "healthcheck"))) != NULL)
		json_object_set_new(ctr, "readinessProbe", p);
	if ((x = resources(deploy)) != NULL)
		json_object_set_new(ctr, "resources", x);
	if (json_is_true(json_object_get(svc, "privileged")) ||
	    json_is_true(json_object_get(svc, "read_only"))) {
		x = json_object();
		if (json_is_true(json_object_get(svc, "privileged")))
			json_object_set_new(x, "privileged", json_true());
		if (json_is_true(json_object_get(svc, "read_only")))
			json_object_set_new(x, "readOnlyRootFilesystem", json_true());
		json_object_set_new(ctr, "securityContext", x);
	}
	if (json_is_true(json_object_get(svc, "tty")))
		json_object_set_new(ctr, "tty", json_true());
	if (json_is_true(json_object_get(svc, "stdin_open")))
		json_object_set_new(ctr, "stdin", json_true());
	json_array_foreach(json_object_get(svc, "volumes"), i, v)
	{
		const char *type = dep_str(v, "type"), *src = dep_str(v, "source");
		char *vname = cs_xasprintf("vol-%zu", i);
		json_t *vol = NULL;

		if (type && strcmp(type, "volume") == 0 && src) {
			char *claim = k8s_name(src);

			vol = json_pack("{s:s, s:{s:s}}", "name", vname, "persistentVolumeClaim",
					"claimName", claim);
			stateful = 1;
			free(claim);
		} else if (type && (strcmp(type, "volume") == 0 || strcmp(type, "tmpfs") == 0)) {
			vol = json_pack("{s:s, s:o}", "name", vname, "emptyDir",
					strcmp(type, "tmpfs") == 0
					    ? json_pack("{s:s}", "medium", "Memory")
					    : json_object());
		} else {
			warn(warnings, svc, "volumes",
			     "has a bind mount: not translated to Kubernetes (a node's path is "
			     "not the project's)");
		}
		if (vol) {
			json_array_append_new(vols, vol);
			json_array_append_new(
			    mounts, json_pack("{s:s, s:s, s:b}", "name", vname, "mountPath",
					      dep_str(v, "target") ?: "/", "readOnly",
					      json_is_true(json_object_get(v, "read_only"))));
		}
		free(vname);
	}
	mount_data(svc, "secrets", 1, vols, mounts);
	mount_data(svc, "configs", 0, vols, mounts);
	if (json_array_size(mounts))
		json_object_set(ctr, "volumeMounts", mounts);
	podspec = json_pack("{s:[O]}", "containers", ctr);
	if (json_array_size(vols))
		json_object_set(podspec, "volumes", vols);
	if (dep_str(svc, "hostname"))
		json_object_set_new(podspec, "hostname", json_string(dep_str(svc, "hostname")));
	if (dep_num(svc, "stop_grace_period_ns") > 0)
		json_object_set_new(
		    podspec, "terminationGracePeriodSeconds",
		    json_integer((dep_num(svc, "stop_grace_period_ns") + 999999999LL) /
				 1000000000LL));
	tmpl = json_pack("{s:{s:O}, s:O}", "metadata", "labels", labels, "spec", podspec);
	spec = json_pack("{s:{s:O}, s:O}", "selector", "matchLabels", labels, "template", tmpl);
	if (strcmp(mode, "global") == 0) {
		workload = json_pack("{s:s, s:s}", "apiVersion", "apps/v1", "kind", "DaemonSet");
	} else if (strcmp(mode, "replicated-job") == 0 || strcmp(mode, "global-job") == 0) {
		json_object_del(spec, "selector");
		json_object_set_new(podspec, "restartPolicy", json_string("Never"));
		workload = json_pack("{s:s, s:s}", "apiVersion", "batch/v1", "kind", "Job");
	} else {
		workload = json_pack("{s:s, s:s}", "apiVersion", "apps/v1", "kind",
				     stateful ? "StatefulSet" : "Deployment");
		json_object_set_new(
		    spec, "replicas",
		    json_integer(json_is_integer(json_object_get(deploy, "replicas"))
				     ? dep_num(deploy, "replicas")
				     : 1));
		if (stateful)
			json_object_set_new(spec, "serviceName", json_string(name));
	}
	json_object_set_new(workload, "metadata", meta(name));
	json_object_set_new(workload, "spec", spec);
	add(list, workload, svc);
	if (json_array_size(sports)) {
		const char *type = !nodeport ? "ClusterIP"
				   : publish_mode && strcmp(publish_mode, "loadbalancer") == 0
				       ? "LoadBalancer"
				       : "NodePort";

		add(list,
		    json_pack("{s:s, s:s, s:o, s:{s:s, s:O, s:O}}", "apiVersion", "v1", "kind",
			      "Service", "metadata", meta(name), "spec", "type", type, "selector",
			      labels, "ports", sports),
		    svc);
	}
	json_decref(tmpl);
	json_decref(podspec);
	json_decref(labels);
	json_decref(ctr);
	json_decref(vols);
	json_decref(mounts);
	json_decref(env);
	json_decref(cports);
	json_decref(sports);
	free(name);
	return 0;
}

int
dep_kube_from_compose(json_t **out, json_t *model, const char *publish_mode,
		      struct cs_strvec *warnings)
{
	json_t *list = json_array(), *svc, *vol;
	const char *key, *app = dep_str(model, "name") ? dep_str(model, "name") : "app";
	int error = 0;

	*out = NULL;
	/* named volumes: one PersistentVolumeClaim each (1Gi, the default storage class) */
	json_object_foreach(json_object_get(model, "volumes"), key, vol)
	{
		char *name = k8s_name(key);

		if (!json_is_true(json_object_get(vol, "external")))
			add(list,
			    json_pack("{s:s, s:s, s:o, s:{s:[s], s:{s:{s:s}}}}", "apiVersion", "v1",
				      "kind", "PersistentVolumeClaim", "metadata", meta(name),
				      "spec", "accessModes", "ReadWriteOnce", "resources",
				      "requests", "storage", "1Gi"),
			    NULL);
		free(name);
	}
	if ((error = data_objects(list, model, "configs", 0)) < 0 ||
	    (error = data_objects(list, model, "secrets", 1)) < 0)
		goto out;
	json_object_foreach(json_object_get(model, "services"), key, svc)
	{
		if ((error =
			 translate_service(list, model, key, svc, app, publish_mode, warnings)) < 0)
			goto out;
	}
	*out = json_pack("{s:s, s:O}", "name", app, "manifests", list);
out:
	json_decref(list);
	return error;
}
