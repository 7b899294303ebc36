/*
 * Minimal unit-test harness (redis testhelp.h in spirit). A test file defines
 * static void test_<module>__<case>(void) functions and a main() that calls
 * T_RUN() on each, then returns T_REPORT(). A failing assertion ends the
 * current test case, not the run; the report line is
 * "N passed, N failed" and the exit status is non-zero on any failure.
 */
#ifndef CS_TEST_H
#define CS_TEST_H

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static int t_passed, t_failed, t_cur_failed;
static jmp_buf t_jmp;

#define T_FAIL_(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                  \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		t_cur_failed = 1;                                                                  \
		longjmp(t_jmp, 1);                                                                 \
	} while (0)

#define T_ASSERT(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			T_FAIL_("assertion failed: %s", #cond);                                    \
	} while (0)

#define T_ASSERT_INT(got, want)                                                                    \
	do {                                                                                       \
		long long t_g_ = (long long)(got), t_w_ = (long long)(want);                       \
		if (t_g_ != t_w_)                                                                  \
			T_FAIL_("%s: got %lld, want %lld", #got, t_g_, t_w_);                      \
	} while (0)

#define T_ASSERT_STR(got, want)                                                                    \
	do {                                                                                       \
		const char *t_g_ = (got), *t_w_ = (want);                                          \
		if (t_g_ == NULL || t_w_ == NULL ? t_g_ != t_w_ : strcmp(t_g_, t_w_) != 0)         \
			T_FAIL_("%s: got \"%s\", want \"%s\"", #got, t_g_ ? t_g_ : "(null)",       \
				t_w_ ? t_w_ : "(null)");                                           \
	} while (0)

#define T_RUN(fn)                                                                                  \
	do {                                                                                       \
		t_cur_failed = 0;                                                                  \
		if (setjmp(t_jmp) == 0)                                                            \
			fn();                                                                      \
		if (t_cur_failed) {                                                                \
			t_failed++;                                                                \
			fprintf(stderr, "not ok %s\n", #fn);                                       \
		} else {                                                                           \
			t_passed++;                                                                \
		}                                                                                  \
	} while (0)

#define T_REPORT()                                                                                 \
	(printf("%s: %d passed, %d failed\n", __FILE__, t_passed, t_failed), t_failed ? 1 : 0)

#endif
