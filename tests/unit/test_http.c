/*
 * lib/http helpers that need no peer: what a message or a trace may show of
 * a request path (no build args).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "tests/unit/test.h"

static void
show(struct cs_buf *b, const char *path)
{
	cs_buf_reset(b);
	cs_http_display_path(b, path);
}

static void
test_http__display_path_hides_build_args(void)
{
	struct cs_buf b = CS_BUF_INIT;

	show(&b, "/v1.41/build?t=x&buildargs=%7B%22NPM_TOKEN%22%3A%22s3cr3t%22%7D&labels=%7B%7D");
	T_ASSERT_STR(b.buf, "/v1.41/build?t=x&buildargs=<redacted>&labels=%7B%7D");
	show(&b, "/build?buildargs=%7B%7D");
	T_ASSERT_STR(b.buf, "/build?buildargs=<redacted>");
	/* a trace line: the request line with its protocol */
	show(&b, "POST /build?rm=1&buildargs=abc HTTP/1.1");
	T_ASSERT_STR(b.buf, "POST /build?rm=1&buildargs=<redacted> HTTP/1.1");
	/* other parameters, and a name that only ends like it, are kept */
	show(&b, "/images/create?fromImage=x&tag=1&xbuildargs=v");
	T_ASSERT_STR(b.buf, "/images/create?fromImage=x&tag=1&xbuildargs=v");
	show(&b, "/v2/");
	T_ASSERT_STR(b.buf, "/v2/");
	cs_buf_release(&b);
}

int
main(void)
{
	T_RUN(test_http__display_path_hides_build_args);
	return T_REPORT();
}
