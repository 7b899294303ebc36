/*
 * Part of the context module: where the Dockerfile of a build is, as the
 * docker CLI decides it (cli/command/image/build/context.go), and the
 * content of one that lies outside the context.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "context.h"
#include "err.h"
#include "xalloc.h"

#define DFNAME_PREFIX ".dockerfile."
#define DFNAME_HEX 20 /* the docker CLI: ".dockerfile." + GenerateRandomID()[:20] */

static int
sys_err(int code, const char *what, const char *path)
{
	return cs_err_set(code, "cannot %s '%s': %s", what, path, strerror(errno));
}

/* path made absolute and cleaned lexically ("." and ".." resolved without the disk) */
static char *
abs_clean(const char *path)
{
	struct cs_buf in = CS_BUF_INIT, out = CS_BUF_INIT;
	char cwd[PATH_MAX];
	const char *p, *q;

	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return NULL;
		cs_buf_addf(&in, "%s/", cwd);
	}
	cs_buf_adds(&in, path);
	for (p = in.buf; *p; p = q) {
		while (*p == '/')
			p++;
		if ((q = strchr(p, '/')) == NULL)
			q = p + strlen(p);
		if (q == p || (q - p == 1 && p[0] == '.'))
			continue;
		if (q - p == 2 && p[0] == '.' && p[1] == '.') {
			while (out.len > 0 && out.buf[out.len - 1] != '/')
				out.len--;
			if (out.len > 0)
				out.len--;
			out.buf[out.len] = '\0';
			continue;
		}
		cs_buf_addch(&out, '/');
		cs_buf_add(&out, p, (size_t)(q - p));
	}
	if (out.len == 0)
		cs_buf_addch(&out, '/');
	cs_buf_release(&in);
	return cs_buf_detach(&out, NULL);
}

/* 1 if path is root or below it (both absolute, without symlinks) */
static int
path_within(const char *path, const char *root)
{
	size_t rl = strlen(root);

	if (strcmp(root, "/") == 0)
		return 1;
	return strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0');
}

/* Read the outside Dockerfile at real (no symlink left in it) and name it by its hash. */
static int
load_outside(struct cs_context__dockerfile *df, const char *real)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char chunk[16384];
	struct stat st;
	ssize_t n;
	int fd, error = 0;

	cs_buf_init(&df->content, CS_CONTEXT_DOCKERFILE_MAX);
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		error = sys_err(CS_EIO, "open dockerfile", real);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		error = cs_err_set(CS_EINVAL, "dockerfile '%s' is not a regular file", real);
		goto out;
	}
	df->mtime = st.st_mtime;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = sys_err(CS_EIO, "read dockerfile", real);
			goto out;
		}
		if (cs_buf_add(&df->content, chunk, (size_t)n) < 0) {
			error = cs_err_set(CS_ETOOBIG, "dockerfile '%s' is larger than %zu bytes",
					   real, CS_CONTEXT_DOCKERFILE_MAX);
			goto out;
		}
	}
	if (!EVP_Digest(df->content.buf, df->content.len, md, &mdlen, EVP_sha256(), NULL)) {
		error = cs_err_set(CS_ERROR, "cannot hash dockerfile '%s'", real);
		goto out;
	}
	df->name = cs_xmalloc(sizeof(DFNAME_PREFIX) + DFNAME_HEX);
	memcpy(df->name, DFNAME_PREFIX, sizeof(DFNAME_PREFIX) - 1);
	for (i = 0; i < DFNAME_HEX; i++)
		df->name[sizeof(DFNAME_PREFIX) - 1 + i] =
		    "0123456789abcdef"[(md[i / 2] >> (i % 2 ? 0 : 4)) & 0xF];
	df->name[sizeof(DFNAME_PREFIX) - 1 + DFNAME_HEX] = '\0';
out:
	if (fd >= 0)
		close(fd);
	return error;
}

/* Refuse a path that goes through the context (a prefix resolves inside it) and leaves it. */
static int
check_no_escape(const char *abs, const char *root_real, const char *shown)
{
	char *pre, *pre_real;
	size_t i;
	int error = 0;

	for (i = 1; error == 0 && abs[i] != '\0'; i++) {
		if (abs[i + 1] != '\0' && abs[i + 1] != '/')
			continue;
		pre = cs_xstrndup(abs, i + 1);
		pre_real = realpath(pre, NULL);
		if (pre_real != NULL && path_within(pre_real, root_real))
			error = cs_err_set(CS_EINVAL,
					   "dockerfile '%s' leads out of the context through a "
					   "symbolic link",
					   shown);
		free(pre_real);
		free(pre);
	}
	return error;
}

int
cs_context__locate_dockerfile(struct cs_context__dockerfile *out, const char *dir, const char *path)
{
	struct cs_buf def = CS_BUF_INIT;
	char *root_real = NULL, *abs = NULL, *real = NULL;
	struct stat st;
	int error = 0;

	if ((root_real = realpath(dir, NULL)) == NULL) {
		error =
		    sys_err(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "open context directory", dir);
		goto out;
	}
	if (path == NULL) {
		cs_buf_addf(&def, "%s/Dockerfile", dir);
		if (lstat(def.buf, &st) < 0) {
			def.buf[def.len - 10] = 'd';
			if (lstat(def.buf, &st) < 0)
				def.buf[def.len - 10] = 'D';
		}
		path = def.buf;
	}
	if ((abs = abs_clean(path)) == NULL || (real = realpath(abs, NULL)) == NULL) {
		error = sys_err(CS_ENOTFOUND, "find dockerfile", path);
		goto out;
	}
	if (!path_within(real, root_real)) {
		if ((error = check_no_escape(abs, root_real, path)) == 0)
			error = load_outside(out, real);
		goto out;
	}
	/* no symlink is left in real; the walker sends it with O_NOFOLLOW anyway */
	if (strcmp(real, root_real) == 0 || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		error = cs_err_set(CS_EINVAL, "dockerfile '%s' is not a regular file", path);
		goto out;
	}
	out->rel = cs_xstrdup(real + strlen(root_real) + (strcmp(root_real, "/") != 0));
	out->name = cs_xstrdup(out->rel);
	out->mtime = st.st_mtime;
out:
	free(real);
	free(abs);
	free(root_real);
	cs_buf_release(&def);
	return error;
}

void
cs_context__dockerfile_release(struct cs_context__dockerfile *df)
{
	CS_FREE_AND_NULL(df->rel);
	CS_FREE_AND_NULL(df->name);
	cs_buf_release(&df->content);
}
