/*
 * kubeconfig files through cs_kubeconfig_load (lib/kubeconfig: YAML, kubectl's
 * merge rules, relative paths, base64 data fields, token files), the way
 * `caas-deployer --coe kubernetes` resolves its connection.
 * Input: the first file, then optionally a line "#--- second" and a second
 * file. Byte 0's low bits pick how the files are named: --kubeconfig FILE
 * (the first only), KUBECONFIG=first:second, or HOME/.kube/config, and
 * whether a context is asked for (--context caas-test). The files live in a
 * private temporary directory that also holds a token file (tok) and a CA
 * (certs/ca.crt), which relative paths may name; the environment is a fixed
 * list, never the machine's.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "kubeconfig.h"

static char dir[] = "/tmp/cs-fuzz-kubeconfig-XXXXXX";
static char first[96], second[96], home_cfg[96], kube_dir[96], certs[96], ca[96], tok[96];
static char env_list[256], env_home[128];

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
	unlink(first);
	unlink(second);
	unlink(home_cfg);
	unlink(ca);
	unlink(tok);
	rmdir(certs);
	rmdir(kube_dir);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	FZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(first, sizeof(first), "%s/first.yaml", dir);
	snprintf(second, sizeof(second), "%s/second.yaml", dir);
	snprintf(kube_dir, sizeof(kube_dir), "%s/.kube", dir);
	snprintf(home_cfg, sizeof(home_cfg), "%s/.kube/config", dir);
	snprintf(certs, sizeof(certs), "%s/certs", dir);
	snprintf(ca, sizeof(ca), "%s/certs/ca.crt", dir);
	snprintf(tok, sizeof(tok), "%s/tok", dir);
	snprintf(env_list, sizeof(env_list), "KUBECONFIG=%s:%s", first, second);
	snprintf(env_home, sizeof(env_home), "HOME=%s", dir);
	FZ_CHECK(mkdir(kube_dir, 0700) == 0);
	FZ_CHECK(mkdir(certs, 0700) == 0);
	put(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 57);
	put(tok, "fuzz-token\n", 11);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_kubeconfig kc = CS_KUBECONFIG_INIT;
	const char *env_kc[] = {env_list, env_home, "USER=fuzz", NULL};
	const char *env_none[] = {env_home, "USER=fuzz", NULL};
	const char *const *env;
	size_t head, tail;
	const uint8_t *two;
	const char *path = NULL, *context;
	unsigned mode;
	int rc;

	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	two = fz_split(data, size, "\n#--- second\n", &head, &tail);
	context = mode & 4 ? "caas-test" : NULL;
	switch (mode & 3) {
	case 0: /* --kubeconfig FILE */
		put(first, data, head);
		path = first;
		env = env_none;
		break;
	case 1: /* ~/.kube/config */
		put(home_cfg, data, head);
		env = env_none;
		break;
	default: /* KUBECONFIG=first:second (a missing second is skipped) */
		put(first, data, head);
		if (two != NULL)
			put(second, two, tail);
		else
			unlink(second);
		env = env_kc;
		break;
	}
	rc = cs_kubeconfig_load(&kc, path, context, env);
	FZ_CHECK(rc <= 0);
	if (rc == 0) {
		/* a resolved connection always has a server, and the files it read */
		FZ_CHECK(kc.server != NULL && *kc.server != '\0');
		FZ_CHECK(kc.files.nr >= 1);
		FZ_CHECK(context == NULL || strcmp(kc.context, context) == 0);
	} else {
		FZ_CHECK(kc.server == NULL && kc.token == NULL && kc.basic == NULL &&
			 kc.key_pem == NULL);
		FZ_CHECK(*cs_err_msg() != '\0');
	}
	cs_kubeconfig_release(&kc);
	FZ_CHECK(kc.server == NULL && kc.files.nr == 0);
	cs_log_secret_clear();
	unlink(home_cfg);
	return 0;
}
