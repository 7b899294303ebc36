/*
 * The build context as a tar stream: a walker over openat() descriptors that
 * runs twice (once to count, once to send) and a libarchive writer whose
 * output lands in a small buffer drained by cs_context_read(), so the
 * context goes from disk to the socket one 64 KiB chunk at a time.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "context.h"
#include "dockerignore.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"

/* padding + pax header (path and link target up to PATH_MAX each) + ustar header */
#define OUT_SLACK ((size_t)16 * 1024)

enum ent_kind { E_REG, E_MEM, E_DIR, E_LNK, E_HARD };

/* A file with more than one link, sent once; its later names become hard links. */
struct seen {
	dev_t dev;
	ino_t ino;
	char *name;
};

struct frame {
	int fd;	      /* the directory */
	char **names; /* its entries, sorted */
	size_t nr, pos;
	size_t rel_len; /* length of its path prefix ("a/b/") in walker.rel */
};

struct walker {
	struct frame *v;
	size_t nr, alloc;
	struct seen *seen; /* sorted by (dev, ino) */
	size_t seen_nr, seen_alloc;
	struct cs_buf rel;
	int started, trailer;
};

struct entry {
	enum ent_kind kind;
	struct cs_buf name;
	struct stat st;
	int fd;		 /* E_REG while streaming, else -1 */
	const char *mem; /* E_MEM contents */
	size_t mem_len;
	char *link; /* E_LNK target, E_HARD first name */
};

enum state { S_WALK, S_DATA, S_CLOSE, S_DONE, S_ERROR };

struct cs_context {
	char *dir;
	int root_fd;
	struct cs_dockerignore *di;
	struct cs_buf ignore; /* the .dockerignore as sent */
	int ignore_exists;    /* a regular .dockerignore in the root */
	struct cs_context__dockerfile df;
	time_t mtime;
	uint64_t files, bytes;
	int streaming;

	struct archive *ar;
	struct archive_entry *ae;
	struct walker w;
	struct entry cur;
	enum state state;
	size_t left; /* bytes of cur still to send */
	char *chunk;
	struct cs_buf out;
	size_t out_pos, peak;
	int error;
	char *errmsg;
};

static void
buf_truncate(struct cs_buf *b, size_t len)
{
	if (b->alloc == 0)
		return;
	b->len = len;
	b->buf[len] = '\0';
}

static int
sys_err(int code, const char *what, const char *path)
{
	return cs_err_set(code, "cannot %s '%s': %s", what, path, strerror(errno));
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
frame_release(struct frame *f)
{
	size_t i;

	if (f->fd >= 0)
		close(f->fd);
	for (i = 0; i < f->nr; i++)
		free(f->names[i]);
	free(f->names);
}

static void
walker_release(struct walker *w)
{
	while (w->seen_nr > 0)
		free(w->seen[--w->seen_nr].name);
	free(w->seen);
	w->seen = NULL;
	w->seen_alloc = 0;
	while (w->nr > 0)
		frame_release(&w->v[--w->nr]);
	free(w->v);
	w->v = NULL;
	w->alloc = 0;
	cs_buf_release(&w->rel);
}

static void
entry_release(struct entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	e->mem = NULL;
	e->mem_len = 0;
	cs_buf_reset(&e->name);
	CS_FREE_AND_NULL(e->link);
}

/*
 * Open directory name of parent_fd without following a symlink, check that
 * it is still the one lstat'ed (expect, may be NULL), and push a frame with
 * its sorted entries. w->rel must hold its path, without the final '/'.
 */
static int
push_dir(struct walker *w, int parent_fd, const char *name, const struct stat *expect)
{
	struct frame f = {.fd = -1};
	const char *shown = w->rel.len ? w->rel.buf : ".";
	struct dirent *de;
	struct stat st;
	size_t alloc = 0;
	DIR *d = NULL;
	int fd2, error = 0;

	f.fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f.fd < 0) {
		error = sys_err(CS_EIO, "open directory", shown);
		goto out;
	}
	if (expect != NULL &&
	    (fstat(f.fd, &st) < 0 || st.st_dev != expect->st_dev || st.st_ino != expect->st_ino)) {
		error =
		    cs_err_set(CS_EIO, "directory '%s' changed while the context was read", shown);
		goto out;
	}
	if ((fd2 = dup(f.fd)) < 0 || (d = fdopendir(fd2)) == NULL) {
		if (fd2 >= 0)
			close(fd2);
		error = sys_err(CS_EIO, "read directory", shown);
		goto out;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		CS_ALLOC_GROW(f.names, f.nr + 1, alloc);
		f.names[f.nr++] = cs_xstrdup(de->d_name);
	}
	if (errno != 0) {
		error = sys_err(CS_EIO, "read directory", shown);
		goto out;
	}
	if (f.nr > 1)
		qsort(f.names, f.nr, sizeof(*f.names), cmp_names);
	if (w->rel.len)
		cs_buf_addch(&w->rel, '/');
	f.rel_len = w->rel.len;
	CS_ALLOC_GROW(w->v, w->nr + 1, w->alloc);
	w->v[w->nr++] = f;
	f.fd = -1;
	f.names = NULL;
	f.nr = 0;
out:
	if (d != NULL)
		closedir(d);
	frame_release(&f);
	return error;
}

/* 1 if the inside Dockerfile lies under directory rel. */
static int
dockerfile_under(const struct cs_context *ctx, const char *rel, size_t len)
{
	return ctx->df.rel && strncmp(ctx->df.rel, rel, len) == 0 && ctx->df.rel[len] == '/';
}

static int
read_link(struct entry *e, int dirfd, const char *name)
{
	size_t size = (size_t)e->st.st_size + 1;
	ssize_t n;

	for (;;) {
		if (size > (size_t)64 * 1024)
			return cs_err_set(CS_ETOOBIG, "symbolic link '%s' is too long",
					  e->name.buf);
		free(e->link);
		e->link = cs_xmalloc(size + 1);
		n = readlinkat(dirfd, name, e->link, size);
		if (n < 0)
			return sys_err(CS_EIO, "read symbolic link", e->name.buf);
		if ((size_t)n < size) {
			e->link[n] = '\0';
			return 0;
		}
		size *= 2; /* it grew since lstat() */
	}
}

/* Open a regular file for streaming; its fstat() replaces the lstat() taken before. */
static int
open_file(struct entry *e, int dirfd, const char *name)
{
	struct stat st;

	e->fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (e->fd < 0)
		return sys_err(CS_EIO, "open", e->name.buf);
	if (fstat(e->fd, &st) < 0)
		return sys_err(CS_EIO, "stat", e->name.buf);
	if (!S_ISREG(st.st_mode) || st.st_dev != e->st.st_dev || st.st_ino != e->st.st_ino)
		return cs_err_set(CS_EIO, "file '%s' changed while the context was read",
				  e->name.buf);
	e->st = st;
	return 0;
}

/* The entries made up after the walk: .dockerignore and an outside Dockerfile. */
static int
trailer_next(struct cs_context *ctx, struct walker *w, struct entry *e)
{
	for (; ctx->df.rel == NULL && w->trailer < 2; w->trailer++) {
		if (w->trailer == 0 && ctx->ignore_exists)
			continue;
		e->kind = E_MEM;
		memset(&e->st, 0, sizeof(e->st));
		e->st.st_mode = S_IFREG | 0600;
		e->st.st_mtime = ctx->df.mtime;
		cs_buf_reset(&e->name);
		cs_buf_adds(&e->name, w->trailer == 0 ? ".dockerignore" : ctx->df.name);
		e->mem = w->trailer == 0 ? ctx->ignore.buf : ctx->df.content.buf;
		e->mem_len = w->trailer == 0 ? ctx->ignore.len : ctx->df.content.len;
		w->trailer++;
		return 1;
	}
	return 0;
}

static int
cmp_seen(const struct seen *a, dev_t dev, ino_t ino)
{
	if (a->dev != dev)
		return a->dev < dev ? -1 : 1;
	if (a->ino != ino)
		return a->ino < ino ? -1 : 1;
	return 0;
}

/*
 * docker's tarAppender: the first name of a multiply-linked file is sent with
 * its content, the later ones as hard links to it. Returns the first name, or
 * NULL after recording e as the first.
 */
static const char *
hardlink_target(struct walker *w, const struct entry *e)
{
	size_t lo = 0, hi = w->seen_nr, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = cmp_seen(&w->seen[mid], e->st.st_dev, e->st.st_ino);
		if (c == 0)
			return w->seen[mid].name;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	CS_ALLOC_GROW(w->seen, w->seen_nr + 1, w->seen_alloc);
	memmove(w->seen + lo + 1, w->seen + lo, (w->seen_nr - lo) * sizeof(*w->seen));
	w->seen[lo].dev = e->st.st_dev;
	w->seen[lo].ino = e->st.st_ino;
	w->seen[lo].name = cs_xstrdup(e->name.buf);
	w->seen_nr++;
	return NULL;
}

/*
 * The next entry to send, in walk order, into e (released first). Returns 1,
 * 0 after the last one, or a negative error.
 */
static int
walker_next(struct cs_context *ctx, struct walker *w, struct entry *e)
{
	struct frame *top;
	const char *name, *rel, *target;
	int forced, excluded, error;

	entry_release(e);
	if (!w->started) {
		w->started = 1;
		if ((error = push_dir(w, ctx->root_fd, ".", NULL)) < 0)
			return error;
	}
	for (;;) {
		if (w->nr == 0)
			return trailer_next(ctx, w, e);
		top = &w->v[w->nr - 1];
		if (top->pos == top->nr) {
			buf_truncate(&w->rel, top->rel_len ? top->rel_len - 1 : 0);
			frame_release(top);
			w->nr--;
			continue;
		}
		name = top->names[top->pos++];
		buf_truncate(&w->rel, top->rel_len);
		cs_buf_adds(&w->rel, name);
		rel = w->rel.buf;
		if (fstatat(top->fd, name, &e->st, AT_SYMLINK_NOFOLLOW) < 0)
			return sys_err(CS_EIO, "stat", rel);
		forced = strcmp(rel, ".dockerignore") == 0 ||
			 (ctx->df.rel != NULL && strcmp(rel, ctx->df.rel) == 0);
		excluded = !forced && cs_dockerignore_match(ctx->di, rel);
		cs_buf_reset(&e->name);
		cs_buf_adds(&e->name, rel);
		if (S_ISDIR(e->st.st_mode)) {
			if (excluded && !cs_dockerignore_may_include_under(ctx->di, rel) &&
			    !dockerfile_under(ctx, rel, w->rel.len))
				continue;
			if ((error = push_dir(w, top->fd, name, &e->st)) < 0)
				return error;
			if (excluded)
				continue; /* walked for its exceptions, not sent itself */
			e->kind = E_DIR;
			return 1;
		}
		if (excluded)
			continue;
		if (S_ISREG(e->st.st_mode) && strcmp(rel, ".dockerignore") == 0) {
			e->kind = E_MEM; /* what was parsed, plus the outside Dockerfile's name */
			e->mem = ctx->ignore.buf;
			e->mem_len = ctx->ignore.len;
			return 1;
		}
		if (S_ISREG(e->st.st_mode) && e->st.st_nlink > 1 &&
		    (target = hardlink_target(w, e)) != NULL) {
			e->kind = E_HARD;
			e->link = cs_xstrdup(target);
			return 1;
		}
		if (S_ISREG(e->st.st_mode)) {
			e->kind = E_REG;
			if (ctx->streaming && (error = open_file(e, top->fd, name)) < 0)
				return error;
			/* as docker's ValidateContextDirectory: fail before sending anything */
			if (!ctx->streaming && faccessat(top->fd, name, R_OK, AT_EACCESS) < 0)
				return sys_err(CS_EIO, "read", rel);
			return 1;
		}
		if (S_ISLNK(e->st.st_mode)) {
			e->kind = E_LNK;
			if ((error = read_link(e, top->fd, name)) < 0)
				return error;
			return 1;
		}
		if (!ctx->streaming)
			cs_log(CS_LOG_WARN,
			       "context: skipping '%s': not a regular file, directory or symlink",
			       rel);
	}
}

static size_t
entry_size(const struct entry *e)
{
	if (e->kind == E_MEM)
		return e->mem_len;
	return e->kind == E_REG ? (size_t)e->st.st_size : 0;
}

static int
count_entries(struct cs_context *ctx)
{
	struct walker w = {.rel = CS_BUF_INIT};
	struct entry e = {.name = CS_BUF_INIT, .fd = -1};
	int ret;

	while ((ret = walker_next(ctx, &w, &e)) > 0) {
		if (e.kind == E_REG || e.kind == E_MEM || e.kind == E_HARD) {
			ctx->files++;
			ctx->bytes += entry_size(&e);
		}
	}
	entry_release(&e);
	cs_buf_release(&e.name);
	walker_release(&w);
	return ret;
}

/* The exceptions the docker CLI adds so that the build files are always sent. */
static int
keep_build_files(struct cs_context *ctx)
{
	struct cs_buf pat = CS_BUF_INIT;
	const char *p;
	int error = 0;

	if (cs_dockerignore_match(ctx->di, ".dockerignore"))
		error = cs_dockerignore_add(ctx->di, "!.dockerignore");
	if (error == 0 && ctx->df.rel != NULL && cs_dockerignore_match(ctx->di, ctx->df.rel)) {
		cs_buf_addch(&pat, '!');
		for (p = ctx->df.rel; *p; p++) {
			if (strchr("*?[]\\", *p))
				cs_buf_addch(&pat, '\\');
			cs_buf_addch(&pat, *p);
		}
		/* an odd name may not make a valid pattern: the walker keeps it anyway */
		if (cs_dockerignore_add(ctx->di, pat.buf) < 0)
			cs_err_clear();
	}
	cs_buf_release(&pat);
	return error;
}

static la_ssize_t
ar_write(struct archive *a, void *payload, const void *buf, size_t n)
{
	struct cs_context *ctx = payload;

	if (cs_buf_add(&ctx->out, buf, n) < 0) {
		archive_set_error(a, ENOMEM, "tar output buffer full");
		return -1;
	}
	if (ctx->out.alloc > ctx->peak)
		ctx->peak = ctx->out.alloc;
	return (la_ssize_t)n;
}

int
cs_context_open(struct cs_context **out, const struct cs_context_opts *opts)
{
	struct cs_context *ctx;
	struct cs_buf path = CS_BUF_INIT;
	struct stat st;
	int error = 0;

	*out = NULL;
	if (opts == NULL || opts->dir == NULL)
		return cs_err_set(CS_EINVAL, "no context directory given");
	ctx = cs_xcalloc(1, sizeof(*ctx));
	ctx->root_fd = -1;
	ctx->ignore = (struct cs_buf)CS_BUF_INIT;
	ctx->df.content = (struct cs_buf)CS_BUF_INIT;
	ctx->out = (struct cs_buf)CS_BUF_INIT;
	ctx->w.rel = (struct cs_buf)CS_BUF_INIT;
	ctx->cur.name = (struct cs_buf)CS_BUF_INIT;
	ctx->cur.fd = -1;
	ctx->dir = cs_xstrdup(opts->dir);
	ctx->mtime = opts->mtime;
	ctx->chunk = cs_xcalloc(1, CS_CONTEXT_CHUNK + OUT_SLACK); /* also the pre-sizing source */

	ctx->root_fd = open(ctx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->root_fd < 0) {
		error = sys_err(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "open context directory",
				ctx->dir);
		goto out;
	}
	cs_buf_addf(&path, "%s/.dockerignore", ctx->dir);
	cs_buf_init(&ctx->ignore, (size_t)8 << 20);
	if ((error = cs_dockerignore_load(&ctx->di, path.buf, &ctx->ignore)) < 0)
		goto out;
	if (opts->exclude_git_dir && (error = cs_dockerignore_add(ctx->di, ".git")) < 0)
		goto out;
	ctx->ignore_exists =
	    fstatat(ctx->root_fd, ".dockerignore", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
	if ((error = cs_context__locate_dockerfile(&ctx->df, ctx->dir, opts->dockerfile)) < 0)
		goto out;
	if (ctx->df.rel == NULL) {
		if (ctx->ignore_exists)
			cs_buf_addf(&ctx->ignore, "\n%s\n", ctx->df.name);
		else
			cs_buf_addf(&ctx->ignore, ".dockerignore\n%s\n", ctx->df.name);
	}
	if ((error = keep_build_files(ctx)) < 0)
		goto out;
	if ((error = count_entries(ctx)) < 0)
		goto out;

	ctx->streaming = 1;
	/* one chunk plus the largest header block group: the buffer never grows past this */
	cs_buf_add(&ctx->out, ctx->chunk, CS_CONTEXT_CHUNK + OUT_SLACK);
	cs_buf_reset(&ctx->out);
	ctx->peak = ctx->out.alloc;
	ctx->ar = archive_write_new();
	ctx->ae = archive_entry_new();
	if (ctx->ar == NULL || ctx->ae == NULL ||
	    archive_write_set_format_pax_restricted(ctx->ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(ctx->ar, 0) != ARCHIVE_OK ||
	    archive_write_open(ctx->ar, ctx, NULL, ar_write, NULL) != ARCHIVE_OK) {
		error = cs_err_set(CS_ERROR, "cannot start the context tar: %s",
				   ctx->ar ? archive_error_string(ctx->ar) : "out of memory");
		goto out;
	}
	*out = ctx;
	ctx = NULL;
out:
	cs_context_free(ctx);
	cs_buf_release(&path);
	return error;
}

void
cs_context_stats(const struct cs_context *ctx, uint64_t *files, uint64_t *bytes)
{
	if (files != NULL)
		*files = ctx->files;
	if (bytes != NULL)
		*bytes = ctx->bytes;
}

const char *
cs_context_dockerfile_name(const struct cs_context *ctx)
{
	return ctx->df.name;
}

static int
write_header(struct cs_context *ctx, const struct entry *e)
{
	struct archive_entry *ae = ctx->ae;

	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, e->name.buf);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, ctx->mtime ? ctx->mtime : e->st.st_mtime, 0);
	switch (e->kind) {
	case E_REG:
	case E_MEM:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)entry_size(e));
		break;
	case E_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_size(ae, 0);
		break;
	case E_HARD:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_copy_hardlink(ae, e->link);
		archive_entry_set_size(ae, 0);
		break;
	case E_LNK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_copy_symlink(ae, e->link);
		archive_entry_set_size(ae, 0);
		break;
	}
	archive_entry_set_perm(ae, e->st.st_mode & 07777);
	/* ARCHIVE_WARN: a name not in the locale's charset, written as raw bytes */
	if (archive_write_header(ctx->ar, ae) < ARCHIVE_WARN)
		return cs_err_set(CS_EIO, "cannot add '%s' to the context tar: %s", e->name.buf,
				  archive_error_string(ctx->ar));
	return 0;
}

/* Send the next chunk of the current file; detect a file changing size under us. */
static int
data_step(struct cs_context *ctx)
{
	struct entry *e = &ctx->cur;
	size_t want = ctx->left < CS_CONTEXT_CHUNK ? ctx->left : CS_CONTEXT_CHUNK;
	const char *p = ctx->chunk;
	ssize_t n;

	if (e->kind == E_MEM) {
		p = e->mem + (e->mem_len - ctx->left);
		n = (ssize_t)want;
	} else {
		do
			n = read(e->fd, ctx->chunk, want);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return sys_err(CS_EIO, "read", e->name.buf);
		if (n == 0)
			return cs_err_set(CS_EIO, "file '%s' changed size while being sent",
					  e->name.buf);
	}
	if (archive_write_data(ctx->ar, p, (size_t)n) != n)
		return cs_err_set(CS_EIO, "cannot add '%s' to the context tar: %s", e->name.buf,
				  archive_error_string(ctx->ar));
	ctx->left -= (size_t)n;
	if (ctx->left > 0)
		return 0;
	if (e->kind == E_REG) {
		do
			n = read(e->fd, ctx->chunk, 1);
		while (n < 0 && errno == EINTR);
		if (n != 0)
			return cs_err_set(CS_EIO, "file '%s' changed size while being sent",
					  e->name.buf);
	}
	entry_release(e);
	ctx->state = S_WALK;
	return 0;
}

/* Produce some more tar output into ctx->out. */
static int
step(struct cs_context *ctx)
{
	int ret;

	switch (ctx->state) {
	case S_WALK:
		if ((ret = walker_next(ctx, &ctx->w, &ctx->cur)) < 0)
			return ret;
		if (ret == 0) {
			ctx->state = S_CLOSE;
			return 0;
		}
		if ((ret = write_header(ctx, &ctx->cur)) < 0)
			return ret;
		ctx->left = entry_size(&ctx->cur);
		if (ctx->left > 0)
			ctx->state = S_DATA;
		else
			entry_release(&ctx->cur);
		return 0;
	case S_DATA:
		return data_step(ctx);
	case S_CLOSE:
		if (archive_write_close(ctx->ar) != ARCHIVE_OK)
			return cs_err_set(CS_EIO, "cannot finish the context tar: %s",
					  archive_error_string(ctx->ar));
		ctx->state = S_DONE;
		return 0;
	case S_DONE:
	case S_ERROR:
		break;
	}
	return 0;
}

long
cs_context_read(struct cs_context *ctx, char *buf, size_t size)
{
	size_t n;
	int error;

	if (ctx->state == S_ERROR) {
		cs_err_set(ctx->error, "%s", ctx->errmsg);
		return -1;
	}
	while (ctx->out_pos == ctx->out.len) {
		cs_buf_reset(&ctx->out);
		ctx->out_pos = 0;
		if (ctx->state == S_DONE)
			return 0;
		if ((error = step(ctx)) < 0) {
			/* no end-of-archive: the engine must see a broken upload */
			ctx->error = error;
			ctx->errmsg = cs_xstrdup(cs_err_msg());
			ctx->state = S_ERROR;
			entry_release(&ctx->cur);
			walker_release(&ctx->w);
			return -1;
		}
	}
	n = ctx->out.len - ctx->out_pos;
	if (n > size)
		n = size;
	if (n > LONG_MAX)
		n = LONG_MAX;
	memcpy(buf, ctx->out.buf + ctx->out_pos, n);
	ctx->out_pos += n;
	return (long)n;
}

long
cs_context_read_cb(char *buf, size_t size, void *payload)
{
	return cs_context_read(payload, buf, size);
}

int
cs_context_error(const struct cs_context *ctx)
{
	return ctx->error;
}

size_t
cs_context__peak_buffer(const struct cs_context *ctx)
{
	return ctx->peak;
}

void
cs_context_free(struct cs_context *ctx)
{
	if (ctx == NULL)
		return;
	entry_release(&ctx->cur);
	cs_buf_release(&ctx->cur.name);
	walker_release(&ctx->w);
	if (ctx->ar != NULL)
		archive_write_free(ctx->ar); /* may flush into ctx->out: released below */
	archive_entry_free(ctx->ae);
	if (ctx->root_fd >= 0)
		close(ctx->root_fd);
	cs_dockerignore_free(ctx->di);
	cs_buf_release(&ctx->ignore);
	cs_context__dockerfile_release(&ctx->df);
	cs_buf_release(&ctx->out);
	free(ctx->dir);
	free(ctx->chunk);
	free(ctx->errmsg);
	free(ctx);
}
