/*
 * The stability window of the Docker backends' converge loops and the wait's
 * progress lines: an object is converged when it has stayed ready for the
 * window, as `docker service create/update --detach=false` verifies it.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "converge.h"
#include "deploy.h"
#include "engine.h"
#include "log.h"
#include "xalloc.h"

double
dep_stable_window(struct dep_ctx *ctx, const char *key)
{
	json_t *svc = json_object_get(json_object_get(ctx->model, "services"), key ? key : "");
	json_t *uc = json_object_get(json_object_get(svc, "deploy"), "update_config");
	json_int_t monitor = dep_num(uc, "monitor_ns");

	if (monitor > 0)
		return (double)monitor / 1e9;
	return ctx->opts->stable_for_s > 0 ? ctx->opts->stable_for_s : 0;
}

static const char *
subject_of(struct dep_item *it)
{
	return it->name;
}

int
dep_stable_check(struct dep_ctx *ctx, struct dep_item *it, struct dep_stable *st, int ready,
		 const char *what)
{
	double window = dep_stable_window(ctx, it->key), now = cs_clock_now(), elapsed;
	int whole;

	if (!ready) {
		if (st->since > 0 && !st->notready)
			cs_log_progress("%s %s: not ready any more, the %g s window starts again",
					dep_kind_name(it->kind), subject_of(it), window);
		st->notready = st->since > 0 || st->notready;
		st->since = 0;
		st->shown = 0;
		return 0;
	}
	st->notready = 0;
	if (st->since == 0) {
		st->since = now;
		if (window > 0)
			cs_log_progress("%s %s: %s; verifying it stays so for %g s",
					dep_kind_name(it->kind), subject_of(it),
					what ? what : "ready", window);
	}
	elapsed = now - st->since;
	if (elapsed >= window) {
		if (window > 0)
			cs_log_progress("%s %s: stable for %g s", dep_kind_name(it->kind),
					subject_of(it), window);
		return 1;
	}
	whole = (int)elapsed; /* elapsed >= 0 */
	if (whole > st->shown) {
		st->shown = whole;
		cs_log_progress("%s %s: stable %d/%g s", dep_kind_name(it->kind), subject_of(it),
				whole, window);
	}
	free(it->diag);
	it->diag =
	    cs_xasprintf("%s, stable for %.1f of %g s", what ? what : "ready", elapsed, window);
	return 0;
}

void
dep_stable_note(struct dep_stable *st, const char *subject, const char *id, const char *state)
{
	const char *last;

	if (st->seen == NULL)
		st->seen = json_object();
	last = json_string_value(json_object_get(st->seen, id));
	if (last && strcmp(last, state) == 0)
		return;
	if (last)
		cs_log_progress("%s %s -> %s", subject, last, state);
	else
		cs_log_progress("%s %s", subject, state);
	json_object_set_new(st->seen, id, json_string(state));
}

void
dep_stable_reset(struct dep_stable *st)
{
	st->since = 0;
	st->shown = 0;
	st->notready = 0;
}

void
dep_stable_release(struct dep_stable *st)
{
	json_decref(st->seen);
	memset(st, 0, sizeof(*st));
}
