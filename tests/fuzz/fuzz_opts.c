/*
 * The Ansible JSON arguments file (lib/opts): the input is the file's
 * content, read through cs_opts_parse() into a table with every option type.
 * Whatever the input, parsing either succeeds with values of the declared
 * types or ends the run with exit code 2 (module mode: 1); the module's
 * result on stdout is sent to /dev/null.
 */
#include <stddef.h>
#include <unistd.h>

#include "exitcode.h"
#include "fuzz.h"
#include "opts.h"
#include "strvec.h"

struct fopts {
	const char *name, *mode, *secret, *operand;
	struct cs_strvec list, kv;
	long n;
	double d;
	int flag;
};

static const struct cs_opt table[] = {
    {.type = CS_OPT_STRING,
     .name = "name",
     .flags = CS_OPT_REQUIRED,
     .offset = offsetof(struct fopts, name)},
    {.type = CS_OPT_CHOICE,
     .name = "mode",
     .offset = offsetof(struct fopts, mode),
     .choices = "a|bb|ccc"},
    {.type = CS_OPT_LIST, .name = "list", .offset = offsetof(struct fopts, list)},
    {.type = CS_OPT_KEYVALUE, .name = "set", .offset = offsetof(struct fopts, kv)},
    {.type = CS_OPT_LONG,
     .name = "time-out",
     .offset = offsetof(struct fopts, n),
     .min = 0,
     .max = 86400},
    {.type = CS_OPT_DOUBLE,
     .name = "ratio",
     .offset = offsetof(struct fopts, d),
     .min = 0,
     .max = 1},
    {.type = CS_OPT_FLAG, .name = "flag", .offset = offsetof(struct fopts, flag)},
    {.type = CS_OPT_STRING,
     .name = "secret",
     .flags = CS_OPT_SECRET | CS_OPT_JSON_ONLY,
     .offset = offsetof(struct fopts, secret)},
    {.type = CS_OPT_POSITIONAL, .name = "image", .offset = offsetof(struct fopts, operand)},
    {.type = CS_OPT_END},
};

static const struct cs_exit_doc exits[] = {{0, "ok"}, {0, NULL}};

static const struct cs_opts_spec spec = {
    .prog = "fuzz-opts",
    .module = "fuzz_opts",
    .summary = "",
    .synopsis = "",
    .description = "",
    .opts = table,
    .exits = exits,
};

static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	snprintf(path, sizeof(path), "/tmp/fuzz_opts.%d.json", (int)getpid());
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_strvec argv = CS_STRVEC_INIT;
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct fopts o = {.list = CS_STRVEC_INIT, .kv = CS_STRVEC_INIT};
	FILE *f = fopen(path, "w");
	size_t i;
	int rc;

	if (f == NULL || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	cs_strvec_push(&argv, "fuzz-opts");
	cs_strvec_push(&argv, path);
	rc = cs_opts_parse(&run, &spec, &o, 2, argv.v);
	if (rc == 0) {
		FZ_CHECK(o.name != NULL);
		FZ_CHECK(o.n >= 0 && o.n <= 86400);
		FZ_CHECK(o.d >= 0 && o.d <= 1);
		FZ_CHECK(o.mode == NULL || !strcmp(o.mode, "a") || !strcmp(o.mode, "bb") ||
			 !strcmp(o.mode, "ccc"));
		for (i = 0; i < o.kv.nr; i++)
			FZ_CHECK(o.kv.v[i][0] != '=' && strchr(o.kv.v[i], '=') != NULL);
		/* the end of a module run: one JSON object, secrets masked */
		cs_opts_finish(&run, NULL, NULL, 0, 0, NULL, NULL);
	} else {
		FZ_CHECK(run.exit_code == (run.module ? 1 : CS_EXIT_USAGE));
	}
	cs_strvec_clear(&o.list);
	cs_strvec_clear(&o.kv);
	cs_opts_release(&run);
	cs_log_secret_clear();
	cs_strvec_clear(&argv);
	return 0;
}
