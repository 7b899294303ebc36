/*
 * SIGINT/SIGTERM (a Jenkins abort): the handler only records the signal; the
 * HTTP transfers poll br_interrupted and stop, and main() cleans up.
 */
#include <signal.h>
#include <string.h>

#include "br.h"

volatile int br_interrupted;

static void
on_signal(int sig)
{
	br_interrupted = sig;
}

void
br_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
