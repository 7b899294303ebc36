/*
 * Static reading of an image: a docker save tar read once with libarchive,
 * layers read as nested archives straight from the outer entry's data blocks,
 * then merged top-down with a hash map of paths (see imagefs.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "imagefs.h"
#include "pkgdb.h"
#include "xalloc.h"

#define MAX_SMALL_FILE ((size_t)16 << 20) /* manifest.json, one dpkg or apk database */
#define MAX_RPMDB ((size_t)48 << 20)	  /* an rpmdb.sqlite */
#define READ_BLOCK (1 << 20)

enum rec_kind { REC_DIR = 'd', REC_FILE = 'f', REC_WHITEOUT = 'w', REC_OPAQUE = 'o' };

struct pkgcopy {
	char *path; /* cleaned, no leading '/' */
	enum cs_pkgdb_kind kind;
	struct cs_strvec pkgs;
	char *error; /* parse error, reported only if this copy is visible */
};

/* What one layer tar holds, recorded under its path in the outer archive. */
struct cs_imagefs_layer {
	char *key;
	char *alias;	    /* the outer entry was a link to this key */
	char *error;	    /* unreadable: reported only if the manifest lists it */
	struct cs_buf recs; /* "<kind><path>\0" ... */
	struct pkgcopy *pkg;
	size_t pkg_nr, pkg_alloc;
	size_t unsafe; /* entries skipped for a path with ".." */
};

struct node {
	char *key; /* NULL: empty slot */
	uint32_t hash;
	int layer; /* manifest position that made the path present, -1: not present */
	unsigned char is_dir, whiteout, opaque;
};

struct cs_imagefs {
	struct cs_imagefs_layer *layers;
	size_t layers_nr, layers_alloc;
	struct cs_buf manifest;
	int have_manifest;

	struct node *map;
	size_t map_nr, map_alloc; /* alloc is a power of two */

	const char **files; /* sorted visible non-directories (keys of map) */
	size_t files_nr;
	struct cs_strvec packages, pkgdbs;
	struct cs_imagefs_layer **order; /* kept layers in manifest order (borrowed from layers) */
	size_t order_nr;
	char *image_id, *repo_tag;
	size_t nlayers, unsafe;
	volatile sig_atomic_t *interrupted;
};

/* ---- path map ---- */

static uint32_t
hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static struct node *
map_find(const struct cs_imagefs *fs, const char *key, size_t n)
{
	uint32_t h = hash_bytes(key, n);
	size_t i, mask;

	if (fs->map_alloc == 0)
		return NULL;
	mask = fs->map_alloc - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		struct node *e = &fs->map[i];

		if (e->key == NULL)
			return NULL;
		if (e->hash == h && strncmp(e->key, key, n) == 0 && e->key[n] == '\0')
			return e;
	}
}

static void
map_grow(struct cs_imagefs *fs)
{
	struct node *old = fs->map;
	size_t old_alloc = fs->map_alloc, i, j, mask;

	fs->map_alloc = old_alloc ? old_alloc * 2 : 1024;
	fs->map = cs_xcalloc(fs->map_alloc, sizeof(*fs->map));
	mask = fs->map_alloc - 1;
	for (i = 0; i < old_alloc; i++) {
		if (old[i].key == NULL)
			continue;
		for (j = old[i].hash & mask; fs->map[j].key != NULL; j = (j + 1) & mask)
			;
		fs->map[j] = old[i];
	}
	free(old);
}

static struct node *
map_get(struct cs_imagefs *fs, const char *key)
{
	size_t n = strlen(key), i, mask;
	struct node *e = map_find(fs, key, n);
	uint32_t h;

	if (e != NULL)
		return e;
	if ((fs->map_nr + 1) * 4 > fs->map_alloc * 3)
		map_grow(fs);
	h = hash_bytes(key, n);
	mask = fs->map_alloc - 1;
	for (i = h & mask; fs->map[i].key != NULL; i = (i + 1) & mask)
		;
	e = &fs->map[i];
	e->key = cs_xstrndup(key, n);
	e->hash = h;
	e->layer = -1;
	fs->map_nr++;
	return e;
}

/* ---- paths ---- */

int
cs_imagefs__clean_path(char *path)
{
	char *src = path, *dst = path;

	while (*src != '\0') {
		char *end;
		size_t n;

		while (*src == '/')
			src++;
		if (*src == '\0')
			break;
		end = strchr(src, '/');
		n = end ? (size_t)(end - src) : strlen(src);
		if (n == 1 && src[0] == '.') {
			src += n;
			continue;
		}
		if (n == 2 && src[0] == '.' && src[1] == '.')
			return -1;
		if (dst != path)
			*dst++ = '/';
		memmove(dst, src, n);
		dst += n;
		src += n;
	}
	*dst = '\0';
	return dst == path ? -2 : 0;
}

/* ---- recording one layer ---- */

static void
layer_init(struct cs_imagefs_layer *l, const char *key)
{
	memset(l, 0, sizeof(*l));
	l->key = cs_xstrdup(key ? key : "");
	cs_buf_init(&l->recs, 0);
}

static struct cs_imagefs_layer *
layer_new(struct cs_imagefs *fs, const char *key)
{
	struct cs_imagefs_layer *l;

	CS_ALLOC_GROW(fs->layers, fs->layers_nr + 1, fs->layers_alloc);
	l = &fs->layers[fs->layers_nr++];
	layer_init(l, key);
	return l;
}

static void
layer_release(struct cs_imagefs_layer *l)
{
	size_t i;

	for (i = 0; i < l->pkg_nr; i++) {
		free(l->pkg[i].path);
		free(l->pkg[i].error);
		cs_strvec_clear(&l->pkg[i].pkgs);
	}
	free(l->pkg);
	free(l->key);
	free(l->alias);
	free(l->error);
	cs_buf_release(&l->recs);
}

struct cs_imagefs_layer *
cs_imagefs_layer_new(void)
{
	struct cs_imagefs_layer *l = cs_xmalloc(sizeof(*l));

	layer_init(l, "");
	return l;
}

void
cs_imagefs_layer_free(struct cs_imagefs_layer *l)
{
	if (l == NULL)
		return;
	layer_release(l);
	free(l);
}

static int
add_rec(struct cs_imagefs_layer *l, int kind, const char *path)
{
	int error;

	if ((error = cs_buf_addch(&l->recs, kind)) < 0 ||
	    (error = cs_buf_add(&l->recs, path, strlen(path) + 1)) < 0)
		return error;
	return 0;
}

static int
read_small(cs_imagefs_read_fn rd, void *payload, struct cs_buf *out, const char *what, size_t max)
{
	char chunk[65536], msg[512];
	long n;
	int error;

	cs_buf_init(out, max);
	while ((n = rd(chunk, sizeof(chunk), payload)) > 0)
		if ((error = cs_buf_add(out, chunk, (size_t)n)) < 0)
			return cs_err_set(error, "'%s' is larger than %zu bytes", what, max);
	if (n < 0) {
		snprintf(msg, sizeof(msg), "%s", cs_err_msg());
		return cs_err_set(CS_EPARSE, "cannot read '%s': %s", what, msg);
	}
	return 0;
}

static long
archive_rd(void *buf, size_t size, void *payload)
{
	struct archive *a = payload;
	la_ssize_t n = archive_read_data(a, buf, size);

	if (n < 0) {
		cs_err_set(CS_EPARSE, "%s", archive_error_string(a));
		return -1;
	}
	return (long)n;
}

static int
record_pkgdb(struct cs_imagefs_layer *l, const char *path, enum cs_pkgdb_kind kind, int64_t size,
	     cs_imagefs_read_fn rd, void *payload)
{
	struct cs_buf data = CS_BUF_INIT;
	struct pkgcopy *c;
	int error;

	CS_ALLOC_GROW(l->pkg, l->pkg_nr + 1, l->pkg_alloc);
	c = &l->pkg[l->pkg_nr++];
	memset(c, 0, sizeof(*c));
	c->path = cs_xstrdup(path);
	c->kind = kind;
	if (kind == CS_PKGDB_RPM)
		return 0;
	if (kind == CS_PKGDB_RPM_WAL) {
		/* transactions not yet in rpmdb.sqlite: reading it alone could miss packages */
		if (size > 0)
			c->error = cs_xasprintf("rpm database write-ahead log '/%s' is not empty: "
						"not supported, cannot list the image's packages",
						path);
		return 0;
	}
	if ((error = read_small(rd, payload, &data, path,
				kind == CS_PKGDB_RPM_SQLITE ? MAX_RPMDB : MAX_SMALL_FILE)) < 0)
		c->error = cs_xstrdup(cs_err_msg());
	else if (cs_pkgdb_parse(&c->pkgs, kind, data.buf, data.len, path) < 0)
		c->error = cs_xstrdup(cs_err_msg());
	cs_buf_release(&data);
	return error == CS_EPARSE ? error : 0; /* a read error breaks the layer stream */
}

int
cs_imagefs_layer_add(struct cs_imagefs_layer *l, const char *name, enum cs_imagefs_type type,
		     int64_t size, cs_imagefs_read_fn rd, void *payload)
{
	const char *base;
	char *path = NULL;
	enum cs_pkgdb_kind kind;
	int error = 0;
	char *slash;

	path = cs_xstrdup(name);
	if (cs_imagefs__clean_path(path) == -1) {
		l->unsafe++; /* "..": never let a layer reach outside the image */
		goto out;
	}
	if (*path == '\0')
		goto out;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (strncmp(base, ".wh.", 4) == 0) {
		if (strcmp(base, ".wh..wh..opq") == 0) {
			if (slash == NULL) /* the root made opaque: hide every lower path */
				error = add_rec(l, REC_OPAQUE, "");
			else {
				*slash = '\0';
				error = add_rec(l, REC_OPAQUE, path);
			}
		} else if (strncmp(base, ".wh..wh.", 8) != 0 && base[4] != '\0') {
			memmove((char *)base, base + 4, strlen(base + 4) + 1);
			error = add_rec(l, REC_WHITEOUT, path);
		}
		goto out;
	}
	if ((error = add_rec(l, type == CS_IMAGEFS_DIR ? REC_DIR : REC_FILE, path)) < 0)
		goto out;
	kind = cs_pkgdb_kind(path);
	if (kind != CS_PKGDB_NONE && type == CS_IMAGEFS_REG)
		error = record_pkgdb(l, path, kind, size, rd, payload);
out:
	free(path);
	return error;
}

static int
record_entry(struct cs_imagefs_layer *l, struct archive *in, struct archive_entry *ent)
{
	const char *name = archive_entry_pathname(ent);
	enum cs_imagefs_type type = CS_IMAGEFS_OTHER;

	if (name == NULL)
		return 0;
	if (archive_entry_hardlink(ent) == NULL) {
		if (archive_entry_filetype(ent) == AE_IFDIR)
			type = CS_IMAGEFS_DIR;
		else if (archive_entry_filetype(ent) == AE_IFREG)
			type = CS_IMAGEFS_REG;
	}
	return cs_imagefs_layer_add(l, name, type, archive_entry_size(ent), archive_rd, in);
}

/* The nested reader pulls the outer entry's data blocks, first the one peeked at. */
struct nested {
	struct archive *outer;
	const void *peek;
	size_t peek_len;
	int peek_pending;
};

static la_ssize_t
nested_read(struct archive *a, void *payload, const void **buf)
{
	struct nested *n = payload;
	size_t size;
	la_int64_t off;
	int rc;

	if (n->peek_pending) {
		n->peek_pending = 0;
		*buf = n->peek;
		return (la_ssize_t)n->peek_len;
	}
	rc = archive_read_data_block(n->outer, buf, &size, &off);
	if (rc == ARCHIVE_EOF)
		return 0;
	if (rc < ARCHIVE_WARN) {
		archive_set_error(a, EIO, "%s", archive_error_string(n->outer));
		return -1;
	}
	return (la_ssize_t)size;
}

static void
support_filters(struct archive *a)
{
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
}

static int
interrupted(const struct cs_imagefs *fs)
{
	return fs->interrupted != NULL && *fs->interrupted;
}

/*
 * Read one layer tar. Returns a negative error only for what breaks the outer
 * stream; a bad layer is recorded in l->error.
 */
static int
read_layer(struct cs_imagefs *fs, struct cs_imagefs_layer *l, struct archive *outer,
	   const void *first, size_t first_len)
{
	struct nested n = {.outer = outer, .peek = first, .peek_len = first_len, .peek_pending = 1};
	struct archive *in = archive_read_new();
	struct archive_entry *ent;
	int rc, error = 0;

	support_filters(in);
	archive_read_support_format_tar(in);
	archive_read_support_format_empty(in);
	if (archive_read_open(in, &n, NULL, nested_read, NULL) != ARCHIVE_OK) {
		l->error = cs_xasprintf("layer '%s': %s", l->key, archive_error_string(in));
		goto out;
	}
	while ((rc = archive_read_next_header(in, &ent)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		if (interrupted(fs)) {
			error = cs_err_set(CS_EINTR, "interrupted");
			goto out;
		}
		if ((error = record_entry(l, in, ent)) < 0) {
			l->error = cs_xasprintf("layer '%s': %s", l->key, cs_err_msg());
			error = 0;
			goto out;
		}
	}
	if (rc != ARCHIVE_EOF)
		l->error = cs_xasprintf("layer '%s': %s", l->key, archive_error_string(in));
out:
	archive_read_free(in);
	return error;
}

static int
skip_name(const char *name)
{
	size_t n = strlen(name);

	if (strcmp(name, "repositories") == 0 || strcmp(name, "oci-layout") == 0 ||
	    strcmp(name, "index.json") == 0)
		return 1;
	if (n >= 5 && strcmp(name + n - 5, ".json") == 0)
		return 1;
	if (n >= 5 && strcmp(name + n - 5, "/json") == 0)
		return 1;
	if (n >= 8 && strcmp(name + n - 8, "/VERSION") == 0)
		return 1;
	return 0;
}

/*
 * A blob that starts with '{' and is not a tar (whose first header could name
 * a file "{...": its magic is at offset 257). A layer wrongly taken for JSON
 * would be reported missing, never silently dropped.
 */
static int
looks_like_json(const void *block, size_t size)
{
	const char *b = block;

	return size > 0 && b[0] == '{' && !(size >= 262 && memcmp(b + 257, "ustar", 5) == 0);
}

/* A link entry in the outer tar (legacy layout reuses identical layers). */
static void
record_alias(struct cs_imagefs *fs, const char *key, struct archive_entry *ent)
{
	const char *hard = archive_entry_hardlink(ent), *sym = archive_entry_symlink(ent);
	struct cs_imagefs_layer *l;
	char *target;

	if (hard != NULL) {
		target = cs_xstrdup(hard);
	} else {
		const char *slash = strrchr(key, '/');

		target = cs_xasprintf("%.*s%s%s", slash ? (int)(slash - key) : 0, key,
				      slash ? "/" : "", sym);
	}
	if (cs_imagefs__clean_path(target) < 0) {
		/* "<id>/../<other>/layer.tar": resolve the one ".." the layout uses */
		free(target);
		if (sym == NULL || strncmp(sym, "../", 3) != 0)
			return;
		target = cs_xstrdup(sym + 3);
		if (cs_imagefs__clean_path(target) < 0) {
			free(target);
			return;
		}
	}
	l = layer_new(fs, key);
	l->alias = target;
}

static int
read_outer(struct cs_imagefs *fs, struct archive *outer, const char *name)
{
	struct archive_entry *ent;
	const void *block;
	size_t size;
	la_int64_t off;
	char *key = NULL;
	int rc, error = 0;

	while ((rc = archive_read_next_header(outer, &ent)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		if (interrupted(fs)) {
			error = cs_err_set(CS_EINTR, "interrupted");
			goto out;
		}
		CS_FREE_AND_NULL(key);
		key = cs_xstrdup(archive_entry_pathname(ent) ? archive_entry_pathname(ent) : "");
		if (cs_imagefs__clean_path(key) < 0)
			continue;
		if (strcmp(key, "manifest.json") == 0) {
			if ((error = read_small(archive_rd, outer, &fs->manifest, "manifest.json",
						MAX_SMALL_FILE)) < 0)
				goto out;
			fs->have_manifest = 1;
			continue;
		}
		if (archive_entry_filetype(ent) == AE_IFLNK ||
		    archive_entry_hardlink(ent) != NULL) {
			record_alias(fs, key, ent);
			continue;
		}
		if (archive_entry_filetype(ent) != AE_IFREG || skip_name(key))
			continue;
		rc = archive_read_data_block(outer, &block, &size, &off);
		if (rc == ARCHIVE_EOF) {
			layer_new(fs, key); /* an empty file: an empty layer */
			continue;
		}
		if (rc < ARCHIVE_WARN)
			break;
		if (looks_like_json(block, size))
			continue; /* a JSON blob (config or manifest in the OCI layout) */
		if ((error = read_layer(fs, layer_new(fs, key), outer, block, size)) < 0)
			goto out;
	}
	if (rc != ARCHIVE_EOF && interrupted(fs))
		error = cs_err_set(CS_EINTR, "interrupted");
	else if (rc != ARCHIVE_EOF)
		error = cs_err_set(CS_EPARSE, "cannot read image archive '%s': %s", name,
				   archive_error_string(outer));
out:
	free(key);
	return error;
}

/* ---- manifest and merge ---- */

static int
ref_matches(json_t *img, const char *ref)
{
	json_t *tags = json_object_get(img, "RepoTags"), *t;
	const char *config = json_string_value(json_object_get(img, "Config"));
	size_t i, n = strlen(ref);

	json_array_foreach(tags, i, t)
	{
		const char *s = json_string_value(t);

		if (s == NULL)
			continue;
		if (strcmp(s, ref) == 0)
			return 1;
		if (strncmp(s, ref, n) == 0 && strcmp(s + n, ":latest") == 0)
			return 1;
	}
	if (config != NULL) {
		const char *hex = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;

		if (strncmp(ref, "sha256:", 7) == 0)
			ref += 7;
		if (strlen(ref) >= 4 && strncmp(hex, ref, strlen(ref)) == 0)
			return 1;
	}
	return 0;
}

static struct cs_imagefs_layer *
find_layer(struct cs_imagefs *fs, const char *key, int depth)
{
	size_t i;

	for (i = fs->layers_nr; i-- > 0;) {
		struct cs_imagefs_layer *l = &fs->layers[i];

		if (strcmp(l->key, key) != 0)
			continue;
		if (l->alias != NULL)
			return depth < 8 ? find_layer(fs, l->alias, depth + 1) : NULL;
		return l;
	}
	return NULL;
}

/* Is path hidden from layer pos by what the upper layers recorded? */
static int
hidden(const struct cs_imagefs *fs, const char *path, int pos)
{
	const struct node *e = map_find(fs, path, strlen(path));
	const char *p;

	if (e != NULL && e->whiteout)
		return 1;
	if ((e = map_find(fs, "", 0)) != NULL && e->opaque)
		return 1;
	for (p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/')) {
		e = map_find(fs, path, (size_t)(p - path));
		if (e == NULL)
			continue;
		if (e->whiteout || e->opaque)
			return 1;
		if (e->layer > pos && !e->is_dir)
			return 1; /* an upper layer replaced the directory by a file */
	}
	return 0;
}

static void
apply_layer(struct cs_imagefs *fs, const struct cs_imagefs_layer *l, int pos)
{
	const char *p, *end = l->recs.buf + l->recs.len;
	struct node *e;

	for (p = l->recs.buf; p < end; p += strlen(p) + 1) {
		int kind = *p++;

		if (kind != REC_DIR && kind != REC_FILE)
			continue;
		if (hidden(fs, p, pos))
			continue;
		e = map_get(fs, p);
		if (e->layer > pos)
			continue; /* an upper layer's version wins */
		e->layer = pos;
		e->is_dir = kind == REC_DIR;
	}
	/* this layer's whiteouts and opaque markers affect only the layers below */
	for (p = l->recs.buf; p < end; p += strlen(p) + 1) {
		int kind = *p++;

		if (kind == REC_WHITEOUT)
			map_get(fs, p)->whiteout = 1;
		else if (kind == REC_OPAQUE)
			map_get(fs, p)->opaque = 1;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
collect_packages(struct cs_imagefs *fs, struct cs_imagefs_layer *const *order, size_t nr)
{
	size_t pos, i, j;

	for (pos = 0; pos < nr; pos++) {
		const struct cs_imagefs_layer *l = order[pos];

		for (i = 0; i < l->pkg_nr; i++) {
			const struct pkgcopy *c = &l->pkg[i];
			const struct node *e = map_find(fs, c->path, strlen(c->path));

			if (e == NULL || e->layer < 0 || order[e->layer] != l || e->is_dir)
				continue;
			if (i + 1 < l->pkg_nr && strcmp(l->pkg[i + 1].path, c->path) == 0)
				continue; /* a later copy in the same layer wins */
			if (c->kind == CS_PKGDB_RPM)
				return cs_err_set(CS_EPARSE,
						  "rpm database '/%s' present but not supported: "
						  "cannot list the image's packages",
						  c->path);
			if (c->error != NULL)
				return cs_err_set(CS_EPARSE, "%s", c->error);
			if (c->kind == CS_PKGDB_RPM_WAL)
				continue;
			cs_strvec_pushf(&fs->pkgdbs, "/%s", c->path);
			for (j = 0; j < c->pkgs.nr; j++)
				if (!cs_strvec_has(&fs->packages, c->pkgs.v[j]))
					cs_strvec_push(&fs->packages, c->pkgs.v[j]);
		}
	}
	return 0;
}

/* Merge the layers, bottom first in order[0], into fs's path map and file list. */
static int
merge_order(struct cs_imagefs *fs, struct cs_imagefs_layer *const *order, size_t nr)
{
	size_t i;
	int error;

	for (i = nr; i-- > 0;) {
		apply_layer(fs, order[i], (int)i);
		fs->unsafe += order[i]->unsafe;
	}
	fs->nlayers = nr;
	if ((error = collect_packages(fs, order, nr)) < 0)
		return error;
	fs->files = cs_xcalloc(fs->map_nr ? fs->map_nr : 1, sizeof(*fs->files));
	for (i = 0; i < fs->map_alloc; i++)
		if (fs->map[i].key != NULL && fs->map[i].layer >= 0 && !fs->map[i].is_dir)
			fs->files[fs->files_nr++] = fs->map[i].key;
	qsort(fs->files, fs->files_nr, sizeof(*fs->files), cmp_str);
	return 0;
}

static int
merge(struct cs_imagefs *fs, const char *name, const char *ref)
{
	json_error_t jerr;
	json_t *root = NULL, *img = NULL, *layers, *v;
	struct cs_imagefs_layer **order = NULL;
	const char *config;
	size_t i, nr = 0;
	int error = 0;

	if (!fs->have_manifest)
		return cs_err_set(CS_EPARSE,
				  "image archive '%s' has no manifest.json "
				  "(not a docker save archive)",
				  name);
	root = json_loadb(fs->manifest.buf, fs->manifest.len, 0, &jerr);
	if (!json_is_array(root) || json_array_size(root) == 0) {
		error = cs_err_set(CS_EPARSE, "image archive '%s': bad manifest.json: %s", name,
				   root ? "expected a non-empty list" : jerr.text);
		goto out;
	}
	json_array_foreach(root, i, v)
	{
		if (ref != NULL && !ref_matches(v, ref))
			continue;
		if (img != NULL) {
			error = cs_err_set(CS_EINVAL, "image archive '%s' holds several images%s%s",
					   name, ref ? " matching " : "; name one", ref ? ref : "");
			goto out;
		}
		img = v;
	}
	if (img == NULL && ref != NULL && json_array_size(root) == 1)
		img = json_array_get(root, 0); /* a single image: the name is only a label */
	if (img == NULL) {
		error = cs_err_set(CS_EINVAL, "image archive '%s' holds no image '%s'", name,
				   ref ? ref : "");
		goto out;
	}
	if ((config = json_string_value(json_object_get(img, "Config"))) != NULL) {
		const char *hex = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;
		size_t n = strlen(hex);

		if (n > 5 && strcmp(hex + n - 5, ".json") == 0)
			n -= 5;
		fs->image_id = cs_xasprintf("sha256:%.*s", (int)n, hex);
	}
	v = json_array_get(json_object_get(img, "RepoTags"), 0);
	fs->repo_tag = cs_xstrdup(json_is_string(v) ? json_string_value(v) : "");
	layers = json_object_get(img, "Layers");
	if (!json_is_array(layers)) {
		error =
		    cs_err_set(CS_EPARSE, "image archive '%s': manifest.json has no Layers", name);
		goto out;
	}
	nr = json_array_size(layers);
	order = cs_xcalloc(nr ? nr : 1, sizeof(*order));
	json_array_foreach(layers, i, v)
	{
		char *key = cs_xstrdup(json_string_value(v) ? json_string_value(v) : "");

		if (cs_imagefs__clean_path(key) == 0)
			order[i] = find_layer(fs, key, 0);
		free(key);
		if (order[i] == NULL) {
			error = cs_err_set(CS_EPARSE,
					   "image archive '%s': layer '%s' listed in manifest.json "
					   "is missing",
					   name, json_string_value(v) ? json_string_value(v) : "?");
			goto out;
		}
		if (order[i]->error != NULL) {
			error =
			    cs_err_set(CS_EPARSE, "image archive '%s': %s", name, order[i]->error);
			goto out;
		}
	}
	if ((error = merge_order(fs, order, nr)) < 0)
		goto out;
	fs->order = order;
	fs->order_nr = nr;
	order = NULL;
out:
	free(order);
	json_decref(root);
	return error;
}

static void
drop_layers(struct cs_imagefs *fs)
{
	size_t i;

	for (i = 0; i < fs->layers_nr; i++)
		layer_release(&fs->layers[i]);
	CS_FREE_AND_NULL(fs->layers);
	CS_FREE_AND_NULL(fs->order);
	fs->layers_nr = fs->layers_alloc = fs->order_nr = 0;
	cs_buf_release(&fs->manifest);
}

void
cs_imagefs_free(struct cs_imagefs *fs)
{
	size_t i;

	if (fs == NULL)
		return;
	drop_layers(fs);
	for (i = 0; i < fs->map_alloc; i++)
		free(fs->map[i].key);
	free(fs->map);
	free(fs->files);
	cs_strvec_clear(&fs->packages);
	cs_strvec_clear(&fs->pkgdbs);
	free(fs->image_id);
	free(fs->repo_tag);
	free(fs);
}

static int
read_archive(struct cs_imagefs **out, struct archive *outer, int open_rc, const char *name,
	     const char *ref, volatile sig_atomic_t *intr, int keep)
{
	struct cs_imagefs *fs = cs_xcalloc(1, sizeof(*fs));
	int error;

	*out = NULL;
	cs_buf_init(&fs->manifest, MAX_SMALL_FILE);
	fs->interrupted = intr;
	if (open_rc != ARCHIVE_OK && interrupted(fs)) {
		error = cs_err_set(CS_EINTR, "interrupted");
		goto out;
	}
	if (open_rc != ARCHIVE_OK) {
		error = cs_err_set(CS_EIO, "cannot open image archive '%s': %s", name,
				   archive_error_string(outer));
		goto out;
	}
	if ((error = read_outer(fs, outer, name)) < 0)
		goto out;
	if ((error = merge(fs, name, ref)) < 0)
		goto out;
	if (!keep)
		drop_layers(fs); /* the records are no longer needed: keep only the merged view */
	*out = fs;
	fs = NULL;
out:
	cs_imagefs_free(fs);
	archive_read_free(outer);
	return error;
}

/*
 * The outer archive read from a descriptor. libarchive's own fd and file readers
 * retry a read() that a signal interrupted, so a pipe or a socket that stalls
 * would keep the tool past SIGTERM; this reader waits in poll() for at most
 * 0.1 s at a time and stops once *intr is set (whichever thread the signal
 * reached).
 */
struct fd_source {
	int fd, own;
	char *buf;
	volatile sig_atomic_t *intr;
};

static la_ssize_t
fd_source_read(struct archive *a, void *payload, const void **out)
{
	struct fd_source *s = payload;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	ssize_t n;
	int r;

	for (;;) {
		if (s->intr != NULL && *s->intr) {
			archive_set_error(a, EINTR, "interrupted");
			return -1;
		}
		r = poll(&p, 1, 100);
		if (r == 0 || (r < 0 && errno == EINTR))
			continue;
		n = read(s->fd, s->buf, READ_BLOCK);
		if (n >= 0) {
			*out = s->buf;
			return n;
		}
		if (errno != EINTR && errno != EAGAIN) {
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
	}
}

static int
fd_source_close(struct archive *a, void *payload)
{
	struct fd_source *s = payload;

	(void)a;
	if (s->own && s->fd >= 0)
		close(s->fd);
	free(s->buf);
	free(s);
	return ARCHIVE_OK;
}

/* Open a on fd (closed with the archive when own); an archive_read_open() result. */
static int
fd_source_open(struct archive *a, int fd, int own, volatile sig_atomic_t *intr)
{
	struct fd_source *s = cs_xcalloc(1, sizeof(*s));

	s->fd = fd;
	s->own = own;
	s->intr = intr;
	s->buf = cs_xmalloc(READ_BLOCK);
	return archive_read_open(a, s, NULL, fd_source_read, fd_source_close);
}

static struct archive *
outer_new(void)
{
	struct archive *a = archive_read_new();

	support_filters(a);
	archive_read_support_format_tar(a);
	return a;
}

int
cs_imagefs_read_fd(struct cs_imagefs **out, int fd, const char *name, const char *ref,
		   volatile sig_atomic_t *interrupted)
{
	struct archive *a = outer_new();

	return read_archive(out, a, fd_source_open(a, fd, 0, interrupted), name, ref, interrupted,
			    0);
}

int
cs_imagefs_read_fd_keep(struct cs_imagefs **out, int fd, const char *name, const char *ref,
			volatile sig_atomic_t *interrupted)
{
	struct archive *a = outer_new();

	return read_archive(out, a, fd_source_open(a, fd, 0, interrupted), name, ref, interrupted,
			    1);
}

int
cs_imagefs_read_file(struct cs_imagefs **out, const char *path, const char *ref,
		     volatile sig_atomic_t *interrupted)
{
	struct archive *a;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	*out = NULL;
	if (fd < 0)
		return cs_err_set(CS_EIO, "cannot open image archive '%s': %s", path,
				  strerror(errno));
	a = outer_new();
	return read_archive(out, a, fd_source_open(a, fd, 1, interrupted), path, ref, interrupted,
			    0);
}

size_t
cs_imagefs_nfiles(const struct cs_imagefs *fs)
{
	return fs->files_nr;
}

void
cs_imagefs_file(struct cs_buf *out, const struct cs_imagefs *fs, size_t i)
{
	cs_buf_reset(out);
	cs_buf_addch(out, '/');
	if (i < fs->files_nr)
		cs_buf_adds(out, fs->files[i]);
}

int
cs_imagefs_exists(const struct cs_imagefs *fs, const char *path)
{
	const struct node *e;

	while (*path == '/')
		path++;
	e = map_find(fs, path, strlen(path));
	return e != NULL && e->layer >= 0;
}

const struct cs_strvec *
cs_imagefs_packages(const struct cs_imagefs *fs)
{
	return &fs->packages;
}

const struct cs_strvec *
cs_imagefs_pkgdbs(const struct cs_imagefs *fs)
{
	return &fs->pkgdbs;
}

const char *
cs_imagefs_image_id(const struct cs_imagefs *fs)
{
	return fs->image_id ? fs->image_id : "";
}

const char *
cs_imagefs_repo_tag(const struct cs_imagefs *fs)
{
	return fs->repo_tag ? fs->repo_tag : "";
}

size_t
cs_imagefs_nlayers(const struct cs_imagefs *fs)
{
	return fs->nlayers;
}

size_t
cs_imagefs_unsafe(const struct cs_imagefs *fs)
{
	return fs->unsafe;
}

size_t
cs_imagefs_kept_nr(const struct cs_imagefs *fs)
{
	return fs->order_nr;
}

const struct cs_imagefs_layer *
cs_imagefs_kept(const struct cs_imagefs *fs, size_t i)
{
	return i < fs->order_nr ? fs->order[i] : NULL;
}

int
cs_imagefs_merge(struct cs_imagefs **out, struct cs_imagefs_layer *const *layers, size_t nr)
{
	struct cs_imagefs *fs = cs_xcalloc(1, sizeof(*fs));
	size_t i;
	int error;

	*out = NULL;
	cs_buf_init(&fs->manifest, MAX_SMALL_FILE);
	for (i = 0; i < nr; i++)
		if (layers[i]->error != NULL) {
			error = cs_err_set(CS_EPARSE, "%s", layers[i]->error);
			goto out;
		}
	if ((error = merge_order(fs, layers, nr)) < 0)
		goto out;
	*out = fs;
	fs = NULL;
out:
	cs_imagefs_free(fs);
	return error;
}

/* ---- one layer tar read on its own (a registry blob) ---- */

struct hashed {
	struct archive *raw; /* the decompressed stream */
	EVP_MD_CTX *md;
	char block[READ_BLOCK];
};

static la_ssize_t
hashed_read(struct archive *a, void *payload, const void **buf)
{
	struct hashed *h = payload;
	la_ssize_t n = archive_read_data(h->raw, h->block, sizeof(h->block));

	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(h->raw));
		return -1;
	}
	EVP_DigestUpdate(h->md, h->block, (size_t)n);
	*buf = h->block;
	return n;
}

int
cs_imagefs_layer_read_fd(struct cs_imagefs_layer **out, char **diff_id, int fd, const char *name,
			 volatile sig_atomic_t *intr)
{
	struct hashed *h = cs_xcalloc(1, sizeof(*h));
	struct cs_imagefs_layer *l = cs_imagefs_layer_new();
	struct archive *in = archive_read_new();
	struct archive_entry *ent;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct cs_buf hex = CS_BUF_INIT;
	int rc, error = 0;

	*out = NULL;
	*diff_id = NULL;
	h->md = EVP_MD_CTX_new();
	h->raw = archive_read_new();
	support_filters(h->raw);
	archive_read_support_format_raw(h->raw);
	if (h->md == NULL || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		error = cs_err_set(CS_ERROR, "layer '%s': cannot start sha256", name);
		goto out;
	}
	if (archive_read_open_fd(h->raw, fd, READ_BLOCK) != ARCHIVE_OK ||
	    archive_read_next_header(h->raw, &ent) != ARCHIVE_OK) {
		error = cs_err_set(CS_EPARSE, "layer '%s': %s", name, archive_error_string(h->raw));
		goto out;
	}
	archive_read_support_format_tar(in);
	archive_read_support_format_empty(in);
	if (archive_read_open(in, h, NULL, hashed_read, NULL) != ARCHIVE_OK) {
		error = cs_err_set(CS_EPARSE, "layer '%s': %s", name, archive_error_string(in));
		goto out;
	}
	while ((rc = archive_read_next_header(in, &ent)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		if (intr != NULL && *intr) {
			error = cs_err_set(CS_EINTR, "interrupted");
			goto out;
		}
		if ((error = record_entry(l, in, ent)) < 0)
			goto out;
	}
	if (rc != ARCHIVE_EOF) {
		error = cs_err_set(CS_EPARSE, "layer '%s': %s", name, archive_error_string(in));
		goto out;
	}
	/* the tar may end before the stream does: hash the rest too (the DiffID covers it) */
	while ((rc = (int)archive_read_data(h->raw, h->block, sizeof(h->block))) > 0)
		EVP_DigestUpdate(h->md, h->block, (size_t)rc);
	if (rc < 0) {
		error = cs_err_set(CS_EPARSE, "layer '%s': %s", name, archive_error_string(h->raw));
		goto out;
	}
	EVP_DigestFinal_ex(h->md, md, &mdlen);
	cs_buf_adds(&hex, "sha256:");
	for (i = 0; i < mdlen; i++)
		cs_buf_addf(&hex, "%02x", md[i]);
	*diff_id = cs_buf_detach(&hex, NULL);
	*out = l;
	l = NULL;
out:
	archive_read_free(in);
	archive_read_free(h->raw);
	EVP_MD_CTX_free(h->md);
	free(h);
	cs_imagefs_layer_free(l);
	cs_buf_release(&hex);
	return error;
}

/* ---- encoding of one layer's records (the layer cache) ---- */

static void
put_u64(struct cs_buf *b, uint64_t v)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	cs_buf_add(b, x, 8);
}

static void
put_str(struct cs_buf *b, const char *s, size_t n)
{
	put_u64(b, n);
	cs_buf_add(b, s, n);
}

int
cs_imagefs_layer_encode(struct cs_buf *out, const struct cs_imagefs_layer *l)
{
	size_t i, j;

	if (l->error != NULL)
		return cs_err_set(CS_EINVAL, "a layer that could not be read is not encoded");
	put_str(out, l->recs.buf, l->recs.len);
	put_u64(out, l->unsafe);
	put_u64(out, l->pkg_nr);
	for (i = 0; i < l->pkg_nr; i++) {
		const struct pkgcopy *c = &l->pkg[i];

		put_str(out, c->path, strlen(c->path));
		put_u64(out, (uint64_t)c->kind);
		put_u64(out, c->error != NULL);
		if (c->error != NULL)
			put_str(out, c->error, strlen(c->error));
		put_u64(out, c->pkgs.nr);
		for (j = 0; j < c->pkgs.nr; j++)
			put_str(out, c->pkgs.v[j], strlen(c->pkgs.v[j]));
	}
	return 0;
}

struct reader {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t
get_u64(struct reader *r)
{
	uint64_t v = 0;
	int i;

	if (r->bad || r->end - r->p < 8) {
		r->bad = 1;
		return 0;
	}
	for (i = 0; i < 8; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return v;
}

/* A string without NUL bytes, copied; NULL (and r->bad) when malformed. */
static char *
get_str(struct reader *r)
{
	uint64_t n = get_u64(r);

	if (r->bad || n > (uint64_t)(r->end - r->p) || (memchr(r->p, '\0', (size_t)n) != NULL)) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	return cs_xstrndup((const char *)r->p - n, (size_t)n);
}

/* Records are "<kind><path>\0" with a known kind and no ".." in the path. */
static int
recs_valid(const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (nul == NULL ||
		    (*p != REC_DIR && *p != REC_FILE && *p != REC_WHITEOUT && *p != REC_OPAQUE))
			return 0;
		if (strcmp(p + 1, "..") == 0 || strncmp(p + 1, "../", 3) == 0 ||
		    strstr(p + 1, "/../") != NULL ||
		    (nul - p >= 4 && strcmp(nul - 3, "/..") == 0) || p[1] == '/')
			return 0;
		p = nul + 1;
	}
	return 1;
}

int
cs_imagefs_layer_decode(struct cs_imagefs_layer **out, const void *data, size_t len)
{
	struct reader r = {.p = data, .end = (const unsigned char *)data + len};
	struct cs_imagefs_layer *l = cs_imagefs_layer_new();
	uint64_t n, i, j, npkg;
	char *recs = NULL;

	*out = NULL;
	n = get_u64(&r);
	if (r.bad || n > (uint64_t)(r.end - r.p) || !recs_valid((const char *)r.p, (size_t)n))
		goto bad;
	recs = (char *)r.p;
	cs_buf_add(&l->recs, recs, (size_t)n);
	r.p += n;
	l->unsafe = (size_t)get_u64(&r);
	npkg = get_u64(&r);
	if (r.bad || npkg > len)
		goto bad;
	for (i = 0; i < npkg; i++) {
		struct pkgcopy *c;

		CS_ALLOC_GROW(l->pkg, l->pkg_nr + 1, l->pkg_alloc);
		c = &l->pkg[l->pkg_nr++];
		memset(c, 0, sizeof(*c));
		if ((c->path = get_str(&r)) == NULL)
			goto bad;
		c->kind = (enum cs_pkgdb_kind)get_u64(&r);
		if (c->kind <= CS_PKGDB_NONE || c->kind > CS_PKGDB_RPM ||
		    cs_pkgdb_kind(c->path) != c->kind)
			goto bad;
		if (get_u64(&r) && (c->error = get_str(&r)) == NULL)
			goto bad;
		n = get_u64(&r);
		if (r.bad || n > len)
			goto bad;
		for (j = 0; j < n; j++) {
			char *name = get_str(&r);

			if (name == NULL)
				goto bad;
			cs_strvec_push_take(&c->pkgs, name);
		}
	}
	if (r.bad || r.p != r.end)
		goto bad;
	*out = l;
	return 0;
bad:
	cs_imagefs_layer_free(l);
	return cs_err_set(CS_EPARSE, "malformed layer record");
}
