/*
 * The deployment flow every target shares: check the model, plan, apply in
 * order, wait for all changed objects at once, roll back on failure, report.
 * The target-specific work is behind struct dep_backend (backend.h).
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signals.h"
#include "clock.h"
#include "backend.h"
#include "deploy.h"
#include "docker.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "outfile.h"
#include "xalloc.h"

#define DEP_DEFAULT_TIMEOUT_S 300

static const struct dep_backend *const backends[] = {
    &dep_backend_swarm,
    &dep_backend_compose,
    &dep_backend_kubernetes,
};

const struct dep_backend *
dep_backend_find(const char *coe)
{
	size_t i;

	for (i = 0; coe && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->coe, coe) == 0)
			return backends[i];
	return NULL;
}

/* Signals: the first SIGINT/SIGTERM is kept; transfers are cancelled unless restoring. */
static volatile sig_atomic_t signal_seen;
static volatile sig_atomic_t restoring;
static volatile sig_atomic_t cancel_flag;

static void
on_signal(int sig)
{
	if (signal_seen == 0)
		signal_seen = sig;
	if (!restoring)
		cancel_flag = 1;
}

void
dep_signals_install(void)
{
	cs_signals_catch(on_signal);
	signal(SIGPIPE, SIG_IGN);
}

int
dep_interrupted(void)
{
	return signal_seen;
}

const char *
dep_kind_name(enum dep_kind kind)
{
	switch (kind) {
	case DEP_KIND_NETWORK:
		return "network";
	case DEP_KIND_VOLUME:
		return "volume";
	case DEP_KIND_SECRET:
		return "secret";
	case DEP_KIND_CONFIG:
		return "config";
	case DEP_KIND_SERVICE:
		return "service";
	case DEP_KIND_CONTAINER:
		return "container";
	case DEP_KIND_OBJECT:
		return "object";
	}
	return "object";
}

const char *
dep_item_kind(const struct dep_item *it)
{
	return it->kind_name ? it->kind_name : dep_kind_name(it->kind);
}

static const char *
plan_verb(enum dep_action a)
{
	switch (a) {
	case DEP_ACT_CREATE:
		return "create";
	case DEP_ACT_UPDATE:
		return "update";
	case DEP_ACT_UNCHANGED:
		return "unchanged";
	case DEP_ACT_REMOVE:
		return "remove";
	}
	return "?";
}

static const char *
done_verb(enum dep_action a)
{
	switch (a) {
	case DEP_ACT_CREATE:
		return "created";
	case DEP_ACT_UPDATE:
		return "updated";
	case DEP_ACT_UNCHANGED:
		return "unchanged";
	case DEP_ACT_REMOVE:
		return "removed";
	}
	return "?";
}

struct dep_item *
dep_plan_add(struct dep_plan *plan, enum dep_kind kind, enum dep_action action, const char *name,
	     const char *key)
{
	struct dep_item *it;

	CS_ALLOC_GROW(plan->v, plan->nr + 1, plan->alloc);
	it = &plan->v[plan->nr++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->action = action;
	it->name = cs_xstrdup(name);
	it->key = key ? cs_xstrdup(key) : NULL;
	return it;
}

void
dep_plan_release(struct dep_plan *plan, const struct dep_backend *be)
{
	size_t i;

	for (i = 0; i < plan->nr; i++) {
		struct dep_item *it = &plan->v[i];

		if (be && be->item_release)
			be->item_release(it);
		free(it->name);
		free(it->kind_name);
		free(it->key);
		free(it->id);
		free(it->diag);
		json_decref(it->desired);
		json_decref(it->current);
	}
	CS_FREE_AND_NULL(plan->v);
	plan->nr = plan->alloc = 0;
}

/* Depth-first visit for dep_service_order(); state: 0 new, 1 visiting, 2 done. */
static int
order_visit(struct cs_strvec *out, json_t *services, json_t *state, const char *name,
	    const char *from)
{
	json_t *svc = json_object_get(services, name), *deps, *d;
	json_int_t st = json_integer_value(json_object_get(state, name));
	size_t i;
	int error;

	if (svc == NULL)
		return cs_err_set(CS_EINVAL, "service '%s' depends on unknown service '%s'",
				  from ? from : "?", name);
	if (st == 2)
		return 0;
	if (st == 1)
		return cs_err_set(CS_EINVAL, "depends_on cycle through service '%s'", name);
	json_object_set_new(state, name, json_integer(1));
	deps = json_object_get(svc, "depends_on");
	if (json_is_array(deps)) {
		/* visit in name order so the order does not depend on the file's */
		struct cs_strvec sorted = CS_STRVEC_INIT;
		size_t j;

		json_array_foreach(deps, i, d)
		{
			if (json_is_string(d))
				cs_strvec_push(&sorted, json_string_value(d));
		}
		for (i = 1; i < sorted.nr; i++)
			for (j = i; j > 0 && strcmp(sorted.v[j - 1], sorted.v[j]) > 0; j--) {
				char *t = sorted.v[j];
				sorted.v[j] = sorted.v[j - 1];
				sorted.v[j - 1] = t;
			}
		for (i = 0; i < sorted.nr; i++) {
			if ((error = order_visit(out, services, state, sorted.v[i], name)) < 0) {
				cs_strvec_clear(&sorted);
				return error;
			}
		}
		cs_strvec_clear(&sorted);
	} else if (json_is_object(deps)) {
		const char *k;

		/* long syntax {NAME: {condition}}: jansson iterates keys in insertion order */
		json_object_foreach(deps, k, d)
		{
			if ((error = order_visit(out, services, state, k, name)) < 0)
				return error;
		}
	}
	/* links name services too ("db" or "db:alias"); compose starts those first */
	json_array_foreach(json_object_get(svc, "links"), i, d)
	{
		const char *l = json_string_value(d);
		char *target;

		if (l == NULL)
			continue;
		target = cs_xstrndup(l, strcspn(l, ":"));
		error = json_object_get(services, target)
			    ? order_visit(out, services, state, target, name)
			    : 0;
		free(target);
		if (error < 0)
			return error;
	}
	json_object_set_new(state, name, json_integer(2));
	cs_strvec_push(out, name);
	return 0;
}

int
dep_service_order(struct cs_strvec *out, json_t *model)
{
	json_t *services = json_object_get(model, "services"), *state = json_object(), *v;
	struct cs_strvec names = CS_STRVEC_INIT, res = CS_STRVEC_INIT;
	const char *k;
	size_t i, j;
	int error = 0;

	json_object_foreach(services, k, v) { cs_strvec_push(&names, k); }
	for (i = 1; i < names.nr; i++)
		for (j = i; j > 0 && strcmp(names.v[j - 1], names.v[j]) > 0; j--) {
			char *t = names.v[j];
			names.v[j] = names.v[j - 1];
			names.v[j - 1] = t;
		}
	for (i = 0; i < names.nr; i++)
		if ((error = order_visit(&res, services, state, names.v[i], NULL)) < 0)
			goto out;
	for (i = 0; i < res.nr; i++)
		cs_strvec_push(out, res.v[i]);
out:
	cs_strvec_clear(&names);
	cs_strvec_clear(&res);
	json_decref(state);
	return error;
}

static void
sha256_hex(char *out, size_t hexlen, const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	static const char hex[] = "0123456789abcdef";

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && 2 * i < hexlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[hexlen] = '\0';
}

void
dep_short_hash(char out[13], const void *data, size_t len)
{
	sha256_hex(out, 12, data, len);
}

void
dep_json_hash(char out[65], json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	sha256_hex(out, 64, s ? s : "", s ? strlen(s) : 0);
	free(s);
}

static int
is_empty(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 1;
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_REAL:
		return json_real_value(v) == 0.0;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	default:
		return 0;
	}
}

json_t *
dep_json_prune(json_t *v)
{
	json_t *res, *e, *p;
	const char *k;
	size_t i;

	if (json_is_object(v)) {
		res = json_object();
		json_object_foreach(v, k, e)
		{
			p = dep_json_prune(e);
			if (is_empty(p))
				json_decref(p);
			else
				json_object_set_new(res, k, p);
		}
		return res;
	}
	if (json_is_array(v)) {
		res = json_array();
		json_array_foreach(v, i, e) { json_array_append_new(res, dep_json_prune(e)); }
		return res;
	}
	return json_deep_copy(v);
}

void
dep_bay_host(struct cs_buf *out, const char *bay)
{
	const char *p, *end;

	if (bay == NULL)
		bay = getenv("DOCKER_HOST");
	if (bay && strncmp(bay, "tcp://", 6) == 0) {
		p = bay + 6;
		if (*p == '[')
			end = strchr(p, ']') ? strchr(p, ']') + 1 : p + strlen(p);
		else
			end = p + strcspn(p, ":/");
		if (end > p) {
			cs_buf_add(out, p, (size_t)(end - p));
			return;
		}
	}
	cs_buf_adds(out, "127.0.0.1");
}

void
dep_logs_demux(struct cs_buf *out, const char *data, size_t len, int max_lines)
{
	struct cs_buf text = CS_BUF_INIT;
	const unsigned char *u = (const unsigned char *)data;
	size_t pos = 0, start;
	int lines = 0;

	if (len >= 8 && u[0] <= 2 && u[1] == 0 && u[2] == 0 && u[3] == 0) {
		while (pos + 8 <= len) {
			size_t n = ((size_t)u[pos + 4] << 24) | ((size_t)u[pos + 5] << 16) |
				   ((size_t)u[pos + 6] << 8) | (size_t)u[pos + 7];

			pos += 8;
			if (n > len - pos)
				n = len - pos;
			cs_buf_add(&text, data + pos, n);
			pos += n;
		}
	} else {
		cs_buf_add(&text, data, len);
	}
	cs_buf_rtrim(&text);
	/* keep the last max_lines lines */
	start = text.len;
	while (start > 0) {
		if (text.buf[start - 1] == '\n' && ++lines >= max_lines)
			break;
		start--;
	}
	{
		char *s = cs_xstrndup(text.buf + start, text.len - start);
		char *q;

		/* escape control characters except the newlines we keep */
		for (q = s; *q; q++)
			if ((unsigned char)*q < 0x20 && *q != '\n' && *q != '\t')
				*q = '?';
		cs_buf_adds(out, s);
		free(s);
	}
	cs_buf_release(&text);
}

int
dep_parse_time(double *out, const char *s)
{
	struct tm tm;
	int n = 0;
	double frac = 0, scale = 0.1;
	const char *p;
	time_t t;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	t = timegm(&tm);
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) >= 1)
			t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
	}
	*out = (double)t + frac;
	return 0;
}

/* Result. */

void
dep_result_add(struct dep_result *res, const char *kind, const char *name, const char *action)
{
	struct dep_result_object *o;

	CS_ALLOC_GROW(res->objects, res->objects_nr + 1, res->objects_alloc);
	o = &res->objects[res->objects_nr++];
	o->kind = cs_xstrdup(kind);
	o->name = cs_xstrdup(name);
	o->action = cs_xstrdup(action);
}

void
dep_result_release(struct dep_result *res)
{
	size_t i;

	for (i = 0; i < res->objects_nr; i++) {
		free(res->objects[i].kind);
		free(res->objects[i].name);
		free(res->objects[i].action);
	}
	free(res->objects);
	free(res->app);
	free(res->coe);
	free(res->message);
	cs_strvec_clear(&res->endpoints);
	memset(res, 0, sizeof(*res));
	res->status = "failed";
}

json_t *
dep_result_json(const struct dep_result *res)
{
	json_t *root, *objs = json_array(), *eps = json_array();
	size_t i;

	for (i = 0; i < res->objects_nr; i++)
		json_array_append_new(
		    objs, json_pack("{s:s, s:s, s:s}", "kind", res->objects[i].kind, "name",
				    res->objects[i].name, "action", res->objects[i].action));
	for (i = 0; i < res->endpoints.nr; i++)
		json_array_append_new(eps, json_string(res->endpoints.v[i]));
	root = json_pack("{s:s?, s:s?, s:b, s:s, s:i, s:o, s:o}", "app", res->app, "coe", res->coe,
			 "changed", res->changed, "status", res->status ? res->status : "failed",
			 "exit_code", res->exit_code, "objects", objs, "endpoints", eps);
	if (res->message)
		json_object_set_new(root, "message", json_string(res->message));
	return root;
}

int
dep_result_write_json(const struct dep_result *res, const char *path)
{
	json_t *root = dep_result_json(res);
	int error = cs_outfile_write_json(path, root, JSON_PRESERVE_ORDER);

	json_decref(root);
	return error;
}

/* The flow. */

static void
add_message(struct dep_result *res, const char *msg)
{
	char *m;

	if (res->message == NULL) {
		res->message = cs_xstrdup(msg);
		return;
	}
	m = cs_xasprintf("%s\n%s", res->message, msg);
	free(res->message);
	res->message = m;
}

/* Log a message that may span lines (log excerpts) one line at a time. */
static void
log_lines(enum cs_log_level level, const char *m)
{
	const char *nl;
	int first = 1;

	do {
		nl = strchr(m, '\n');
		cs_log(level, "%s%.*s", first ? "" : "  | ", (int)(nl ? nl - m : (long)strlen(m)),
		       m);
		first = 0;
		m = nl + 1;
	} while (nl);
}

static int
fail(struct dep_result *res, int code, const char *what)
{
	char *m = cs_xasprintf("%s%s%s", what ? what : "", what ? ": " : "", cs_err_msg());

	cs_log(CS_LOG_ERROR, "%s", m);
	add_message(res, m);
	free(m);
	return code;
}

/* Everything that makes the model undeployable before we talk to the bay, all at once. */
static int
check_model(struct dep_result *res, json_t *model, const char *coe)
{
	json_t *services = json_object_get(model, "services"), *svc;
	const char *name;
	int bad = 0;

	if (!json_is_object(model) || !json_is_object(services) ||
	    json_object_size(services) == 0) {
		cs_err_set(CS_EINVAL, "the model has no services");
		fail(res, DEP_EXIT_INVALID, NULL);
		return CS_EINVAL;
	}
	json_object_foreach(services, name, svc)
	{
		json_t *image = json_object_get(svc, "image");

		if (!json_is_string(image) || json_string_length(image) == 0) {
			if (json_is_true(json_object_get(svc, "build")))
				cs_err_set(CS_EINVAL,
					   "service '%s' has build: and no image: it cannot be "
					   "deployed to %s (build and push the image first)",
					   name, coe);
			else
				cs_err_set(CS_EINVAL, "service '%s' has no image", name);
			fail(res, DEP_EXIT_INVALID, NULL);
			bad = 1;
		}
	}
	return bad ? CS_EINVAL : 0;
}

/* A signal stopped the run: the exit code is 128 + the signal, as a shell reports it. */
static int
interrupted(struct dep_result *res)
{
	int sig = dep_interrupted();
	char *m = cs_xasprintf("interrupted by %s: stopping and restoring what this run changed",
			       sig == SIGINT	? "SIGINT"
			       : sig == SIGTERM ? "SIGTERM"
						: "a signal");

	cs_log(CS_LOG_ERROR, "%s", m);
	add_message(res, m);
	free(m);
	return 128 + sig;
}

static int
class_of(int error)
{
	switch (error) {
	case CS_ENET:
	case CS_ETLS:
		return DEP_EXIT_UNREACHABLE;
	case CS_EINVAL:
		return DEP_EXIT_INVALID;
	case CS_ETIMEOUT:
		return DEP_EXIT_TIMEOUT;
	default:
		return DEP_EXIT_REJECTED;
	}
}

static void
print_plan(struct dep_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];

		cs_out("%s%s %s %s", ctx->opts->dry_run ? "plan: " : "", plan_verb(it->action),
		       dep_item_kind(it), it->name);
	}
}

/* Roll back every applied item, newest first, then wait for the updates to converge. */
static int
roll_back(struct dep_ctx *ctx)
{
	size_t i;
	int error, failed = 0, timeout_s;

	/* the restore runs to its end even after a signal: a half-restored app helps no one */
	restoring = 1;
	cancel_flag = 0;
	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];

		it->wait = 0;
		/* a change cut short (signal, lost bay) may have reached the bay: look */
		if (!it->uncertain || ctx->be->recheck == NULL)
			continue;
		if ((error = ctx->be->recheck(ctx, it)) < 0) {
			char *what =
			    cs_xasprintf("cannot tell whether %s '%s' was %s", dep_item_kind(it),
					 it->name, done_verb(it->action));

			fail(ctx->result, 0, what);
			free(what);
			failed = 1;
			continue;
		}
		it->uncertain = 0;
		it->wait = 0;
	}
	for (i = ctx->plan.nr; i-- > 0;) {
		struct dep_item *it = &ctx->plan.v[i];

		if (!it->applied)
			continue;
		cs_out("rolling back %s %s", dep_item_kind(it), it->name);
		if ((error = ctx->be->rollback(ctx, it)) < 0) {
			char *what =
			    cs_xasprintf("cannot roll back %s '%s'", dep_item_kind(it), it->name);

			fail(ctx->result, 0, what);
			free(what);
			failed = 1;
		}
	}
	timeout_s = ctx->opts->timeout_s > 0 ? ctx->opts->timeout_s : DEP_DEFAULT_TIMEOUT_S;
	ctx->deadline = cs_clock_now() + timeout_s;
	ctx->rolling_back = 1;
	error = ctx->be->wait(ctx);
	ctx->rolling_back = 0;
	restoring = 0;
	if (error < 0) {
		for (i = 0; i < ctx->plan.nr; i++) {
			struct dep_item *it = &ctx->plan.v[i];
			char *m;

			if (!it->wait || it->done || !(it->failed || error == CS_ETIMEOUT))
				continue;
			m = cs_xasprintf("rollback of %s '%s' did not converge: %s",
					 dep_item_kind(it), it->name,
					 it->diag ? it->diag : "unknown state");
			log_lines(CS_LOG_ERROR, m);
			add_message(ctx->result, m);
			free(m);
		}
		failed = 1;
	}
	return failed ? CS_ERROR : 0;
}

/* 1 when some item changed the bay, or may have (its apply got no answer). */
static int
any_change(struct dep_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->plan.nr; i++)
		if (ctx->plan.v[i].applied || ctx->plan.v[i].uncertain)
			return 1;
	return 0;
}

/*
 * Apply one item. When the request gets no answer because the bay went
 * away, the bay is polled until ctx->deadline (as the wait does): once it
 * answers, recheck() tells whether the change took effect; a whole change is
 * kept and the run goes on, a partial one is rolled back and applied again,
 * none is applied again. A signal or the deadline ends it with the item
 * marked uncertain, for roll_back() to look at once more.
 */
static int
apply_item(struct dep_ctx *ctx, struct dep_item *it)
{
	char *reason;
	int error;

	for (;;) {
		if ((error = ctx->be->apply(ctx, it)) == 0)
			return 0;
		if (error == CS_EINTR || dep_interrupted()) {
			it->uncertain = 1;
			return error;
		}
		if (!cs_err_unreachable(error) || error == CS_ETLS || ctx->be->recheck == NULL)
			return error;
		it->uncertain = 1;
		reason = cs_xstrdup(cs_err_msg());
		cs_log(CS_LOG_WARN,
		       "lost the bay while applying %s %s: %s; trying again for %.0f s",
		       dep_item_kind(it), it->name, reason,
		       ctx->deadline > cs_clock_now() ? ctx->deadline - cs_clock_now() : 0);
		for (;;) {
			if (dep_interrupted()) {
				free(reason);
				return cs_err_set(CS_EINTR, "interrupted");
			}
			if (cs_clock_now() >= ctx->deadline) {
				error = cs_err_set(CS_ENET,
						   "the bay stayed unreachable until the deadline "
						   "(--timeout): %s",
						   reason);
				free(reason);
				return error;
			}
			cs_clock_sleep_ms(ctx->opts->poll_ms > 0 ? ctx->opts->poll_ms : 250);
			if ((error = ctx->be->recheck(ctx, it)) == 0)
				break;
			if (!cs_err_unreachable(error)) {
				free(reason);
				return error;
			}
		}
		free(reason);
		it->uncertain = 0;
		cs_log(CS_LOG_WARN, "the bay answers again: %s %s was %s", dep_item_kind(it),
		       it->name,
		       !it->applied  ? "not changed: applying it again"
		       : it->partial ? "changed in part: undoing that and applying it again"
				     : "changed");
		if (it->applied && !it->partial) {
			cs_out("%s %s %s", done_verb(it->action), dep_item_kind(it), it->name);
			return 0;
		}
		if (it->applied) {
			/* the item's own half-change goes, --keep-on-failure or not */
			const struct dep_deploy_opts *opts = ctx->opts;
			struct dep_deploy_opts undo = *opts;

			undo.keep_on_failure = 0;
			ctx->opts = &undo;
			error = ctx->be->rollback(ctx, it);
			ctx->opts = opts;
			if (error < 0)
				return error;
			it->applied = it->partial = it->wait = 0;
			it->done = it->failed = 0;
		}
	}
}

/* "rolled_back", or "failed" when --keep-on-failure left every change in place. */
static const char *
rollback_status(struct dep_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];

		if (it->applied && (it->action == DEP_ACT_UPDATE || !ctx->opts->keep_on_failure))
			return "rolled_back";
	}
	return "failed";
}

static void
report_failures(struct dep_ctx *ctx, int timed_out)
{
	size_t i;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];
		char *m;

		if (!it->wait || it->done || !(it->failed || timed_out))
			continue;
		m = cs_xasprintf("%s '%s' %s: %s", dep_item_kind(it), it->key ? it->key : it->name,
				 it->failed ? "failed" : "did not converge in time",
				 it->diag ? it->diag : "no task running yet");
		log_lines(CS_LOG_ERROR, m);
		add_message(ctx->result, m);
		free(m);
	}
}

static void
fill_objects(struct dep_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->plan.nr; i++) {
		struct dep_item *it = &ctx->plan.v[i];

		if (ctx->opts->dry_run || it->action == DEP_ACT_UNCHANGED || it->applied)
			dep_result_add(ctx->result, dep_item_kind(it), it->name,
				       done_verb(it->action));
		if (it->action != DEP_ACT_UNCHANGED && (it->applied || ctx->opts->dry_run))
			ctx->result->changed = 1;
	}
}

int
dep_deploy_run(struct dep_result *out, json_t *model, const struct dep_deploy_opts *opts)
{
	struct dep_deploy_opts local;
	struct dep_lock lock;
	struct dep_ctx ctx;
	char *left;
	size_t i;
	int error, code = DEP_EXIT_OK, timeout_s;

	memset(&ctx, 0, sizeof(ctx));
	memset(&lock, 0, sizeof(lock));
	/* no --app: the model's name (compose.c: name:, else the directory) */
	if (opts->app == NULL && json_is_string(json_object_get(model, "name"))) {
		local = *opts;
		local.app = json_string_value(json_object_get(model, "name"));
		opts = &local;
	}
	ctx.model = model;
	ctx.opts = opts;
	ctx.result = out;
	out->app = opts->app ? cs_xstrdup(opts->app) : NULL;
	out->coe = opts->coe ? cs_xstrdup(opts->coe) : NULL;
	out->status = "failed";

	ctx.cancel = &cancel_flag;
	if ((ctx.be = opts->backend ? opts->backend : dep_backend_find(opts->coe)) == NULL) {
		cs_err_set(CS_EINVAL, "unsupported coe '%s' (swarm, compose, kubernetes)",
			   opts->coe ? opts->coe : "");
		code = fail(out, DEP_EXIT_INVALID, NULL);
		goto out;
	}
	if (opts->app == NULL || !isalnum((unsigned char)opts->app[0]) ||
	    strspn(opts->app,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		strlen(opts->app)) {
		cs_err_set(CS_EINVAL, "invalid app name '%s' ([A-Za-z0-9][A-Za-z0-9_.-]*)",
			   opts->app ? opts->app : "");
		code = fail(out, DEP_EXIT_INVALID, NULL);
		goto out;
	}
	/* Kubernetes manifests carry no Compose services (kube.c checks them itself) */
	if (json_object_get(model, "manifests") == NULL && check_model(out, model, opts->coe) < 0) {
		code = DEP_EXIT_INVALID;
		goto out;
	}

	if ((error = ctx.be->open(&ctx)) < 0) {
		if (dep_interrupted()) {
			code = interrupted(out);
			goto out;
		}
		code = fail(out,
			    error == CS_EINVAL		? DEP_EXIT_INVALID
			    : cs_err_unreachable(error) ? DEP_EXIT_UNREACHABLE
							: DEP_EXIT_REJECTED,
			    NULL);
		goto out;
	}
	/* one deployment of an app at a time: plan from a state nobody else is changing */
	if (!opts->dry_run && (error = dep_lock_acquire(&ctx, &lock)) < 0) {
		if (dep_interrupted()) {
			code = interrupted(out);
			goto out;
		}
		code = fail(out,
			    error == CS_ETIMEOUT	? DEP_EXIT_LOCKED
			    : cs_err_unreachable(error) ? DEP_EXIT_UNREACHABLE
							: DEP_EXIT_REJECTED,
			    NULL);
		goto out;
	}
	if ((error = ctx.be->plan(&ctx)) < 0) {
		code = dep_interrupted() ? interrupted(out)
					 : fail(out, class_of(error), "cannot plan the deployment");
		goto out;
	}
	print_plan(&ctx);
	if (opts->dry_run) {
		out->status = "planned";
		fill_objects(&ctx);
		goto out;
	}

	/* the apply phase has its own --timeout to get through a lost bay */
	timeout_s = opts->timeout_s > 0 ? opts->timeout_s : DEP_DEFAULT_TIMEOUT_S;
	ctx.deadline = cs_clock_now() + timeout_s;
	for (i = 0; i < ctx.plan.nr; i++) {
		struct dep_item *it = &ctx.plan.v[i];
		char *what;

		/* removals wait until the rest converged: they cannot be rolled back */
		if (it->action == DEP_ACT_UNCHANGED || it->action == DEP_ACT_REMOVE)
			continue;
		if (!dep_interrupted() && (error = apply_item(&ctx, it)) == 0)
			continue;
		if (dep_interrupted()) {
			code = interrupted(out);
			if (any_change(&ctx) && roll_back(&ctx) < 0)
				out->status = "failed";
			else if (any_change(&ctx))
				out->status = rollback_status(&ctx);
			goto out;
		}
		what = cs_xasprintf("cannot %s %s '%s'", plan_verb(it->action), dep_item_kind(it),
				    it->name);
		code =
		    fail(out, cs_err_unreachable(error) ? DEP_EXIT_UNREACHABLE : DEP_EXIT_REJECTED,
			 what);
		free(what);
		/*
		 * Undo what was applied, the bay lost or not (a lost bay was
		 * retried until the deadline; the rollback still tries, in case
		 * it is back): exit 9 when it cannot, naming each object.
		 */
		if (any_change(&ctx) && roll_back(&ctx) < 0)
			code = DEP_EXIT_ROLLBACK_FAIL;
		else if (any_change(&ctx))
			out->status = rollback_status(&ctx);
		goto out;
	}

	timeout_s = opts->timeout_s > 0 ? opts->timeout_s : DEP_DEFAULT_TIMEOUT_S;
	ctx.deadline = cs_clock_now() + timeout_s;
	error = ctx.be->wait(&ctx);
	if (error == 0) {
		out->status = "converged";
		if (ctx.be->finish && ctx.be->finish(&ctx) < 0)
			cs_log(CS_LOG_WARN, "cannot clean up after the deployment: %s",
			       cs_err_msg());
		for (i = 0; i < ctx.plan.nr; i++) {
			struct dep_item *it = &ctx.plan.v[i];
			char *what;

			if (it->action != DEP_ACT_REMOVE || ctx.be->apply(&ctx, it) == 0)
				continue;
			what = cs_xasprintf("cannot remove %s '%s'", dep_item_kind(it), it->name);
			code = fail(out, DEP_EXIT_REJECTED, what);
			free(what);
		}
		if ((error = ctx.be->report(&ctx)) < 0)
			cs_log(CS_LOG_WARN, "cannot list the endpoints: %s", cs_err_msg());
		goto out;
	}
	if (dep_interrupted()) {
		code = interrupted(out);
		if (roll_back(&ctx) < 0)
			out->status = "failed";
		else
			out->status = rollback_status(&ctx);
		goto out;
	}
	if (error != CS_ERROR && error != CS_ETIMEOUT) {
		/*
		 * The bay stayed unreachable until the deadline (the wait polls
		 * through a dropped connection): the rollback is still tried, since
		 * the bay may answer again: rolled back, it is a time-out (10); if
		 * the rollback cannot be done, exit 9 says the app may be
		 * half-deployed.
		 */
		code = fail(out, cs_err_unreachable(error) ? DEP_EXIT_TIMEOUT : class_of(error),
			    "cannot wait for the deployment");
	} else {
		report_failures(&ctx, error == CS_ETIMEOUT);
		code = error == CS_ETIMEOUT ? DEP_EXIT_TIMEOUT : DEP_EXIT_ROLLED_BACK;
	}
	if (roll_back(&ctx) < 0) {
		code = DEP_EXIT_ROLLBACK_FAIL;
	} else {
		out->status = rollback_status(&ctx);
		if (code != DEP_EXIT_TIMEOUT)
			code = DEP_EXIT_ROLLED_BACK;
	}

out:
	if (!opts->dry_run)
		fill_objects(&ctx);
	/* rolled back: the bay is as it was (the objects still say what the run did) */
	if (strcmp(out->status, "rolled_back") == 0)
		out->changed = 0;
	if ((left = dep_lock_release(&ctx, &lock)) != NULL) {
		add_message(out, left);
		free(left);
	}
	if (ctx.be)
		ctx.be->close(&ctx);
	dep_plan_release(&ctx.plan, ctx.be);
	out->exit_code = code;
	return code;
}
