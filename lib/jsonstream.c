/*
 * Incremental parser for the engine's JSON message streams. Messages are
 * newline-delimited in practice, but a line may also hold several objects
 * back to back (Go's json.Decoder accepts that), so each complete line is
 * parsed value by value.
 */
#include <string.h>

#include "err.h"
#include "jsonstream.h"

#define JSONSTREAM_MAX ((size_t)16 << 20)

void
cs_jsonstream_init(struct cs_jsonstream *js, cs_jsonstream_fn cb, void *payload)
{
	cs_buf_init(&js->pending, JSONSTREAM_MAX);
	js->cb = cb;
	js->payload = payload;
}

/* Parse every JSON value in data[0..len). */
static int
parse_values(struct cs_jsonstream *js, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		json_error_t jerr;
		json_t *v;
		int rc;

		while (off < len && (data[off] == ' ' || data[off] == '\t' || data[off] == '\r' ||
				     data[off] == '\n'))
			off++;
		if (off == len)
			break;
		v = json_loadb(data + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY,
			       &jerr);
		if (v == NULL)
			return cs_err_set(CS_EPARSE, "malformed message from the engine: %s",
					  jerr.text);
		off += (size_t)jerr.position;
		rc = js->cb(v, js->payload);
		json_decref(v);
		if (rc)
			return rc;
	}
	return 0;
}

int
cs_jsonstream_feed(struct cs_jsonstream *js, const char *data, size_t len)
{
	const char *nl;
	int rc;

	while ((nl = memchr(data, '\n', len)) != NULL) {
		size_t n = (size_t)(nl - data) + 1;

		if (js->pending.len) {
			if ((rc = cs_buf_add(&js->pending, data, n)) < 0)
				return rc;
			rc = parse_values(js, js->pending.buf, js->pending.len);
			cs_buf_reset(&js->pending);
		} else {
			rc = parse_values(js, data, n);
		}
		if (rc)
			return rc;
		data += n;
		len -= n;
	}
	if (len && (rc = cs_buf_add(&js->pending, data, len)) < 0)
		return cs_err_set(rc, "engine message longer than %zu bytes", JSONSTREAM_MAX);
	return 0;
}

int
cs_jsonstream_finish(struct cs_jsonstream *js)
{
	int rc = 0;

	if (js->pending.len)
		rc = parse_values(js, js->pending.buf, js->pending.len);
	cs_buf_reset(&js->pending);
	return rc;
}

void
cs_jsonstream_release(struct cs_jsonstream *js)
{
	cs_buf_release(&js->pending);
}
