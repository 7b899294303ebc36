/* Unit tests of build-runner/push.c: how a push error of the engine's stream is classified. */
#include <jansson.h>
#include <stdlib.h>

#include "build-runner/br.h"
#include "test.h"

static void
test_push__classify_messages(void)
{
	static const struct {
		const char *m;
		enum br_push_fault want;
	} cases[] = {
	    {"received unexpected HTTP status: 500 Internal Server Error", BR_PUSH_TRANSIENT},
	    {"received unexpected HTTP status: 503 Service Unavailable", BR_PUSH_TRANSIENT},
	    {"received unexpected HTTP status: 404 Not Found", BR_PUSH_PERMANENT},
	    {"toomanyrequests: injected fault", BR_PUSH_TRANSIENT},
	    {"unavailable: try later", BR_PUSH_TRANSIENT},
	    {"blob upload unknown: blob upload unknown to registry", BR_PUSH_TRANSIENT},
	    {"unauthorized: authentication required", BR_PUSH_AUTH},
	    {"denied: requested access to the resource is denied", BR_PUSH_AUTH},
	    {"manifest invalid: manifest invalid", BR_PUSH_PERMANENT},
	    {"Put \"https://127.0.0.1:5000/v2/x/blobs/uploads/1\": EOF", BR_PUSH_TRANSIENT},
	    {"read tcp 127.0.0.1:1->127.0.0.1:5000: read: connection reset by peer",
	     BR_PUSH_TRANSIENT},
	    {"dial tcp 127.0.0.1:5000: connect: connection refused", BR_PUSH_TRANSIENT},
	    {"Get \"https://127.0.0.1:5003/v2/\": x509: certificate signed by unknown authority",
	     BR_PUSH_PERMANENT},
	    {"Get \"https://127.0.0.1:5003/v2/\": remote error: tls: bad certificate",
	     BR_PUSH_PERMANENT},
	    /* the old substring test retried these: a port or a digest holding 503 or EOF */
	    {"name unknown: repository 127.0.0.1:5030/x not known", BR_PUSH_PERMANENT},
	    {"An image does not exist locally with the tag: 127.0.0.1:5003/EOF", BR_PUSH_PERMANENT},
	    {"something new", BR_PUSH_PERMANENT},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (br_push_classify(NULL, cases[i].m) != cases[i].want)
			T_FAIL_("'%s': got %d, want %d", cases[i].m,
				(int)br_push_classify(NULL, cases[i].m), (int)cases[i].want);
	}
}

static void
test_push__classify_code_first(void)
{
	json_t *d = json_pack("{s:i, s:s}", "code", 429, "message", "denied: x");

	/* the engine's code wins over the text */
	T_ASSERT_INT(br_push_classify(d, "denied: x"), BR_PUSH_TRANSIENT);
	json_object_set_new(d, "code", json_integer(401));
	T_ASSERT_INT(br_push_classify(d, "toomanyrequests: x"), BR_PUSH_AUTH);
	json_object_set_new(d, "code", json_integer(400));
	T_ASSERT_INT(br_push_classify(d, ": EOF"), BR_PUSH_PERMANENT);
	json_object_set_new(d, "code", json_string("x"));
	T_ASSERT_INT(br_push_classify(d, ": EOF"), BR_PUSH_TRANSIENT);
	json_decref(d);
	T_ASSERT_INT(br_push_classify(NULL, NULL), BR_PUSH_PERMANENT);
}

int
main(void)
{
	T_RUN(test_push__classify_messages);
	T_RUN(test_push__classify_code_first);
	return T_REPORT();
}
