/*
 * Compose files through the loader `caas-deployer --print-model` uses
 * (dep_compose_load: YAML, interpolation, warnings, merge, normalisation),
 * then the model's consumers that need no bay (deployable, order).
 * Input: the compose file, then optionally a line "#--- override.yml" and a
 * second file merged over the first (-f compose.yml -f override.yml), then
 * optionally a line "#--- .env" and the project's .env file. Files are written to a private
 * temporary directory (the project directory); the environment is a fixed list, never the
 * machine's.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose.h"
#include "err.h"
#include "fuzz.h"
#include "strvec.h"

static char dir[] = "/tmp/cs-fuzz-compose-XXXXXX";
static char file[64], override[64], envfile[64];
static const char *const env[] = {"HOME=/home/fuzz", "USER=fuzz", "TAG=1.2",
				  "PORT=8080",	     "EMPTY=",	  NULL};
static const char *const targets[] = {"swarm", "compose", "kubernetes"};

static void
put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void
cleanup(void)
{
	unlink(file);
	unlink(override);
	unlink(envfile);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	FZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/compose.yml", dir);
	snprintf(override, sizeof(override), "%s/override.yml", dir);
	snprintf(envfile, sizeof(envfile), "%s/.env", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_strvec files = CS_STRVEC_INIT, sets = CS_STRVEC_INIT, warnings = CS_STRVEC_INIT,
			 errors = CS_STRVEC_INIT;
	struct dep_compose_opts o = {0};
	json_t *model = NULL, *order = NULL;
	size_t head, tail, first, second;
	const uint8_t *dotenv = fz_split(data, size, "\n#--- .env\n", &head, &tail);
	const uint8_t *over = fz_split(data, head, "\n#--- override.yml\n", &first, &second);
	char *dump;
	int rc;

	put(file, data, first);
	cs_strvec_push(&files, file);
	if (over != NULL) {
		put(override, over, second);
		cs_strvec_push(&files, override);
	}
	if (dotenv != NULL)
		put(envfile, dotenv, tail);
	else
		unlink(envfile);
	cs_strvec_push(&sets, "SET=from-set");
	o.files = &files;
	o.sets = &sets;
	o.app = size % 2 ? "fuzzapp" : NULL;
	o.target = targets[size % 3];
	o.env = env;
	o.warnings = &warnings;
	o.errors = &errors;
	rc = dep_compose_load(&model, &o);
	FZ_CHECK((rc == 0) == (model != NULL));
	if (rc == 0) {
		FZ_CHECK(json_is_object(model));
		FZ_CHECK(json_is_object(json_object_get(model, "services")));
		dump = json_dumps(model, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		FZ_CHECK(dump != NULL);
		free(dump);
		(void)dep_compose_deployable(model, NULL);
		/* the loader refuses dependency cycles: the order always exists */
		FZ_CHECK(dep_compose_order(&order, model) == 0);
		FZ_CHECK(json_array_size(order) ==
			 json_object_size(json_object_get(model, "services")));
	}
	json_decref(order);
	json_decref(model);
	cs_strvec_clear(&files);
	cs_strvec_clear(&sets);
	cs_strvec_clear(&warnings);
	cs_strvec_clear(&errors);
	return 0;
}
