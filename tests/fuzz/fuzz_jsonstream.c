/*
 * The engine's JSON message stream. The first byte seeds the chunking; the
 * rest is the stream. It is fed once whole and once cut into chunks of
 * 1..64 bytes: both feeds must give the same messages and the same result
 * (the engine's bytes may arrive split anywhere). A message holding the key
 * "abort" makes the callback stop the feed, as a consumer may.
 */
#include "buf.h"
#include "fuzz.h"
#include "jsonstream.h"

struct seen {
	struct cs_buf log;
	size_t n;
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

/* What the tools' callbacks read: "stream", "status", "error"/"errorDetail", "aux". */
static int
on_msg(json_t *msg, void *payload)
{
	struct seen *s = payload;
	char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *aux = json_object_get(msg, "aux");

	FZ_CHECK(text != NULL);
	cs_buf_adds(&s->log, text);
	cs_buf_addch(&s->log, '\n');
	free(text);
	s->n++;
	(void)json_string_value(json_object_get(msg, "stream"));
	(void)json_string_value(json_object_get(json_object_get(msg, "errorDetail"), "message"));
	(void)json_string_value(json_object_get(aux, "ID"));
	return json_object_get(msg, "abort") != NULL ? 7 : 0;
}

static int
run(struct seen *s, const char *data, size_t len, unsigned seed)
{
	struct cs_jsonstream js;
	int rc = 0;

	cs_buf_init(&s->log, 0);
	s->n = 0;
	cs_jsonstream_init(&js, on_msg, s);
	if (seed == 0) {
		rc = cs_jsonstream_feed(&js, data, len);
	} else {
		size_t off = 0;

		while (rc == 0 && off < len) {
			size_t n;

			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 64;
			if (n > len - off)
				n = len - off;
			rc = cs_jsonstream_feed(&js, data + off, n);
			off += n;
		}
	}
	if (rc == 0)
		rc = cs_jsonstream_finish(&js);
	cs_jsonstream_release(&js);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole, cut;
	int rc1, rc2;

	if (size == 0)
		return 0;
	rc1 = run(&whole, (const char *)data + 1, size - 1, 0);
	rc2 = run(&cut, (const char *)data + 1, size - 1, data[0] + 1u);
	FZ_CHECK(rc1 == rc2);
	FZ_CHECK(whole.n == cut.n);
	FZ_CHECK(whole.log.len == cut.log.len &&
		 memcmp(whole.log.buf, cut.log.buf, whole.log.len) == 0);
	cs_buf_release(&whole.log);
	cs_buf_release(&cut.log);
	return 0;
}
