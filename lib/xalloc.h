/*
 * Allocation wrappers that abort on out-of-memory, and the array-growing
 * macro used everywhere. Input that is too large is not an OOM: callers cap
 * their buffers and return CS_ETOOBIG (see buf.h).
 *
 * jansson allocates through cs_xmalloc too (set by a constructor in
 * xalloc.c when libcs is linked): json_object(), json_string() and the
 * others never return NULL for lack of memory, only for invalid input
 * (a NULL or non-UTF-8 string).
 */
#ifndef CS_XALLOC_H
#define CS_XALLOC_H

#include <stddef.h>

void *cs_xmalloc(size_t size);
void *cs_xcalloc(size_t nmemb, size_t size);
/* reallocarray() that aborts on overflow or OOM. */
void *cs_xreallocarray(void *ptr, size_t nmemb, size_t size);
char *cs_xstrdup(const char *s);
char *cs_xstrndup(const char *s, size_t n);
/* asprintf() that aborts on OOM; caller frees. */
char *cs_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow array v (nr used, alloc allocated) so that it can hold at least n items. */
#define CS_ALLOC_GROW(v, n, alloc)                                                                 \
	do {                                                                                       \
		if ((n) > (alloc)) {                                                               \
			size_t cs_ag_new_ = (alloc) < 8 ? 8 : (alloc)*2;                           \
			if (cs_ag_new_ < (n))                                                      \
				cs_ag_new_ = (n);                                                  \
			(v) = cs_xreallocarray((v), cs_ag_new_, sizeof(*(v)));                     \
			(alloc) = cs_ag_new_;                                                      \
		}                                                                                  \
	} while (0)

#define CS_FREE_AND_NULL(p)                                                                        \
	do {                                                                                       \
		free(p);                                                                           \
		(p) = NULL;                                                                        \
	} while (0)

#endif
