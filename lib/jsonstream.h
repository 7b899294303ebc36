/*
 * Parser for the engine's streamed JSON messages (/build, /images/create,
 * /images/{name}/push, /images/load): a sequence of JSON objects, normally one
 * per line, that may arrive split at any byte. Feed bytes as they come; each
 * complete object is passed to the callback.
 */
#ifndef CS_JSONSTREAM_H
#define CS_JSONSTREAM_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Called for each object (borrowed: json_incref to keep it). Non-zero return stops the feed. */
typedef int (*cs_jsonstream_fn)(json_t *msg, void *payload);

struct cs_jsonstream {
	struct cs_buf pending; /* bytes of an incomplete message; capped at 16 MiB */
	cs_jsonstream_fn cb;
	void *payload;
};

void cs_jsonstream_init(struct cs_jsonstream *js, cs_jsonstream_fn cb, void *payload);
/* Feed bytes. Returns 0, the callback's non-zero value, or CS_EPARSE / CS_ETOOBIG. */
int cs_jsonstream_feed(struct cs_jsonstream *js, const char *data, size_t len);
/* End of stream: parse what remains. 0, or CS_EPARSE for a truncated message. */
int cs_jsonstream_finish(struct cs_jsonstream *js);
void cs_jsonstream_release(struct cs_jsonstream *js);

#endif
