/*
 * Kubernetes manifests through the loader `caas-deployer --coe kubernetes -f
 * FILE` runs before it contacts the cluster (deployer/kube_input.c: variable
 * interpolation, multi-document YAML, List expansion, the per-object checks
 * and removed APIs), then, as main() does, a Compose file (dep_kube_is_compose)
 * through dep_compose_load and its translation into manifests
 * (dep_kube_from_compose, both publish modes).
 * Input: the file, then optionally a line "#--- .env" and an --env-file.
 * Files are written to a private temporary directory; the environment is a
 * fixed list, never the machine's.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose.h"
#include "err.h"
#include "fuzz.h"
#include "kube.h"
#include "strvec.h"

static char dir[] = "/tmp/cs-fuzz-kube-XXXXXX";
static char file[64], envfile[64];
static const char *const env[] = {"HOME=/home/fuzz", "USER=fuzz", "TAG=1.2",
				  "PORT=8080",	     "EMPTY=",	  NULL};

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
	snprintf(file, sizeof(file), "%s/app.yaml", dir);
	snprintf(envfile, sizeof(envfile), "%s/app.env", dir);
	atexit(cleanup);
	return 0;
}

/*
 * Every object of a manifests model is a mapping with its document number.
 * Manifests files hold at least one object (the loader refuses none); a
 * Compose file with no service translates into none.
 */
static void
check_manifests(json_t *model, int nonempty)
{
	json_t *list = json_object_get(model, "manifests"), *m;
	size_t i;

	FZ_CHECK(json_is_array(list));
	FZ_CHECK(!nonempty || json_array_size(list) > 0);
	json_array_foreach(list, i, m)
	{
		FZ_CHECK(json_is_object(json_object_get(m, "object")));
		FZ_CHECK(json_integer_value(json_object_get(m, "doc")) >= 1);
	}
}

static void
from_compose(void)
{
	struct cs_strvec files = CS_STRVEC_INIT, sets = CS_STRVEC_INIT, warnings = CS_STRVEC_INIT,
			 errors = CS_STRVEC_INIT;
	struct dep_compose_opts o = {0};
	json_t *model = NULL, *km = NULL;
	int mode;

	cs_strvec_push(&files, file);
	o.files = &files;
	o.sets = &sets;
	o.app = "fuzzapp";
	o.target = "kubernetes";
	o.env = env;
	o.warnings = &warnings;
	o.errors = &errors;
	if (dep_compose_load(&model, &o) == 0 && dep_compose_deployable(model, NULL) == 0) {
		for (mode = 0; mode < 2; mode++) {
			if (dep_kube_from_compose(&km, model, mode ? "loadbalancer" : "ingress",
						  &warnings) == 0) {
				FZ_CHECK(json_is_object(km));
				check_manifests(km, 0);
			}
			json_decref(km);
			km = NULL;
		}
	}
	json_decref(model);
	cs_strvec_clear(&files);
	cs_strvec_clear(&sets);
	cs_strvec_clear(&warnings);
	cs_strvec_clear(&errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_strvec files = CS_STRVEC_INIT, sets = CS_STRVEC_INIT, errors = CS_STRVEC_INIT;
	struct dep_kube_input in = {0};
	json_t *model = NULL;
	size_t head, tail;
	const uint8_t *dotenv = fz_split(data, size, "\n#--- .env\n", &head, &tail);
	char *dump;
	int rc;

	put(file, data, head);
	if (dotenv != NULL)
		put(envfile, dotenv, tail);
	if (dep_kube_is_compose(file)) {
		from_compose();
		return 0;
	}
	cs_strvec_push(&files, file);
	cs_strvec_push(&sets, "SET=from-set");
	in.files = &files;
	in.sets = &sets;
	in.env_file = dotenv != NULL ? envfile : NULL;
	in.env = env;
	in.errors = &errors;
	rc = dep_kube_load(&model, &in);
	FZ_CHECK(rc <= 0);
	FZ_CHECK((rc == 0) == (model != NULL));
	if (rc == 0) {
		check_manifests(model, 1);
		dump = json_dumps(model, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		FZ_CHECK(dump != NULL);
		free(dump);
	} else {
		/* every failure is explained, one line each */
		FZ_CHECK(errors.nr > 0);
	}
	json_decref(model);
	cs_strvec_clear(&files);
	cs_strvec_clear(&sets);
	cs_strvec_clear(&errors);
	return 0;
}
