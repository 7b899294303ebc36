/* Thread-local last error message, as libgit2's git_error_set/git_error_last. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"

static _Thread_local char last_msg[1024];

int
cs_err_set(int code, const char *fmt, ...)
{
	char tmp[sizeof(last_msg)];
	va_list ap;

	/* format aside first: the arguments may include cs_err_msg() itself */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(last_msg, tmp, sizeof(last_msg));
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
