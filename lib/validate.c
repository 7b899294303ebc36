/*
 * cs_validate_image: static reading (imagefs) of an archive or of the
 * engine's export stream, policy checks of files and packages, then the
 * sandboxed run (procwatch) for processes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "dockerauth.h"
#include "imagefs.h"
#include "imageref.h"
#include "layercache.h"
#include "log.h"
#include "overlay2.h"
#include "procwatch.h"
#include "regimage.h"
#include "registry.h"
#include "validate.h"
#include "xalloc.h"

void
cs_validation_release(struct cs_validation *val)
{
	size_t i;

	for (i = 0; i < val->nr; i++) {
		free(val->v[i].item);
		free(val->v[i].name);
		free(val->v[i].rule);
	}
	free(val->v);
	free(val->image_id);
	free(val->repo_tag);
	cs_strvec_clear(&val->pkgdbs);
	cs_strvec_clear(&val->notes);
	memset(val, 0, sizeof(*val));
}

struct add_ctx {
	struct cs_validation *val;
	enum cs_filch_section section;
	const char *item, *name;
};

static void
add_violation(const char *rule, size_t index, void *payload)
{
	struct add_ctx *c = payload;
	struct cs_validation *val = c->val;
	struct cs_violation *v;

	CS_ALLOC_GROW(val->v, val->nr + 1, val->alloc);
	v = &val->v[val->nr++];
	v->section = c->section;
	v->item = cs_xstrdup(c->item);
	v->name = c->name ? cs_xstrdup(c->name) : NULL;
	v->rule = cs_xstrdup(rule);
	v->rule_index = index;
}

static void
check(struct cs_validation *val, const struct cs_filch *policy, enum cs_filch_section s,
      const char *subject, const char *item, const char *name)
{
	struct add_ctx c = {.val = val, .section = s, .item = item, .name = name};

	cs_filch_check(policy, s, subject, add_violation, &c);
}

static int
cmp_violation(const void *pa, const void *pb)
{
	const struct cs_violation *a = pa, *b = pb;
	int r;

	if (a->section != b->section)
		return (int)a->section - (int)b->section;
	if ((r = strcmp(a->item, b->item)) != 0)
		return r;
	return a->rule_index < b->rule_index ? -1 : a->rule_index > b->rule_index;
}

static void
check_static(struct cs_validation *val, const struct cs_imagefs *fs, const struct cs_filch *policy)
{
	const struct cs_strvec *pkgs = cs_imagefs_packages(fs), *dbs = cs_imagefs_pkgdbs(fs);
	struct cs_buf path = CS_BUF_INIT;
	size_t i;

	val->files = cs_imagefs_nfiles(fs);
	for (i = 0; i < val->files; i++) {
		cs_imagefs_file(&path, fs, i);
		check(val, policy, CS_FILCH_FILES, path.buf, path.buf, NULL);
	}
	cs_buf_release(&path);
	val->packages = pkgs->nr;
	for (i = 0; i < pkgs->nr; i++)
		check(val, policy, CS_FILCH_PACKAGES, pkgs->v[i], pkgs->v[i], NULL);
	for (i = 0; i < dbs->nr; i++)
		cs_strvec_push(&val->pkgdbs, dbs->v[i]);
	if (dbs->nr == 0) {
		val->packages_skipped = 1;
		cs_strvec_push(&val->notes, "no package database found (dpkg, apk): no packages "
					    "checked");
	}
	val->layers = cs_imagefs_nlayers(fs);
	val->unsafe = cs_imagefs_unsafe(fs);
	if (val->unsafe > 0)
		cs_strvec_pushf(&val->notes,
				"%zu layer entries with a path escaping the image "
				"were ignored",
				val->unsafe);
	if (*cs_imagefs_image_id(fs) && val->image_id == NULL)
		val->image_id = cs_xstrdup(cs_imagefs_image_id(fs));
	if (*cs_imagefs_repo_tag(fs) && val->repo_tag == NULL)
		val->repo_tag = cs_xstrdup(cs_imagefs_repo_tag(fs));
}

/* ---- the engine's export stream, written by a thread into a socket pair ---- */

struct export_job {
	struct cs_docker *engine;
	char *path;
	int fd;
	int error;
	int peer_closed; /* the reader went away first: our error is only a consequence */
	char msg[1024];
	volatile sig_atomic_t *interrupted;
};

static int
export_write(const char *data, size_t len, void *payload)
{
	struct export_job *job = payload;
	ssize_t n;

	if (job->interrupted != NULL && *job->interrupted)
		return cs_err_set(CS_EINTR, "interrupted");
	while (len > 0) {
		n = send(job->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			job->peer_closed = errno == EPIPE || errno == ECONNRESET;
			return cs_err_set(CS_EIO, "image export: %s", strerror(errno));
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *
export_thread(void *payload)
{
	struct export_job *job = payload;

	job->error = cs_docker_raw(job->engine, "GET", job->path, export_write, job);
	if (job->error < 0)
		snprintf(job->msg, sizeof(job->msg), "%s", cs_err_msg());
	shutdown(job->fd, SHUT_WR);
	return NULL;
}

/* GET /images/{image}/json into *out. Errors: CS_ENOTFOUND (404), CS_EHTTP, CS_ENET. */
static int
inspect(json_t **out, struct cs_docker *engine, const char *image)
{
	struct cs_buf path = CS_BUF_INIT, enc = CS_BUF_INIT;
	json_t *resp = NULL;
	long status;
	int error;

	*out = NULL;
	cs_http_urlencode(&enc, image);
	cs_buf_addf(&path, "/images/%s/json", enc.buf);
	if ((error = cs_docker_json(engine, "GET", path.buf, NULL, NULL, &status, &resp)) < 0)
		goto out;
	if (status == 404) {
		error = cs_err_set(CS_ENOTFOUND, "no such image '%s' in the engine", image);
		goto out;
	}
	if (status != 200) {
		error = cs_err_set(CS_EHTTP, "cannot inspect image '%s': %s (HTTP %ld)", image,
				   cs_docker_error_message(resp, "no message"), status);
		goto out;
	}
	*out = resp;
	resp = NULL;
out:
	json_decref(resp);
	cs_buf_release(&path);
	cs_buf_release(&enc);
	return error;
}

static int
read_from_engine(struct cs_imagefs **fs, struct cs_docker *engine, const char *image,
		 volatile sig_atomic_t *interrupted, int keep)
{
	struct export_job job = {.engine = engine, .fd = -1, .interrupted = interrupted};
	volatile sig_atomic_t *prev_cancel = NULL;
	int borrowed = 0;
	struct cs_buf enc = CS_BUF_INIT;
	int sv[2] = {-1, -1}, error, bufsize = 4 << 20;
	char drain[65536];
	pthread_t tid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error = cs_err_set(CS_EIO, "cannot create a socket pair: %s", strerror(errno));
		goto out;
	}
	/* a deep buffer lets the engine keep streaming while the reader parses a header */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	cs_http_urlencode(&enc, image);
	job.path = cs_xasprintf("/images/%s/get", enc.buf);
	job.fd = sv[1];
	/* a signal aborts the transfer even while the engine prepares the stream */
	if (interrupted != NULL)
		prev_cancel = cs_http_set_cancel(cs_docker_http(engine), interrupted);
	if ((error = pthread_create(&tid, NULL, export_thread, &job)) != 0) {
		error = cs_err_set(CS_EIO, "cannot start the export thread: %s", strerror(error));
		goto out;
	}
	error = keep ? cs_imagefs_read_fd_keep(fs, sv[0], image, NULL, interrupted)
		     : cs_imagefs_read_fd(fs, sv[0], image, NULL, interrupted);
	if (error == 0) {
		/* read the tar's trailing padding so that the transfer ends cleanly */
		while (read(sv[0], drain, sizeof(drain)) > 0)
			;
	}
	close(sv[0]); /* on error: the writer gets EPIPE and the transfer stops */
	sv[0] = -1;
	pthread_join(tid, NULL);
	if (job.error < 0 && !(error < 0 && job.peer_closed) && job.error != CS_EINTR) {
		/* the engine's failure explains a truncated stream better than the reader */
		cs_imagefs_free(*fs);
		*fs = NULL;
		error = cs_err_set(job.error, "%s", job.msg);
	}
out:
	if (borrowed)
		cs_http_set_cancel(cs_docker_http(engine), prev_cancel);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	cs_buf_release(&enc);
	free(job.path);
	return error;
}

/* ---- per-layer reading: cache, overlay2 directories, export stream, registry ---- */

static void
cache_store(struct cs_layercache **cache, const char *diff_id, const struct cs_imagefs_layer *l)
{
	if (*cache == NULL || l == NULL)
		return;
	if (cs_layercache_put(*cache, diff_id, l) < 0) {
		cs_log(CS_LOG_WARN, "layer cache: %s; going on without the cache", cs_err_msg());
		cs_layercache_free(*cache);
		*cache = NULL;
	}
}

static int
engine_is_local(struct cs_docker *engine)
{
	const char *host = cs_docker_host(engine);

	return host != NULL && strncmp(host, "unix://", 7) == 0;
}

static void
free_layers(struct cs_imagefs_layer **layers, size_t nr)
{
	size_t i;

	if (layers == NULL)
		return;
	for (i = 0; i < nr; i++)
		cs_imagefs_layer_free(layers[i]);
	free(layers);
}

static int
read_engine_layers(struct cs_imagefs **fs, struct cs_validation *out, struct cs_docker *engine,
		   const char *image, json_t *info, struct cs_layercache **cache,
		   const struct cs_validate_opts *opts)
{
	json_t *ids_json = json_object_get(json_object_get(info, "RootFS"), "Layers"), *v;
	size_t nr = json_array_size(ids_json), i, missing = 0;
	const char **ids = cs_xcalloc(nr ? nr : 1, sizeof(*ids));
	struct cs_imagefs_layer **layers = cs_xcalloc(nr ? nr : 1, sizeof(*layers));
	char **dirs = NULL;
	int error = 0, ids_ok = nr > 0;

	json_array_foreach(ids_json, i, v)
	{
		ids[i] = json_string_value(v);
		if (!cs_layercache_valid_id(ids[i]))
			ids_ok = 0;
	}
	for (i = 0; i < nr; i++) {
		if (ids_ok && *cache != NULL &&
		    cs_layercache_get(&layers[i], *cache, ids[i]) == 0) {
			out->layers_cached++;
			cs_log(CS_LOG_DEBUG, "layer %zu/%zu (%s): from the cache", i + 1, nr,
			       ids[i]);
		} else {
			missing++;
		}
	}
	if (missing > 0 && ids_ok && !opts->force_export && engine_is_local(engine)) {
		if (cs_overlay2_layer_dirs(&dirs, info, ids, nr) < 0) {
			cs_log(CS_LOG_INFO,
			       "no local layer directories (%s): using the export stream",
			       cs_err_msg());
		} else {
			for (i = 0; i < nr; i++) {
				if (layers[i] != NULL || dirs[i] == NULL)
					continue;
				error =
				    cs_overlay2_read_layer(&layers[i], dirs[i], opts->interrupted);
				if (error == CS_EINTR)
					goto out;
				if (error < 0) {
					cs_log(CS_LOG_INFO,
					       "layer %zu: %s: using the export stream", i + 1,
					       cs_err_msg());
					error = 0;
					continue;
				}
				cs_log(CS_LOG_DEBUG, "layer %zu/%zu (%s): read from '%s'", i + 1,
				       nr, ids[i], dirs[i]);
				out->layers_local++;
				missing--;
				cache_store(cache, ids[i], layers[i]);
			}
		}
	}
	if (missing > 0 || !ids_ok) {
		out->source = "export";
		cs_log(CS_LOG_INFO, "reading %zu layer%s of '%s' from the export stream", missing,
		       missing == 1 ? "" : "s", image);
		if ((error = read_from_engine(fs, engine, image, opts->interrupted, 1)) < 0)
			goto out;
		if (cs_imagefs_kept_nr(*fs) != nr) {
			cs_log(CS_LOG_WARN,
			       "the export of '%s' has %zu layers, its RootFS %zu: "
			       "layers not cached",
			       image, cs_imagefs_kept_nr(*fs), nr);
		} else if (ids_ok) {
			for (i = 0; i < nr; i++)
				if (layers[i] == NULL)
					cache_store(cache, ids[i], cs_imagefs_kept(*fs, i));
		}
		goto out;
	}
	out->source = out->layers_local > 0 ? "overlay2" : "cache";
	error = cs_imagefs_merge(fs, layers, nr);
out:
	cs_overlay2_dirs_free(dirs, nr);
	free_layers(layers, nr);
	free(ids);
	return error;
}

/* A reference that names its registry explicitly ("host[:port]/repo:tag"). */
static int
registry_ref(struct cs_imageref *ref, const char *image)
{
	if (strncmp(image, "sha256:", 7) == 0 || cs_imageref_parse(ref, image) < 0)
		return 0;
	if (ref->registry == NULL) { /* "app:1" is an engine image, not "docker.io/library/app:1" */
		cs_imageref_release(ref);
		return 0;
	}
	return 1;
}

static int
open_registry(struct cs_registry **out, const struct cs_imageref *ref,
	      const struct cs_validate_opts *opts)
{
	struct cs_dockerauth auth = CS_DOCKERAUTH_INIT;
	struct cs_registry_opts ro = {.ca_file = opts->registry_ca};
	const char *host = cs_imageref_registry_or_default(ref);
	int error;

	ro.host = cs_imageref_is_docker_hub(ref->registry) ? "registry-1.docker.io" : host;
	if (opts->registry_user != NULL) {
		ro.username = opts->registry_user;
		ro.password = opts->registry_password;
	} else if ((error = cs_dockerauth_lookup(&auth, host)) == 0) {
		ro.username = auth.username;
		ro.password = auth.password;
		if (auth.username == NULL)
			cs_log(CS_LOG_WARN,
			       "registry %s: only an identity token is configured: "
			       "trying anonymously",
			       host);
	} else if (error != CS_ENOTFOUND) {
		goto out;
	}
	if (opts->insecure_registries && cs_strvec_has(opts->insecure_registries, host)) {
		ro.insecure = 1;
		cs_log(CS_LOG_WARN,
		       "registry %s is insecure (--insecure-registry): its certificate "
		       "is not verified",
		       host);
	}
	error = cs_registry_open(out, &ro);
	/* an insecure registry: find out whether it speaks TLS at all */
	if (error == 0 && ro.insecure && (error = cs_registry_check(*out)) == 0 &&
	    strcmp(cs_registry_scheme(*out), "http") == 0)
		cs_log(CS_LOG_WARN, "registry %s speaks plain HTTP: nothing is encrypted", host);
out:
	cs_dockerauth_release(&auth);
	return error;
}

static int
read_registry_layers(struct cs_imagefs **fs, struct cs_validation *out,
		     const struct cs_imageref *ref, struct cs_layercache **cache,
		     const struct cs_validate_opts *opts)
{
	struct cs_regimage img = CS_REGIMAGE_INIT;
	struct cs_registry *reg = NULL;
	struct cs_imagefs_layer **layers = NULL;
	size_t i, nr = 0;
	int error;

	out->source = "registry";
	if ((error = open_registry(&reg, ref, opts)) < 0)
		goto out;
	if ((error = cs_regimage_open(&img, reg, ref)) < 0)
		goto out;
	free(out->image_id);
	out->image_id = cs_xstrdup(img.image_id);
	nr = img.diff_ids.nr;
	layers = cs_xcalloc(nr ? nr : 1, sizeof(*layers));
	for (i = 0; i < nr; i++) {
		const char *id = img.diff_ids.v[i];

		if (*cache != NULL && cs_layercache_get(&layers[i], *cache, id) == 0) {
			out->layers_cached++;
			cs_log(CS_LOG_DEBUG, "layer %zu/%zu (%s): from the cache", i + 1, nr, id);
			continue;
		}
		if ((error = cs_regimage_read_layer(&layers[i], reg, &img, i, NULL,
						    opts->interrupted)) < 0)
			goto out;
		out->layers_fetched++;
		cs_log(CS_LOG_DEBUG, "layer %zu/%zu (%s): fetched from the registry", i + 1, nr,
		       id);
		cache_store(cache, id, layers[i]);
	}
	error = cs_imagefs_merge(fs, layers, nr);
out:
	free_layers(layers, nr);
	cs_regimage_release(&img);
	cs_registry_free(reg);
	return error;
}

/*
 * The process check runs in a thread, on a second engine connection, while
 * the main thread reads the image: a validation takes about the longer of the
 * two, not their sum.
 */
struct proc_job {
	struct cs_docker *engine; /* owned */
	const char *image;
	double seconds;
	volatile sig_atomic_t
	    stop; /* set by the main thread: a signal, or the static part failed */
	atomic_int done;
	struct cs_procwatch pw;
	int error;
	char msg[1024];
};

static void *
proc_thread(void *payload)
{
	struct proc_job *job = payload;

	job->error = cs_procwatch_run(&job->pw, job->engine, job->image, job->seconds, &job->stop);
	if (job->error < 0)
		snprintf(job->msg, sizeof(job->msg), "%s", cs_err_msg());
	atomic_store(&job->done, 1);
	return NULL;
}

static int
start_processes(struct proc_job *job, pthread_t *tid, struct cs_docker *engine, const char *image,
		const struct cs_validate_opts *opts)
{
	int error;

	memset(job, 0, sizeof(*job));
	job->pw = (struct cs_procwatch)CS_PROCWATCH_INIT;
	job->image = image;
	job->seconds = opts->observe_seconds > 0 ? opts->observe_seconds : 5;
	if ((error = cs_docker_connect(&job->engine, cs_docker_host(engine))) < 0)
		return error;
	if ((error = pthread_create(tid, NULL, proc_thread, job)) != 0) {
		cs_docker_free(job->engine);
		job->engine = NULL;
		return cs_err_set(CS_EIO, "cannot start the process thread: %s", strerror(error));
	}
	return 0;
}

/* Wait for the process thread, passing a signal on; stop it early when abort is set. */
static void
finish_processes(struct proc_job *job, pthread_t tid, int abort_now,
		 volatile sig_atomic_t *interrupted)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	if (abort_now)
		job->stop = 1;
	while (!atomic_load(&job->done)) {
		if (interrupted != NULL && *interrupted)
			job->stop = 1;
		nanosleep(&ts, NULL);
	}
	pthread_join(tid, NULL);
	cs_docker_free(job->engine);
	job->engine = NULL;
}

static void
merge_processes(struct cs_validation *val, struct proc_job *job, const struct cs_filch *policy)
{
	struct cs_procwatch *pw = &job->pw;
	size_t i;

	val->processes_checked = job->error == 0;
	val->samples = pw->samples;
	val->processes = pw->names.nr;
	for (i = 0; i < pw->names.nr; i++)
		check(val, policy, CS_FILCH_PROCESSES, pw->names.v[i], pw->cmdlines.v[i],
		      pw->names.v[i]);
	if (pw->note != NULL)
		cs_strvec_push(&val->notes, pw->note);
	if (pw->exited) {
		val->exited = 1;
		val->exit_code = pw->exit_code;
		val->exited_after = pw->exited_after;
		cs_strvec_pushf(&val->notes, "the container exited after %.1f s with code %d",
				pw->exited_after, pw->exit_code);
	}
}

static void
take_identity(struct cs_validation *out, json_t *info)
{
	json_t *v;

	if ((v = json_object_get(info, "Id")) != NULL && json_is_string(v))
		out->image_id = cs_xstrdup(json_string_value(v));
	v = json_array_get(json_object_get(info, "RepoTags"), 0);
	if (json_is_string(v))
		out->repo_tag = cs_xstrdup(json_string_value(v));
}

static struct cs_layercache *
open_cache(const struct cs_validate_opts *opts)
{
	struct cs_buf dir = CS_BUF_INIT;
	struct cs_layercache *c = NULL;

	if (opts->no_cache)
		return NULL;
	if (opts->cache_dir != NULL)
		cs_buf_adds(&dir, opts->cache_dir);
	else
		cs_layercache_default_dir(&dir);
	if (cs_layercache_open(&c, dir.buf, opts->cache_max) < 0)
		cs_log(CS_LOG_WARN, "layer cache disabled: %s", cs_err_msg());
	cs_buf_release(&dir);
	return c;
}

int
cs_validate_image(struct cs_validation *out, struct cs_docker *engine, const char *image,
		  const char *archive_path, const struct cs_filch *policy,
		  const struct cs_validate_opts *opts)
{
	static const struct cs_validate_opts defaults = {0};
	struct cs_imagefs *fs = NULL;
	struct proc_job job = {.pw = CS_PROCWATCH_INIT};
	struct cs_imageref ref = CS_IMAGEREF_INIT;
	struct cs_layercache *cache = NULL;
	json_t *info = NULL;
	int error, procs = 0, from_registry = 0;
	double t0 = cs_clock_now();
	pthread_t tid;

	if (opts == NULL)
		opts = &defaults;
	if (engine == NULL && (archive_path == NULL || !opts->no_processes)) {
		error = cs_err_set(CS_EINVAL, "validating '%s' needs the engine%s", image,
				   archive_path ? " to observe its processes" : "");
		goto out;
	}
	if (archive_path == NULL) {
		error = inspect(&info, engine, image);
		if (error == CS_ENOTFOUND && registry_ref(&ref, image)) {
			out->processes_need_pull = 1;
			if (!opts->no_processes) {
				error = cs_err_set(CS_EINVAL,
						   "image '%s' is not in the engine: checking its "
						   "processes needs a pull (docker pull %s); "
						   "--no-processes checks its files and packages "
						   "from the registry without one",
						   image, image);
				goto out;
			}
			from_registry = 1;
			cs_log(CS_LOG_INFO,
			       "'%s' is not in the engine: reading it from its registry", image);
		} else if (error < 0) {
			goto out;
		} else {
			take_identity(out, info);
		}
		cache = open_cache(opts);
		out->cache_used = cache != NULL;
	}
	if (!opts->no_processes) {
		if ((error = start_processes(&job, &tid, engine, image, opts)) < 0)
			goto out;
		procs = 1;
	}
	if (archive_path != NULL) {
		out->source = "archive";
		error = cs_imagefs_read_file(&fs, archive_path, image, opts->interrupted);
	} else if (from_registry) {
		error = read_registry_layers(&fs, out, &ref, &cache, opts);
	} else {
		error = read_engine_layers(&fs, out, engine, image, info, &cache, opts);
	}
	if (error == 0) {
		check_static(out, fs, policy);
		out->static_seconds = cs_clock_now() - t0;
		cs_log(CS_LOG_INFO,
		       "read %zu layers of '%s' (%s; %zu from the cache, %zu from overlay2, %zu "
		       "fetched): %zu files, %zu packages in %.2f s",
		       out->layers, image, out->source, out->layers_cached, out->layers_local,
		       out->layers_fetched, out->files, out->packages, out->static_seconds);
	}
	cs_imagefs_free(fs);
	fs = NULL;
	if (procs) {
		int static_error = error;
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", cs_err_msg());
		finish_processes(&job, tid, static_error < 0, opts->interrupted);
		procs = 0;
		out->process_seconds = cs_clock_now() - t0;
		if (static_error < 0) {
			error = cs_err_set(static_error, "%s", msg); /* the first failure */
			goto out;
		}
		merge_processes(out, &job, policy);
		if (job.error < 0) {
			error = cs_err_set(job.error, "%s", job.msg);
			goto out;
		}
	}
	if (error < 0)
		goto out;
	if (from_registry)
		cs_strvec_pushf(&out->notes,
				"'%s' is not in the engine: files and packages read "
				"from the registry; processes not checked (needs a "
				"pull)",
				image);
	if (out->nr > 1)
		qsort(out->v, out->nr, sizeof(*out->v), cmp_violation);
out:
	if (procs)
		finish_processes(&job, tid, 1, opts->interrupted);
	cs_procwatch_release(&job.pw);
	cs_layercache_free(cache);
	cs_imageref_release(&ref);
	json_decref(info);
	if (error < 0 && opts->interrupted != NULL && *opts->interrupted)
		error = cs_err_set(CS_EINTR, "interrupted"); /* whatever broke first */
	return error;
}

void
cs_validation_describe(struct cs_buf *out, const struct cs_violation *v)
{
	size_t start = out->len;

	switch (v->section) {
	case CS_FILCH_FILES:
		cs_buf_addf(out, "file %s", v->item);
		break;
	case CS_FILCH_PACKAGES:
		cs_buf_addf(out, "package %s", v->item);
		break;
	case CS_FILCH_PROCESSES:
		cs_buf_addf(out, "process %s (%s)", v->name ? v->name : "?", v->item);
		break;
	}
	cs_buf_addf(out, " is forbidden (%s.forbidden \"%s\")", cs_filch_section_name(v->section),
		    v->rule);
	cs_log_sanitize(out->buf + start);
}
