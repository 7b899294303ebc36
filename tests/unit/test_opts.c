/* lib/opts: one table, filled from argv or from an Ansible JSON arguments file. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "opts.h"
#include "strvec.h"
#include "test.h"

struct topts {
	const char *name, *mode, *secret, *operand;
	struct cs_strvec tags, sets;
	long timeout;
	double ratio;
	int flag;
};

static const struct cs_opt table[] = {
    {.type = CS_OPT_GROUP, .help = "Things"},
    {.type = CS_OPT_STRING,
     .name = "name",
     .short_name = 'n',
     .flags = CS_OPT_REQUIRED,
     .offset = offsetof(struct topts, name),
     .arg = "NAME",
     .help = "a name"},
    {.type = CS_OPT_CHOICE,
     .name = "mode",
     .offset = offsetof(struct topts, mode),
     .arg = "MODE",
     .choices = "fast|slow|careful",
     .help = "how"},
    {.type = CS_OPT_LIST, .name = "tag", .offset = offsetof(struct topts, tags), .arg = "TAG"},
    {.type = CS_OPT_KEYVALUE, .name = "set", .offset = offsetof(struct topts, sets), .arg = "K=V"},
    {.type = CS_OPT_LONG,
     .name = "time-out",
     .offset = offsetof(struct topts, timeout),
     .arg = "SECONDS",
     .min = 1,
     .max = 86400},
    {.type = CS_OPT_DOUBLE,
     .name = "ratio",
     .offset = offsetof(struct topts, ratio),
     .arg = "R",
     .min = 0,
     .max = 1},
    {.type = CS_OPT_FLAG, .name = "flag", .offset = offsetof(struct topts, flag)},
    {.type = CS_OPT_STRING,
     .name = "secret",
     .flags = CS_OPT_SECRET | CS_OPT_JSON_ONLY,
     .offset = offsetof(struct topts, secret)},
    {.type = CS_OPT_POSITIONAL,
     .name = "image",
     .offset = offsetof(struct topts, operand),
     .arg = "IMAGE"},
    {.type = CS_OPT_END},
};

static const struct cs_exit_doc exits[] = {{0, "ok"}, {2, "usage"}, {0, NULL}};

static const struct cs_opts_spec spec = {
    .prog = "t-opts",
    .module = "t_opts",
    .summary = "test",
    .synopsis = "--name NAME [IMAGE]",
    .description = "A test table.",
    .opts = table,
    .exits = exits,
};

/* argv copied (the table keeps pointers into it until release()). */
static struct cs_strvec args = CS_STRVEC_INIT;

static int
parse_argv(struct cs_opts_run *run, struct topts *o, const char *const *argv)
{
	cs_strvec_clear(&args);
	while (*argv)
		cs_strvec_push(&args, *argv++);
	return cs_opts_parse(run, &spec, o, (int)args.nr, args.v);
}

static void
release(struct cs_opts_run *run, struct topts *o)
{
	cs_strvec_clear(&o->tags);
	cs_strvec_clear(&o->sets);
	cs_opts_release(run);
	cs_log_secret_clear();
	cs_strvec_clear(&args);
}

static void
test_opts__argv_types(void)
{
	const char *argv[] = {"t",  "-n",      "web", "--mode", "slow",	 "--tag",
			      "a",  "--tag",   "b",   "--set",	"K=V",	 "--time-out",
			      "30", "--ratio", "0.5", "--flag", "img:1", NULL};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct topts o = {.tags = CS_STRVEC_INIT, .sets = CS_STRVEC_INIT};

	T_ASSERT_INT(parse_argv(&run, &o, argv), 0);
	T_ASSERT_STR(o.name, "web");
	T_ASSERT_STR(o.mode, "slow");
	T_ASSERT_INT(o.tags.nr, 2);
	T_ASSERT_STR(o.tags.v[1], "b");
	T_ASSERT_STR(o.sets.v[0], "K=V");
	T_ASSERT_INT(o.timeout, 30);
	T_ASSERT(o.ratio == 0.5);
	T_ASSERT_INT(o.flag, 1);
	T_ASSERT_STR(o.operand, "img:1");
	T_ASSERT_INT(run.module, 0);
	release(&run, &o);
}

static void
test_opts__argv_errors(void)
{
	const char *unknown[] = {"t", "--name", "x", "--nope", NULL};
	const char *choice[] = {"t", "--name", "x", "--mode", "quick", NULL};
	const char *range[] = {"t", "--name", "x", "--time-out", "4294967297", NULL};
	const char *nan[] = {"t", "--name", "x", "--ratio", "nan", NULL};
	const char *kv[] = {"t", "--name", "x", "--set", "=v", NULL};
	const char *missing[] = {"t", "--mode", "fast", NULL};
	const char *secret[] = {"t", "--name", "x", "--secret", "hunter22", NULL};
	const char *extra[] = {"t", "--name", "x", "a", "b", NULL};
	const char *novalue[] = {"t", "--name", NULL};
	const char **cases[] = {unknown, choice, range, nan, kv, missing, secret, extra, novalue};
	size_t i;

	cs_log_set_level(CS_LOG_ERROR);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_opts_run run = CS_OPTS_RUN_INIT;
		struct topts o = {.tags = CS_STRVEC_INIT, .sets = CS_STRVEC_INIT};

		T_ASSERT_INT(parse_argv(&run, &o, cases[i]), 1);
		T_ASSERT_INT(run.exit_code, CS_EXIT_USAGE);
		release(&run, &o);
	}
}

static void
test_opts__help_and_version_end_the_run_with_0(void)
{
	const char *help[] = {"t", "--help", NULL};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct topts o = {.tags = CS_STRVEC_INIT, .sets = CS_STRVEC_INIT};
	FILE *saved = stdout;

	stdout = fopen("/dev/null", "w");
	T_ASSERT_INT(parse_argv(&run, &o, help), 1);
	fclose(stdout);
	stdout = saved;
	T_ASSERT_INT(run.exit_code, 0);
	release(&run, &o);
}

/* Write text to a temporary file; its path in path (PATH_MAX-ish buffer). */
static void
write_args(char *path, const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/test_opts.XXXXXX");
	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void
test_opts__module_arguments(void)
{
	char path[64];
	const char *argv[3] = {"t", path, NULL};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct topts o = {.tags = CS_STRVEC_INIT, .sets = CS_STRVEC_INIT};

	write_args(path, " {\"name\": 42, \"mode\": \"careful\", \"tag\": [\"a\", 7],"
			 " \"set\": {\"K\": \"v\", \"N\": true}, \"time_out\": \"60\","
			 " \"ratio\": 0.25, \"flag\": \"yes\", \"secret\": \"s3cret-value\","
			 " \"image\": \"img\", \"_ansible_check_mode\": true,"
			 " \"_ansible_module_name\": \"t_opts\", \"mode_unused\": null}");
	T_ASSERT_INT(parse_argv(&run, &o, argv), 1); /* mode_unused is unknown */
	unlink(path);
	T_ASSERT_INT(run.exit_code, 1);
	T_ASSERT(strstr(run.usage_error, "unsupported parameter 'mode_unused'") != NULL);
	release(&run, &o);

	memset(&o, 0, sizeof(o));
	memset(&run, 0, sizeof(run));
	write_args(path, "{\"name\": 42, \"mode\": \"careful\", \"tag\": [\"a\", 7],"
			 " \"set\": {\"K\": \"v\", \"N\": true}, \"time_out\": \"60\","
			 " \"ratio\": 0.25, \"flag\": \"yes\", \"secret\": \"s3cret-value\","
			 " \"image\": \"img\", \"_ansible_check_mode\": true}");
	T_ASSERT_INT(parse_argv(&run, &o, argv), 0);
	unlink(path);
	T_ASSERT_INT(run.module, 1);
	T_ASSERT_INT(run.check_mode, 1);
	T_ASSERT_STR(o.name, "42");
	T_ASSERT_STR(o.tags.v[1], "7");
	T_ASSERT_STR(o.sets.v[0], "K=v");
	T_ASSERT_STR(o.sets.v[1], "N=True");
	T_ASSERT_INT(o.timeout, 60);
	T_ASSERT_INT(o.flag, 1);
	T_ASSERT_STR(o.secret, "s3cret-value");
	T_ASSERT_STR(o.operand, "img");
	{
		char line[] = "the password s3cret-value leaked";

		cs_log_mask(line);
		T_ASSERT(strstr(line, "s3cret-value") == NULL); /* registered as a secret */
	}
	release(&run, &o);
}

static void
test_opts__argv_file_that_is_not_json_is_an_operand(void)
{
	char path[64];
	const char *argv[3] = {"t", path, NULL};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct topts o = {.tags = CS_STRVEC_INIT, .sets = CS_STRVEC_INIT};

	write_args(path, "not json\n");
	T_ASSERT_INT(parse_argv(&run, &o, argv), 1); /* --name is required */
	unlink(path);
	T_ASSERT_INT(run.module, 0);
	T_ASSERT_STR(o.operand, path);
	release(&run, &o);
}

static void
test_opts__exit_codes(void)
{
	T_ASSERT_INT(cs_exit_for(CS_EBUILD, CS_PHASE_BUILD, 0), CS_EXIT_BUILD);
	T_ASSERT_INT(cs_exit_for(CS_ENET, CS_PHASE_BUILD, 0), CS_EXIT_UNREACHABLE);
	T_ASSERT_INT(cs_exit_for(CS_EGIT, CS_PHASE_SOURCE, 0), CS_EXIT_SOURCE);
	T_ASSERT_INT(cs_exit_for(CS_EIO, CS_PHASE_SOURCE, 0), CS_EXIT_USAGE);
	T_ASSERT_INT(cs_exit_for(CS_EAUTH, CS_PHASE_PUSH, 0), CS_EXIT_PUSH);
	T_ASSERT_INT(cs_exit_for(CS_EAUTH, CS_PHASE_REGISTRY, 0), CS_EXIT_REFUSED);
	T_ASSERT_INT(cs_exit_for(CS_ETLS, CS_PHASE_BAY, 0), CS_EXIT_UNREACHABLE);
	T_ASSERT_INT(cs_exit_for(CS_EHTTP, CS_PHASE_BAY, 0), CS_EXIT_REFUSED);
	T_ASSERT_INT(cs_exit_for(CS_EINTR, CS_PHASE_BAY, 0), CS_EXIT_SIGTERM);
	T_ASSERT_INT(cs_exit_for(CS_ENET, CS_PHASE_ENGINE, SIGINT), CS_EXIT_SIGINT);
}

int
main(void)
{
	T_RUN(test_opts__argv_types);
	T_RUN(test_opts__argv_errors);
	T_RUN(test_opts__help_and_version_end_the_run_with_0);
	T_RUN(test_opts__module_arguments);
	T_RUN(test_opts__argv_file_that_is_not_json_is_an_operand);
	T_RUN(test_opts__exit_codes);
	return T_REPORT();
}
