/*
 * Naming the built image. The build is tagged with a name unique to the run;
 * the requested names are set on the image ID only once it is validated,
 * under a per-repository lock that the push keeps until the registry has
 * been checked. Two runs of the same --image --tag on one machine can then
 * never push each other's image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "br.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

char *
br_temp_name(const char *repository)
{
	static unsigned counter;
	unsigned char rnd[8];
	uint64_t v = 0;
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		/* no entropy: the pid and a counter are unique on this machine */
		v = ((uint64_t)getpid() << 32) | (uint64_t)(++counter);
	} else {
		for (i = 0; i < sizeof(rnd); i++)
			v = (v << 8) | rnd[i];
	}
	return cs_xasprintf("%s:caas-build-%016llx", repository, (unsigned long long)v);
}

static const char *
lock_dir(void)
{
	const char *d = getenv("CAAS_LOCK_DIR");
	struct stat st;

	if (d && *d)
		return d;
	if (stat("/run/lock", &st) == 0 && S_ISDIR(st.st_mode) && access("/run/lock", W_OK) == 0)
		return "/run/lock";
	d = getenv("TMPDIR");
	return d && *d ? d : "/tmp";
}

/*
 * Open (or create) the lock file read-only: flock needs no write access, so a
 * file another user made in a shared sticky directory still works. Not
 * O_CREAT on an existing file (fs.protected_regular refuses that there).
 */
static int
open_lock_file(const char *path)
{
	int fd, tries;

	for (tries = 0; tries < 10; tries++) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			  0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
br_repo_lock(int *fd, const char *repository, volatile sig_atomic_t *cancel)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char key[33];
	char *path = NULL;
	int f = -1, waited = 0, error = 0;

	*fd = -1;
	/* the file name must not depend on what a repository may contain ('/', ':') */
	if (!EVP_Digest(repository, strlen(repository), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 16)
		return cs_err_set(CS_ERROR, "cannot hash the repository name");
	for (i = 0; i < 16; i++) {
		key[2 * i] = hex[md[i] >> 4];
		key[2 * i + 1] = hex[md[i] & 15];
	}
	key[32] = '\0';
	path = cs_xasprintf("%s/caas-build-runner.%s.lock", lock_dir(), key);
	if ((f = open_lock_file(path)) < 0) {
		error = cs_err_set(CS_EIO, "cannot open the lock file '%s' of %s: %s", path,
				   repository, strerror(errno));
		goto out;
	}
	while (flock(f, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error = cs_err_set(CS_EIO, "cannot lock '%s': %s", path, strerror(errno));
			goto out;
		}
		if (cancel && *cancel) {
			error = cs_err_set(CS_EINTR, "interrupted while waiting for the lock of %s",
					   repository);
			goto out;
		}
		if (!waited++)
			cs_out("waiting for another caas-build-runner to finish tagging or pushing "
			       "%s",
			       repository);
		cs_clock_sleep_ms(100);
	}
	cs_log(CS_LOG_DEBUG, "locked %s (%s)", repository, path);
	*fd = f;
	f = -1;
out:
	if (f >= 0)
		close(f);
	free(path);
	return error;
}

void
br_repo_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Split "REPO:TAG" at the last ':' that is not part of a host:port. */
static int
split_tag(char **repo, char **tag, const char *name)
{
	const char *colon = strrchr(name, ':');

	if (colon == NULL || strchr(colon, '/'))
		return cs_err_set(CS_EINVAL, "image name '%s' has no tag", name);
	*repo = cs_xstrndup(name, (size_t)(colon - name));
	*tag = cs_xstrdup(colon + 1);
	return 0;
}

int
br_tag(struct cs_docker *d, const char *image_id, const char *name)
{
	struct cs_buf path = CS_BUF_INIT;
	char *repo = NULL, *tag = NULL;
	json_t *resp = NULL;
	long status = 0;
	int error;

	if ((error = split_tag(&repo, &tag, name)) < 0)
		goto out;
	cs_buf_adds(&path, "/images/");
	cs_http_urlencode(&path, image_id);
	cs_buf_adds(&path, "/tag?repo=");
	cs_http_urlencode(&path, repo);
	cs_buf_adds(&path, "&tag=");
	cs_http_urlencode(&path, tag);
	if ((error = cs_docker_json(d, "POST", path.buf, NULL, NULL, &status, &resp)) < 0)
		goto out;
	if (status != 201 && status != 200)
		error = cs_err_set(CS_EHTTP, "cannot tag %s as %s: %s (HTTP %ld)", image_id, name,
				   cs_docker_error_message(resp, "no message"), status);
out:
	json_decref(resp);
	cs_buf_release(&path);
	free(repo);
	free(tag);
	return error;
}

int
br_untag(struct cs_docker *d, const char *name)
{
	struct cs_buf path = CS_BUF_INIT;
	json_t *resp = NULL;
	long status = 0;
	int error;

	cs_buf_adds(&path, "/images/");
	cs_http_urlencode(&path, name);
	cs_buf_adds(&path, "?noprune=1");
	if ((error = cs_docker_json(d, "DELETE", path.buf, NULL, NULL, &status, &resp)) < 0)
		goto out;
	if (status != 200 && status != 404)
		error = cs_err_set(CS_EHTTP, "cannot remove the tag %s: %s (HTTP %ld)", name,
				   cs_docker_error_message(resp, "no message"), status);
out:
	json_decref(resp);
	cs_buf_release(&path);
	return error;
}
