/*
 * The stability window shared by the Docker backends (deployer/converge.c):
 * which window a service gets, and that an object counts as converged only
 * after staying ready for the whole window, a poll that is not ready
 * starting it again; the wait's state lines (one per change, hidden by -q).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "deployer/backend.h"
#include "deployer/converge.h"
#include "deployer/deploy.h"
#include "log.h"
#include "tests/unit/test.h"

static json_t *
model(void)
{
	return json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:{s:{s:I}}}}}", "name", "t", "services", "web",
			 "image", "busybox", "job", "image", "busybox", "deploy", "update_config",
			 "monitor_ns", (json_int_t)1500000000);
}

static void
test_converge__window_is_the_monitor_else_the_option(void)
{
	struct dep_deploy_opts o = {.coe = "swarm", .app = "t", .stable_for_s = 5};
	struct dep_ctx ctx;
	json_t *m = model();

	memset(&ctx, 0, sizeof(ctx));
	ctx.model = m;
	ctx.opts = &o;
	T_ASSERT(dep_stable_window(&ctx, "web") == 5.0);
	T_ASSERT(dep_stable_window(&ctx, "job") == 1.5);
	T_ASSERT(dep_stable_window(&ctx, "unknown") == 5.0);
	T_ASSERT(dep_stable_window(&ctx, NULL) == 5.0);
	o.stable_for_s = 0;
	T_ASSERT(dep_stable_window(&ctx, "web") == 0.0);
	T_ASSERT(dep_stable_window(&ctx, "job") == 1.5);
	json_decref(m);
}

static void
test_converge__ready_for_the_whole_window(void)
{
	struct dep_deploy_opts o = {.coe = "swarm", .app = "t", .stable_for_s = 0.3};
	struct dep_stable st;
	struct dep_item it;
	struct dep_ctx ctx;
	json_t *m = model();
	char name[] = "t_web", key[] = "web";
	double start;

	memset(&ctx, 0, sizeof(ctx));
	memset(&st, 0, sizeof(st));
	memset(&it, 0, sizeof(it));
	it.kind = DEP_KIND_SERVICE;
	it.name = name;
	it.key = key;
	ctx.model = m;
	ctx.opts = &o;

	/* not ready: never converged */
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 0, NULL), 0);
	/* ready: converged only once the window has passed */
	start = cs_clock_now();
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 1, "1/1 tasks running"), 0);
	T_ASSERT(it.diag != NULL && strstr(it.diag, "1/1 tasks running, stable for") != NULL);
	cs_clock_sleep_ms(150);
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 1, "1/1 tasks running"), 0);
	/* a poll that is not ready restarts the window */
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 0, NULL), 0);
	cs_clock_sleep_ms(200);
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 1, "1/1 tasks running"), 0);
	while (dep_stable_check(&ctx, &it, &st, 1, "1/1 tasks running") == 0)
		cs_clock_sleep_ms(20);
	T_ASSERT(cs_clock_now() - start >= 0.3 + 0.35);

	/* a reset (a rollback) forgets the window */
	dep_stable_reset(&st);
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 1, NULL), 0);

	/* no window: ready is converged at once */
	o.stable_for_s = 0;
	dep_stable_reset(&st);
	T_ASSERT_INT(dep_stable_check(&ctx, &it, &st, 1, NULL), 1);

	dep_stable_note(&st, "task t_web.1", "id1", "running");
	dep_stable_note(&st, "task t_web.1", "id1", "running");
	dep_stable_note(&st, "task t_web.1", "id1", "failed: task: non-zero exit (1)");
	T_ASSERT_STR(json_string_value(json_object_get(st.seen, "id1")),
		     "failed: task: non-zero exit (1)");
	dep_stable_release(&st);
	T_ASSERT(st.seen == NULL && st.since == 0);
	free(it.diag);
	json_decref(m);
}

/* Run the state lines of three notes with stderr in a temporary file; its text (caller frees). */
static char *
notes_on_stderr(struct dep_stable *st, const char *second_state)
{
	FILE *tmp = tmpfile();
	char *text = calloc(1, 1024);
	int saved;

	if (tmp == NULL || text == NULL)
		abort();
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	dep_stable_note(st, "web: task t_web.1 abc123def456", "id1", "preparing");
	dep_stable_note(st, "web: task t_web.1 abc123def456", "id1", "preparing");
	dep_stable_note(st, "web: task t_web.1 abc123def456", "id1", second_state);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	if (fread(text, 1, 1023, tmp) == 0)
		text[0] = '\0';
	fclose(tmp);
	return text;
}

static void
test_converge__state_lines_once_per_change_and_quiet_with_q(void)
{
	struct dep_stable st;
	char *text;

	memset(&st, 0, sizeof(st));
	cs_log_set_level(CS_LOG_INFO); /* the default level */
	text = notes_on_stderr(&st, "running");
	T_ASSERT_STR(text, "test_converge: web: task t_web.1 abc123def456 preparing\n"
			   "test_converge: web: task t_web.1 abc123def456 preparing -> running\n");
	free(text);
	dep_stable_release(&st);

	cs_log_set_level(CS_LOG_ERROR); /* -q */
	text = notes_on_stderr(&st, "running");
	T_ASSERT_STR(text, "");
	/* the states are still followed: the next change is a change from the last one */
	T_ASSERT_STR(json_string_value(json_object_get(st.seen, "id1")), "running");
	free(text);
	dep_stable_release(&st);
}

int
main(void)
{
	cs_log_init("test_converge");
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_converge__window_is_the_monitor_else_the_option);
	T_RUN(test_converge__ready_for_the_whole_window);
	T_RUN(test_converge__state_lines_once_per_change_and_quiet_with_q);
	return T_REPORT();
}
