/* Monotonic time for timings, deadlines and backoff. */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

/* Seconds on the monotonic clock (only differences mean anything). */
double cs_clock_now(void);

/* Sleep ms milliseconds (a signal may cut it short: callers re-check their flags). */
void cs_clock_sleep_ms(long ms);

#endif
