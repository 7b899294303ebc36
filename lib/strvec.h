/*
 * A NULL-terminated, growable list of owned strings (git's strvec), usable
 * directly as an execv() argv.
 */
#ifndef CS_STRVEC_H
#define CS_STRVEC_H

#include <stddef.h>

struct cs_strvec {
	char **v; /* never NULL after the first push; v[nr] == NULL */
	size_t nr, alloc;
};

/* clang-format off */
#define CS_STRVEC_INIT { 0 }
/* clang-format on */

/* Push a copy of s. */
void cs_strvec_push(struct cs_strvec *sv, const char *s);
/* Push s, taking ownership (it must be malloc()ed). */
void cs_strvec_push_take(struct cs_strvec *sv, char *s);
void cs_strvec_pushf(struct cs_strvec *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 if an element equals s. */
int cs_strvec_has(const struct cs_strvec *sv, const char *s);
/* Free all strings and the array; back to INIT. */
void cs_strvec_clear(struct cs_strvec *sv);
/* explicit_bzero every string, then clear: for lists that held secrets (auth headers). */
void cs_strvec_wipe(struct cs_strvec *sv);

#endif
