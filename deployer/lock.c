/*
 * The per-application lock on the bay (lock.h): a swarm config or a plain
 * engine container with a unique name, created atomically by the engine,
 * labelled with its holder; waited for, broken when stale, removed by ID.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "base64.h"
#include "clock.h"
#include "deploy.h"
#include "docker.h"
#include "engine.h"
#include "err.h"
#include "http.h"
#include "kube_int.h"
#include "lock.h"
#include "log.h"
#include "xalloc.h"

#define L_TOKEN DEP_LOCK_LABEL ".token"
#define L_HOLDER DEP_LOCK_LABEL ".holder"
#define L_HOST DEP_LOCK_LABEL ".host"
#define L_BOOT DEP_LOCK_LABEL ".boot-id"
#define L_PIDNS DEP_LOCK_LABEL ".pid-ns"
#define L_PID DEP_LOCK_LABEL ".pid"
#define L_PIDSTART DEP_LOCK_LABEL ".pid-start"
#define L_SINCE DEP_LOCK_LABEL ".since"
#define L_EXPIRES DEP_LOCK_LABEL ".expires"
#define LOCK_POLL_MS 500
#define NAME_MAX_LEN 63 /* swarm object names */

/* Who we are: enough to tell, on this machine, whether a holder process is still alive. */
struct self_id {
	char host[256];
	char boot[64];
	char pidns[64];
	long pid;
	unsigned long long start;
};

/* The first line of a small file, or "" (a missing /proc entry only weakens the stale rule). */

/* The engine client of a Docker backend, or NULL (kubernetes: a Lease, through kube_int.h). */
static struct cs_docker *
docker_of(struct dep_ctx *ctx)
{
	if (ctx->opts->coe == NULL || strcmp(ctx->opts->coe, "kubernetes") == 0)
		return NULL; /* ctx->priv is a struct kube */
	struct dep_engine *e = ctx->priv ? dep_engine(ctx) : NULL;

	return e ? e->docker : NULL;
}

static void
first_line(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)n, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Field 22 of /proc/PID/stat: the process start time in clock ticks since boot; 0 unknown. */
static unsigned long long
proc_start(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	first_line(path, buf, sizeof(buf));
	p = strrchr(buf, ')'); /* the command name may contain spaces */
	if (p == NULL)
		return 0;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

static void
self_identity(struct self_id *s)
{
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if (gethostname(s->host, sizeof(s->host) - 1) < 0)
		s->host[0] = '\0';
	first_line("/proc/sys/kernel/random/boot_id", s->boot, sizeof(s->boot));
	n = readlink("/proc/self/ns/pid", s->pidns, sizeof(s->pidns) - 1);
	s->pidns[n > 0 ? n : 0] = '\0';
	s->pid = (long)getpid();
	s->start = proc_start(s->pid);
}

static json_t *
lock_labels(struct dep_ctx *ctx, struct dep_lock *lk)
{
	struct self_id me;
	time_t now = time(NULL), expires;
	int timeout_s = ctx->opts->timeout_s > 0 ? ctx->opts->timeout_s : 300;
	struct tm tm;
	char since[32] = "?";
	json_t *l;

	self_identity(&me);
	/* a run lasts at most its apply, its wait and a rollback's wait: 2 timeouts + slack */
	expires = now + 2 * (time_t)timeout_s + 900;
	lk->expires = expires;
	if (gmtime_r(&now, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	l = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", DEP_LOCK_LABEL, ctx->opts->app, L_TOKEN,
		      lk->token, L_HOST, me.host, L_BOOT, me.boot, L_PIDNS, me.pidns, L_SINCE,
		      since);
	json_object_set_new(
	    l, L_HOLDER,
	    json_sprintf("caas-deployer pid %ld on %s", me.pid, me.host[0] ? me.host : "?"));
	json_object_set_new(l, L_PID, json_sprintf("%ld", me.pid));
	json_object_set_new(l, L_PIDSTART, json_sprintf("%llu", me.start));
	json_object_set_new(l, L_EXPIRES, json_sprintf("%lld", (long long)expires));
	return l;
}

/* 10 KiB of zeros: a tar archive with no entries, the lock image's only layer. */
static long
empty_tar(char *buf, size_t size, void *payload)
{
	size_t *left = payload, n = size < *left ? size : *left;

	memset(buf, 0, n);
	*left -= n;
	return (long)n;
}

static int
ignore_msg(json_t *msg, void *payload)
{
	(void)msg;
	(void)payload;
	return 0;
}

/* Import the empty lock image: its containers are created, never started. */
static int
import_lock_image(struct dep_ctx *ctx)
{
	struct cs_strvec headers = CS_STRVEC_INIT;
	struct cs_buf path = CS_BUF_INIT;
	const char *colon = strrchr(DEP_LOCK_IMAGE, ':');
	size_t left = 10240;
	long status = 0;
	int error;

	cs_buf_adds(&path, "/images/create?fromSrc=-&repo=");
	cs_buf_add(&path, DEP_LOCK_IMAGE, (size_t)(colon - DEP_LOCK_IMAGE));
	cs_buf_addf(&path, "&tag=%s&changes=", colon + 1);
	cs_http_urlencode(&path, "LABEL " DEP_LOCK_LABEL ".image=1");
	cs_strvec_push(&headers, "Content-Type: application/x-tar");
	error = cs_docker_stream(docker_of(ctx), "POST", path.buf, &headers, empty_tar, &left,
				 ignore_msg, NULL, &status);
	cs_strvec_clear(&headers);
	cs_buf_release(&path);
	return error;
}

/* Kubernetes: the Lease collection of the lock's namespace, or the Lease itself (name). */
static char *
lease_path(const struct dep_lock *lk, const char *name)
{
	return cs_xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases%s%s", lk->ns,
			    name ? "/" : "", name ? name : "");
}

/*
 * Create the Lease: 0 created (lk->id set), 1 it exists already, 2 no lock
 * can be taken here (no such namespace yet, or Leases forbidden to this
 * user: a warning says so), or an error.
 */
static int
kube_try_create(struct dep_ctx *ctx, struct dep_lock *lk)
{
	json_t *labels = lock_labels(ctx, lk), *body, *resp = NULL;
	char *path = lease_path(lk, NULL);
	const char *uid;
	long status = 0;
	int error;

	body = json_pack("{s:s, s:s, s:{s:s, s:O}, s:{s:s, s:I}}", "apiVersion",
			 "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", lk->name,
			 "annotations", labels, "spec", "holderIdentity",
			 dep_str(labels, DEP_LOCK_LABEL ".holder"), "leaseDurationSeconds",
			 (json_int_t)(atoll(dep_str(labels, DEP_LOCK_LABEL ".expires")) -
				      (long long)time(NULL)));
	if ((error = dep_kube__call(K(ctx), "POST", path, NULL, body, NULL, &status, &resp)) < 0)
		goto out;
	if (status == 409) {
		error = 1;
	} else if (status == 404 || status == 403) {
		cs_log(CS_LOG_WARN,
		       "deploying app '%s' without a lock: cannot create the Lease %s in namespace "
		       "'%s': %s",
		       ctx->opts->app, lk->name, lk->ns, dep_kube__status_message(resp));
		error = 2;
	} else if (status < 200 || status > 299) {
		error = cs_err_set(CS_EHTTP, "cannot create the lock %s: HTTP %ld: %s", lk->name,
				   status, dep_kube__status_message(resp));
	} else if ((uid = dep_str(json_object_get(resp, "metadata"), "uid")) == NULL) {
		error = cs_err_set(CS_EHTTP, "cannot create the lock %s: no uid in the answer",
				   lk->name);
	} else {
		lk->id = cs_xstrdup(uid);
	}
out:
	json_decref(labels);
	json_decref(body);
	json_decref(resp);
	free(path);
	return error;
}

/* Create the lock object: 0 created (lk->id set), 1 it exists already, or an error. */
static int
try_create(struct dep_ctx *ctx, struct dep_lock *lk)
{
	json_t *body = NULL, *resp = NULL;
	struct cs_buf data = CS_BUF_INIT, path = CS_BUF_INIT;
	long status = 0;
	int error, tries;
	const char *id;

	if (lk->kube)
		return kube_try_create(ctx, lk);
	if (lk->swarm) {
		static const char text[] = "caas-deployer lock: see the labels\n";

		cs_base64_encode(&data, text, sizeof(text) - 1, 0);
		body = json_pack("{s:s, s:o, s:s}", "Name", lk->name, "Labels",
				 lock_labels(ctx, lk), "Data", data.buf);
		cs_buf_adds(&path, "/configs/create");
	} else {
		body =
		    json_pack("{s:s, s:[s], s:o, s:{s:s}}", "Image", DEP_LOCK_IMAGE, "Cmd", "lock",
			      "Labels", lock_labels(ctx, lk), "HostConfig", "NetworkMode", "none");
		cs_buf_adds(&path, "/containers/create?name=");
		cs_http_urlencode(&path, lk->name);
	}
	for (tries = 0; tries < 2; tries++) {
		json_decref(resp);
		resp = NULL;
		if ((error = cs_docker_json(docker_of(ctx), "POST", path.buf, body, NULL, &status,
					    &resp)) < 0)
			goto out;
		if (status == 404 && !lk->swarm && tries == 0) {
			/* no lock image on this engine yet */
			if ((error = import_lock_image(ctx)) < 0)
				goto out;
			continue;
		}
		break;
	}
	if (status == 409) {
		error = 1;
		goto out;
	}
	if (status < 200 || status > 299) {
		error = cs_err_set(CS_EHTTP, "cannot create the lock %s: HTTP %ld: %s", lk->name,
				   status, cs_docker_error_message(resp, "no message"));
		goto out;
	}
	id = dep_str(resp, "ID") ? dep_str(resp, "ID") : dep_str(resp, "Id");
	if (id == NULL) {
		error = cs_err_set(CS_EHTTP, "cannot create the lock %s: no ID in the answer",
				   lk->name);
		goto out;
	}
	lk->id = cs_xstrdup(id);
	error = 0;
out:
	json_decref(body);
	json_decref(resp);
	cs_buf_release(&data);
	cs_buf_release(&path);
	return error;
}

/* The current lock object: *labels (new reference) and *id; CS_ENOTFOUND when it is gone. */
static int
find_holder(struct dep_ctx *ctx, struct dep_lock *lk, json_t **labels, char **id)
{
	json_t *resp = NULL, *v, *f;
	char *path;
	size_t i;
	int error;

	*labels = NULL;
	*id = NULL;
	if (lk->kube) {
		path = lease_path(lk, lk->name);
		error = dep_kube__get(K(ctx), path, &resp);
		free(path);
		if (error == 0) {
			v = json_object_get(resp, "metadata");
			*labels = json_incref(json_object_get(v, "annotations"));
			*id = cs_xstrdup(dep_str(v, "uid") ? dep_str(v, "uid") : "");
		}
		json_decref(resp);
		return error;
	}
	if (lk->swarm) {
		f = json_pack("{s:[s]}", "name", lk->name);
		path = dep_filter_path("/configs", f);
		json_decref(f);
		error = dep_call(ctx, "GET", path, NULL, 0, &resp);
		free(path);
		if (error < 0)
			return error;
		error = CS_ENOTFOUND;
		json_array_foreach(resp, i, v)
		{
			json_t *spec = json_object_get(v, "Spec");

			/* the name filter matches prefixes too */
			if (dep_str(spec, "Name") && strcmp(dep_str(spec, "Name"), lk->name) == 0 &&
			    dep_str(v, "ID")) {
				*labels = json_incref(json_object_get(spec, "Labels"));
				*id = cs_xstrdup(dep_str(v, "ID"));
				error = 0;
				break;
			}
		}
		json_decref(resp);
		return error;
	}
	path = cs_xasprintf("/containers/%s/json", lk->name);
	error = dep_call(ctx, "GET", path, NULL, 0, &resp);
	free(path);
	if (error == 0) {
		*labels = json_incref(json_object_get(json_object_get(resp, "Config"), "Labels"));
		*id = cs_xstrdup(dep_str(resp, "Id") ? dep_str(resp, "Id") : "");
	}
	json_decref(resp);
	return error;
}

char *
dep_lock__break_reason(json_t *labels, time_t now, const char *break_id)
{
	const char *expires = dep_str(labels, L_EXPIRES), *token = dep_str(labels, L_TOKEN);

	if (break_id && *break_id && token && strcmp(token, break_id) == 0)
		return cs_xasprintf("--break-lock %s names it", break_id);
	if (expires && *expires && now > (time_t)atoll(expires))
		return cs_xstrdup("it expired");
	return NULL;
}

/* Why the lock described by labels is stale (caller frees), or NULL while its holder may live. */
static char *
stale_reason(json_t *labels, const char *break_id)
{
	struct self_id me;
	const char *pid_s = dep_str(labels, L_PID);
	char *why;
	long pid;

	if ((why = dep_lock__break_reason(labels, time(NULL), break_id)) != NULL)
		return why;
	self_identity(&me);
	if (pid_s == NULL || !dep_str(labels, L_BOOT) || !dep_str(labels, L_PIDNS) || !me.boot[0] ||
	    !me.pidns[0] || strcmp(dep_str(labels, L_BOOT), me.boot) != 0 ||
	    strcmp(dep_str(labels, L_PIDNS), me.pidns) != 0 ||
	    strcmp(dep_str(labels, L_HOST) ? dep_str(labels, L_HOST) : "", me.host) != 0)
		return NULL; /* another machine or PID namespace: only the expiry tells */
	pid = atol(pid_s);
	if (pid <= 0)
		return NULL;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return cs_xasprintf("its process %ld is gone", pid);
	if (dep_str(labels, L_PIDSTART) && atoll(dep_str(labels, L_PIDSTART)) != 0 &&
	    proc_start(pid) != strtoull(dep_str(labels, L_PIDSTART), NULL, 10))
		return cs_xasprintf("its process %ld is gone (the PID is another process now)",
				    pid);
	return NULL;
}

/* Remove the Lease if it is still the one of uid (a precondition: never another run's). */
static int
kube_remove(struct dep_ctx *ctx, struct dep_lock *lk, const char *uid)
{
	json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions",
				 "preconditions", "uid", uid),
	       *resp = NULL;
	char *path = lease_path(lk, lk->name);
	long status = 0;
	int error;

	error = dep_kube__call(K(ctx), "DELETE", path, NULL, body, NULL, &status, &resp);
	/* 404: gone already; 409: the uid precondition failed, another run's Lease now */
	if (error == 0 && (status < 200 || status > 299) && status != 404 && status != 409)
		error = cs_err_set(CS_EHTTP, "DELETE %s: HTTP %ld: %s", path, status,
				   dep_kube__status_message(resp));
	json_decref(body);
	json_decref(resp);
	free(path);
	return error;
}

static int
remove_lock(struct dep_ctx *ctx, struct dep_lock *lk, const char *id)
{
	char *path;
	int error;

	if (lk->kube)
		return kube_remove(ctx, lk, id);
	path = lk->swarm ? cs_xasprintf("/configs/%s", id)
			 : cs_xasprintf("/containers/%s?force=1", id);
	error = dep_call(ctx, "DELETE", path, NULL, 0, NULL);
	free(path);
	return error == CS_ENOTFOUND ? 0 : error;
}

static char *
holder_text(json_t *labels)
{
	const char *id = dep_str(labels, L_TOKEN);

	return cs_xasprintf("%s, since %s%s%s",
			    dep_str(labels, L_HOLDER) ? dep_str(labels, L_HOLDER)
						      : "unknown holder",
			    dep_str(labels, L_SINCE) ? dep_str(labels, L_SINCE) : "?",
			    id ? ", lock ID " : "", id ? id : "");
}

int
dep_lock_acquire(struct dep_ctx *ctx, struct dep_lock *lk)
{
	unsigned char r[16];
	double deadline =
	    cs_clock_now() + (ctx->opts->lock_timeout_s > 0 ? ctx->opts->lock_timeout_s : 0);
	char *last_holder = NULL;
	double next_note = 0;
	size_t i;
	int error;

	lk->kube = ctx->opts->coe && strcmp(ctx->opts->coe, "kubernetes") == 0 && ctx->priv;
	if (!lk->kube && (docker_of(ctx) == NULL || (strcmp(ctx->opts->coe, "swarm") != 0 &&
						     strcmp(ctx->opts->coe, "compose") != 0)))
		return 0;
	lk->swarm = strcmp(ctx->opts->coe, "swarm") == 0;
	if (lk->kube)
		lk->ns = K(ctx)->ns;
	/* a Lease name is a lower-case DNS subdomain */
	if (strlen(ctx->opts->app) + sizeof(".caas-deployer-lock") - 1 <= NAME_MAX_LEN &&
	    (!lk->kube || strspn(ctx->opts->app, "abcdefghijklmnopqrstuvwxyz0123456789-.") ==
			      strlen(ctx->opts->app))) {
		lk->name = cs_xasprintf("%s.caas-deployer-lock", ctx->opts->app);
	} else {
		char h[13];

		dep_short_hash(h, ctx->opts->app, strlen(ctx->opts->app));
		lk->name = cs_xasprintf("caas-deployer-lock.%s", h);
	}
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return cs_err_set(CS_EIO, "cannot make a lock token: %s", strerror(errno));
	for (i = 0; i < sizeof(r); i++)
		snprintf(lk->token + 2 * i, 3, "%02x", r[i]);

	for (;;) {
		json_t *labels = NULL;
		char *id = NULL, *why, *h;

		if ((error = try_create(ctx, lk)) <= 0)
			break;
		if (error == 2) { /* Kubernetes: no lock can be taken (warned) */
			error = 0;
			break;
		}
		error = find_holder(ctx, lk, &labels, &id);
		if (error == CS_ENOTFOUND)
			continue; /* released between our create and our look: try again */
		if (error < 0)
			break;
		if ((why = stale_reason(labels, ctx->opts->break_lock)) != NULL) {
			h = holder_text(labels);
			cs_log(CS_LOG_WARN, "breaking the stale lock %s of app '%s' (%s): %s",
			       lk->name, ctx->opts->app, h, why);
			free(h);
			free(why);
			error = remove_lock(ctx, lk, id);
			json_decref(labels);
			free(id);
			if (error < 0)
				break;
			continue;
		}
		h = holder_text(labels);
		json_decref(labels);
		free(id);
		/* one line per holder, and a reminder now and then: no line per poll */
		if (last_holder == NULL || strcmp(h, last_holder) != 0 ||
		    cs_clock_now() >= next_note) {
			next_note = cs_clock_now() + 15;
			cs_log_progress("waiting for the lock of app '%s': held by %s "
					"(up to %d s more)",
					ctx->opts->app, h, (int)(deadline - cs_clock_now() + 0.5));
		}
		free(last_holder);
		last_holder = h;
		if (cs_clock_now() >= deadline) {
			error = cs_err_set(
			    CS_ETIMEOUT,
			    "app '%s' is locked by another deployment (%s; lock %s): "
			    "gave up after %d s (--lock-timeout)",
			    ctx->opts->app, last_holder, lk->name, ctx->opts->lock_timeout_s);
			break;
		}
		if (dep_interrupted()) {
			error = cs_err_set(CS_EINTR, "interrupted while waiting for the lock");
			break;
		}
		cs_clock_sleep_ms(LOCK_POLL_MS);
	}
	free(last_holder);
	if (error == 0 && lk->id)
		cs_log(CS_LOG_DEBUG, "locked app '%s' (%s)", ctx->opts->app, lk->name);
	return error;
}

char *
dep_lock_release(struct dep_ctx *ctx, struct dep_lock *lk)
{
	char *left = NULL;

	if (lk->id && (lk->kube || docker_of(ctx)) && remove_lock(ctx, lk, lk->id) < 0) {
		left = cs_xasprintf("cannot remove the lock %s of app '%s': %s; a later deployment "
				    "waits for it until it expires (in %d s), or takes it over "
				    "at once with --break-lock %s",
				    lk->name, ctx->opts->app, cs_err_msg(),
				    (int)(lk->expires - time(NULL)), lk->token);
		cs_log(CS_LOG_WARN, "%s", left);
	}
	CS_FREE_AND_NULL(lk->id);
	CS_FREE_AND_NULL(lk->name);
	return left;
}
