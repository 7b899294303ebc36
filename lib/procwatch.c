/*
 * Process observation: one sandboxed container per validation, named
 * cs-val-<random> so that it can be removed by name even when the create
 * call's answer was lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "procwatch.h"
#include "xalloc.h"

static int
stop_requested(volatile sig_atomic_t *interrupted)
{
	return interrupted != NULL && *interrupted;
}

/* Sleep up to seconds, waking early when interrupted. */
static void
nap(double seconds, volatile sig_atomic_t *interrupted)
{
	double end = cs_clock_now() + seconds;

	while (!stop_requested(interrupted) && cs_clock_now() < end) {
		double left = end - cs_clock_now();
		struct timespec ts;

		if (left > 0.05)
			left = 0.05;
		if (left <= 0)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

static void
random_name(char *buf, size_t size)
{
	unsigned char r[6] = {0};
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		unsigned long x = (unsigned long)cs_clock_now() ^ (unsigned long)getpid() << 16;

		memcpy(r, &x, sizeof(r) < sizeof(x) ? sizeof(r) : sizeof(x));
	}
	snprintf(buf, size, "cs-val-");
	for (i = 0; i < sizeof(r); i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%02x", r[i]);
}

static int
engine_error(const char *what, long status, json_t *resp)
{
	return cs_err_set(status == 404 ? CS_ENOTFOUND : CS_EHTTP, "%s: %s (HTTP %ld)", what,
			  cs_docker_error_message(resp, "no message"), status);
}

/* Does the image have something to run? */
static int
has_command(struct cs_docker *d, const char *image, int *yes)
{
	struct cs_buf path = CS_BUF_INIT, enc = CS_BUF_INIT;
	json_t *resp = NULL, *cfg;
	long status;
	int error;

	cs_http_urlencode(&enc, image);
	cs_buf_addf(&path, "/images/%s/json", enc.buf);
	if ((error = cs_docker_json(d, "GET", path.buf, NULL, NULL, &status, &resp)) < 0)
		goto out;
	if (status != 200) {
		error = engine_error("cannot inspect image", status, resp);
		goto out;
	}
	cfg = json_object_get(resp, "Config");
	*yes = json_array_size(json_object_get(cfg, "Cmd")) > 0 ||
	       json_array_size(json_object_get(cfg, "Entrypoint")) > 0;
out:
	json_decref(resp);
	cs_buf_release(&path);
	cs_buf_release(&enc);
	return error;
}

/*
 * The sandbox. read_only: the root filesystem is read-only, with small
 * tmpfs on /tmp, /run and /var/tmp (where programs expect to write).
 */
static json_t *
create_body(const char *image, int read_only)
{
	json_t *body;

	/* the image's own Entrypoint, Cmd and Env apply: none is given here */
	body = json_pack("{s:s, s:{s:s}, s:b, s:b, s:{s:s, s:[s], s:[s], s:I, s:I, s:I, s:b, s:b}}",
			 "Image", image, "Labels", "org.caas-devops.validator", "1", "Tty", 0,
			 "OpenStdin", 0, "HostConfig", "NetworkMode", "none", "CapDrop", "ALL",
			 "SecurityOpt", "no-new-privileges", "Memory", (json_int_t)256 << 20,
			 "PidsLimit", (json_int_t)256, "NanoCpus", (json_int_t)1000000000,
			 "AutoRemove", 0, "ReadonlyRootfs", read_only);
	if (read_only)
		json_object_set_new(json_object_get(body, "HostConfig"), "Tmpfs",
				    json_pack("{s:s, s:s, s:s}", "/tmp", CS_PROCWATCH_TMPFS, "/run",
					      CS_PROCWATCH_TMPFS, "/var/tmp", CS_PROCWATCH_TMPFS));
	return body;
}

/* Add the processes of one top sample that were not seen yet. */
static void
add_sample(struct cs_procwatch *pw, json_t *top)
{
	json_t *procs = json_object_get(top, "Processes"), *p;
	size_t i, j;

	json_array_foreach(procs, i, p)
	{
		const char *comm = json_string_value(json_array_get(p, 1));
		const char *args = json_string_value(json_array_get(p, 2));

		if (json_array_size(p) != 3 || comm == NULL || args == NULL)
			continue;
		for (j = 0; j < pw->names.nr; j++)
			if (strcmp(pw->names.v[j], comm) == 0 &&
			    strcmp(pw->cmdlines.v[j], args) == 0)
				break;
		if (j < pw->names.nr)
			continue;
		cs_strvec_push(&pw->names, comm);
		cs_strvec_push(&pw->cmdlines, args);
	}
}

/* 1 and the exit code when the container is no longer running. */
static int
check_exited(struct cs_procwatch *pw, struct cs_docker *d, const char *name, double started)
{
	struct cs_buf path = CS_BUF_INIT;
	json_t *resp = NULL, *state;
	long status;
	int error;

	cs_buf_addf(&path, "/containers/%s/json", name);
	if ((error = cs_docker_json(d, "GET", path.buf, NULL, NULL, &status, &resp)) < 0)
		goto out;
	if (status != 200) {
		error = engine_error("cannot inspect the container", status, resp);
		goto out;
	}
	state = json_object_get(resp, "State");
	if (!json_is_true(json_object_get(state, "Running"))) {
		pw->exited = 1;
		pw->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
		pw->exited_after = cs_clock_now() - started;
	}
out:
	json_decref(resp);
	cs_buf_release(&path);
	return error;
}

static int
observe(struct cs_procwatch *pw, struct cs_docker *d, const char *name, double seconds,
	volatile sig_atomic_t *interrupted)
{
	struct cs_buf path = CS_BUF_INIT;
	double started = cs_clock_now(), interval = seconds / 10;
	json_t *resp = NULL;
	long status;
	int error = 0;

	if (interval < 0.1)
		interval = 0.1;
	if (interval > 1.0)
		interval = 1.0;
	cs_buf_addf(&path, "/containers/%s/top?ps_args=-o%%20pid%%2Ccomm%%2Cargs", name);
	for (;;) {
		if (stop_requested(interrupted)) {
			error = cs_err_set(CS_EINTR, "interrupted");
			goto out;
		}
		json_decref(resp);
		resp = NULL;
		if ((error = cs_docker_json(d, "GET", path.buf, NULL, NULL, &status, &resp)) < 0)
			goto out;
		if (status == 200) {
			add_sample(pw, resp);
			pw->samples++;
		}
		if ((error = check_exited(pw, d, name, started)) < 0 || pw->exited)
			goto out;
		if (status != 200) {
			error = engine_error("cannot list the container's processes", status, resp);
			goto out;
		}
		if (cs_clock_now() - started >= seconds)
			break;
		nap(interval, interrupted);
	}
out:
	json_decref(resp);
	cs_buf_release(&path);
	return error;
}

static void
remove_container(struct cs_docker *d, const char *name)
{
	struct cs_buf path = CS_BUF_INIT;
	json_t *resp = NULL;
	long status = 0;

	cs_buf_addf(&path, "/containers/%s?force=1&v=1", name);
	if (cs_docker_json(d, "DELETE", path.buf, NULL, NULL, &status, &resp) < 0)
		cs_log(CS_LOG_ERROR, "cannot remove container '%s': %s", name, cs_err_msg());
	else if (status != 204 && status != 404)
		cs_log(CS_LOG_ERROR, "cannot remove container '%s': %s (HTTP %ld)", name,
		       cs_docker_error_message(resp, "no message"), status);
	json_decref(resp);
	cs_buf_release(&path);
}

/*
 * Create, start and observe one container named name; *created is set once
 * the create call was made (the caller removes it by name).
 */
static int
run_once(struct cs_procwatch *out, struct cs_docker *d, const char *image, const char *name,
	 double seconds, volatile sig_atomic_t *interrupted, int read_only, int *created)
{
	struct cs_buf path = CS_BUF_INIT;
	json_t *body = NULL, *resp = NULL;
	long status;
	int error;

	body = create_body(image, read_only);
	cs_buf_addf(&path, "/containers/create?name=%s", name);
	*created = 1; /* from here on, remove by name whatever happens */
	if ((error = cs_docker_json(d, "POST", path.buf, body, NULL, &status, &resp)) < 0)
		goto out;
	if (status != 201) {
		error = engine_error("cannot create the validation container", status, resp);
		goto out;
	}
	json_decref(resp);
	resp = NULL;
	cs_buf_reset(&path);
	cs_buf_addf(&path, "/containers/%s/start", name);
	if ((error = cs_docker_json(d, "POST", path.buf, NULL, NULL, &status, &resp)) < 0)
		goto out;
	if (status != 204 && status != 304) {
		char *why = cs_xstrdup(cs_docker_error_message(resp, "no message"));

		cs_log_sanitize(why);
		free(out->note);
		out->note = cs_xasprintf("the container did not start: %s", why);
		free(why);
		goto out;
	}
	out->started = 1;
	out->read_only = read_only;
	cs_log(CS_LOG_INFO, "observing container '%s' of '%s' for %.1f s%s", name, image, seconds,
	       read_only ? " (read-only root)" : "");
	error = observe(out, d, name, seconds, interrupted);
out:
	json_decref(body);
	json_decref(resp);
	cs_buf_release(&path);
	return error;
}

int
cs_procwatch_run(struct cs_procwatch *out, struct cs_docker *d, const char *image, double seconds,
		 volatile sig_atomic_t *interrupted)
{
	int error, created = 0, runnable = 0;
	char name[32];

	random_name(name, sizeof(name));
	out->container = cs_xstrdup(name);
	if ((error = has_command(d, image, &runnable)) < 0)
		goto out;
	if (!runnable) {
		out->note = cs_xstrdup("the image has no command: no process to observe");
		goto out;
	}
	error = run_once(out, d, image, name, seconds, interrupted, 1, &created);
	/*
	 * The fallback: an image that cannot start, or stops with an error before
	 * the end, with a read-only root (it writes outside /tmp, /run, /var/tmp)
	 * is observed again with a writable root, the rest of the sandbox
	 * unchanged. What the first run showed is kept: those processes ran.
	 */
	if (error == 0 && (!out->started || (out->exited && out->exit_code != 0))) {
		cs_log(CS_LOG_INFO,
		       "'%s' %s with a read-only root: observing it again with a writable root",
		       image, out->started ? "stopped with an error" : "did not start");
		remove_container(d, name);
		created = 0;
		random_name(name, sizeof(name));
		free(out->container);
		out->container = cs_xstrdup(name);
		out->started = out->exited = out->exit_code = 0;
		out->exited_after = 0;
		CS_FREE_AND_NULL(out->note);
		out->read_only_failed = 1;
		error = run_once(out, d, image, name, seconds, interrupted, 0, &created);
	}
out:
	if (created)
		remove_container(d, name);
	return error;
}

void
cs_procwatch_release(struct cs_procwatch *pw)
{
	cs_strvec_clear(&pw->names);
	cs_strvec_clear(&pw->cmdlines);
	CS_FREE_AND_NULL(pw->note);
	CS_FREE_AND_NULL(pw->container);
	pw->samples = pw->started = pw->exited = pw->exit_code = 0;
	pw->read_only = pw->read_only_failed = 0;
}
