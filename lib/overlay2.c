/*
 * The engine's overlay2 layer directories: found through the layer store's
 * ChainIDs, read with openat from the layer directory, whiteouts translated
 * to their tar form (see overlay2.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "err.h"
#include "layercache.h"
#include "log.h"
#include "overlay2.h"
#include "strvec.h"
#include "xalloc.h"

void
cs_overlay2_chain_id(struct cs_buf *out, const char *parent, const char *diff_id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *s;

	if (parent == NULL || *parent == '\0') {
		cs_buf_adds(out, diff_id);
		return;
	}
	s = cs_xasprintf("%s %s", parent, diff_id);
	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	free(s);
	cs_buf_adds(out, "sha256:");
	for (i = 0; i < n; i++)
		cs_buf_addf(out, "%02x", md[i]);
}

/* The first line of a small file, or NULL. */
static char *
read_line(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return cs_xstrdup(buf);
}

static int
safe_name(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || strlen(s) > 128 || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

void
cs_overlay2_dirs_free(char **dirs, size_t nr)
{
	size_t i;

	if (dirs == NULL)
		return;
	for (i = 0; i < nr; i++)
		free(dirs[i]);
	free(dirs);
}

int
cs_overlay2_layer_dirs(char ***out, const json_t *inspect, const char *const *diff_ids, size_t nr)
{
	const json_t *gd = json_object_get(inspect, "GraphDriver");
	const json_t *data = json_object_get(gd, "Data");
	const char *driver = json_string_value(json_object_get(gd, "Name"));
	const char *upper = json_string_value(json_object_get(data, "UpperDir"));
	const char *lower = json_string_value(json_object_get(data, "LowerDir"));
	struct cs_strvec known = CS_STRVEC_INIT;
	struct cs_buf chain = CS_BUF_INIT, parent = CS_BUF_INIT, p = CS_BUF_INIT;
	char *storage = NULL, *root = NULL, *slash, **dirs = NULL;
	size_t i, found = 0;
	int error = 0;

	*out = NULL;
	if (driver == NULL || strcmp(driver, "overlay2") != 0 || upper == NULL || upper[0] != '/') {
		error = cs_err_set(CS_ENOTFOUND, "the image is not stored by overlay2 (driver %s)",
				   driver ? driver : "unknown");
		goto out;
	}
	cs_strvec_push(&known, upper);
	if (lower != NULL) {
		const char *s = lower, *e;

		for (; *s; s = *e ? e + 1 : e) {
			e = s + strcspn(s, ":");
			cs_strvec_push_take(&known, cs_xstrndup(s, (size_t)(e - s)));
		}
	}
	/* UpperDir is <root>/overlay2/<cache-id>/diff */
	storage = cs_xstrdup(upper);
	for (i = 0; i < 2 && (slash = strrchr(storage, '/')) != NULL; i++)
		*slash = '\0';
	root = cs_xstrdup(storage);
	if ((slash = strrchr(root, '/')) == NULL || i != 2) {
		error = cs_err_set(CS_ENOTFOUND, "unexpected overlay2 UpperDir '%s'", upper);
		goto out;
	}
	*slash = '\0';
	dirs = cs_xcalloc(nr ? nr : 1, sizeof(*dirs));
	for (i = 0; i < nr; i++) {
		char *cache_id, *diff;

		if (!cs_layercache_valid_id(diff_ids[i])) {
			error = cs_err_set(CS_EINVAL, "bad layer DiffID '%s'", diff_ids[i]);
			goto out;
		}
		cs_buf_reset(&chain);
		cs_overlay2_chain_id(&chain, parent.buf, diff_ids[i]);
		cs_buf_reset(&parent);
		cs_buf_adds(&parent, chain.buf);
		cs_buf_reset(&p);
		cs_buf_addf(&p, "%s/image/overlay2/layerdb/sha256/%s/cache-id", root,
			    chain.buf + 7);
		cache_id = read_line(p.buf);
		cs_buf_reset(&p);
		cs_buf_addf(&p, "%s/image/overlay2/layerdb/sha256/%s/diff", root, chain.buf + 7);
		diff = read_line(p.buf);
		if (!safe_name(cache_id) || diff == NULL || strcmp(diff, diff_ids[i]) != 0) {
			cs_log(CS_LOG_INFO, "layer %zu (%s): not found in the layer store%s", i + 1,
			       diff_ids[i], cache_id ? " (DiffID mismatch)" : "");
		} else {
			cs_buf_reset(&p);
			cs_buf_addf(&p, "%s/%s/diff", storage, cache_id);
			if (cs_strvec_has(&known, p.buf)) {
				dirs[i] = cs_xstrdup(p.buf);
				found++;
			} else {
				cs_log(
				    CS_LOG_INFO,
				    "layer %zu (%s): '%s' is not in the image's GraphDriver.Data",
				    i + 1, diff_ids[i], p.buf);
			}
		}
		free(cache_id);
		free(diff);
	}
	if (found == 0 && nr > 0) {
		error = cs_err_set(CS_ENOTFOUND, "no layer of the image found in '%s'", root);
		goto out;
	}
	*out = dirs;
	dirs = NULL;
out:
	cs_overlay2_dirs_free(dirs, nr);
	cs_strvec_clear(&known);
	cs_buf_release(&chain);
	cs_buf_release(&parent);
	cs_buf_release(&p);
	free(storage);
	free(root);
	return error;
}

/* ---- reading one layer directory ---- */

struct inode {
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct cs_imagefs_layer *l;
	struct inode *links; /* regular files with several links seen so far */
	size_t links_nr, links_alloc;
	struct cs_buf path; /* relative path of the current entry */
	const char *top;
	volatile sig_atomic_t *interrupted;
};

struct lazy_file {
	int dfd;
	const char *name;
	int fd;
};

static long
lazy_read(void *buf, size_t size, void *payload)
{
	struct lazy_file *f = payload;
	ssize_t n;

	if (f->fd < 0) {
		f->fd = openat(f->dfd, f->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (f->fd < 0) {
			cs_err_set(CS_EIO, "%s", strerror(errno));
			return -1;
		}
	}
	do
		n = read(f->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		cs_err_set(CS_EIO, "%s", strerror(errno));
		return -1;
	}
	return (long)n;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));

	return n == 1 && v[0] == 'y';
}

static void
truncate_to(struct cs_buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->buf[n] = '\0';
	}
}

/* 1 if this inode was visited before in the layer (then remembered); a linear scan: few files
 * have several links */
static int
seen_link(struct walk *w, const struct stat *st)
{
	size_t i;

	for (i = 0; i < w->links_nr; i++)
		if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
			return 1;
	CS_ALLOC_GROW(w->links, w->links_nr + 1, w->links_alloc);
	w->links[w->links_nr].dev = st->st_dev;
	w->links[w->links_nr].ino = st->st_ino;
	w->links_nr++;
	return 0;
}

static int walk_dir(struct walk *w, int dfd);

static int
walk_entry(struct walk *w, int dfd, const char *name)
{
	size_t mark = w->path.len;
	char msg[512];
	struct stat st;
	int error = 0, cfd;

	if (w->path.len > 0)
		cs_buf_addch(&w->path, '/');
	cs_buf_adds(&w->path, name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		error = cs_err_set(CS_EIO, "cannot stat '%s/%s': %s", w->top, w->path.buf,
				   strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			error = cs_err_set(CS_EIO, "cannot open '%s/%s': %s", w->top, w->path.buf,
					   strerror(errno));
			goto out;
		}
		error = cs_imagefs_layer_add(w->l, w->path.buf, CS_IMAGEFS_DIR, 0, NULL, NULL);
		if (error == 0 && is_opaque(cfd)) {
			size_t dir_len = w->path.len;

			cs_buf_adds(&w->path, "/.wh..wh..opq");
			error = cs_imagefs_layer_add(w->l, w->path.buf, CS_IMAGEFS_OTHER, 0, NULL,
						     NULL);
			truncate_to(&w->path, dir_len);
		}
		if (error == 0)
			error = walk_dir(w, cfd); /* closes cfd */
		else
			close(cfd);
		goto out;
	}
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0) {
		/* overlay's whiteout: the export stream has ".wh.NAME" */
		truncate_to(&w->path, mark);
		if (w->path.len > 0)
			cs_buf_addch(&w->path, '/');
		cs_buf_addf(&w->path, ".wh.%s", name);
		error = cs_imagefs_layer_add(w->l, w->path.buf, CS_IMAGEFS_OTHER, 0, NULL, NULL);
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_nlink > 1 && seen_link(w, &st)) {
		/* the engine's tar has a hard link here, as a docker save would */
		error = cs_imagefs_layer_add(w->l, w->path.buf, CS_IMAGEFS_OTHER, 0, NULL, NULL);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		struct lazy_file f = {.dfd = dfd, .name = name, .fd = -1};

		error = cs_imagefs_layer_add(w->l, w->path.buf, CS_IMAGEFS_REG, st.st_size,
					     lazy_read, &f);
		if (f.fd >= 0)
			close(f.fd);
		if (error < 0) {
			snprintf(msg, sizeof(msg), "%s", cs_err_msg());
			error = cs_err_set(CS_EIO, "layer directory '%s': %s", w->top, msg);
		}
		goto out;
	}
	error = cs_imagefs_layer_add(w->l, w->path.buf, CS_IMAGEFS_OTHER, 0, NULL, NULL);
out:
	truncate_to(&w->path, mark);
	return error;
}

/* Visit the entries of dfd (closed here) in byte order, like the engine's tar writer. */
static int
walk_dir(struct walk *w, int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, alloc = 0, i;
	int error = 0;

	if (d == NULL) {
		error = cs_err_set(CS_EIO, "cannot read '%s/%s': %s", w->top, w->path.buf,
				   strerror(errno));
		close(dfd);
		return error;
	}
	if (w->interrupted != NULL && *w->interrupted) {
		error = cs_err_set(CS_EINTR, "interrupted");
		goto out;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		CS_ALLOC_GROW(names, nr + 1, alloc);
		names[nr++] = cs_xstrdup(de->d_name);
	}
	if (errno != 0) {
		error = cs_err_set(CS_EIO, "cannot read '%s/%s': %s", w->top, w->path.buf,
				   strerror(errno));
		goto out;
	}
	if (nr > 1)
		qsort(names, nr, sizeof(*names), cmp_name);
	for (i = 0; i < nr && error == 0; i++)
		error = walk_entry(w, dirfd(d), names[i]);
out:
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return error;
}

int
cs_overlay2_read_layer(struct cs_imagefs_layer **out, const char *dir,
		       volatile sig_atomic_t *interrupted)
{
	struct walk w = {.path = CS_BUF_INIT, .top = dir, .interrupted = interrupted};
	int fd, error;

	*out = NULL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cs_err_set(CS_EIO, "cannot open layer directory '%s': %s", dir,
				  strerror(errno));
	w.l = cs_imagefs_layer_new();
	if (is_opaque(fd))
		error = cs_imagefs_layer_add(w.l, ".wh..wh..opq", CS_IMAGEFS_OTHER, 0, NULL, NULL);
	else
		error = 0;
	if (error == 0)
		error = walk_dir(&w, fd);
	else
		close(fd);
	if (error == 0) {
		*out = w.l;
		w.l = NULL;
	}
	cs_imagefs_layer_free(w.l);
	cs_buf_release(&w.path);
	free(w.links);
	return error;
}
