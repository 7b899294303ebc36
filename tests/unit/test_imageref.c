#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "imageref.h"
#include "tests/unit/test.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct good_case {
	const char *in;
	const char *registry, *repository, *tag, *digest;
	const char *formatted;
};

static const struct good_case good[] = {
    {"ubuntu", NULL, "library/ubuntu", NULL, NULL, "docker.io/library/ubuntu:latest"},
    {"ubuntu:22.04", NULL, "library/ubuntu", "22.04", NULL, "docker.io/library/ubuntu:22.04"},
    {"docker.io/ubuntu", NULL, "library/ubuntu", NULL, NULL, "docker.io/library/ubuntu:latest"},
    {"index.docker.io/library/ubuntu", NULL, "library/ubuntu", NULL, NULL,
     "docker.io/library/ubuntu:latest"},
    {"myorg/app", NULL, "myorg/app", NULL, NULL, "docker.io/myorg/app:latest"},
    {"localhost/x", "localhost", "x", NULL, NULL, "localhost/x:latest"},
    {"localhost:5000/x:1", "localhost:5000", "x", "1", NULL, "localhost:5000/x:1"},
    {"127.0.0.1:5443/ns/name:tag@sha256:" D64, "127.0.0.1:5443", "ns/name", "tag", "sha256:" D64,
     "127.0.0.1:5443/ns/name:tag@sha256:" D64},
    {"reg.example.com:5000/a/b/c:v1.2-rc_3", "reg.example.com:5000", "a/b/c", "v1.2-rc_3", NULL,
     "reg.example.com:5000/a/b/c:v1.2-rc_3"},
    {"nginx@sha256:" D64, NULL, "library/nginx", NULL, "sha256:" D64,
     "docker.io/library/nginx@sha256:" D64},
    {"a.b/x__y.z--w_v", "a.b", "x__y.z--w_v", NULL, NULL, "a.b/x__y.z--w_v:latest"},
    {"Registry.Example.com/app", "Registry.Example.com", "app", NULL, NULL,
     "Registry.Example.com/app:latest"},
    {"[::1]:5000/app:T_1", "[::1]:5000", "app", "T_1", NULL, "[::1]:5000/app:T_1"},
    {"host:5000", NULL, "library/host", "5000", NULL, "docker.io/library/host:5000"},
};

struct bad_case {
	const char *in;
	const char *msg; /* a substring of the error message */
};

static const struct bad_case bad[] = {
    {"", "empty"},
    {"UPPER", "must be lowercase"},
    {"myorg/App", "must be lowercase"},
    {"a:b:c", "bad path component 'a:b'"},
    {":tag", "empty repository name"},
    {"name:", "empty tag"},
    {"name@sha256:short", "digest 'sha256:short'"},
    {"name@sha256:abc123", "needs 64 hex digits, has 6"},
    {"name@sha256:" D64 "00", "needs 64 hex digits"},
    {"name@sha256:"
     "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
     "not lower-case hex"},
    {"name@md5:0123", "unsupported digest algorithm 'md5'"},
    {"name@" D64, "not algorithm:hex"},
    {"name/", "empty path component"},
    {"reg.io/", "empty path component"},
    {"a//b", "empty path component"},
    {"/a", "empty path component"},
    {"name:-tag", "bad tag '-tag'"},
    {"name:ta+g", "bad tag"},
    {"-name", "bad path component"},
    {"na--", "bad path component"},
    {"na___me", "bad path component"},
    {"bad_host.-x.com/app", "bad registry host"},
    {"host:port/app", "bad registry host"},
    {D64, "image ID"},
};

static void
test_imageref__valid_table(void)
{
	struct cs_imageref r = CS_IMAGEREF_INIT;
	char *f = NULL;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct good_case *c = &good[i];
		int rc = cs_imageref_parse(&r, c->in);

		if (rc != 0)
			fprintf(stderr, "  case '%s': %s\n", c->in, cs_err_msg());
		T_ASSERT_INT(rc, 0);
		T_ASSERT_STR(r.registry, c->registry);
		T_ASSERT_STR(r.repository, c->repository);
		T_ASSERT_STR(r.tag, c->tag);
		T_ASSERT_STR(r.digest, c->digest);
		f = cs_imageref_format(&r);
		T_ASSERT_STR(f, c->formatted);
		free(f);
		cs_imageref_release(&r);
	}
}

static void
test_imageref__invalid_table(void)
{
	struct cs_imageref r = CS_IMAGEREF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cs_imageref_parse(&r, bad[i].in);

		if (rc != CS_EINVAL || strstr(cs_err_msg(), bad[i].msg) == NULL)
			fprintf(stderr, "  case '%s': rc %d, '%s'\n", bad[i].in, rc, cs_err_msg());
		T_ASSERT_INT(rc, CS_EINVAL);
		T_ASSERT(strstr(cs_err_msg(), bad[i].msg) != NULL);
		T_ASSERT(r.registry == NULL && r.repository == NULL && r.tag == NULL &&
			 r.digest == NULL);
	}
}

static void
test_imageref__length_limits(void)
{
	struct cs_imageref r = CS_IMAGEREF_INIT;
	char name[300], ref[400];

	memset(name, 'a', 255);
	name[255] = '\0';
	T_ASSERT_INT(cs_imageref_parse(&r, name), 0);
	cs_imageref_release(&r);
	memset(name, 'a', 256);
	name[256] = '\0';
	T_ASSERT_INT(cs_imageref_parse(&r, name), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "longer than 255") != NULL);

	memcpy(ref, "app:", 4);
	memset(ref + 4, 't', 128);
	ref[132] = '\0';
	T_ASSERT_INT(cs_imageref_parse(&r, ref), 0);
	cs_imageref_release(&r);
	ref[132] = 't';
	ref[133] = '\0';
	T_ASSERT_INT(cs_imageref_parse(&r, ref), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "tag longer than 128") != NULL);
}

static void
test_imageref__defaults_and_name(void)
{
	struct cs_imageref r = CS_IMAGEREF_INIT;
	char *n;

	T_ASSERT_INT(cs_imageref_parse(&r, "ubuntu"), 0);
	T_ASSERT_STR(cs_imageref_registry_or_default(&r), "docker.io");
	T_ASSERT_STR(cs_imageref_tag_or_default(&r), "latest");
	n = cs_imageref_name(&r);
	T_ASSERT_STR(n, "docker.io/library/ubuntu");
	free(n);
	cs_imageref_release(&r);
	cs_imageref_release(&r); /* idempotent */
	cs_imageref_release(NULL);

	T_ASSERT_INT(cs_imageref_parse(&r, "localhost:5000/ns/x:v2"), 0);
	T_ASSERT_STR(cs_imageref_registry_or_default(&r), "localhost:5000");
	n = cs_imageref_name(&r);
	T_ASSERT_STR(n, "localhost:5000/ns/x");
	free(n);
	cs_imageref_release(&r);

	T_ASSERT(cs_imageref_is_docker_hub(NULL));
	T_ASSERT(cs_imageref_is_docker_hub("index.docker.io"));
	T_ASSERT(!cs_imageref_is_docker_hub("localhost:5000"));
}

int
main(void)
{
	T_RUN(test_imageref__valid_table);
	T_RUN(test_imageref__invalid_table);
	T_RUN(test_imageref__length_limits);
	T_RUN(test_imageref__defaults_and_name);
	return T_REPORT();
}
