/*
 * The per-layer result cache: one checksummed file per DiffID, written
 * atomically, evicted least recently used first (see layercache.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "layercache.h"
#include "log.h"
#include "xalloc.h"

#define MAGIC "caas-layercache 1\n"
#define HEADER_LEN (sizeof(MAGIC) - 1 + 72 + 8) /* magic, "sha256:<64>\n", length */
#define SUM_LEN 32
#define MAX_ENTRY ((uint64_t)1 << 30)

struct cs_layercache {
	char *dir;
	uint64_t max_bytes;
};

void
cs_layercache_default_dir(struct cs_buf *out)
{
	const char *xdg = getenv("XDG_CACHE_HOME");

	if (xdg != NULL && xdg[0] == '/')
		cs_buf_addf(out, "%s/caas-devops", xdg);
	else
		cs_buf_adds(out, "/var/cache/caas-devops");
}

int
cs_layercache_valid_id(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
mkdirs(const char *dir)
{
	char *p = cs_xstrdup(dir), *s;
	int rc = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
		if (rc < 0)
			break;
	}
	if (rc == 0 && mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

int
cs_layercache_open(struct cs_layercache **out, const char *dir, uint64_t max_bytes)
{
	struct cs_layercache *c;
	struct stat st;
	char *probe;
	int fd;

	*out = NULL;
	if (dir == NULL || *dir == '\0')
		return cs_err_set(CS_EINVAL, "empty layer cache directory");
	if (mkdirs(dir) < 0 || stat(dir, &st) < 0)
		return cs_err_set(CS_EIO, "cannot create layer cache directory '%s': %s", dir,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cs_err_set(CS_EIO, "cannot create layer cache directory '%s': %s", dir,
				  strerror(ENOTDIR));
	probe = cs_xasprintf("%s/.probe-XXXXXX", dir);
	fd = mkstemp(probe);
	if (fd < 0) {
		int e = errno;

		free(probe);
		return cs_err_set(CS_EIO, "layer cache directory '%s' is not writable: %s", dir,
				  strerror(e));
	}
	close(fd);
	unlink(probe);
	free(probe);
	c = cs_xcalloc(1, sizeof(*c));
	c->dir = cs_xstrdup(dir);
	c->max_bytes = max_bytes ? max_bytes : CS_LAYERCACHE_DEFAULT_MAX;
	*out = c;
	return 0;
}

void
cs_layercache_free(struct cs_layercache *c)
{
	if (c == NULL)
		return;
	free(c->dir);
	free(c);
}

const char *
cs_layercache_dir(const struct cs_layercache *c)
{
	return c->dir;
}

void
cs_layercache_path(struct cs_buf *out, const struct cs_layercache *c, const char *diff_id)
{
	cs_buf_addf(out, "%s/%s.layer", c->dir, diff_id + 7);
}

static void
sha256(unsigned char out[SUM_LEN], const void *data, size_t len)
{
	unsigned int n = SUM_LEN;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static int
read_all(int fd, struct cs_buf *out, uint64_t max)
{
	char chunk[65536];
	ssize_t n;

	cs_buf_init(out, (size_t)max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (cs_buf_add(out, chunk, (size_t)n) < 0)
			return -1;
	}
}

/* Why the entry in data is not valid, or NULL; *payload and *plen point into data. */
static const char *
check_entry(const struct cs_buf *data, const char *diff_id, const unsigned char **payload,
	    size_t *plen)
{
	const unsigned char *p = (const unsigned char *)data->buf;
	unsigned char sum[SUM_LEN];
	uint64_t n = 0;
	size_t m = sizeof(MAGIC) - 1;
	int i;

	if (data->len < HEADER_LEN + SUM_LEN)
		return "truncated";
	if (memcmp(p, MAGIC, m) != 0)
		return "bad magic or version";
	if (memcmp(p + m, diff_id, 71) != 0 || p[m + 71] != '\n')
		return "wrong DiffID";
	for (i = 0; i < 8; i++)
		n |= (uint64_t)p[m + 72 + i] << (8 * i);
	if (n != data->len - HEADER_LEN - SUM_LEN)
		return "truncated or wrong length";
	sha256(sum, p, data->len - SUM_LEN);
	if (memcmp(sum, p + data->len - SUM_LEN, SUM_LEN) != 0)
		return "checksum mismatch";
	*payload = p + HEADER_LEN;
	*plen = (size_t)n;
	return NULL;
}

int
cs_layercache_get(struct cs_imagefs_layer **out, struct cs_layercache *c, const char *diff_id)
{
	struct cs_buf path = CS_BUF_INIT, data = CS_BUF_INIT;
	const unsigned char *payload = NULL;
	const char *why = NULL;
	size_t plen = 0;
	int fd = -1, error;

	*out = NULL;
	if (!cs_layercache_valid_id(diff_id))
		return cs_err_set(CS_EINVAL, "bad layer DiffID '%s'", diff_id ? diff_id : "");
	cs_layercache_path(&path, c, diff_id);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		error = cs_err_set(CS_ENOTFOUND, "layer %s is not in the cache", diff_id);
		goto out;
	}
	if (read_all(fd, &data, MAX_ENTRY) < 0)
		why = "unreadable";
	else if ((why = check_entry(&data, diff_id, &payload, &plen)) == NULL &&
		 cs_imagefs_layer_decode(out, payload, plen) < 0)
		why = "malformed records";
	if (why != NULL) {
		cs_log(CS_LOG_WARN, "layer cache entry '%s' is corrupt (%s): ignored and rebuilt",
		       path.buf, why);
		unlink(path.buf);
		error = cs_err_set(CS_ENOTFOUND, "layer %s: corrupt cache entry", diff_id);
		goto out;
	}
	futimens(fd, NULL); /* least recently used: a hit makes the entry young again */
	error = 0;
out:
	if (fd >= 0)
		close(fd);
	cs_buf_release(&path);
	cs_buf_release(&data);
	return error;
}

struct entry {
	char *name;
	off_t size;
	struct timespec mtime;
};

static int
cmp_age(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Remove the oldest entries (never keep) until the total is at most max_bytes. */
static void
evict(struct cs_layercache *c, const char *keep)
{
	struct entry *v = NULL;
	size_t nr = 0, alloc = 0, i;
	uint64_t total = 0;
	struct dirent *de;
	DIR *d = opendir(c->dir);
	int dfd;

	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct stat st;

		if (n < 7 || strcmp(de->d_name + n - 6, ".layer") != 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		CS_ALLOC_GROW(v, nr + 1, alloc);
		v[nr].name = cs_xstrdup(de->d_name);
		v[nr].size = st.st_size;
		v[nr].mtime = st.st_mtim;
		total += (uint64_t)st.st_size;
		nr++;
	}
	if (total > c->max_bytes) {
		qsort(v, nr, sizeof(*v), cmp_age);
		for (i = 0; i < nr && total > c->max_bytes; i++) {
			if (strcmp(v[i].name, keep) == 0)
				continue;
			if (unlinkat(dfd, v[i].name, 0) == 0) {
				total -= (uint64_t)v[i].size;
				cs_log(CS_LOG_DEBUG, "layer cache: evicted %s", v[i].name);
			}
		}
	}
	for (i = 0; i < nr; i++)
		free(v[i].name);
	free(v);
	closedir(d);
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cs_layercache_put(struct cs_layercache *c, const char *diff_id, const struct cs_imagefs_layer *l)
{
	struct cs_buf doc = CS_BUF_INIT, path = CS_BUF_INIT;
	unsigned char sum[SUM_LEN], len[8];
	char *tmp = NULL;
	uint64_t n;
	size_t start;
	int fd = -1, error, i;

	if (!cs_layercache_valid_id(diff_id))
		return cs_err_set(CS_EINVAL, "bad layer DiffID '%s'", diff_id ? diff_id : "");
	cs_buf_init(&doc, 0);
	cs_buf_adds(&doc, MAGIC);
	cs_buf_addf(&doc, "%s\n", diff_id);
	cs_buf_add(&doc, "\0\0\0\0\0\0\0\0", 8);
	start = doc.len;
	if ((error = cs_imagefs_layer_encode(&doc, l)) < 0)
		goto out;
	n = doc.len - start;
	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(n >> (8 * i));
	memcpy(doc.buf + start - 8, len, 8);
	sha256(sum, doc.buf, doc.len);
	cs_buf_add(&doc, sum, SUM_LEN);
	tmp = cs_xasprintf("%s/.tmp-%s-XXXXXX", c->dir, diff_id + 7);
	if ((fd = mkstemp(tmp)) < 0 || write_all(fd, doc.buf, doc.len) < 0 || fsync(fd) < 0) {
		error = cs_err_set(CS_EIO, "cannot write layer cache entry '%s': %s", tmp,
				   strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	cs_layercache_path(&path, c, diff_id);
	if (rename(tmp, path.buf) < 0) {
		error = cs_err_set(CS_EIO, "cannot write layer cache entry '%s': %s", path.buf,
				   strerror(errno));
		goto out;
	}
	CS_FREE_AND_NULL(tmp);
	{
		char *keep = cs_xasprintf("%s.layer", diff_id + 7);

		evict(c, keep);
		free(keep);
	}
	error = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	cs_buf_release(&doc);
	cs_buf_release(&path);
	return error;
}
