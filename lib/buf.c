/* Growable byte buffer with a hard cap, modelled on git's strbuf and curl's dynbuf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "buf.h"
#include "err.h"
#include "xalloc.h"

char cs_buf_empty[1];

static size_t
cap_of(const struct cs_buf *b)
{
	return b->max ? b->max : CS_BUF_DEFAULT_MAX;
}

void
cs_buf_init(struct cs_buf *b, size_t max)
{
	b->buf = cs_buf_empty;
	b->len = b->alloc = 0;
	b->max = max;
}

static int
grow(struct cs_buf *b, size_t extra)
{
	size_t want;

	if (extra > cap_of(b) - b->len)
		return cs_err_set(CS_ETOOBIG, "data exceeds the limit of %zu bytes", cap_of(b));
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	if (want < b->alloc * 2)
		want = b->alloc * 2;
	if (want < 64)
		want = 64;
	if (b->alloc == 0) {
		b->buf = cs_xmalloc(want);
		b->buf[0] = '\0';
	} else {
		b->buf = cs_xreallocarray(b->buf, want, 1);
	}
	b->alloc = want;
	return 0;
}

int
cs_buf_add(struct cs_buf *b, const void *data, size_t len)
{
	int error;

	if (len == 0)
		return 0;
	if ((error = grow(b, len)) < 0)
		return error;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int
cs_buf_adds(struct cs_buf *b, const char *s)
{
	return cs_buf_add(b, s, strlen(s));
}

int
cs_buf_addch(struct cs_buf *b, int c)
{
	char ch = (char)c;

	return cs_buf_add(b, &ch, 1);
}

int
cs_buf_vaddf(struct cs_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, error;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return cs_err_set(CS_ERROR, "bad format string");
	if ((error = grow(b, (size_t)n)) < 0)
		return error;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
cs_buf_addf(struct cs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = cs_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return error;
}

void
cs_buf_consume(struct cs_buf *b, size_t n)
{
	if (n >= b->len) {
		cs_buf_reset(b);
		return;
	}
	memmove(b->buf, b->buf + n, b->len - n);
	b->len -= n;
	b->buf[b->len] = '\0';
}

void
cs_buf_reset(struct cs_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

void
cs_buf_release(struct cs_buf *b)
{
	if (b->alloc)
		free(b->buf);
	b->buf = cs_buf_empty;
	b->len = b->alloc = 0;
}

void
cs_buf_wipe(struct cs_buf *b)
{
	if (b->alloc)
		explicit_bzero(b->buf, b->alloc);
	cs_buf_release(b);
}

char *
cs_buf_detach(struct cs_buf *b, size_t *len)
{
	char *s;

	if (len)
		*len = b->len;
	s = b->alloc ? b->buf : cs_xstrdup("");
	b->buf = cs_buf_empty;
	b->len = b->alloc = 0;
	return s;
}

void
cs_buf_rtrim(struct cs_buf *b)
{
	while (b->len && isspace((unsigned char)b->buf[b->len - 1]))
		b->len--;
	if (b->alloc)
		b->buf[b->len] = '\0';
}
