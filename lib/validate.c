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
#include "imagefs.h"
#include "log.h"
#include "procwatch.h"
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
	if (dbs->nr == 0)
		cs_strvec_push(&val->notes, "no package database found (dpkg, apk): no packages "
					    "checked");
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

static int
inspect(struct cs_validation *val, struct cs_docker *engine, const char *image)
{
	struct cs_buf path = CS_BUF_INIT, enc = CS_BUF_INIT;
	json_t *resp = NULL, *v;
	long status;
	int error;

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
	if ((v = json_object_get(resp, "Id")) != NULL && json_is_string(v))
		val->image_id = cs_xstrdup(json_string_value(v));
	v = json_array_get(json_object_get(resp, "RepoTags"), 0);
	if (json_is_string(v))
		val->repo_tag = cs_xstrdup(json_string_value(v));
out:
	json_decref(resp);
	cs_buf_release(&path);
	cs_buf_release(&enc);
	return error;
}

static int
read_from_engine(struct cs_imagefs **fs, struct cs_docker *engine, const char *image,
		 volatile sig_atomic_t *interrupted)
{
	struct export_job job = {.engine = engine, .fd = -1, .interrupted = interrupted};
	volatile int *prev_cancel = NULL;
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
		prev_cancel =
		    cs_http_set_cancel(cs_docker_http(engine), (volatile int *)interrupted);
	if ((error = pthread_create(&tid, NULL, export_thread, &job)) != 0) {
		error = cs_err_set(CS_EIO, "cannot start the export thread: %s", strerror(error));
		goto out;
	}
	error = cs_imagefs_read_fd(fs, sv[0], image, NULL, interrupted);
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

int
cs_validate_image(struct cs_validation *out, struct cs_docker *engine, const char *image,
		  const char *archive_path, const struct cs_filch *policy,
		  const struct cs_validate_opts *opts)
{
	static const struct cs_validate_opts defaults = {0};
	struct cs_imagefs *fs = NULL;
	struct proc_job job = {.pw = CS_PROCWATCH_INIT};
	int error, procs = 0;
	double t0 = cs_clock_now();
	pthread_t tid;

	if (opts == NULL)
		opts = &defaults;
	if (engine == NULL && (archive_path == NULL || !opts->no_processes)) {
		error = cs_err_set(CS_EINVAL, "validating '%s' needs the engine%s", image,
				   archive_path ? " to observe its processes" : "");
		goto out;
	}
	if (archive_path == NULL && (error = inspect(out, engine, image)) < 0)
		goto out;
	if (!opts->no_processes) {
		if ((error = start_processes(&job, &tid, engine, image, opts)) < 0)
			goto out;
		procs = 1;
	}
	if (archive_path != NULL)
		error = cs_imagefs_read_file(&fs, archive_path, image, opts->interrupted);
	else
		error = read_from_engine(&fs, engine, image, opts->interrupted);
	if (error == 0) {
		check_static(out, fs, policy);
		out->static_seconds = cs_clock_now() - t0;
		cs_log(CS_LOG_INFO, "read %zu layers of '%s': %zu files, %zu packages in %.2f s",
		       out->layers, image, out->files, out->packages, out->static_seconds);
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
	if (out->nr > 1)
		qsort(out->v, out->nr, sizeof(*out->v), cmp_violation);
out:
	if (procs)
		finish_processes(&job, tid, 1, opts->interrupted);
	cs_procwatch_release(&job.pw);
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
