/*
 * The one error idiom of lib/: functions return 0 or a negative
 * enum cs_err_code; cs_err_set() stores a thread-local message describing the
 * last failure and returns the code, so "return cs_err_set(...)" is the idiom.
 */
#ifndef CS_ERR_H
#define CS_ERR_H

enum cs_err_code {
	CS_OK = 0,
	CS_ERROR = -1,	   /* generic failure */
	CS_ENOTFOUND = -2, /* the thing asked for does not exist */
	CS_ETOOBIG = -3,   /* input exceeds a cap */
	CS_EPARSE = -4,	   /* malformed input (JSON, YAML, tar, ...) */
	CS_EIO = -5,	   /* local file or system call failed */
	CS_ENET = -6,	   /* cannot connect / transport error */
	CS_EHTTP = -7,	   /* the peer answered with an unexpected HTTP status */
	CS_EAUTH = -8,	   /* authentication refused */
	CS_EINVAL = -9,	   /* invalid argument or input value */
	CS_EINTR = -10,	   /* interrupted by a signal */
	CS_EGIT = -11,	   /* libgit2 failure */
	CS_EBUILD = -12,   /* a build step failed */
	CS_ETIMEOUT = -13, /* a deadline passed */
	CS_ETLS = -14,	   /* TLS certificate refused (not transient: never retried) */
};

/*
 * Whether code means the peer could not be reached or could not be trusted
 * (CS_ENET, CS_ETLS): the tools report both as "unreachable", while only
 * CS_ENET may be retried.
 */
static inline int
cs_err_unreachable(int code)
{
	return code == CS_ENET || code == CS_ETLS;
}

/*
 * Store the message (printf format) for the current thread and return code.
 * Control characters in the formatted text are replaced with '?'.
 */
int cs_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message of this thread; borrowed, valid until the next cs_err_set. Never NULL. */
const char *cs_err_msg(void);

/* Forget the last error. */
void cs_err_clear(void);

#endif
