/* Base64 and base64url codecs on struct cs_buf, so decoded secrets can be wiped with cs_buf_wipe.
 */
#include <string.h>

#include "base64.h"
#include "err.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
cs_base64_encode(struct cs_buf *out, const void *data, size_t len, unsigned int flags)
{
	const char *alpha = (flags & CS_BASE64_URL) ? url_alpha : std_alpha;
	const unsigned char *p = data;
	size_t start = out->len, i;
	char q[4];
	int error;

	for (i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;

		if (i + 1 < len)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = alpha[(v >> 18) & 63];
		q[1] = alpha[(v >> 12) & 63];
		q[2] = i + 1 < len ? alpha[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? alpha[v & 63] : '=';
		if ((error = cs_buf_add(out, q, 4)) < 0) {
			explicit_bzero(out->buf + start, out->len - start);
			out->len = start;
			out->buf[start] = '\0';
			return error;
		}
	}
	explicit_bzero(q, sizeof(q));
	return 0;
}

static int
sextet(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
cs_base64_decode(struct cs_buf *out, const char *s, size_t len)
{
	size_t start = out->len, i, n = len;
	unsigned long v = 0;
	int bits = 0, d, error = 0;
	unsigned char c;

	while (n > 0 && s[n - 1] == '=' && len - n < 2)
		n--;
	if (n % 4 == 1 || (n != len && len % 4 != 0)) {
		error = cs_err_set(CS_EPARSE, "invalid base64: bad length");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((d = sextet((unsigned char)s[i])) < 0) {
			error =
			    cs_err_set(CS_EPARSE, "invalid base64: bad character at offset %zu", i);
			goto out;
		}
		v = (v << 6) | (unsigned long)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			c = (unsigned char)(v >> bits);
			if ((error = cs_buf_add(out, &c, 1)) < 0)
				goto out;
		}
	}
out:
	v = 0;
	c = 0;
	if (error < 0) {
		explicit_bzero(out->buf + start, out->len - start);
		out->len = start;
		if (out->alloc)
			out->buf[start] = '\0';
	}
	return error;
}
