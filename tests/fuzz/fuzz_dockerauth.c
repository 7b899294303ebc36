/*
 * docker config.json and a credential helper's answer. Input: the registry
 * host on the first line, then config.json up to a NUL byte, then what the
 * helper "docker-credential-fuzz" prints (a leading '!' makes it exit 1).
 * The files live in a private temporary directory; PATH holds only that
 * helper, so no real helper on the machine is ever run.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dockerauth.h"
#include "err.h"
#include "fuzz.h"

static char dir[] = "/tmp/cs-fuzz-auth-XXXXXX";
static char config[64], answer[64], rcfile[64], bindir[64], helper[96];

static void
put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);

	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void
cleanup(void)
{
	unlink(config);
	unlink(answer);
	unlink(rcfile);
	unlink(helper);
	rmdir(bindir);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char script[512];

	(void)argc;
	(void)argv;
	fz_quiet();
	FZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(config, sizeof(config), "%s/config.json", dir);
	snprintf(answer, sizeof(answer), "%s/answer", dir);
	snprintf(rcfile, sizeof(rcfile), "%s/rc", dir);
	snprintf(bindir, sizeof(bindir), "%s/bin", dir);
	snprintf(helper, sizeof(helper), "%s/docker-credential-fuzz", bindir);
	FZ_CHECK(mkdir(bindir, 0700) == 0);
	snprintf(script, sizeof(script), "#!/bin/sh\n/bin/cat '%s'\nread rc <'%s'\nexit \"$rc\"\n",
		 answer, rcfile);
	put(helper, script, strlen(script));
	setenv("DOCKER_CONFIG", dir, 1);
	setenv("PATH", bindir, 1);
	cs_dockerauth__set_helper_timeout(5000);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_dockerauth auth = CS_DOCKERAUTH_INIT;
	struct cs_buf hdr = CS_BUF_INIT, key = CS_BUF_INIT;
	size_t hlen, rest, clen, alen;
	const uint8_t *body = fz_split(data, size, "\n", &hlen, &rest);
	const uint8_t *ans;
	char *host = fz_str(data, hlen);
	int rc;

	if (body == NULL)
		body = data + size;
	ans = memchr(body, '\0', rest);
	clen = ans ? (size_t)(ans - body) : rest;
	alen = ans ? rest - clen - 1 : 0;
	put(config, body, clen);
	if (ans != NULL && alen > 0 && ans[1] == '!') {
		put(answer, ans + 2, alen - 1);
		put(rcfile, "1\n", 2);
	} else {
		put(answer, ans ? ans + 1 : (const uint8_t *)"", alen);
		put(rcfile, "0\n", 2);
	}
	cs_dockerauth__key_host(&key, host);
	rc = cs_dockerauth_lookup(&auth, *host ? host : NULL);
	if (rc == 0) {
		FZ_CHECK(auth.server != NULL);
		rc = cs_dockerauth_header(&hdr, &auth);
		FZ_CHECK(rc == 0 || rc == CS_EINVAL || rc == CS_ETOOBIG);
		FZ_CHECK(rc != 0 || hdr.len > 0);
	} else {
		FZ_CHECK(auth.username == NULL && auth.password == NULL &&
			 auth.identitytoken == NULL && auth.server == NULL);
	}
	cs_dockerauth_release(&auth);
	cs_buf_wipe(&hdr);
	cs_buf_release(&key);
	cs_log_secret_clear();
	free(host);
	return 0;
}
