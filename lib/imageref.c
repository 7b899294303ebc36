/*
 * Image reference parsing: a hand-written matcher for the grammar of
 * distribution/reference (see imageref.h), so that each failure can say
 * which part of the reference is wrong.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "imageref.h"
#include "xalloc.h"

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_word(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int
is_hex_lower(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * One path component, s[0..n): alphanumeric runs joined by ".", "_", "__" or
 * any number of "-".
 */
static int
valid_component(const char *s, size_t n)
{
	size_t i = 0, sep;

	if (n == 0 || !is_lower_alnum(s[0]))
		return 0;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return 1;
		sep = i;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return 0;
		}
		if (i == n || !is_lower_alnum(s[i]) || i == sep)
			return 0;
	}
	return 1;
}

/* host[:port]: DNS labels joined by '.', or a bracketed IPv6 address. */
static int
valid_host(const char *s, size_t n)
{
	size_t i = 0, label;

	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && (isxdigit((unsigned char)s[i]) || s[i] == ':'); i++)
			;
		if (i == 1 || i >= n || s[i] != ']')
			return 0;
		i++;
	} else {
		for (;;) {
			label = i;
			while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-'))
				i++;
			if (i == label || s[label] == '-' || s[i - 1] == '-')
				return 0;
			if (i < n && s[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i == n)
		return 1;
	if (s[i] != ':' || i + 1 == n)
		return 0;
	for (i++; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
check_tag(const char *ref, const char *tag)
{
	size_t i, n = strlen(tag);

	if (n == 0)
		return cs_err_set(CS_EINVAL, "invalid image reference '%s': empty tag", ref);
	if (n > CS_IMAGEREF_TAG_MAX)
		return cs_err_set(CS_EINVAL,
				  "invalid image reference '%s': tag longer than %d characters",
				  ref, CS_IMAGEREF_TAG_MAX);
	for (i = 0; i < n; i++)
		if (!is_word(tag[i]) && (i == 0 || (tag[i] != '.' && tag[i] != '-')))
			return cs_err_set(CS_EINVAL, "invalid image reference '%s': bad tag '%s'",
					  ref, tag);
	return 0;
}

static int
check_digest(const char *ref, const char *digest)
{
	const char *colon = strchr(digest, ':'), *hex;
	size_t i, want;

	if (colon == NULL || colon == digest || colon[1] == '\0')
		return cs_err_set(CS_EINVAL,
				  "invalid image reference '%s': digest '%s' is not algorithm:hex",
				  ref, digest);
	hex = colon + 1;
	if ((size_t)(colon - digest) == 6 && strncmp(digest, "sha256", 6) == 0)
		want = 64;
	else if ((size_t)(colon - digest) == 6 && strncmp(digest, "sha512", 6) == 0)
		want = 128;
	else
		return cs_err_set(
		    CS_EINVAL, "invalid image reference '%s': unsupported digest algorithm '%.*s'",
		    ref, (int)(colon - digest), digest);
	for (i = 0; hex[i]; i++)
		if (!is_hex_lower(hex[i]))
			return cs_err_set(
			    CS_EINVAL,
			    "invalid image reference '%s': digest '%s' has a character "
			    "that is not lower-case hex",
			    ref, digest);
	if (i != want)
		return cs_err_set(CS_EINVAL,
				  "invalid image reference '%s': digest '%s' needs %zu hex digits, "
				  "has %zu",
				  ref, digest, want, i);
	return 0;
}

/* The path (after any host), components separated by '/'. */
static int
check_path(const char *ref, const char *path)
{
	const char *p = path, *slash;
	size_t n;

	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0)
			return cs_err_set(
			    CS_EINVAL, "invalid image reference '%s': empty path component", ref);
		if (!valid_component(p, n)) {
			size_t i;

			for (i = 0; i < n; i++)
				if (isupper((unsigned char)p[i]))
					return cs_err_set(
					    CS_EINVAL,
					    "invalid image reference '%s': repository "
					    "name must be lowercase",
					    ref);
			return cs_err_set(CS_EINVAL,
					  "invalid image reference '%s': bad path component '%.*s'",
					  ref, (int)n, p);
		}
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

static int
all_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!is_hex_lower(s[i]))
			return 0;
	return i == 64;
}

int
cs_imageref_is_docker_hub(const char *host)
{
	return host == NULL || strcmp(host, "docker.io") == 0 ||
	       strcmp(host, "index.docker.io") == 0;
}

int
cs_imageref_parse(struct cs_imageref *out, const char *s)
{
	struct cs_imageref r = CS_IMAGEREF_INIT;
	char *name = NULL, *at, *colon, *slash, *path;
	size_t hostlen;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return cs_err_set(CS_EINVAL, "invalid image reference: empty");
	name = cs_xstrdup(s);
	if ((at = strchr(name, '@')) != NULL) {
		*at = '\0';
		if ((error = check_digest(s, at + 1)) < 0)
			goto out;
		r.digest = cs_xstrdup(at + 1);
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		*colon = '\0';
		if ((error = check_tag(s, colon + 1)) < 0)
			goto out;
		r.tag = cs_xstrdup(colon + 1);
	}
	if (*name == '\0') {
		error =
		    cs_err_set(CS_EINVAL, "invalid image reference '%s': empty repository name", s);
		goto out;
	}
	if (strlen(name) > CS_IMAGEREF_NAME_MAX) {
		error = cs_err_set(CS_EINVAL,
				   "invalid image reference '%s': repository name longer than %d "
				   "characters",
				   s, CS_IMAGEREF_NAME_MAX);
		goto out;
	}
	path = name;
	slash = strchr(name, '/');
	if (slash != NULL) {
		hostlen = (size_t)(slash - name);
		if (memchr(name, '.', hostlen) || memchr(name, ':', hostlen) ||
		    (hostlen == 9 && strncmp(name, "localhost", 9) == 0) || name[0] == '[') {
			if (!valid_host(name, hostlen)) {
				error =
				    cs_err_set(CS_EINVAL,
					       "invalid image reference '%s': bad registry host "
					       "'%.*s'",
					       s, (int)hostlen, name);
				goto out;
			}
			r.registry = cs_xstrndup(name, hostlen);
			path = slash + 1;
		} else {
			size_t i;

			for (i = 0; i < hostlen; i++)
				if (isupper((unsigned char)name[i]))
					break;
			if (i < hostlen && valid_host(name, hostlen)) {
				r.registry = cs_xstrndup(name, hostlen);
				path = slash + 1;
			}
		}
	}
	if ((error = check_path(s, path)) < 0)
		goto out;
	if (r.registry == NULL && all_hex64(path)) {
		error = cs_err_set(CS_EINVAL,
				   "invalid image reference '%s': a 64-hex-digit string is an "
				   "image ID, not a repository name",
				   s);
		goto out;
	}
	if (cs_imageref_is_docker_hub(r.registry)) {
		CS_FREE_AND_NULL(r.registry);
		if (strchr(path, '/') == NULL)
			r.repository = cs_xasprintf("library/%s", path);
	}
	if (r.repository == NULL)
		r.repository = cs_xstrdup(path);
	*out = r;
	memset(&r, 0, sizeof(r));
out:
	cs_imageref_release(&r);
	free(name);
	return error;
}

void
cs_imageref_release(struct cs_imageref *ref)
{
	if (ref == NULL)
		return;
	CS_FREE_AND_NULL(ref->registry);
	CS_FREE_AND_NULL(ref->repository);
	CS_FREE_AND_NULL(ref->tag);
	CS_FREE_AND_NULL(ref->digest);
}

const char *
cs_imageref_registry_or_default(const struct cs_imageref *ref)
{
	return ref->registry ? ref->registry : CS_IMAGEREF_DEFAULT_REGISTRY;
}

const char *
cs_imageref_tag_or_default(const struct cs_imageref *ref)
{
	return ref->tag ? ref->tag : CS_IMAGEREF_DEFAULT_TAG;
}

char *
cs_imageref_name(const struct cs_imageref *ref)
{
	return cs_xasprintf("%s/%s", cs_imageref_registry_or_default(ref), ref->repository);
}

char *
cs_imageref_format(const struct cs_imageref *ref)
{
	const char *tag = ref->tag;

	if (tag == NULL && ref->digest == NULL)
		tag = CS_IMAGEREF_DEFAULT_TAG;
	return cs_xasprintf("%s/%s%s%s%s%s", cs_imageref_registry_or_default(ref), ref->repository,
			    tag ? ":" : "", tag ? tag : "", ref->digest ? "@" : "",
			    ref->digest ? ref->digest : "");
}
