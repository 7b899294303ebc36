/*
 * Base64 (RFC 4648 section 4) and base64url (section 5) with padding, for
 * registry credentials: the "auth" field of config.json, HTTP Basic and the
 * engine's X-Registry-Auth header.
 */
#ifndef CS_BASE64_H
#define CS_BASE64_H

#include <stddef.h>

#include "buf.h"

enum cs_base64_flags {
	CS_BASE64_URL = 1 << 0, /* '-' and '_' instead of '+' and '/' */
};

/* Append the encoding of data[0..len) to out. 0 or CS_ETOOBIG (out unchanged). */
int cs_base64_encode(struct cs_buf *out, const void *data, size_t len, unsigned int flags);

/*
 * Append the decoding of s[0..len) to out. Both alphabets are accepted;
 * padding is optional; whitespace is not allowed. On error out is left as it
 * was. Errors: CS_EPARSE (bad character or length), CS_ETOOBIG.
 */
int cs_base64_decode(struct cs_buf *out, const char *s, size_t len);

#endif
