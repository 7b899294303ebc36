#include <stdlib.h>

#include "buf.h"
#include "err.h"
#include "jsonstream.h"
#include "tests/unit/test.h"

/* A /build stream as the engine sends it (legacy API reference examples), plus
 * two objects on one line and a CRLF line. */
static const char build_stream[] =
    "{\"stream\":\"Step 1/2 : FROM busybox\\n\"}\r\n"
    "{\"stream\":\" ---\\u003e 4f0ae6bd3ac9\\n\"}\n"
    "{\"stream\":\"Step 2/2 : RUN false\\n\"}{\"stream\":\" ---\\u003e Running in x\\n\"}\n"
    "\n"
    "{\"errorDetail\":{\"code\":1,\"message\":\"The command '/bin/sh -c false' returned a "
    "non-zero code: 1\"},\"error\":\"The command '/bin/sh -c false' returned a non-zero code: "
    "1\"}\n"
    "{\"aux\":{\"ID\":\"sha256:0123\"}}";

struct collect {
	struct cs_buf out;
	int n;
};

static int
collect(json_t *msg, void *payload)
{
	struct collect *c = payload;
	char *s = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);

	cs_buf_adds(&c->out, s);
	cs_buf_addch(&c->out, '|');
	free(s);
	c->n++;
	return 0;
}

static void
feed_split(struct collect *c, size_t a, size_t b)
{
	struct cs_jsonstream js;
	size_t len = sizeof(build_stream) - 1;

	cs_jsonstream_init(&js, collect, c);
	T_ASSERT_INT(cs_jsonstream_feed(&js, build_stream, a), 0);
	T_ASSERT_INT(cs_jsonstream_feed(&js, build_stream + a, b - a), 0);
	T_ASSERT_INT(cs_jsonstream_feed(&js, build_stream + b, len - b), 0);
	T_ASSERT_INT(cs_jsonstream_finish(&js), 0);
	cs_jsonstream_release(&js);
}

static void
test_jsonstream__every_split_gives_the_same_messages(void)
{
	struct collect whole = {CS_BUF_INIT, 0};
	size_t len = sizeof(build_stream) - 1, a, b;

	feed_split(&whole, len, len);
	T_ASSERT_INT(whole.n, 6);
	for (a = 0; a <= len; a++) {
		for (b = a; b <= len; b += 7) {
			struct collect c = {CS_BUF_INIT, 0};

			feed_split(&c, a, b);
			T_ASSERT_INT(c.n, whole.n);
			T_ASSERT_STR(c.out.buf, whole.out.buf);
			cs_buf_release(&c.out);
		}
	}
	cs_buf_release(&whole.out);
}

static void
test_jsonstream__byte_at_a_time(void)
{
	struct collect c = {CS_BUF_INIT, 0};
	struct cs_jsonstream js;
	size_t i;

	cs_jsonstream_init(&js, collect, &c);
	for (i = 0; i < sizeof(build_stream) - 1; i++)
		T_ASSERT_INT(cs_jsonstream_feed(&js, build_stream + i, 1), 0);
	T_ASSERT_INT(cs_jsonstream_finish(&js), 0);
	T_ASSERT_INT(c.n, 6);
	T_ASSERT(strstr(c.out.buf, "{\"aux\":{\"ID\":\"sha256:0123\"}}|") != NULL);
	cs_jsonstream_release(&js);
	cs_buf_release(&c.out);
}

static void
test_jsonstream__truncated_message_is_an_error(void)
{
	struct collect c = {CS_BUF_INIT, 0};
	struct cs_jsonstream js;

	cs_jsonstream_init(&js, collect, &c);
	T_ASSERT_INT(cs_jsonstream_feed(&js, "{\"stream\":\"a\"}\n{\"stre", 21), 0);
	T_ASSERT_INT(cs_jsonstream_finish(&js), CS_EPARSE);
	T_ASSERT_INT(c.n, 1);
	cs_jsonstream_release(&js);
	cs_buf_release(&c.out);
}

static int
stop_at_second(json_t *msg, void *payload)
{
	int *n = payload;

	(void)msg;
	return ++*n == 2 ? 42 : 0;
}

static void
test_jsonstream__callback_stops_the_feed(void)
{
	struct cs_jsonstream js;
	int n = 0;

	cs_jsonstream_init(&js, stop_at_second, &n);
	T_ASSERT_INT(cs_jsonstream_feed(&js, "{}\n{}\n{}\n", 9), 42);
	T_ASSERT_INT(n, 2);
	cs_jsonstream_release(&js);
}

int
main(void)
{
	T_RUN(test_jsonstream__every_split_gives_the_same_messages);
	T_RUN(test_jsonstream__byte_at_a_time);
	T_RUN(test_jsonstream__truncated_message_is_an_error);
	T_RUN(test_jsonstream__callback_stops_the_feed);
	return T_REPORT();
}
