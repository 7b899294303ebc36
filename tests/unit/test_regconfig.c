/* Unit tests of build-runner/regconfig.c: the registries a Dockerfile's FROM lines name. */
#include <stdlib.h>
#include <string.h>

#include "build-runner/br.h"
#include "strvec.h"
#include "test.h"

static void
registries(struct cs_strvec *out, const char *text, const char *arg)
{
	struct cs_strvec args = CS_STRVEC_INIT;

	if (arg)
		cs_strvec_push(&args, arg);
	br_dockerfile_registries(out, text, strlen(text), &args);
	cs_strvec_clear(&args);
}

static void
test_regconfig__from_lines(void)
{
	struct cs_strvec r = CS_STRVEC_INIT;

	registries(&r,
		   "# syntax comment\n"
		   "FROM 127.0.0.1:5000/base:1 AS build\n"
		   "RUN echo FROM other.example.com/x\n"
		   "from --platform=linux/amd64 build\n"
		   "FROM busybox\n"
		   "FROM scratch\n"
		   "FROM \\\n  quay.io/a/b:2\n"
		   "FROM 127.0.0.1:5000/other:2\n",
		   NULL);
	T_ASSERT_INT(r.nr, 3);
	T_ASSERT_STR(r.v[0], "127.0.0.1:5000");
	T_ASSERT_STR(r.v[1], "docker.io");
	T_ASSERT_STR(r.v[2], "quay.io");
	cs_strvec_clear(&r);
}

static void
test_regconfig__args_and_escape(void)
{
	struct cs_strvec r = CS_STRVEC_INIT;
	const char *df = "ARG REG=default.example.com\n"
			 "ARG TAG\n"
			 "FROM ${REG}/img:${TAG:-1}\n"
			 "ARG LATE=late.example.com\n"
			 "FROM $LATE/x\n";

	registries(&r, df, NULL);
	T_ASSERT_INT(r.nr, 1); /* $LATE is not in the global scope: "/x" does not parse */
	T_ASSERT_STR(r.v[0], "default.example.com");
	cs_strvec_clear(&r);

	registries(&r, df, "REG=127.0.0.1:5000");
	T_ASSERT_INT(r.nr, 1);
	T_ASSERT_STR(r.v[0], "127.0.0.1:5000");
	cs_strvec_clear(&r);

	registries(&r, "# escape=`\nFROM `\n  ghcr.io/o/i\n", NULL);
	T_ASSERT_INT(r.nr, 1);
	T_ASSERT_STR(r.v[0], "ghcr.io");
	cs_strvec_clear(&r);

	/* an undeclared build arg does not reach FROM; an unterminated ${ is skipped */
	registries(&r, "FROM ${UNTERMINATED\nFROM ${X:-docker.io/a}/b\n", "X=q.example.com");
	T_ASSERT_INT(r.nr, 1);
	T_ASSERT_STR(r.v[0], "docker.io");
	cs_strvec_clear(&r);
}

int
main(void)
{
	T_RUN(test_regconfig__from_lines);
	T_RUN(test_regconfig__args_and_escape);
	return T_REPORT();
}
