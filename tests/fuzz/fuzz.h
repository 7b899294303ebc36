/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_<name>.c, built by
 * `make fuzz-build` with clang -fsanitize=fuzzer,address,undefined).
 * Each target feeds one parser of untrusted input and checks what can be
 * checked without a second implementation (round trips, invariants);
 * FZ_CHECK aborts, so libFuzzer keeps the input as a crash.
 */
#ifndef CS_FUZZ_H
#define CS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Errors are expected on most inputs: only ERROR-level lines, and those are rare. */
static inline void
fz_quiet(void)
{
	cs_log_init("fuzz");
	cs_log_set_level(CS_LOG_ERROR);
}

/* A NUL-terminated copy of data[0..size) (stops at an embedded NUL for string APIs). */
static inline char *
fz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Split data at the first occurrence of sep: *head is the part before it and
 * the return value the part after it (NULL when sep does not occur).
 */
static inline const uint8_t *
fz_split(const uint8_t *data, size_t size, const char *sep, size_t *head, size_t *tail)
{
	size_t n = strlen(sep), i;

	for (i = 0; n <= size && i <= size - n; i++) {
		if (memcmp(data + i, sep, n) == 0) {
			*head = i;
			*tail = size - i - n;
			return data + i + n;
		}
	}
	*head = size;
	*tail = 0;
	return NULL;
}

#endif
