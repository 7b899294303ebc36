/*
 * The Kubernetes backend: API discovery once per run, server-side apply in
 * dependency order, a wait on every workload at once, and a restore of the
 * objects this run changed from the copies fetched before the apply.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "base64.h"
#include "clock.h"
#include "dockerauth.h"
#include "engine.h"
#include "err.h"
#include "http.h"
#include "kube.h"
#include "kube_int.h"
#include "kubeconfig.h"
#include "log.h"
#include "xalloc.h"

#define FIELD_MANAGER "caas-deployer"
#define L_MANAGED "app.kubernetes.io/managed-by"
#define L_INSTANCE "app.kubernetes.io/instance"
#define ACCEPT_DISCOVERY                                                                           \
	"Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"            \
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"               \
	"application/json"

/* HTTP. */

/*
 * One request. body (borrowed, may be NULL) is sent as JSON with ctype.
 * *status gets the HTTP status; *out (may be NULL) the decoded body.
 * Errors: transport only (CS_ENET, CS_ETIMEOUT, CS_EINTR).
 */
int
dep_kube__call(struct kube *k, const char *method, const char *path, const char *ctype,
	       json_t *body, const char *accept, long *status, json_t **out)
{
	struct cs_strvec hdrs = CS_STRVEC_INIT;
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_http_req req = {.method = method, .path = path, .timeout_ms = 60000};
	char *text = NULL;
	size_t i;
	int error;

	if (out)
		*out = NULL;
	for (i = 0; i < k->auth.nr; i++)
		cs_strvec_push(&hdrs, k->auth.v[i]);
	cs_strvec_push(&hdrs, accept ? accept : "Accept: application/json");
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		cs_strvec_pushf(&hdrs, "Content-Type: %s", ctype ? ctype : "application/json");
		req.body = text;
		req.body_len = strlen(text);
	}
	req.headers = &hdrs;
	resp.body.max = 256 << 20;
	error = cs_http_do(k->http, &req, &resp);
	if (error == 0) {
		*status = resp.status;
		if (out && resp.body.len)
			*out = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
	}
	cs_http_resp_release(&resp);
	cs_strvec_wipe(&hdrs);
	free(text);
	return error;
}

const char *
dep_kube__status_message(json_t *resp)
{
	const char *m = json_string_value(json_object_get(resp, "message"));

	return m ? m : "no message";
}

/* GET path: 0 and *out, CS_ENOTFOUND for 404, CS_EHTTP otherwise. */
int
dep_kube__get(struct kube *k, const char *path, json_t **out)
{
	json_t *resp = NULL;
	long status = 0;
	int error;

	*out = NULL;
	if ((error = dep_kube__call(k, "GET", path, NULL, NULL, NULL, &status, &resp)) < 0)
		return error;
	if (status == 200 && resp) {
		*out = resp;
		return 0;
	}
	error = cs_err_set(status == 404 ? CS_ENOTFOUND : CS_EHTTP, "GET %s: HTTP %ld: %s", path,
			   status, dep_kube__status_message(resp));
	json_decref(resp);
	return error;
}

/* Discovery. */

static void
disc_add(struct kube *k, const char *gv, const char *kind, const char *resource, int namespaced)
{
	char *key = cs_xasprintf("%s %s", gv, kind);

	if (json_object_get(k->disc, key) == NULL)
		json_object_set_new(
		    k->disc, key,
		    json_pack("{s:s, s:b}", "resource", resource, "namespaced", namespaced));
	free(key);
}

/* An APIGroupDiscoveryList (aggregated discovery). */
static void
disc_aggregated(struct kube *k, json_t *list)
{
	json_t *g, *v, *r;
	size_t i, j, n;

	json_array_foreach(json_object_get(list, "items"), i, g)
	{
		const char *group =
		    json_string_value(json_object_get(json_object_get(g, "metadata"), "name"));

		json_array_foreach(json_object_get(g, "versions"), j, v)
		{
			const char *ver = json_string_value(json_object_get(v, "version"));
			char *gv;

			if (ver == NULL)
				continue;
			gv = group && *group ? cs_xasprintf("%s/%s", group, ver) : cs_xstrdup(ver);
			json_array_foreach(json_object_get(v, "resources"), n, r)
			{
				const char *res = json_string_value(json_object_get(r, "resource"));
				const char *kind = json_string_value(
				    json_object_get(json_object_get(r, "responseKind"), "kind"));
				const char *scope = json_string_value(json_object_get(r, "scope"));

				if (res && kind && scope)
					disc_add(k, gv, kind, res,
						 strcmp(scope, "Namespaced") == 0);
			}
			free(gv);
		}
	}
}

/* An APIResourceList of one group version (legacy discovery). */
static int
disc_group_version(struct kube *k, const char *gv)
{
	char *path = strchr(gv, '/') ? cs_xasprintf("/apis/%s", gv) : cs_xasprintf("/api/%s", gv);
	json_t *list = NULL, *r;
	size_t i;
	int error = dep_kube__get(k, path, &list);

	free(path);
	if (error == CS_EHTTP || error == CS_ENOTFOUND)
		return 0; /* an unavailable aggregated API: skip it as kubectl does */
	if (error < 0)
		return error;
	json_array_foreach(json_object_get(list, "resources"), i, r)
	{
		const char *res = json_string_value(json_object_get(r, "name"));
		const char *kind = json_string_value(json_object_get(r, "kind"));

		if (res && kind && strchr(res, '/') == NULL)
			disc_add(k, gv, kind, res, json_is_true(json_object_get(r, "namespaced")));
	}
	json_decref(list);
	return 0;
}

static int
discover(struct kube *k)
{
	static const char *const roots[] = {"/api", "/apis"};
	json_t *resp = NULL, *x;
	long status = 0;
	size_t i, j, n;
	int error = 0;

	json_decref(k->disc);
	k->disc = json_object();
	for (i = 0; i < 2; i++) {
		if ((error = dep_kube__call(k, "GET", roots[i], NULL, NULL, ACCEPT_DISCOVERY,
					    &status, &resp)) < 0)
			return error;
		if (status == 401 || status == 403) {
			error = cs_err_set(CS_EHTTP, "GET %s: HTTP %ld: %s (check the credentials)",
					   roots[i], status, dep_kube__status_message(resp));
			goto out;
		}
		if (status != 200 || resp == NULL) {
			error = cs_err_set(CS_EHTTP, "GET %s: HTTP %ld: %s", roots[i], status,
					   dep_kube__status_message(resp));
			goto out;
		}
		if (json_string_value(json_object_get(resp, "kind")) &&
		    strcmp(json_string_value(json_object_get(resp, "kind")),
			   "APIGroupDiscoveryList") == 0) {
			k->aggregated = 1;
			disc_aggregated(k, resp);
		} else if (i == 0) {
			json_array_foreach(json_object_get(resp, "versions"), j, x)
			{
				if (json_is_string(x) &&
				    (error = disc_group_version(k, json_string_value(x))) < 0)
					goto out;
			}
		} else {
			json_array_foreach(json_object_get(resp, "groups"), j, x)
			{
				json_t *v;

				json_array_foreach(json_object_get(x, "versions"), n, v)
				{
					const char *gv =
					    json_string_value(json_object_get(v, "groupVersion"));

					if (gv && (error = disc_group_version(k, gv)) < 0)
						goto out;
				}
			}
		}
		json_decref(resp);
		resp = NULL;
	}
out:
	json_decref(resp);
	return error;
}

static json_t *
disc_find(struct kube *k, const char *api, const char *kind)
{
	char *key = cs_xasprintf("%s %s", api, kind);
	json_t *r = json_object_get(k->disc, key);

	free(key);
	return r;
}

/* The collection path of (api, resource) in namespace ns (NULL: cluster-wide). */
static char *
coll_path(const char *api, const char *resource, const char *ns)
{
	const char *root = strchr(api, '/') ? "/apis" : "/api";

	if (ns)
		return cs_xasprintf("%s/%s/namespaces/%s/%s", root, api, ns, resource);
	return cs_xasprintf("%s/%s/%s", root, api, resource);
}

/* The object path of a kitem; NULL while its kind is not served yet. */
char *
dep_kube__obj_path(struct kube *k, const struct kitem *p)
{
	json_t *r = disc_find(k, p->api, p->kind);
	char *coll, *path;

	if (r == NULL)
		return NULL;
	coll = coll_path(p->api, json_string_value(json_object_get(r, "resource")), p->ns);
	path = cs_xasprintf("%s/%s", coll, p->name);
	free(coll);
	return path;
}

/* Order. */

static int
kind_order(const char *kind)
{
	static const char *const groups[][8] = {
	    {"Namespace"},
	    {"CustomResourceDefinition"},
	    {"ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"},
	    {"ConfigMap", "Secret"},
	    {"StorageClass", "PersistentVolume", "PersistentVolumeClaim"},
	    {"Service"},
	    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
	     "ReplicationController"},
	};
	size_t i, j;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		for (j = 0; j < 8 && groups[i][j]; j++)
			if (strcmp(groups[i][j], kind) == 0)
				return (int)i;
	return 7;
}

int
dep_kube__is_workload(const char *kind)
{
	return strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0 ||
	       strcmp(kind, "DaemonSet") == 0 || strcmp(kind, "Job") == 0 ||
	       strcmp(kind, "Pod") == 0;
}

/* The pod spec of a workload object (borrowed), or NULL. */
static json_t *
pod_spec(json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *spec = json_object_get(obj, "spec");

	if (kind == NULL)
		return NULL;
	if (strcmp(kind, "Pod") == 0)
		return spec;
	if (strcmp(kind, "CronJob") == 0)
		spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
	else if (!dep_kube__is_workload(kind) && strcmp(kind, "ReplicaSet") != 0 &&
		 strcmp(kind, "ReplicationController") != 0)
		return NULL;
	return json_object_get(json_object_get(spec, "template"), "spec");
}

/* Open. */

static int
kube_open(struct dep_ctx *ctx)
{
	struct kube *k = cs_xcalloc(1, sizeof(*k));
	const char *bay = ctx->opts->bay;
	json_t *ver = NULL;
	int error;

	ctx->priv = k;
	k->disc = json_object();
	if (bay && (strncmp(bay, "http://", 7) == 0 || strncmp(bay, "https://", 8) == 0))
		error = cs_kubeconfig_from_url(&k->kc, bay);
	else if (bay && *bay)
		error = cs_err_set(CS_EINVAL,
				   "--bay '%s': Kubernetes wants http(s)://HOST:PORT, or a "
				   "kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config)",
				   bay);
	else
		error = cs_kubeconfig_load(&k->kc, ctx->opts->kubeconfig, ctx->opts->context, NULL);
	if (error < 0)
		return error == CS_ENOTFOUND || error == CS_EIO || error == CS_EPARSE ? CS_EINVAL
										      : error;
	k->ns = ctx->opts->namespace ? ctx->opts->namespace
		: k->kc.namespace    ? k->kc.namespace
				     : "default";
	if ((error = cs_kubeconfig_client(&k->http, &k->auth, &k->kc)) < 0)
		return error;
	cs_http_set_cancel(k->http, ctx->cancel);
	if ((error = dep_kube__get(k, "/version", &ver)) < 0) {
		if (cs_err_unreachable(error))
			return error;
		return cs_err_set(CS_EHTTP, "%s: not a Kubernetes API server: %s", k->kc.server,
				  cs_err_msg());
	}
	cs_log(CS_LOG_INFO, "Kubernetes %s at %s, namespace %s",
	       json_string_value(json_object_get(ver, "gitVersion")) ?: "?", k->kc.server, k->ns);
	json_decref(ver);
	return discover(k);
}

/* Plan. */

static void
set_label(json_t *obj, const char *key, const char *value)
{
	json_t *md = json_object_get(obj, "metadata"), *labels;

	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	labels = json_object_get(md, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(md, "labels", labels);
	}
	json_object_set_new(labels, key, json_string(value));
}

/* A DNS-1123 name made from the app name. */
static char *
dns_name(const char *app, const char *suffix)
{
	char *s = cs_xasprintf("%s%s", app, suffix), *p;

	for (p = s; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (*p == '_' || *p == '.')
			*p = '-';
	}
	return s;
}

/* The kubernetes.io/dockerconfigjson Secret for cred in namespace ns. */
static json_t *
pull_secret(const struct cs_dockerauth *cred, const char *name, const char *ns)
{
	struct cs_buf userpw = CS_BUF_INIT, auth = CS_BUF_INIT, data = CS_BUF_INIT;
	json_t *entry, *cfg, *secret;
	char *text;

	entry = json_object();
	if (cred->username)
		json_object_set_new(entry, "username", json_string(cred->username));
	if (cred->password) {
		json_object_set_new(entry, "password", json_string(cred->password));
		cs_buf_addf(&userpw, "%s:%s", cred->username ? cred->username : "", cred->password);
		cs_base64_encode(&auth, userpw.buf, userpw.len, 0);
		cs_log_secret_add(auth.buf);
		json_object_set_new(entry, "auth", json_string(auth.buf));
	}
	if (cred->identitytoken)
		json_object_set_new(entry, "identitytoken", json_string(cred->identitytoken));
	cfg = json_pack("{s:{s:o}}", "auths", cred->server ? cred->server : "docker.io", entry);
	text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	cs_base64_encode(&data, text, strlen(text), 0);
	cs_log_secret_add(data.buf);
	secret = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
			   "Secret", "metadata", "name", name, "namespace", ns, "type",
			   "kubernetes.io/dockerconfigjson", "data", ".dockerconfigjson", data.buf);
	explicit_bzero(text, strlen(text));
	free(text);
	json_decref(cfg);
	cs_buf_wipe(&userpw);
	cs_buf_wipe(&auth);
	cs_buf_wipe(&data);
	return secret;
}

/* The fields compared to tell an unchanged object: no resourceVersion, no managedFields times, no
 * status. */
static json_t *
comparable(json_t *obj)
{
	json_t *c = json_deep_copy(obj), *md = json_object_get(c, "metadata"), *mf;
	size_t i;

	json_object_del(c, "status");
	json_object_del(md, "resourceVersion");
	json_array_foreach(json_object_get(md, "managedFields"), i, mf)
	{
		json_object_del(mf, "time");
	}
	return c;
}

/* "field .spec.replicas is owned by manager 'other'" lines of a 409 from apply. */
static int
conflict_error(json_t *resp, const char *what)
{
	struct cs_buf b = CS_BUF_INIT;
	json_t *c;
	size_t i;
	int error;

	json_array_foreach(json_object_get(json_object_get(resp, "details"), "causes"), i, c)
	{
		const char *field = json_string_value(json_object_get(c, "field"));
		const char *msg = json_string_value(json_object_get(c, "message"));

		cs_buf_addf(&b, "%sfield %s: %s", b.len ? "; " : "", field ? field : "?",
			    msg ? msg : "conflict");
	}
	error = cs_err_set(CS_EHTTP,
			   "%s: conflict: %s (another field manager owns these fields; "
			   "--force-conflicts takes them over)",
			   what, b.len ? b.buf : dep_kube__status_message(resp));
	cs_buf_release(&b);
	return error;
}

/*
 * Server-side apply of obj at path (dry run when dry); *out the object the
 * server returns. Errors: CS_EHTTP (conflicts named), transport errors.
 */
static int
apply_obj(struct dep_ctx *ctx, const char *path, json_t *obj, int dry, const char *what,
	  json_t **out)
{
	struct kube *k = K(ctx);
	char *url =
	    cs_xasprintf("%s?fieldManager=" FIELD_MANAGER "%s%s", path, dry ? "&dryRun=All" : "",
			 ctx->opts->force_conflicts ? "&force=true" : "");
	json_t *resp = NULL;
	long status = 0;
	int error;

	*out = NULL;
	error = dep_kube__call(k, "PATCH", url, "application/apply-patch+yaml", obj, NULL, &status,
			       &resp);
	free(url);
	if (error < 0)
		return error;
	if (status == 200 || status == 201) {
		*out = resp;
		return 0;
	}
	if (status == 409)
		error = conflict_error(resp, what);
	else
		error = cs_err_set(CS_EHTTP, "%s: HTTP %ld: %s", what, status,
				   dep_kube__status_message(resp));
	json_decref(resp);
	return error;
}

static char *
display_name(const struct kitem *p)
{
	return p->ns ? cs_xasprintf("%s/%s", p->ns, p->name) : cs_xstrdup(p->name);
}

static struct kitem *
kitem_new(json_t *obj, const char *ns)
{
	struct kitem *p = cs_xcalloc(1, sizeof(*p));
	json_t *md = json_object_get(obj, "metadata");

	p->api = cs_xstrdup(json_string_value(json_object_get(obj, "apiVersion")));
	p->kind = cs_xstrdup(json_string_value(json_object_get(obj, "kind")));
	p->name = cs_xstrdup(json_string_value(json_object_get(md, "name")));
	p->ns = ns ? cs_xstrdup(ns) : NULL;
	p->order = kind_order(p->kind);
	return p;
}

/* Kinds a CRD of this run will serve: "group/version Kind" -> {resource, namespaced}. */
static void
note_crd_kinds(json_t *pending, json_t *crd)
{
	json_t *spec = json_object_get(crd, "spec"), *v;
	const char *group = json_string_value(json_object_get(spec, "group"));
	const char *kind =
	    json_string_value(json_object_get(json_object_get(spec, "names"), "kind"));
	const char *plural =
	    json_string_value(json_object_get(json_object_get(spec, "names"), "plural"));
	const char *scope = json_string_value(json_object_get(spec, "scope"));
	size_t i;

	if (!group || !kind || !plural)
		return;
	json_array_foreach(json_object_get(spec, "versions"), i, v)
	{
		const char *ver = json_string_value(json_object_get(v, "name"));
		char *key;

		if (ver == NULL)
			continue;
		key = cs_xasprintf("%s/%s %s", group, ver, kind);
		json_object_set_new(pending, key,
				    json_pack("{s:s, s:b}", "resource", plural, "namespaced",
					      scope && strcmp(scope, "Namespaced") == 0));
		free(key);
	}
}

/* Add the pull secret reference to every pod spec, and the Secrets, one per namespace. */
static void
add_pull_secrets(struct dep_ctx *ctx, json_t *objs, json_t *nsmap)
{
	const char *app = ctx->opts->app;
	char *name = dns_name(app, "-registry");
	json_t *o, *secrets = json_object();
	size_t i;
	const char *ns;

	json_array_foreach(objs, i, o)
	{
		json_t *ps = pod_spec(o), *ips, *ref;
		size_t j;
		int have = 0;

		if (ps == NULL)
			continue;
		ips = json_object_get(ps, "imagePullSecrets");
		if (!json_is_array(ips)) {
			ips = json_array();
			json_object_set_new(ps, "imagePullSecrets", ips);
		}
		json_array_foreach(ips, j, ref)
		{
			if (dep_str(ref, "name") && strcmp(dep_str(ref, "name"), name) == 0)
				have = 1;
		}
		if (!have)
			json_array_append_new(ips, json_pack("{s:s}", "name", name));
		ns = json_string_value(json_array_get(nsmap, i));
		json_object_set_new(secrets, ns ? ns : ctx->opts->namespace ?: "default",
				    json_true());
	}
	json_object_foreach(secrets, ns, o)
	{
		json_array_append_new(objs, pull_secret(ctx->opts->registry_cred, name, ns));
		json_array_append_new(nsmap, json_string(ns));
	}
	json_decref(secrets);
	free(name);
}

static int
by_order(const void *a, const void *b)
{
	const struct dep_item *x = a, *y = b;
	const struct kitem *p = x->priv, *q = y->priv;

	if (p->order != q->order)
		return p->order - q->order;
	return p->seq - q->seq;
}

/* Kinds looked at for --prune besides the kinds of the files. */
static const char *const prune_kinds[][2] = {
    {"v1", "ConfigMap"},
    {"v1", "Secret"},
    {"v1", "Service"},
    {"v1", "ServiceAccount"},
    {"v1", "PersistentVolumeClaim"},
    {"v1", "Pod"},
    {"apps/v1", "Deployment"},
    {"apps/v1", "StatefulSet"},
    {"apps/v1", "DaemonSet"},
    {"batch/v1", "Job"},
    {"batch/v1", "CronJob"},
    {"autoscaling/v2", "HorizontalPodAutoscaler"},
    {"networking.k8s.io/v1", "Ingress"},
    {"policy/v1", "PodDisruptionBudget"},
    {"rbac.authorization.k8s.io/v1", "Role"},
    {"rbac.authorization.k8s.io/v1", "RoleBinding"},
};

static int
plan_prune(struct dep_ctx *ctx, json_t *want)
{
	struct kube *k = K(ctx);
	json_t *kinds = json_object(), *x, *list = NULL, *o;
	const char *key;
	char *sel = cs_xasprintf("?labelSelector=" L_MANAGED "%%3D" FIELD_MANAGER ",%s%%3D%s",
				 L_INSTANCE, ctx->opts->app);
	size_t i, n;
	int error = 0;

	for (i = 0; i < sizeof(prune_kinds) / sizeof(prune_kinds[0]); i++) {
		char *kk = cs_xasprintf("%s %s", prune_kinds[i][0], prune_kinds[i][1]);

		json_object_set_new(kinds, kk, json_true());
		free(kk);
	}
	for (i = 0; i < ctx->plan.nr; i++) {
		struct kitem *p = ctx->plan.v[i].priv;
		char *kk = cs_xasprintf("%s %s", p->api, p->kind);

		json_object_set_new(kinds, kk, json_true());
		free(kk);
	}
	json_object_foreach(kinds, key, x)
	{
		json_t *r = json_object_get(k->disc, key);
		const char *sp = strchr(key, ' ');
		char *api, *coll, *path;

		if (r == NULL)
			continue;
		api = cs_xstrndup(key, (size_t)(sp - key));
		coll = coll_path(api, json_string_value(json_object_get(r, "resource")), NULL);
		path = cs_xasprintf("%s%s", coll, sel);
		error = dep_kube__get(k, path, &list);
		free(coll);
		free(path);
		if (error == CS_EHTTP || error == CS_ENOTFOUND) {
			error = 0; /* not listable (RBAC): nothing to prune there */
			free(api);
			continue;
		}
		if (error < 0) {
			free(api);
			goto out;
		}
		json_array_foreach(json_object_get(list, "items"), n, o)
		{
			json_t *md = json_object_get(o, "metadata");
			const char *ns = dep_str(md, "namespace"), *name = dep_str(md, "name");
			char *id = cs_xasprintf("%s %s %s %s", api, sp + 1, ns ? ns : "", name);
			struct dep_item *it;
			struct kitem *p;

			if (json_object_get(want, id) || json_object_get(md, "ownerReferences")) {
				free(id);
				continue;
			}
			json_object_set_new(want, id, json_true());
			p = cs_xcalloc(1, sizeof(*p));
			p->api = cs_xstrdup(api);
			p->kind = cs_xstrdup(sp + 1);
			p->name = cs_xstrdup(name);
			p->ns = ns ? cs_xstrdup(ns) : NULL;
			p->order = -kind_order(p->kind); /* reverse order */
			p->seq = (int)ctx->plan.nr;
			{
				char *dn = display_name(p);

				it = dep_plan_add(&ctx->plan, DEP_KIND_OBJECT, DEP_ACT_REMOVE, dn,
						  NULL);
				free(dn);
			}
			it->kind_name = cs_xstrdup(p->kind);
			it->priv = p;
			it->current = json_incref(o);
			free(id);
		}
		json_decref(list);
		list = NULL;
		free(api);
	}
out:
	json_decref(list);
	json_decref(kinds);
	free(sel);
	return error;
}

static int
kube_plan(struct dep_ctx *ctx)
{
	struct kube *k = K(ctx);
	json_t *objs = json_array(), *nsmap = json_array(), *pending = json_object();
	json_t *want = json_object(), *new_ns = json_object(), *m, *o;
	size_t i, first_remove;
	int error = 0;

	/* the objects as they will be sent: labels, namespace */
	json_array_foreach(json_object_get(ctx->model, "manifests"), i, m)
	{
		o = json_deep_copy(json_object_get(m, "object"));
		set_label(o, L_MANAGED, FIELD_MANAGER);
		set_label(o, L_INSTANCE, ctx->opts->app);
		json_array_append_new(objs, o);
		if (dep_str(o, "kind") &&
		    strcmp(dep_str(o, "kind"), "CustomResourceDefinition") == 0)
			note_crd_kinds(pending, o);
	}
	json_array_foreach(objs, i, o)
	{
		json_t *md = json_object_get(o, "metadata");
		json_t *r = disc_find(k, dep_str(o, "apiVersion"), dep_str(o, "kind"));
		char *key = cs_xasprintf("%s %s", dep_str(o, "apiVersion"), dep_str(o, "kind"));

		if (r == NULL)
			r = json_object_get(pending, key);
		free(key);
		if (r == NULL) {
			json_t *mm = json_array_get(json_object_get(ctx->model, "manifests"), i);

			error = cs_err_set(CS_EINVAL,
					   "%s: document %d (line %d): the server does not serve "
					   "%s %s (and no CustomResourceDefinition of the files "
					   "defines it)",
					   dep_str(mm, "file") ?: "?", (int)dep_num(mm, "doc"),
					   (int)dep_num(mm, "line"), dep_str(o, "kind"),
					   dep_str(o, "apiVersion"));
			goto out;
		}
		if (json_is_true(json_object_get(r, "namespaced"))) {
			if (!dep_str(md, "namespace"))
				json_object_set_new(md, "namespace", json_string(k->ns));
			json_array_append_new(nsmap, json_string(dep_str(md, "namespace")));
		} else {
			json_object_del(md, "namespace");
			json_array_append_new(nsmap, json_null());
		}
	}
	if (ctx->opts->registry_cred)
		add_pull_secrets(ctx, objs, nsmap);

	json_array_foreach(objs, i, o)
	{
		const char *ns = json_string_value(json_array_get(nsmap, i));
		struct kitem *p = kitem_new(o, ns);
		char *id = cs_xasprintf("%s %s %s %s", p->api, p->kind, ns ? ns : "", p->name);
		char *dn = display_name(p);
		struct dep_item *it;

		if (json_object_get(want, id)) {
			error = cs_err_set(CS_EINVAL, "%s %s is defined twice in the files",
					   p->kind, dn);
			free(id);
			free(dn);
			free(p->api), free(p->kind), free(p->name), free(p->ns), free(p);
			goto out;
		}
		json_object_set_new(want, id, json_true());
		it = dep_plan_add(&ctx->plan, DEP_KIND_OBJECT, DEP_ACT_CREATE, dn, NULL);
		it->kind_name = cs_xstrdup(p->kind);
		it->priv = p;
		p->seq = (int)i;
		{
			json_t *mm = json_array_get(json_object_get(ctx->model, "manifests"), i);

			if (mm && dep_str(mm, "file"))
				p->where =
				    cs_xasprintf("%s: document %d (line %d)", dep_str(mm, "file"),
						 (int)dep_num(mm, "doc"), (int)dep_num(mm, "line"));
		}
		it->desired = json_incref(o);
		p->unknown = disc_find(k, p->api, p->kind) == NULL;
		free(id);
		free(dn);
	}
	qsort(ctx->plan.v, ctx->plan.nr, sizeof(ctx->plan.v[0]), by_order);

	/* what the server holds now, and what an apply would change (server-side dry run) */
	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];
		struct kitem *p = it->priv;
		char *path, *what;
		json_t *cur = NULL, *dry = NULL, *a, *b;

		if (p->unknown)
			continue; /* its CRD comes with this run: it is created */
		path = dep_kube__obj_path(k, p);
		error = dep_kube__get(k, path, &cur);
		if (error == CS_ENOTFOUND) {
			/*
			 * A new object: the server validates it now (dry run), so that
			 * a rejected one stops the run before anything changed. Not
			 * possible in a namespace this run creates.
			 */
			error = 0;
			if (strcmp(p->kind, "Namespace") == 0)
				json_object_set_new(new_ns, p->name, json_true());
			if (p->ns == NULL || json_object_get(new_ns, p->ns) == NULL) {
				what = cs_xasprintf("%s%s%s %s", p->where ? p->where : "",
						    p->where ? ": " : "", p->kind, it->name);
				error = apply_obj(ctx, path, it->desired, 1, what, &dry);
				free(what);
				json_decref(dry);
				dry = NULL;
			}
			free(path);
			if (error < 0)
				goto out;
			continue;
		}
		if (error < 0) {
			free(path);
			goto out;
		}
		it->current = cur;
		it->action = DEP_ACT_UPDATE;
		{
			json_t *l = json_object_get(json_object_get(cur, "metadata"), "labels");
			const char *owner = dep_str(l, L_INSTANCE);

			/* another app deployed it: taking it silently would break that app */
			if (owner && dep_str(l, L_MANAGED) &&
			    strcmp(dep_str(l, L_MANAGED), FIELD_MANAGER) == 0 &&
			    strcmp(owner, ctx->opts->app) != 0 && !ctx->opts->force_conflicts) {
				error = cs_err_set(CS_EHTTP,
						   "%s %s belongs to app '%s' (label " L_INSTANCE
						   "); --force-conflicts takes it over",
						   p->kind, it->name, owner);
				free(path);
				goto out;
			}
		}
		what = cs_xasprintf("%s%s%s %s", p->where ? p->where : "", p->where ? ": " : "",
				    p->kind, it->name);
		error = apply_obj(ctx, path, it->desired, 1, what, &dry);
		free(what);
		free(path);
		if (error < 0)
			goto out;
		a = comparable(cur);
		b = comparable(dry);
		if (json_equal(a, b))
			it->action = DEP_ACT_UNCHANGED;
		json_decref(a);
		json_decref(b);
		json_decref(dry);
	}
	first_remove = ctx->plan.nr;
	if (ctx->opts->prune && (error = plan_prune(ctx, want)) < 0)
		goto out;
	qsort(ctx->plan.v + first_remove, ctx->plan.nr - first_remove, sizeof(ctx->plan.v[0]),
	      by_order);
out:
	json_decref(objs);
	json_decref(nsmap);
	json_decref(pending);
	json_decref(want);
	json_decref(new_ns);
	return error;
}

/* Apply. */

static int
wait_crd(struct dep_ctx *ctx, const char *path, const char *name)
{
	struct kube *k = K(ctx);
	double until = cs_clock_now() + 60;
	json_t *crd = NULL, *c;
	size_t i;
	int error;

	for (;;) {
		if ((error = dep_kube__get(k, path, &crd)) < 0 && error != CS_ENOTFOUND)
			return error;
		json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), i,
				   c)
		{
			if (dep_str(c, "type") && strcmp(dep_str(c, "type"), "Established") == 0 &&
			    dep_str(c, "status") && strcmp(dep_str(c, "status"), "True") == 0) {
				json_decref(crd);
				return discover(k);
			}
		}
		json_decref(crd);
		crd = NULL;
		if (dep_interrupted())
			return cs_err_set(CS_EINTR, "interrupted");
		if (cs_clock_now() > until)
			return cs_err_set(CS_ETIMEOUT,
					  "CustomResourceDefinition %s is not Established after "
					  "60 s",
					  name);
		cs_clock_sleep_ms(200);
	}
}

static int
kube_apply(struct dep_ctx *ctx, struct dep_item *it)
{
	struct kube *k = K(ctx);
	struct kitem *p = it->priv;
	char *path = dep_kube__obj_path(k, p), *what = NULL;
	json_t *res = NULL, *status = NULL;
	long st = 0;
	int error = 0;

	if (path == NULL) {
		error = cs_err_set(CS_EHTTP, "the server does not serve %s %s", p->kind, p->api);
		goto out;
	}
	if (it->action == DEP_ACT_REMOVE) {
		char *url = cs_xasprintf("%s?propagationPolicy=Background", path);

		error = dep_kube__call(k, "DELETE", url, NULL, NULL, NULL, &st, &status);
		free(url);
		if (error == 0 && st != 200 && st != 202 && st != 404)
			error = cs_err_set(CS_EHTTP, "DELETE %s: HTTP %ld: %s", path, st,
					   dep_kube__status_message(status));
		if (error == 0) {
			it->applied = 1;
			cs_out("removed %s %s", p->kind, it->name);
		}
		goto out;
	}
	what = cs_xasprintf("%s%s%s %s", p->where ? p->where : "", p->where ? ": " : "", p->kind,
			    it->name);
	if ((error = apply_obj(ctx, path, it->desired, 0, what, &res)) < 0)
		goto out;
	it->applied = 1;
	free(it->id);
	it->id = dep_str(json_object_get(res, "metadata"), "resourceVersion")
		     ? cs_xstrdup(dep_str(json_object_get(res, "metadata"), "resourceVersion"))
		     : NULL;
	cs_out("%s %s %s", it->action == DEP_ACT_CREATE ? "created" : "updated", p->kind, it->name);
	if (strcmp(p->kind, "CustomResourceDefinition") == 0) {
		error = wait_crd(ctx, path, it->name);
	} else if (dep_kube__is_workload(p->kind)) {
		it->wait = 1;
	} else if (strcmp(p->kind, "Service") == 0 &&
		   dep_str(json_object_get(it->desired, "spec"), "type") &&
		   strcmp(dep_str(json_object_get(it->desired, "spec"), "type"), "LoadBalancer") ==
		       0) {
		it->wait = 1;
	}
	it->done = it->failed = 0;
out:
	json_decref(res);
	json_decref(status);
	free(path);
	free(what);
	return error;
}

/*
 * apply(it) got no answer: a server-side apply is one request, so the object
 * exists now (a create) or has another resourceVersion (an update), or the
 * request did not take effect.
 */
static int
kube_recheck(struct dep_ctx *ctx, struct dep_item *it)
{
	struct kube *k = K(ctx);
	struct kitem *p = it->priv;
	char *path = dep_kube__obj_path(k, p);
	json_t *obj = NULL;
	const char *rv, *was;
	int error;

	if (path == NULL || it->action == DEP_ACT_REMOVE) {
		free(path);
		return 0;
	}
	error = dep_kube__get(k, path, &obj);
	if (error == CS_ENOTFOUND) {
		error = 0;
		goto out;
	}
	if (error < 0)
		goto out;
	rv = dep_str(json_object_get(obj, "metadata"), "resourceVersion");
	was = dep_str(json_object_get(it->current, "metadata"), "resourceVersion");
	if (!it->applied && it->action == DEP_ACT_UPDATE && rv && was && strcmp(rv, was) == 0)
		goto out; /* not changed */
	it->applied = 1;
	free(it->id);
	it->id = rv ? cs_xstrdup(rv) : NULL;
	cs_log(CS_LOG_INFO, "%s %s was %s (its answer was lost)", p->kind, it->name,
	       it->action == DEP_ACT_CREATE ? "created" : "updated");
	if (strcmp(p->kind, "CustomResourceDefinition") == 0)
		error = wait_crd(ctx, path, it->name);
	it->wait = dep_kube__is_workload(p->kind);
	it->done = it->failed = 0;
out:
	json_decref(obj);
	free(path);
	return error;
}

/* Roll back. */

/* The object as it was, ready to be PUT back: no resourceVersion, status or server fields. */
static json_t *
restorable(json_t *cur)
{
	json_t *o = json_deep_copy(cur), *md = json_object_get(o, "metadata");

	json_object_del(o, "status");
	json_object_del(md, "resourceVersion");
	json_object_del(md, "managedFields");
	json_object_del(md, "generation");
	json_object_del(md, "creationTimestamp");
	return o;
}

static int
kube_rollback(struct dep_ctx *ctx, struct dep_item *it)
{
	struct kube *k = K(ctx);
	struct kitem *p = it->priv;
	char *path = dep_kube__obj_path(k, p), *url;
	json_t *resp = NULL, *body;
	long st = 0;
	int error;

	if (path == NULL)
		return 0;
	if (it->action == DEP_ACT_CREATE) {
		if (ctx->opts->keep_on_failure) {
			free(path);
			return 0;
		}
		url = cs_xasprintf("%s?propagationPolicy=Foreground", path);
		error = dep_kube__call(k, "DELETE", url, NULL, NULL, NULL, &st, &resp);
		free(url);
		if (error == 0 && st != 200 && st != 202 && st != 404)
			error = cs_err_set(CS_EHTTP, "DELETE %s: HTTP %ld: %s", path, st,
					   dep_kube__status_message(resp));
		if (error == 0) {
			cs_out("removed %s %s", p->kind, it->name);
			p->deleting = 1;
			it->wait = strcmp(p->kind, "Namespace") != 0; /* a namespace takes long */
			it->done = it->failed = 0;
		}
	} else {
		body = restorable(it->current);
		url = cs_xasprintf("%s?fieldManager=" FIELD_MANAGER, path);
		error = dep_kube__call(k, "PUT", url, "application/json", body, NULL, &st, &resp);
		free(url);
		json_decref(body);
		if (error == 0 && st != 200)
			error = cs_err_set(CS_EHTTP, "PUT %s: HTTP %ld: %s", path, st,
					   dep_kube__status_message(resp));
		/*
		 * The PUT made "caas-deployer" an Update manager of the fields it put
		 * back, which the next apply (an Apply manager of the same name) would
		 * conflict with: give the object its previous managedFields back too
		 * (a patch that changes no value keeps them as given).
		 */
		if (error == 0 && json_array_size(json_object_get(
				      json_object_get(it->current, "metadata"), "managedFields"))) {
			json_t *patch =
			    json_pack("[{s:s, s:s, s:O}]", "op", "replace", "path",
				      "/metadata/managedFields", "value",
				      json_object_get(json_object_get(it->current, "metadata"),
						      "managedFields"));

			json_decref(resp);
			resp = NULL;
			error = dep_kube__call(k, "PATCH", path, "application/json-patch+json",
					       patch, NULL, &st, &resp);
			json_decref(patch);
			if (error == 0 && st != 200)
				error =
				    cs_err_set(CS_EHTTP, "PATCH %s (managedFields): HTTP %ld: %s",
					       path, st, dep_kube__status_message(resp));
		}
		if (error == 0) {
			cs_out("restored %s %s", p->kind, it->name);
			it->wait = dep_kube__is_workload(p->kind);
			it->done = it->failed = 0;
		}
	}
	json_decref(resp);
	free(path);
	return error;
}

static void
kube_close(struct dep_ctx *ctx)
{
	struct kube *k = ctx->priv;

	if (k == NULL)
		return;
	cs_http_free(k->http);
	cs_strvec_wipe(&k->auth);
	cs_kubeconfig_release(&k->kc);
	json_decref(k->disc);
	free(k);
	ctx->priv = NULL;
}

static void
kube_item_release(struct dep_item *it)
{
	struct kitem *p = it->priv;

	if (p == NULL)
		return;
	free(p->api);
	free(p->kind);
	free(p->where);
	free(p->ns);
	free(p->name);
	dep_stable_release(&p->st);
	free(p);
	it->priv = NULL;
}

const struct dep_backend dep_backend_kubernetes = {
    .coe = "kubernetes",
    .open = kube_open,
    .plan = kube_plan,
    .apply = kube_apply,
    .wait = dep_kube__wait,
    .rollback = kube_rollback,
    .recheck = kube_recheck,
    .report = dep_kube__report,
    .close = kube_close,
    .item_release = kube_item_release,
};
