/* Allocation wrappers: out of memory is fatal, as in tmux's xmalloc.c. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "xalloc.h"

static void __attribute__((noreturn)) oom(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "fatal: out of memory allocating %zu bytes\n", n);

	if (len > 0 && write(2, msg, (size_t)len) < 0)
		abort();
	abort();
}

void *
cs_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
cs_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
cs_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	p = realloc(ptr, (nmemb * size) != 0 ? nmemb * size : 1);
	if (p == NULL)
		oom(nmemb * size);
	return p;
}

char *
cs_xstrdup(const char *s)
{
	return cs_xstrndup(s, strlen(s));
}

char *
cs_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = cs_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
cs_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	p = cs_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static void *
json_xmalloc(size_t size)
{
	return cs_xmalloc(size);
}

/*
 * jansson reports a failed allocation only as a NULL result, and a NULL
 * handed to json_object_set_new() or json_array_append_new() is silently
 * dropped: a document short of values would be deployed. Every program that
 * links libcs therefore gets jansson's memory from cs_xmalloc, set before
 * main() runs, so a jansson constructor returns NULL only for bad input.
 */
static void __attribute__((constructor)) json_use_xmalloc(void)
{
	json_set_alloc_funcs(json_xmalloc, free);
}
