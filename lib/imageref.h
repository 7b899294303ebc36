/*
 * Docker image references: [host[:port]/]path[:tag][@digest], parsed and
 * normalized the way the docker CLI does it (distribution/reference):
 *
 * - The first path component is a registry host when it contains '.' or ':',
 *   is "localhost", or contains an upper-case letter; otherwise the image is
 *   on Docker Hub. "docker.io" and "index.docker.io" are both Docker Hub.
 * - On Docker Hub a one-component name is an official image: "ubuntu" is
 *   "library/ubuntu".
 * - Path components match [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*; the whole
 *   name (host included, as written) is at most 255 characters.
 * - A tag matches [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 * - A digest is algorithm:hex; sha256 needs 64 and sha512 128 lower-case hex
 *   digits. Other algorithms are refused.
 */
#ifndef CS_IMAGEREF_H
#define CS_IMAGEREF_H

#define CS_IMAGEREF_NAME_MAX 255
#define CS_IMAGEREF_TAG_MAX 128
#define CS_IMAGEREF_DEFAULT_REGISTRY "docker.io"
#define CS_IMAGEREF_DEFAULT_TAG "latest"

/* Every member is owned by the struct and freed by cs_imageref_release(). */
struct cs_imageref {
	char *registry;	  /* "host[:port]"; NULL = Docker Hub (docker.io) */
	char *repository; /* path without host, e.g. "library/nginx"; never NULL once parsed */
	char *tag;	  /* NULL if none was given */
	char *digest;	  /* "sha256:<64 hex>"; NULL if none was given */
};

/* clang-format off */
#define CS_IMAGEREF_INIT { 0 }
/* clang-format on */

/*
 * Parse s into *out (which need not be initialized). On success the caller
 * releases *out with cs_imageref_release(); on failure *out is all NULL.
 * Errors: CS_EINVAL, with a message quoting s and saying what is wrong (empty,
 * upper case in the name, bad path component, name too long, bad tag, bad
 * or unsupported digest).
 */
int cs_imageref_parse(struct cs_imageref *out, const char *s);

/* Free the members and reset to CS_IMAGEREF_INIT. Accepts INIT and NULL. */
void cs_imageref_release(struct cs_imageref *ref);

/*
 * The fully qualified form, "registry/repository[:tag][@digest]", with
 * "docker.io" for Docker Hub and ":latest" when neither tag nor digest is set:
 * "ubuntu" formats as "docker.io/library/ubuntu:latest". Caller frees.
 */
char *cs_imageref_format(const struct cs_imageref *ref);

/*
 * The name without tag or digest, "registry/repository", qualified as in
 * cs_imageref_format(). Caller frees.
 */
char *cs_imageref_name(const struct cs_imageref *ref);

/* ref->registry, or "docker.io" when it is NULL. Borrowed: do not free. */
const char *cs_imageref_registry_or_default(const struct cs_imageref *ref);

/* ref->tag, or "latest" when it is NULL. Borrowed: do not free. */
const char *cs_imageref_tag_or_default(const struct cs_imageref *ref);

/* 1 when host names Docker Hub ("docker.io", "index.docker.io", NULL), else 0. */
int cs_imageref_is_docker_hub(const char *host);

#endif
