/*
 * SIGINT/SIGTERM (a Jenkins abort): the handler only records the signal; the
 * HTTP transfers poll br_interrupted and stop, and main() cleans up.
 */
#include <signal.h>
#include <string.h>

#include "signals.h"
#include "br.h"

volatile sig_atomic_t br_interrupted;

static void
on_signal(int sig)
{
	br_interrupted = sig;
}

void
br_install_signals(void)
{
	cs_signals_catch(on_signal);
	signal(SIGPIPE, SIG_IGN);
}
