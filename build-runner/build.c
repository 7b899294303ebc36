/*
 * The build step: the context goes to POST /build as a tar streamed straight
 * from disk (classic builder), and the engine's JSON message stream is printed
 * line by line as it arrives, the way a Jenkins console wants it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "br.h"
#include "buf.h"
#include "context.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

struct build_state {
	struct cs_buf line;  /* partial output line */
	struct cs_buf step;  /* the last "Step N/M : ..." line */
	struct cs_buf error; /* the engine's error message */
	char container[65];  /* the running step's container, until the engine removes it */
	int messages;	     /* how many the engine sent */
	char *image_id;
	int color;
	int failed;
};

/* Drop ANSI escape sequences (CSI ... letter, OSC ... BEL) from s, in place. */
static void
strip_ansi(struct cs_buf *s)
{
	size_t r = 0, w = 0;

	while (r < s->len) {
		if (s->buf[r] == 0x1b && r + 1 < s->len && s->buf[r + 1] == '[') {
			r += 2;
			while (r < s->len && !((s->buf[r] >= '@' && s->buf[r] <= '~')))
				r++;
			r++;
		} else if (s->buf[r] == 0x1b && r + 1 < s->len && s->buf[r + 1] == ']') {
			while (r < s->len && s->buf[r] != 0x07)
				r++;
			r++;
		} else if (s->buf[r] == 0x1b || s->buf[r] == '\r') {
			r++;
		} else {
			s->buf[w++] = s->buf[r++];
		}
	}
	s->len = w;
	if (s->alloc)
		s->buf[w] = '\0';
}

/*
 * The classic builder's " ---> Running in ID" and "Removing intermediate
 * container ID" lines: which step container the engine holds now.
 */
static void
note_container(struct build_state *st, const char *line)
{
	static const char run[] = " ---> Running in ", rm[] = "Removing intermediate container ";
	size_t n;

	if (strncmp(line, run, strlen(run)) == 0) {
		line += strlen(run);
		n = strspn(line, "0123456789abcdef");
		if (n && n < sizeof(st->container)) {
			memcpy(st->container, line, n);
			st->container[n] = '\0';
		}
	} else if (strncmp(line, rm, strlen(rm)) == 0 && st->container[0] &&
		   strncmp(line + strlen(rm), st->container, strlen(st->container)) == 0) {
		st->container[0] = '\0';
	}
}

/* Print the complete lines of st->line; keep a partial last line. */
static void
flush_lines(struct build_state *st, int all)
{
	char *nl;

	while ((nl = memchr(st->line.buf, '\n', st->line.len)) != NULL || (all && st->line.len)) {
		struct cs_buf one = CS_BUF_INIT;
		size_t n = nl ? (size_t)(nl - st->line.buf) + 1 : st->line.len;

		cs_buf_add(&one, st->line.buf, n);
		cs_buf_consume(&st->line, n);
		if (!st->color)
			strip_ansi(&one);
		note_container(st, one.buf);
		if (strncmp(one.buf, "Step ", 5) == 0) {
			cs_buf_reset(&st->step);
			cs_buf_add(&st->step, one.buf, one.len);
			cs_buf_rtrim(&st->step);
		}
		if (one.len && one.buf[one.len - 1] != '\n')
			cs_buf_addch(&one, '\n');
		cs_out_progress_raw(one.buf, one.len);
		cs_buf_release(&one);
	}
}

static int
on_message(json_t *msg, void *payload)
{
	struct build_state *st = payload;
	const char *s;
	json_t *aux;

	st->messages++;
	if ((s = json_string_value(json_object_get(msg, "stream"))) != NULL) {
		cs_buf_adds(&st->line, s);
		flush_lines(st, 0);
	}
	if ((s = json_string_value(json_object_get(msg, "status"))) != NULL) {
		/* pull progress during FROM: one line per status, no progress bars */
		const char *id = json_string_value(json_object_get(msg, "id"));

		if (json_object_get(msg, "progressDetail") == NULL ||
		    json_object_size(json_object_get(msg, "progressDetail")) == 0) {
			if (id)
				cs_out("%s: %s", id, s);
			else
				cs_out("%s", s);
		}
	}
	if ((s = json_string_value(json_object_get(msg, "error"))) != NULL) {
		json_t *detail = json_object_get(msg, "errorDetail");
		const char *m = json_string_value(json_object_get(detail, "message"));

		cs_buf_reset(&st->error);
		cs_buf_adds(&st->error, m ? m : s);
		st->failed = 1;
	}
	aux = json_object_get(msg, "aux");
	if ((s = json_string_value(json_object_get(aux, "ID"))) != NULL) {
		free(st->image_id);
		st->image_id = cs_xstrdup(s);
	}
	return 0;
}

static void
add_param(struct cs_buf *q, const char *key, const char *value)
{
	cs_buf_addch(q, q->len ? '&' : '?');
	cs_buf_adds(q, key);
	cs_buf_addch(q, '=');
	cs_http_urlencode(q, value);
}

static int
add_json_param(struct cs_buf *q, const char *key, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		return cs_err_set(CS_EINVAL, "cannot encode %s", key);
	add_param(q, key, s);
	free(s);
	return 0;
}

/* The text after the last ':' of the current error message, without the leading space. */
static char *
err_reason(void)
{
	const char *m = cs_err_msg(), *c = strrchr(m, ':');

	if (c == NULL)
		return cs_xstrdup(m);
	c++;
	while (*c == ' ')
		c++;
	return cs_xstrdup(*c ? c : m);
}

/*
 * The build stream ended without an image: stream_error is CS_ENET when the
 * connection was cut, 0 when the engine ended the build itself (a step
 * failed, or no image ID came). An engine that stops (SIGTERM) ends the
 * running step (exit 137) and the stream before it goes: if it no longer
 * answers, that is the engine's fault, not the Dockerfile's. Returns 0 when
 * the engine still answers (the failure stands), else CS_ENET with one line
 * naming the engine, the step and the step's container it may keep.
 */
static int
engine_lost(struct cs_docker *d, const struct build_state *st, int stream_error)
{
	struct cs_buf msg = CS_BUF_INIT;
	char *why = NULL;
	int error;

	if (stream_error == CS_ENET) {
		why = err_reason();
		cs_buf_addf(&msg, st->messages ? "the connection was cut (%s)" : "no answer (%s)",
			    why);
	} else {
		if (cs_docker_ping(d, 5000) == 0)
			return 0;
		why = err_reason();
		if (st->failed)
			cs_buf_addf(&msg, "it ended the step with '%s' and no longer answers (%s)",
				    st->error.buf, why);
		else
			cs_buf_addf(&msg,
				    "it ended the build without an image and no longer "
				    "answers (%s)",
				    why);
	}
	if (st->container[0])
		cs_buf_addf(&msg, "; it may keep the step's container %s (docker rm %s)",
			    st->container, st->container);
	if (st->step.len)
		error = cs_err_set(CS_ENET, "lost the engine at %s during the build, at %s: %s",
				   cs_docker_host(d), st->step.buf, msg.buf);
	else
		error = cs_err_set(CS_ENET, "lost the engine at %s during the build: %s",
				   cs_docker_host(d), msg.buf);
	free(why);
	cs_buf_release(&msg);
	return error;
}

/*
 * The engine refuses a Dockerfile it cannot parse, or a --target it does not
 * find, with HTTP 400 before any step: that is a failed build (exit 1), and
 * the engine's own message is what to show, without our request line.
 */
static int
engine_refused(const char *path)
{
	struct cs_buf prefix = CS_BUF_INIT;
	const char *m = cs_err_msg(), *tail;
	char *msg;
	size_t n;
	int error;

	cs_buf_adds(&prefix, "POST ");
	cs_http_display_path(&prefix, path);
	cs_buf_adds(&prefix, ": ");
	if (strncmp(m, prefix.buf, prefix.len) == 0)
		m += prefix.len;
	n = strlen(m);
	tail = " (HTTP 400)";
	if (n >= strlen(tail) && strcmp(m + n - strlen(tail), tail) == 0)
		n -= strlen(tail);
	msg = cs_xstrndup(m, n);
	error = cs_err_set(CS_EBUILD, "build failed: %s", msg);
	free(msg);
	cs_buf_release(&prefix);
	return error;
}

int
br_build(struct br_build_result *out, struct cs_docker *d, const struct br_build_opts *o)
{
	struct cs_context_opts copts = {.dir = o->context_dir,
					.dockerfile = o->dockerfile,
					.mtime = o->mtime,
					.exclude_git_dir = o->exclude_git_dir};
	struct build_state st = {.line = CS_BUF_INIT, .step = CS_BUF_INIT, .error = CS_BUF_INIT};
	struct cs_strvec hdrs = CS_STRVEC_INIT;
	struct cs_context *ctx = NULL;
	struct cs_buf path = CS_BUF_INIT, regconfig = CS_BUF_INIT;
	json_t *args = NULL;
	uint64_t files = 0, bytes = 0;
	long status = 0;
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	st.color = cs_log_color();
	if ((error = cs_context_open(&ctx, &copts)) < 0) {
		/* a malformed .dockerignore, an unreadable Dockerfile: bad input (exit 2) */
		if (error != CS_EINTR) {
			char *m = cs_xstrdup(cs_err_msg());

			error = cs_err_set(CS_EINVAL, "%s", m);
			free(m);
		}
		goto out;
	}
	cs_context_stats(ctx, &files, &bytes);
	cs_out("sending build context: %" PRIu64 " files, %" PRIu64 " bytes", files, bytes);

	for (i = 0; i < o->tags->nr; i++)
		add_param(&path, "t", o->tags->v[i]);
	add_param(&path, "dockerfile", cs_context_dockerfile_name(ctx));
	add_param(&path, "rm", "1");
	add_param(&path, "forcerm", "1");
	if (o->no_cache)
		add_param(&path, "nocache", "1");
	if (o->pull)
		add_param(&path, "pull", "1");
	if (o->target)
		add_param(&path, "target", o->target);
	args = json_object();
	for (i = 0; o->build_args && i < o->build_args->nr; i++) {
		const char *kv = o->build_args->v[i], *eq = strchr(kv, '=');
		char *k;

		if (eq == NULL) {
			/* like docker: K alone takes the value from the environment */
			const char *v = getenv(kv);

			if (v)
				json_object_set_new(args, kv, json_string(v));
			continue;
		}
		k = cs_xstrndup(kv, (size_t)(eq - kv));
		json_object_set_new(args, k, json_string(eq + 1));
		free(k);
	}
	if (json_object_size(args) && (error = add_json_param(&path, "buildargs", args)) < 0)
		goto out;
	if (o->labels && json_object_size(o->labels) &&
	    (error = add_json_param(&path, "labels", o->labels)) < 0)
		goto out;
	cs_buf_consume(&path, 1); /* the '?' */
	{
		struct cs_buf full = CS_BUF_INIT;

		cs_buf_addf(&full, "/build?%s", path.buf);
		cs_buf_wipe(&path); /* it holds the build args */
		path = full;
	}
	cs_strvec_push(&hdrs, "Content-Type: application/x-tar");
	/* --pull, or a base image the engine does not have: it pulls with these */
	if (o->dockerfile && (error = br_registry_config(&regconfig, o->dockerfile, o->build_args,
							 o->registry, o->auth)) < 0)
		goto out;
	if (regconfig.len)
		cs_strvec_pushf(&hdrs, "X-Registry-Config: %s", regconfig.buf);

	error = cs_docker_stream(d, "POST", path.buf, &hdrs, cs_context_read_cb, ctx, on_message,
				 &st, &status);
	flush_lines(&st, 1);
	if (error == CS_EHTTP && status == 400) {
		error = engine_refused(path.buf);
		goto out;
	}
	if (error == CS_ENET || (error == 0 && (st.failed || st.image_id == NULL))) {
		int lost = engine_lost(d, &st, error);

		if (lost < 0) {
			error = lost;
			goto out;
		}
	}
	if (error < 0)
		goto out;
	if (st.failed) {
		if (st.step.len)
			error = cs_err_set(CS_EBUILD, "build failed at %s: %s", st.step.buf,
					   st.error.buf);
		else
			error = cs_err_set(CS_EBUILD, "build failed: %s", st.error.buf);
		goto out;
	}
	if (st.image_id == NULL) {
		error = cs_err_set(CS_EHTTP, "the engine finished the build without an image ID");
		goto out;
	}
	out->image_id = st.image_id;
	st.image_id = NULL;
	out->files = files;
	out->bytes = bytes;
out:
	json_decref(args);
	cs_context_free(ctx);
	cs_strvec_wipe(&hdrs);
	cs_buf_wipe(&path);
	cs_buf_wipe(&regconfig);
	cs_buf_release(&st.line);
	cs_buf_release(&st.step);
	cs_buf_release(&st.error);
	free(st.image_id);
	return error;
}

void
br_build_result_release(struct br_build_result *r)
{
	free(r->image_id);
	r->image_id = NULL;
}
