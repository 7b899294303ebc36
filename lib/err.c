/* Thread-local last error message, as libgit2's git_error_set/git_error_last. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"
#include "log.h"

static _Thread_local char last_msg[1024];

int
cs_err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	cs_log_sanitize(last_msg);
	return code;
}

const char *
cs_err_msg(void)
{
	return last_msg[0] ? last_msg : "unknown error";
}

void
cs_err_clear(void)
{
	last_msg[0] = '\0';
}
