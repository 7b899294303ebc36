/*
 * Logging with secret masking: every byte this project prints goes through
 * mask(), so a password that slipped into an engine message is still hidden.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "strvec.h"

static const char *prog = "caas";
static enum cs_log_level cur_level = CS_LOG_INFO;
static struct cs_strvec secrets = CS_STRVEC_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void
cs_log_init(const char *progname)
{
	prog = progname;
}

void
cs_log_set_level(enum cs_log_level level)
{
	cur_level = level;
}

enum cs_log_level
cs_log_get_level(void)
{
	return cur_level;
}

void
cs_log_secret_add(const char *secret)
{
	if (secret == NULL || strlen(secret) < 4)
		return;
	pthread_mutex_lock(&lock);
	if (!cs_strvec_has(&secrets, secret))
		cs_strvec_push(&secrets, secret);
	pthread_mutex_unlock(&lock);
}

void
cs_log_secret_clear(void)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < secrets.nr; i++)
		explicit_bzero(secrets.v[i], strlen(secrets.v[i]));
	cs_strvec_clear(&secrets);
	pthread_mutex_unlock(&lock);
}

/* Caller holds the lock. */
static void
mask_locked(char *s)
{
	size_t i;

	for (i = 0; i < secrets.nr; i++) {
		const char *sec = secrets.v[i];
		size_t n = strlen(sec);
		char *p = s;

		while ((p = strstr(p, sec)) != NULL) {
			memset(p, '*', n);
			p += n;
		}
	}
}

void
cs_log_mask(char *s)
{
	pthread_mutex_lock(&lock);
	mask_locked(s);
	pthread_mutex_unlock(&lock);
}

void
cs_log_sanitize(char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s) && *s != '\t')
			*s = '?';
}

int
cs_log_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(1) && (nc == NULL || *nc == '\0');
}

static const char *
level_name(enum cs_log_level level)
{
	switch (level) {
	case CS_LOG_ERROR:
		return "error";
	case CS_LOG_WARN:
		return "warning";
	case CS_LOG_INFO:
		return "info";
	case CS_LOG_DEBUG:
		return "debug";
	}
	return "log";
}

static void
vlog(const char *what, const char *fmt, va_list ap)
{
	struct cs_buf line = CS_BUF_INIT;

	cs_buf_addf(&line, "%s: %s: ", prog, what);
	cs_buf_vaddf(&line, fmt, ap);
	cs_log_sanitize(line.buf);
	pthread_mutex_lock(&lock);
	mask_locked(line.buf);
	fflush(stdout);
	fprintf(stderr, "%s\n", line.buf);
	fflush(stderr);
	pthread_mutex_unlock(&lock);
	cs_buf_release(&line);
}

void
cs_log(enum cs_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	vlog(level_name(level), fmt, ap);
	va_end(ap);
}

void
cs_log_trace(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("trace", fmt, ap);
	va_end(ap);
}

void
cs_log_progress(const char *fmt, ...)
{
	struct cs_buf line = CS_BUF_INIT;
	va_list ap;

	if (cur_level < CS_LOG_INFO)
		return;
	cs_buf_addf(&line, "%s: ", prog);
	va_start(ap, fmt);
	cs_buf_vaddf(&line, fmt, ap);
	va_end(ap);
	cs_log_sanitize(line.buf);
	pthread_mutex_lock(&lock);
	mask_locked(line.buf);
	fflush(stdout);
	fprintf(stderr, "%s\n", line.buf);
	fflush(stderr);
	pthread_mutex_unlock(&lock);
	cs_buf_release(&line);
}

/* Write s (len bytes) to f, masked, under the lock. */
static void
write_masked(FILE *f, const char *s, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return;
	memcpy(copy, s, len);
	copy[len] = '\0';
	pthread_mutex_lock(&lock);
	mask_locked(copy);
	if (f == stderr)
		fflush(stdout);
	fwrite(copy, 1, strlen(copy), f);
	fflush(f);
	pthread_mutex_unlock(&lock);
	explicit_bzero(copy, len);
	free(copy);
}

static void
vline(FILE *f, const char *fmt, va_list ap)
{
	struct cs_buf line = CS_BUF_INIT;

	cs_buf_vaddf(&line, fmt, ap);
	cs_buf_addch(&line, '\n');
	write_masked(f, line.buf, line.len);
	cs_buf_release(&line);
}

void
cs_out(const char *fmt, ...)
{
	va_list ap;

	if (cur_level < CS_LOG_INFO)
		return;
	va_start(ap, fmt);
	vline(stderr, fmt, ap);
	va_end(ap);
}

void
cs_out_progress_raw(const char *s, size_t len)
{
	if (cur_level >= CS_LOG_INFO)
		write_masked(stderr, s, len);
}

void
cs_result(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(stdout, fmt, ap);
	va_end(ap);
}

void
cs_out_raw(const char *s, size_t len)
{
	write_masked(stdout, s, len);
}
