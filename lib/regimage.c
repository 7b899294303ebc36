/*
 * Images in a registry: manifest, config and layer blobs, each checked
 * against its digest (see regimage.h).
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "err.h"
#include "layercache.h"
#include "log.h"
#include "regimage.h"
#include "xalloc.h"

void
cs_regimage_release(struct cs_regimage *img)
{
	free(img->repository);
	free(img->image_id);
	cs_strvec_clear(&img->diff_ids);
	cs_strvec_clear(&img->blobs);
	memset(img, 0, sizeof(*img));
}

static void
hex_digest(struct cs_buf *out, EVP_MD_CTX *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(md, d, &n);
	cs_buf_adds(out, "sha256:");
	for (i = 0; i < n; i++)
		cs_buf_addf(out, "%02x", d[i]);
}

static int
digest_matches(const void *data, size_t len, const char *digest)
{
	struct cs_buf hex = CS_BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, data, len);
	hex_digest(&hex, md);
	ok = strcmp(hex.buf, digest) == 0;
	EVP_MD_CTX_free(md);
	cs_buf_release(&hex);
	return ok;
}

static const char *
go_arch(void)
{
	static struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	return u.machine;
}

/* In a manifest list or OCI index, the digest of the linux entry for this architecture. */
static const char *
pick_platform(json_t *list)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(list, "manifests"), i, m)
	{
		json_t *p = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(p, "os"));
		const char *arch = json_string_value(json_object_get(p, "architecture"));

		if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, go_arch()) == 0)
			return json_string_value(json_object_get(m, "digest"));
	}
	return NULL;
}

struct membuf {
	struct cs_buf *b;
};

static int
to_buf(const char *data, size_t len, void *payload)
{
	struct membuf *m = payload;

	return cs_buf_add(m->b, data, len) < 0
		   ? cs_err_set(CS_ETOOBIG, "image config is larger than 16 MiB")
		   : 0;
}

int
cs_regimage_open(struct cs_regimage *out, struct cs_registry *r, const struct cs_imageref *ref)
{
	struct cs_buf body = CS_BUF_INIT, cfg = CS_BUF_INIT;
	char *type = NULL, *reference;
	json_t *root = NULL, *config = NULL, *v;
	const char *cdigest, *want_digest;
	json_error_t jerr;
	size_t i;
	int error, hops;

	out->repository = cs_xstrdup(ref->repository);
	reference = cs_xstrdup(ref->digest ? ref->digest : cs_imageref_tag_or_default(ref));
	want_digest = ref->digest;
	for (hops = 0;; hops++) {
		cs_buf_reset(&body);
		CS_FREE_AND_NULL(type);
		if ((error =
			 cs_registry_get_manifest(&body, &type, r, ref->repository, reference)) < 0)
			goto out;
		if (want_digest != NULL && !digest_matches(body.buf, body.len, want_digest)) {
			error = cs_err_set(CS_EPARSE, "manifest %s does not match its digest",
					   reference);
			goto out;
		}
		json_decref(root);
		root = json_loadb(body.buf, body.len, 0, &jerr);
		if (!json_is_object(root)) {
			error = cs_err_set(CS_EPARSE, "manifest %s: %s", reference,
					   root ? "not an object" : jerr.text);
			goto out;
		}
		if (json_object_get(root, "manifests") == NULL)
			break;
		if (hops > 0 || (want_digest = pick_platform(root)) == NULL) {
			error = cs_err_set(CS_EPARSE, "manifest list %s has no linux/%s image",
					   reference, go_arch());
			goto out;
		}
		free(reference);
		reference = cs_xstrdup(want_digest);
		want_digest = reference;
	}
	cdigest = json_string_value(json_object_get(json_object_get(root, "config"), "digest"));
	if (cdigest == NULL || !cs_layercache_valid_id(cdigest)) {
		error = cs_err_set(CS_EPARSE, "manifest %s: no sha256 config digest (%s)",
				   reference, type && *type ? type : "unknown media type");
		goto out;
	}
	{
		struct membuf m = {.b = &cfg};

		cs_buf_init(&cfg, (size_t)16 << 20);
		if ((error = cs_registry_get_blob(r, ref->repository, cdigest, to_buf, &m)) < 0)
			goto out;
	}
	if (!digest_matches(cfg.buf, cfg.len, cdigest)) {
		error = cs_err_set(CS_EPARSE, "image config %s does not match its digest", cdigest);
		goto out;
	}
	config = json_loadb(cfg.buf, cfg.len, 0, &jerr);
	json_array_foreach(json_object_get(json_object_get(config, "rootfs"), "diff_ids"), i, v)
	{
		if (!cs_layercache_valid_id(json_string_value(v))) {
			error = cs_err_set(CS_EPARSE, "image config %s: bad DiffID", cdigest);
			goto out;
		}
		cs_strvec_push(&out->diff_ids, json_string_value(v));
	}
	json_array_foreach(json_object_get(root, "layers"), i, v)
	{
		const char *d = json_string_value(json_object_get(v, "digest"));

		if (!cs_layercache_valid_id(d)) {
			error = cs_err_set(CS_EPARSE, "manifest %s: layer %zu has no sha256 digest",
					   reference, i + 1);
			goto out;
		}
		cs_strvec_push(&out->blobs, d);
	}
	if (out->blobs.nr != out->diff_ids.nr) {
		error =
		    cs_err_set(CS_EPARSE, "manifest %s lists %zu layers, its config %zu DiffIDs",
			       reference, out->blobs.nr, out->diff_ids.nr);
		goto out;
	}
	out->image_id = cs_xstrdup(cdigest);
out:
	json_decref(root);
	json_decref(config);
	cs_buf_release(&body);
	cs_buf_release(&cfg);
	free(type);
	free(reference);
	return error;
}

struct blobfile {
	int fd;
	EVP_MD_CTX *md;
	size_t bytes;
	volatile sig_atomic_t *interrupted;
};

static int
to_file(const char *data, size_t len, void *payload)
{
	struct blobfile *f = payload;

	if (f->interrupted != NULL && *f->interrupted)
		return cs_err_set(CS_EINTR, "interrupted");
	EVP_DigestUpdate(f->md, data, len);
	f->bytes += len;
	while (len > 0) {
		ssize_t n = write(f->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cs_err_set(CS_EIO, "cannot write a temporary file: %s",
					  strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cs_regimage_read_layer(struct cs_imagefs_layer **out, struct cs_registry *r,
		       struct cs_regimage *img, size_t i, const char *tmpdir,
		       volatile sig_atomic_t *interrupted)
{
	struct blobfile f = {.fd = -1, .interrupted = interrupted};
	struct cs_buf hex = CS_BUF_INIT;
	const char *blob = img->blobs.v[i], *diff_id = img->diff_ids.v[i];
	char *tmp = NULL, *got = NULL;
	int error;

	*out = NULL;
	if (tmpdir == NULL)
		tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	tmp = cs_xasprintf("%s/caas-layer-XXXXXX", tmpdir);
	if ((f.fd = mkstemp(tmp)) < 0) {
		error = cs_err_set(CS_EIO, "cannot create a temporary file in '%s': %s", tmpdir,
				   strerror(errno));
		goto out;
	}
	unlink(tmp);
	f.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(f.md, EVP_sha256(), NULL);
	if ((error = cs_registry_get_blob(r, img->repository, blob, to_file, &f)) < 0)
		goto out;
	hex_digest(&hex, f.md);
	if (strcmp(hex.buf, blob) != 0) {
		error = cs_err_set(CS_EPARSE, "layer blob %s does not match its digest", blob);
		goto out;
	}
	img->bytes_fetched += f.bytes;
	if (lseek(f.fd, 0, SEEK_SET) < 0) {
		error = cs_err_set(CS_EIO, "cannot rewind a temporary file: %s", strerror(errno));
		goto out;
	}
	if ((error = cs_imagefs_layer_read_fd(out, &got, f.fd, blob, interrupted)) < 0)
		goto out;
	if (strcmp(got, diff_id) != 0) {
		cs_imagefs_layer_free(*out);
		*out = NULL;
		error =
		    cs_err_set(CS_EPARSE, "layer blob %s does not hold DiffID %s", blob, diff_id);
		goto out;
	}
	cs_log(CS_LOG_DEBUG, "fetched layer %zu (%s, %zu bytes) from the registry", i + 1, blob,
	       f.bytes);
out:
	if (f.fd >= 0)
		close(f.fd);
	EVP_MD_CTX_free(f.md);
	cs_buf_release(&hex);
	free(got);
	free(tmp);
	return error;
}
