/*
 * The apply phase of the deployment flow (deploy.c) against a scripted
 * backend: a bay lost while an item is applied is polled until --timeout,
 * then the item is kept, applied again, or undone and applied again, as the
 * backend's recheck finds it; a bay that stays away ends in a rollback that
 * cannot be done (exit 9, each object named). Also the lock's break rule.
 */
#include <stdlib.h>
#include <string.h>

#include "deployer/backend.h"
#include "deployer/deploy.h"
#include "deployer/lock.h"
#include "err.h"
#include "log.h"
#include "tests/unit/test.h"

/* The script: which item's apply loses the bay, and what the bay did with it. */
enum took {
	TOOK_NOTHING,
	TOOK_ALL,
	TOOK_PART,
};

static struct {
	size_t lose_at;	  /* index of the item whose first apply gets no answer */
	enum took took;	  /* what that request did on the bay */
	int down_polls;	  /* rechecks that still find the bay away (-1: for ever) */
	int fail_http;	  /* the lost item's apply is refused instead (CS_EHTTP) */
	int applies[3];	  /* apply calls per item */
	int rollbacks[3]; /* rollback calls per item */
	int rechecks;	  /* recheck calls */
	int taken[3];	  /* the change is on the bay */
} S;

static int
bay_away(void)
{
	if (S.down_polls < 0)
		return 1;
	if (S.down_polls > 0) {
		S.down_polls--;
		return 1;
	}
	return 0;
}

static int
f_open(struct dep_ctx *ctx)
{
	ctx->priv = NULL;
	return 0;
}

static int
f_plan(struct dep_ctx *ctx)
{
	dep_plan_add(&ctx->plan, DEP_KIND_NETWORK, DEP_ACT_CREATE, "t_default", "default");
	dep_plan_add(&ctx->plan, DEP_KIND_SERVICE, DEP_ACT_CREATE, "t_web", "web");
	dep_plan_add(&ctx->plan, DEP_KIND_SERVICE, DEP_ACT_UPDATE, "t_db", "db");
	return 0;
}

static int
f_apply(struct dep_ctx *ctx, struct dep_item *it)
{
	size_t i = (size_t)(it - ctx->plan.v);

	if (S.applies[i]++ == 0 && i == S.lose_at) {
		if (S.fail_http)
			return cs_err_set(CS_EHTTP, "refused");
		S.taken[i] = S.took != TOOK_NOTHING;
		return cs_err_set(CS_ENET, "connection refused");
	}
	if (S.taken[i] && it->action == DEP_ACT_CREATE)
		return cs_err_set(CS_EHTTP, "HTTP 409: the name is in use");
	S.taken[i] = 1;
	it->applied = 1;
	it->wait = it->kind == DEP_KIND_SERVICE;
	return 0;
}

static int
f_recheck(struct dep_ctx *ctx, struct dep_item *it)
{
	size_t i = (size_t)(it - ctx->plan.v);

	S.rechecks++;
	if (bay_away())
		return cs_err_set(CS_ENET, "connection refused");
	if (S.taken[i]) {
		it->applied = 1;
		it->partial = i == S.lose_at && S.took == TOOK_PART;
	}
	return 0;
}

static int
f_rollback(struct dep_ctx *ctx, struct dep_item *it)
{
	size_t i = (size_t)(it - ctx->plan.v);

	if (ctx->opts->keep_on_failure && it->action == DEP_ACT_CREATE)
		return 0; /* left in place, as the real backends do */
	S.rollbacks[i]++;
	if (bay_away())
		return cs_err_set(CS_ENET, "connection refused");
	S.taken[i] = 0;
	return 0;
}

static int
f_wait(struct dep_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static int
f_report(struct dep_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static void
f_close(struct dep_ctx *ctx)
{
	(void)ctx;
}

static const struct dep_backend fake = {
    .coe = "fake",
    .open = f_open,
    .plan = f_plan,
    .apply = f_apply,
    .wait = f_wait,
    .rollback = f_rollback,
    .recheck = f_recheck,
    .report = f_report,
    .close = f_close,
};

static int keep_on_failure;

static int
run(struct dep_result *r, int timeout_s)
{
	json_t *m = json_pack("{s:s, s:{s:{s:s}}}", "name", "t", "services", "web", "image", "w");
	struct dep_deploy_opts o = {.coe = "fake",
				    .app = "t",
				    .timeout_s = timeout_s,
				    .poll_ms = 5,
				    .keep_on_failure = keep_on_failure,
				    .backend = &fake};
	int code = dep_deploy_run(r, m, &o);

	json_decref(m);
	return code;
}

static void
script(size_t lose_at, enum took took, int down_polls)
{
	memset(&S, 0, sizeof(S));
	S.lose_at = lose_at;
	S.took = took;
	S.down_polls = down_polls;
}

static void
test_deploy_apply__lost_request_not_taken_is_applied_again(void)
{
	struct dep_result r = DEP_RESULT_INIT;

	script(1, TOOK_NOTHING, 3);
	T_ASSERT_INT(run(&r, 30), DEP_EXIT_OK);
	T_ASSERT_STR(r.status, "converged");
	T_ASSERT_INT(S.applies[1], 2);
	T_ASSERT_INT(S.applies[2], 1);
	T_ASSERT_INT(S.rechecks, 4); /* three while away, one that answers */
	T_ASSERT_INT(S.rollbacks[0] + S.rollbacks[1] + S.rollbacks[2], 0);
	dep_result_release(&r);
}

static void
test_deploy_apply__lost_answer_of_a_whole_change_is_kept(void)
{
	struct dep_result r = DEP_RESULT_INIT;

	script(1, TOOK_ALL, 2);
	T_ASSERT_INT(run(&r, 30), DEP_EXIT_OK);
	T_ASSERT_INT(S.applies[1], 1); /* not sent twice */
	T_ASSERT_INT(S.applies[2], 1);
	T_ASSERT_INT(S.rollbacks[1], 0);
	T_ASSERT_INT(r.objects_nr, 3);
	dep_result_release(&r);
}

static void
test_deploy_apply__partial_change_is_undone_then_applied_again(void)
{
	struct dep_result r = DEP_RESULT_INIT;

	script(2, TOOK_PART, 1);
	T_ASSERT_INT(run(&r, 30), DEP_EXIT_OK);
	T_ASSERT_INT(S.rollbacks[2], 1);
	T_ASSERT_INT(S.applies[2], 2);
	T_ASSERT_INT(S.rollbacks[0] + S.rollbacks[1], 0);
	dep_result_release(&r);
}

static void
test_deploy_apply__partial_create_is_undone_even_with_keep_on_failure(void)
{
	struct dep_result r = DEP_RESULT_INIT;

	script(1, TOOK_PART, 2);
	keep_on_failure = 1;
	T_ASSERT_INT(run(&r, 30), DEP_EXIT_OK);
	keep_on_failure = 0;
	T_ASSERT_INT(S.rollbacks[1], 1);
	T_ASSERT_INT(S.applies[1], 2);
	dep_result_release(&r);
}

static void
test_deploy_apply__bay_gone_for_good_is_exit_9_naming_each_object(void)
{
	struct dep_result r = DEP_RESULT_INIT;

	script(2, TOOK_NOTHING, -1);
	T_ASSERT_INT(run(&r, 1), DEP_EXIT_ROLLBACK_FAIL);
	T_ASSERT(strstr(r.message, "the bay stayed unreachable until the deadline") != NULL);
	T_ASSERT(strstr(r.message, "cannot roll back service 't_web'") != NULL);
	T_ASSERT(strstr(r.message, "cannot roll back network 't_default'") != NULL);
	T_ASSERT(strstr(r.message, "cannot tell whether service 't_db' was updated") != NULL);
	T_ASSERT_STR(r.status, "failed");
	T_ASSERT_INT(r.exit_code, 9);
	dep_result_release(&r);
}

static void
test_deploy_apply__refused_change_rolls_back_the_others(void)
{
	struct dep_result r = DEP_RESULT_INIT;

	script(2, TOOK_NOTHING, 0);
	S.fail_http = 1;
	T_ASSERT_INT(run(&r, 30), DEP_EXIT_REJECTED);
	T_ASSERT_STR(r.status, "rolled_back");
	T_ASSERT_INT(S.rollbacks[0], 1);
	T_ASSERT_INT(S.rollbacks[1], 1);
	T_ASSERT_INT(S.rollbacks[2], 0);
	T_ASSERT_INT(S.rechecks, 0);
	dep_result_release(&r);
}

static void
test_deploy_apply__lock_break_rule(void)
{
	json_t *l = json_pack("{s:s, s:s}", DEP_LOCK_LABEL ".token", "abc123",
			      DEP_LOCK_LABEL ".expires", "1000");
	char *why;

	T_ASSERT(dep_lock__break_reason(l, 999, NULL) == NULL);
	T_ASSERT(dep_lock__break_reason(l, 999, "") == NULL);
	T_ASSERT(dep_lock__break_reason(l, 999, "abc12") == NULL);
	T_ASSERT(dep_lock__break_reason(l, 999, "other") == NULL);
	why = dep_lock__break_reason(l, 999, "abc123");
	T_ASSERT(why && strstr(why, "--break-lock abc123"));
	free(why);
	why = dep_lock__break_reason(l, 1001, NULL);
	T_ASSERT_STR(why, "it expired");
	free(why);
	json_object_del(l, DEP_LOCK_LABEL ".token");
	T_ASSERT(dep_lock__break_reason(l, 999, "abc123") == NULL);
	json_decref(l);
}

int
main(void)
{
	cs_log_init("test_deploy_apply");
	cs_log_set_level(CS_LOG_ERROR + 1);
	T_RUN(test_deploy_apply__lost_request_not_taken_is_applied_again);
	T_RUN(test_deploy_apply__lost_answer_of_a_whole_change_is_kept);
	T_RUN(test_deploy_apply__partial_change_is_undone_then_applied_again);
	T_RUN(test_deploy_apply__partial_create_is_undone_even_with_keep_on_failure);
	T_RUN(test_deploy_apply__bay_gone_for_good_is_exit_9_naming_each_object);
	T_RUN(test_deploy_apply__refused_change_rolls_back_the_others);
	T_RUN(test_deploy_apply__lock_break_rule);
	return T_REPORT();
}
