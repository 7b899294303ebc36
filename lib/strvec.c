/* NULL-terminated string list. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strvec.h"
#include "xalloc.h"

void
cs_strvec_push_take(struct cs_strvec *sv, char *s)
{
	CS_ALLOC_GROW(sv->v, sv->nr + 2, sv->alloc);
	sv->v[sv->nr++] = s;
	sv->v[sv->nr] = NULL;
}

void
cs_strvec_push(struct cs_strvec *sv, const char *s)
{
	cs_strvec_push_take(sv, cs_xstrdup(s));
}

void
cs_strvec_pushf(struct cs_strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = cs_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	cs_strvec_push_take(sv, s);
}

int
cs_strvec_has(const struct cs_strvec *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->nr; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

void
cs_strvec_clear(struct cs_strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->nr; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->nr = sv->alloc = 0;
}

void
cs_strvec_wipe(struct cs_strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->nr; i++)
		explicit_bzero(sv->v[i], strlen(sv->v[i]));
	cs_strvec_clear(sv);
}
