/*
 * Diagnostics and progress output. The only place in lib/ that prints.
 *
 * stderr carries diagnostics, prefixed with the program name
 * ("caas-validator: error: ..."), and progress (build output, plans, task
 * states); stdout carries results only (cs_result(), cs_out_raw(): a final
 * reference, endpoints, a report written to "-"), so `--json - | jq` works.
 * One verbosity rule for the three tools: -q shows errors only, the default
 * shows progress, info and warnings, -v adds debug lines. Every line written through this module is
 * first passed through the secret mask: strings registered with
 * cs_log_secret_add() are replaced by "<redacted>", wherever they appear.
 */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stddef.h>

enum cs_log_level {
	CS_LOG_ERROR = 0,
	CS_LOG_WARN = 1,
	CS_LOG_INFO = 2,
	CS_LOG_DEBUG = 3,
};

/* Set the prefix for stderr lines (borrowed; must outlive logging). */
void cs_log_init(const char *progname);
void cs_log_set_level(enum cs_log_level level);
enum cs_log_level cs_log_get_level(void);

void cs_log(enum cs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A trace line on stderr ("prog: trace: ..."), whatever the level; masked like the rest. */
void cs_log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A progress line on stderr, "prog: ..." (no level word), shown at the
 * default level and above (hidden by -q): long waits say what they are
 * waiting for. Masked and escaped like the rest.
 */
void cs_log_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A progress line on stderr without prefix (a newline is added); hidden by -q. */
void cs_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Raw progress text (an engine's build output) on stderr, masked; hidden by -q. */
void cs_out_progress_raw(const char *s, size_t len);
/* A result line on stdout (a newline is added), masked, whatever the level. */
void cs_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write raw result text to stdout, masked, without adding anything. */
void cs_out_raw(const char *s, size_t len);

/*
 * Register a secret (copied) that must never be printed. Secrets shorter than
 * 4 bytes are ignored: masking them would garble ordinary text.
 */
void cs_log_secret_add(const char *secret);
/* Forget (and wipe) every registered secret. */
void cs_log_secret_clear(void);
/* Replace every registered secret in s (NUL-terminated, modified in place) by '*'. */
void cs_log_mask(char *s);

/* Replace control characters other than '\t' with '?', in place. */
void cs_log_sanitize(char *s);

/* 1 when colour may be used on stdout: a TTY and NO_COLOR unset. */
int cs_log_color(void);

#endif
