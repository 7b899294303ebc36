/*
 * The tools' interruption: SIGINT and SIGTERM (a Jenkins abort) go to one
 * handler, which only records the signal; the tool stops at its next check.
 */
#ifndef CS_SIGNALS_H
#define CS_SIGNALS_H

/* Install handler for SIGINT and SIGTERM (no SA_RESTART: blocking calls return EINTR). */
void cs_signals_catch(void (*handler)(int));

#endif
