#include "buf.h"
#include "err.h"
#include "log.h"
#include "strvec.h"
#include "tests/unit/test.h"

static void
test_buf__cap_is_enforced(void)
{
	struct cs_buf b = CS_BUF_INIT;

	cs_buf_init(&b, 8);
	T_ASSERT_INT(cs_buf_add(&b, "12345678", 8), 0);
	T_ASSERT_INT(cs_buf_add(&b, "9", 1), CS_ETOOBIG);
	T_ASSERT_STR(b.buf, "12345678");
	cs_buf_release(&b);
}

static void
test_buf__addf_and_consume(void)
{
	struct cs_buf b = CS_BUF_INIT;

	T_ASSERT_STR(b.buf, "");
	T_ASSERT_INT(cs_buf_addf(&b, "%s-%d", "ab", 42), 0);
	T_ASSERT_STR(b.buf, "ab-42");
	cs_buf_consume(&b, 3);
	T_ASSERT_STR(b.buf, "42");
	cs_buf_release(&b);
	T_ASSERT_INT(b.len, 0);
}

static void
test_log__mask_replaces_every_secret(void)
{
	char line[] = "user:hunter22 and again hunter22";

	cs_log_secret_add("hunter22");
	cs_log_mask(line);
	T_ASSERT_STR(line, "user:******** and again ********");
	cs_log_secret_clear();
}

static void
test_strvec__push_is_null_terminated(void)
{
	struct cs_strvec sv = CS_STRVEC_INIT;

	cs_strvec_push(&sv, "a");
	cs_strvec_pushf(&sv, "b%d", 2);
	T_ASSERT_INT(sv.nr, 2);
	T_ASSERT_STR(sv.v[1], "b2");
	T_ASSERT(sv.v[2] == NULL);
	T_ASSERT(cs_strvec_has(&sv, "a"));
	cs_strvec_clear(&sv);
}

int
main(void)
{
	T_RUN(test_buf__cap_is_enforced);
	T_RUN(test_buf__addf_and_consume);
	T_RUN(test_log__mask_replaces_every_secret);
	T_RUN(test_strvec__push_is_null_terminated);
	return T_REPORT();
}
