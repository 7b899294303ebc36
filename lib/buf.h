/*
 * Growable byte buffer (git's strbuf). buf is never NULL and always
 * NUL-terminated, but may hold NULs; use len. A buffer may carry a cap (max):
 * an add past it fails with CS_ETOOBIG and leaves the buffer unchanged.
 */
#ifndef CS_BUF_H
#define CS_BUF_H

#include <stdarg.h>
#include <stddef.h>

extern char cs_buf_empty[];

struct cs_buf {
	char *buf;	   /* never NULL; always NUL-terminated; may hold NULs */
	size_t len, alloc; /* alloc == 0: buf is the shared empty string */
	size_t max;	   /* hard cap on len (0 = default cap, CS_BUF_DEFAULT_MAX) */
};

#define CS_BUF_DEFAULT_MAX ((size_t)256 << 20)

/* clang-format off */
#define CS_BUF_INIT { .buf = cs_buf_empty }
/* clang-format on */

void cs_buf_init(struct cs_buf *b, size_t max);
/* Append; 0 or CS_ETOOBIG (buffer unchanged). */
int cs_buf_add(struct cs_buf *b, const void *data, size_t len);
int cs_buf_adds(struct cs_buf *b, const char *s);
int cs_buf_addch(struct cs_buf *b, int c);
int cs_buf_addf(struct cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cs_buf_vaddf(struct cs_buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes. */
void cs_buf_consume(struct cs_buf *b, size_t n);
/* Set len to 0 and keep the memory. */
void cs_buf_reset(struct cs_buf *b);
/* Free memory; back to CS_BUF_INIT (the cap is kept). Accepts INIT. */
void cs_buf_release(struct cs_buf *b);
/* explicit_bzero the contents, then release: for buffers that held secrets. */
void cs_buf_wipe(struct cs_buf *b);
/* Hand the string to the caller (who free()s it); the buffer is released. */
char *cs_buf_detach(struct cs_buf *b, size_t *len);
/* Remove trailing whitespace. */
void cs_buf_rtrim(struct cs_buf *b);

#endif
