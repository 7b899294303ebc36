/*
 * The Kubernetes backend's wait (every workload at once, failing fast on the
 * pod reasons that do not heal) and its endpoint report.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "converge.h"
#include "engine.h"
#include "err.h"
#include "http.h"
#include "kube_int.h"
#include "xalloc.h"

static const char *
cond_status(json_t *obj, const char *type, const char **reason, const char **message)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
	{
		if (dep_str(c, "type") && strcmp(dep_str(c, "type"), type) == 0) {
			if (reason)
				*reason = dep_str(c, "reason");
			if (message)
				*message = dep_str(c, "message");
			return dep_str(c, "status");
		}
	}
	return NULL;
}

static void
add_conditions(struct cs_buf *b, json_t *obj)
{
	json_t *c;
	size_t i;
	int first = 1;

	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
	{
		cs_buf_addf(b, "%s%s=%s", first ? "; conditions: " : ", ",
			    dep_str(c, "type") ?: "?", dep_str(c, "status") ?: "?");
		if (dep_str(c, "reason"))
			cs_buf_addf(b, " (%s)", dep_str(c, "reason"));
		first = 0;
	}
}

/* Why pod cannot become ready (a failure the wait gives up on at once), or NULL. */
static int
pod_problem(struct cs_buf *b, json_t *pod)
{
	json_t *st = json_object_get(pod, "status"), *cs;
	const char *reason = NULL, *msg = NULL, *s;
	size_t i;
	static const char *const fatal[] = {"CrashLoopBackOff",		  "ErrImagePull",
					    "ImagePullBackOff",		  "InvalidImageName",
					    "CreateContainerConfigError", "CreateContainerError"};

	/*
	 * "pod has unbound immediate PersistentVolumeClaims" is the scheduler
	 * waiting for a volume being provisioned, not a verdict: a claim that
	 * never binds ends at --timeout instead.
	 */
	s = cond_status(pod, "PodScheduled", &reason, &msg);
	if (s && strcmp(s, "False") == 0 && reason && strcmp(reason, "Unschedulable") == 0 &&
	    !(msg && strstr(msg, "unbound immediate PersistentVolumeClaims"))) {
		cs_buf_addf(b, "pod %s: unschedulable: %s",
			    dep_str(json_object_get(pod, "metadata"), "name") ?: "?",
			    msg ? msg : "");
		return 1;
	}
	json_array_foreach(json_object_get(st, "containerStatuses"), i, cs)
	{
		json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
		size_t j;

		reason = dep_str(w, "reason");
		if (reason == NULL)
			continue;
		for (j = 0; j < sizeof(fatal) / sizeof(fatal[0]); j++) {
			if (strcmp(reason, fatal[j]) != 0)
				continue;
			cs_buf_addf(b, "pod %s: container %s: %s%s%s",
				    dep_str(json_object_get(pod, "metadata"), "name") ?: "?",
				    dep_str(cs, "name") ?: "?", reason,
				    dep_str(w, "message") ? ": " : "",
				    dep_str(w, "message") ? dep_str(w, "message") : "");
			return 1;
		}
	}
	return 0;
}

/*
 * One pass of the wait reads each collection once (the pods, ReplicaSets and
 * workloads of a namespace) and looks at every waiting object in memory:
 * path -> list, for the current pass only.
 */
static json_t *pass;

/* GET path through the pass cache; *out a new reference. */
static int
cached_get(struct kube *k, const char *path, json_t **out)
{
	json_t *l = pass ? json_object_get(pass, path) : NULL;
	int error;

	*out = NULL;
	if (l == NULL) {
		if ((error = dep_kube__get(k, path, &l)) < 0)
			return error;
		if (pass)
			json_object_set_new(pass, path, l);
		else {
			*out = l;
			return 0;
		}
	}
	*out = json_incref(l);
	return 0;
}

/* The object at path (".../NAME") from its collection's list of this pass. */
static int
get_object(struct kube *k, const char *path, json_t **out)
{
	const char *slash = strrchr(path, '/');
	char *coll = cs_xstrndup(path, (size_t)(slash - path));
	json_t *list = NULL, *o;
	size_t i;
	int error = cached_get(k, coll, &list);

	*out = NULL;
	free(coll);
	if (error < 0)
		return error;
	json_array_foreach(json_object_get(list, "items"), i, o)
	{
		const char *n = dep_str(json_object_get(o, "metadata"), "name");

		if (n && strcmp(n, slash + 1) == 0) {
			*out = json_incref(o);
			break;
		}
	}
	json_decref(list);
	return *out ? 0 : cs_err_set(CS_ENOTFOUND, "%s: not found", path);
}

/* obj's pod selector (spec.selector.matchLabels) and key=value (when given) select pod. */
static int
selects(json_t *obj, json_t *pod, const char *key, const char *value)
{
	json_t *ml = json_object_get(json_object_get(json_object_get(obj, "spec"), "selector"),
				     "matchLabels");
	json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels"), *v;
	const char *k;

	if (json_object_size(ml) == 0)
		return 0;
	json_object_foreach(ml, k, v)
	{
		if (!json_is_string(v) || !dep_str(labels, k) ||
		    strcmp(dep_str(labels, k), json_string_value(v)) != 0)
			return 0;
	}
	return key == NULL || (dep_str(labels, key) && strcmp(dep_str(labels, key), value) == 0);
}

/* The pods of obj (its selector, plus key=value when given); problems go to b. */
static int
check_pods(struct kube *k, struct cs_buf *b, json_t *obj, const char *ns, const char *key,
	   const char *value)
{
	char *path = cs_xasprintf("/api/v1/namespaces/%s/pods", ns);
	json_t *list = NULL, *pod;
	size_t i;
	int bad = 0;

	if (cached_get(k, path, &list) == 0) {
		json_array_foreach(json_object_get(list, "items"), i, pod)
		{
			if (selects(obj, pod, key, value) && pod_problem(b, pod)) {
				bad = 1;
				break;
			}
		}
	}
	json_decref(list);
	free(path);
	return bad;
}

/*
 * A pod's state for the progress lines: its phase, readiness, and the
 * reason of each container that waits or was terminated ("Running, not
 * ready: web CrashLoopBackOff"). Caller frees.
 */
static char *
pod_state(json_t *pod)
{
	json_t *st = json_object_get(pod, "status"), *cs;
	struct cs_buf b = CS_BUF_INIT;
	const char *phase = dep_str(st, "phase"), *ready = cond_status(pod, "Ready", NULL, NULL);
	size_t i;
	int first = 1;

	if (dep_str(json_object_get(pod, "metadata"), "deletionTimestamp")) {
		cs_buf_adds(&b, "Terminating");
		return cs_buf_detach(&b, NULL);
	}
	cs_buf_adds(&b, phase ? phase : "Pending");
	if (phase && strcmp(phase, "Running") == 0)
		cs_buf_adds(&b, ready && strcmp(ready, "True") == 0 ? ", ready" : ", not ready");
	json_array_foreach(json_object_get(st, "containerStatuses"), i, cs)
	{
		json_t *state = json_object_get(cs, "state");
		const char *why = dep_str(json_object_get(state, "waiting"), "reason");

		if (why == NULL)
			why = dep_str(json_object_get(state, "terminated"), "reason");
		if (why == NULL || strcmp(why, "ContainerCreating") == 0)
			continue;
		cs_buf_addf(&b, "%s%s %s", first ? ": " : ", ", dep_str(cs, "name") ?: "?", why);
		first = 0;
	}
	if (first && phase && strcmp(phase, "Pending") == 0) {
		const char *reason = NULL, *sched = cond_status(pod, "PodScheduled", &reason, NULL);

		if (sched && strcmp(sched, "False") == 0 && reason)
			cs_buf_addf(&b, ": %s", reason); /* Unschedulable */
	}
	return cs_buf_detach(&b, NULL);
}

/*
 * Print the state of every pod of obj (its selector; itself for a Pod) that
 * changed since the last poll: "web: pod web-5d9c7-x2x8q Pending -> Running,
 * ready" on stderr.
 */
static void
note_pods(struct kube *k, struct dep_item *it, json_t *obj)
{
	struct kitem *p = it->priv;
	json_t *list = NULL, *pod;
	char *path;
	size_t i;

	if (strcmp(p->kind, "Pod") != 0) {
		path = cs_xasprintf("/api/v1/namespaces/%s/pods", p->ns);
		if (cached_get(k, path, &list) < 0)
			list = NULL;
		free(path);
	}
	json_array_foreach(list ? json_object_get(list, "items") : NULL, i, pod)
	{
		json_t *md = json_object_get(pod, "metadata");
		char *subject, *state;

		if (!selects(obj, pod, NULL, NULL) || !dep_str(md, "uid"))
			continue;
		subject = cs_xasprintf("%s: pod %s", p->name, dep_str(md, "name") ?: "?");
		state = pod_state(pod);
		dep_stable_note(&p->st, subject, dep_str(md, "uid"), state);
		free(state);
		free(subject);
	}
	if (list == NULL && strcmp(p->kind, "Pod") == 0 &&
	    dep_str(json_object_get(obj, "metadata"), "uid")) {
		char *subject = cs_xasprintf("%s: pod %s", p->name, p->name);
		char *state = pod_state(obj);

		dep_stable_note(&p->st, subject, dep_str(json_object_get(obj, "metadata"), "uid"),
				state);
		free(state);
		free(subject);
	}
	json_decref(list);
}

/* pod-template-hash of the Deployment's newest ReplicaSet, or NULL (caller frees). */
static char *
newest_rs_hash(struct kube *k, json_t *dep, const char *ns)
{
	const char *rev = dep_str(json_object_get(json_object_get(dep, "metadata"), "annotations"),
				  "deployment.kubernetes.io/revision");
	const char *uid = dep_str(json_object_get(dep, "metadata"), "uid");
	char *path = cs_xasprintf("/apis/apps/v1/namespaces/%s/replicasets", ns);
	json_t *list = NULL, *rs;
	char *hash = NULL;
	size_t i;

	if (rev && uid && cached_get(k, path, &list) == 0) {
		json_array_foreach(json_object_get(list, "items"), i, rs)
		{
			json_t *md = json_object_get(rs, "metadata"), *o;
			const char *r = dep_str(json_object_get(md, "annotations"),
						"deployment.kubernetes.io/revision");
			size_t j;
			int owned = 0;

			json_array_foreach(json_object_get(md, "ownerReferences"), j, o)
			{
				if (dep_str(o, "uid") && strcmp(dep_str(o, "uid"), uid) == 0)
					owned = 1;
			}
			if (owned && r && strcmp(r, rev) == 0 &&
			    dep_str(json_object_get(md, "labels"), "pod-template-hash")) {
				hash = cs_xstrdup(
				    dep_str(json_object_get(md, "labels"), "pod-template-hash"));
				break;
			}
		}
	}
	json_decref(list);
	free(path);
	return hash;
}

static json_int_t
desired_replicas(json_t *obj)
{
	json_t *r = json_object_get(json_object_get(obj, "spec"), "replicas");

	return json_is_integer(r) ? json_integer_value(r) : 1;
}

/* Look at one waiting item: set done, or failed and diag. */
static int
check_item(struct dep_ctx *ctx, struct dep_item *it)
{
	struct kube *k = K(ctx);
	struct kitem *p = it->priv;
	char *path = dep_kube__obj_path(k, p);
	json_t *obj = NULL, *st, *md;
	struct cs_buf b = CS_BUF_INIT, why = CS_BUF_INIT;
	const char *reason = NULL, *msg = NULL, *s;
	int error, bad = 0;

	if (path == NULL)
		return 0;
	error = get_object(k, path, &obj);
	free(path);
	if (p->deleting) {
		if (error == CS_ENOTFOUND) {
			it->done = 1;
			return 0;
		}
		json_decref(obj);
		return error < 0 ? error : 0;
	}
	if (error < 0)
		return error;
	st = json_object_get(obj, "status");
	md = json_object_get(obj, "metadata");
	if (dep_kube__is_workload(p->kind))
		note_pods(k, it, obj);
	if (strcmp(p->kind, "Deployment") == 0) {
		json_int_t want = desired_replicas(obj);
		char *hash = newest_rs_hash(k, obj, p->ns);

		cs_buf_addf(&b,
			    "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
			    " updated, %" JSON_INTEGER_FORMAT " available, %" JSON_INTEGER_FORMAT
			    " in total",
			    dep_num(st, "updatedReplicas"), want, dep_num(st, "availableReplicas"),
			    dep_num(st, "replicas"));
		add_conditions(&b, obj);
		s = cond_status(obj, "Progressing", &reason, &msg);
		if (reason && strcmp(reason, "ProgressDeadlineExceeded") == 0) {
			cs_buf_addf(&why, "ProgressDeadlineExceeded: %s", msg ? msg : "");
			bad = 1;
		} else if (hash && check_pods(k, &why, obj, p->ns, "pod-template-hash", hash)) {
			bad = 1;
		} else if (dep_num(st, "observedGeneration") >= dep_num(md, "generation") &&
			   dep_num(st, "updatedReplicas") == want &&
			   dep_num(st, "availableReplicas") == want &&
			   dep_num(st, "replicas") == want) {
			it->done = 1;
		}
		free(hash);
		(void)s;
	} else if (strcmp(p->kind, "StatefulSet") == 0) {
		json_int_t want = desired_replicas(obj);
		const char *ur = dep_str(st, "updateRevision");

		cs_buf_addf(&b,
			    "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
			    " ready, %" JSON_INTEGER_FORMAT " updated",
			    dep_num(st, "readyReplicas"), want, dep_num(st, "updatedReplicas"));
		if (ur && check_pods(k, &why, obj, p->ns, "controller-revision-hash", ur))
			bad = 1;
		else if (dep_num(st, "observedGeneration") >= dep_num(md, "generation") &&
			 dep_num(st, "readyReplicas") == want &&
			 dep_num(st, "updatedReplicas") == want &&
			 (!ur || !dep_str(st, "currentRevision") ||
			  strcmp(ur, dep_str(st, "currentRevision")) == 0))
			it->done = 1;
	} else if (strcmp(p->kind, "DaemonSet") == 0) {
		json_int_t want = dep_num(st, "desiredNumberScheduled");

		cs_buf_addf(&b, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " ready",
			    dep_num(st, "numberReady"), want);
		if (check_pods(k, &why, obj, p->ns, NULL, NULL))
			bad = 1;
		else if (dep_num(st, "observedGeneration") >= dep_num(md, "generation") &&
			 dep_num(st, "numberReady") == want &&
			 dep_num(st, "updatedNumberScheduled") == want)
			it->done = 1;
	} else if (strcmp(p->kind, "Job") == 0) {
		add_conditions(&b, obj);
		if ((s = cond_status(obj, "Complete", NULL, NULL)) && strcmp(s, "True") == 0)
			it->done = 1;
		else if ((s = cond_status(obj, "Failed", &reason, &msg)) &&
			 strcmp(s, "True") == 0) {
			cs_buf_addf(&why, "job failed: %s %s", reason ? reason : "",
				    msg ? msg : "");
			bad = 1;
		} else if (check_pods(k, &why, obj, p->ns, NULL, NULL)) {
			bad = 1;
		}
	} else if (strcmp(p->kind, "Pod") == 0) {
		s = dep_str(st, "phase");
		cs_buf_addf(&b, "phase %s", s ? s : "?");
		add_conditions(&b, obj);
		if (s && strcmp(s, "Succeeded") == 0)
			it->done = 1;
		else if (s && strcmp(s, "Failed") == 0)
			bad = 1;
		else if (pod_problem(&why, obj))
			bad = 1;
		else if ((s = cond_status(obj, "Ready", NULL, NULL)) && strcmp(s, "True") == 0)
			it->done = 1;
	} else if (strcmp(p->kind, "Service") == 0) {
		if (json_array_size(
			json_object_get(json_object_get(st, "loadBalancer"), "ingress")))
			it->done = 1;
		else
			cs_buf_adds(&b, "no LoadBalancer ingress assigned yet");
	} else {
		it->done = 1;
	}
	free(it->diag);
	if (bad) {
		it->failed = 1;
		it->diag = cs_xasprintf("%s%s%s", why.buf, b.len ? "; " : "", b.buf);
	} else {
		it->diag = b.len ? cs_xstrdup(b.buf) : NULL;
	}
	cs_buf_release(&b);
	cs_buf_release(&why);
	json_decref(obj);
	return 0;
}

int
dep_kube__wait(struct dep_ctx *ctx)
{
	size_t i;
	int error = 0, lost = 0;

	for (;;) {
		int failed = 0, waiting = 0;

		pass = json_object();
		for (i = 0; i < ctx->plan.nr; i++) {
			struct dep_item *it = &ctx->plan.v[i];

			if (!it->wait || it->done || it->failed)
				continue;
			if ((error = check_item(ctx, it)) < 0)
				break;
			failed |= it->failed;
			waiting |= !it->done && !it->failed;
		}
		json_decref(pass);
		pass = NULL;
		if (error < 0) {
			/* a bay that dropped the connection may come back before the deadline */
			if ((error = dep_poll_lost(ctx, error, &lost)) < 0)
				return error;
			continue;
		}
		dep_poll_found(&lost);
		if ((error = dep_poll_next(ctx, failed, waiting)) != 0)
			return error < 0 ? error : 0;
	}
}

static char *
node_address(struct kube *k)
{
	json_t *list = NULL, *n, *a;
	size_t i, j;
	char *res = NULL;

	if (dep_kube__get(k, "/api/v1/nodes", &list) == 0) {
		json_array_foreach(json_object_get(list, "items"), i, n)
		{
			json_array_foreach(
			    json_object_get(json_object_get(n, "status"), "addresses"), j, a)
			{
				if (res == NULL && dep_str(a, "type") &&
				    (strcmp(dep_str(a, "type"), "InternalIP") == 0 ||
				     strcmp(dep_str(a, "type"), "ExternalIP") == 0) &&
				    dep_str(a, "address"))
					res = cs_xstrdup(dep_str(a, "address"));
			}
		}
	}
	json_decref(list);
	return res;
}

static void
add_endpoint(struct dep_ctx *ctx, char *url)
{
	if (!cs_strvec_has(&ctx->result->endpoints, url))
		cs_strvec_push(&ctx->result->endpoints, url);
	free(url);
}

int
dep_kube__report(struct dep_ctx *ctx)
{
	struct kube *k = K(ctx);
	char *node = NULL;
	size_t i, j, n;
	int looked = 0;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];
		struct kitem *p = it->priv;
		char *path;
		json_t *obj = NULL, *spec, *port, *x;

		if (it->action == DEP_ACT_REMOVE ||
		    (strcmp(p->kind, "Service") != 0 && strcmp(p->kind, "Ingress") != 0))
			continue;
		if ((path = dep_kube__obj_path(k, p)) == NULL || dep_kube__get(k, path, &obj) < 0) {
			free(path);
			continue;
		}
		free(path);
		spec = json_object_get(obj, "spec");
		if (strcmp(p->kind, "Ingress") == 0) {
			json_array_foreach(json_object_get(spec, "rules"), j, x)
			{
				if (dep_str(x, "host"))
					add_endpoint(
					    ctx, cs_xasprintf("http://%s/", dep_str(x, "host")));
			}
			json_decref(obj);
			continue;
		}
		json_array_foreach(json_object_get(spec, "ports"), j, port)
		{
			if (dep_str(port, "protocol") && strcmp(dep_str(port, "protocol"), "TCP"))
				continue;
			if (dep_num(port, "nodePort")) {
				if (!looked) {
					node = node_address(k);
					looked = 1;
				}
				add_endpoint(ctx, cs_xasprintf("http://%s:%" JSON_INTEGER_FORMAT,
							       node ? node : "NODE_IP",
							       dep_num(port, "nodePort")));
			}
			json_array_foreach(
			    json_object_get(
				json_object_get(json_object_get(obj, "status"), "loadBalancer"),
				"ingress"),
			    n, x)
			{
				const char *h =
				    dep_str(x, "ip") ? dep_str(x, "ip") : dep_str(x, "hostname");

				if (h)
					add_endpoint(ctx,
						     cs_xasprintf("http://%s:%" JSON_INTEGER_FORMAT,
								  h, dep_num(port, "port")));
			}
		}
		json_decref(obj);
	}
	free(node);
	return 0;
}
