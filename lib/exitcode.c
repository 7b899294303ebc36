/* The one error-to-exit-code mapping of the three tools (exitcode.h). */
#include "err.h"
#include "exitcode.h"

/* Errors that mean the input was wrong, whatever the phase: nothing was changed. */
static int
is_bad_input(int error)
{
	return error == CS_EINVAL || error == CS_EPARSE || error == CS_ETOOBIG || error == CS_EIO;
}

int
cs_exit_for(int error, enum cs_phase phase, int sig)
{
	if (sig)
		return 128 + sig;
	if (error == CS_EINTR)
		return CS_EXIT_SIGTERM;
	if (error == 0)
		return CS_EXIT_OK;
	switch (phase) {
	case CS_PHASE_INPUT:
		return CS_EXIT_USAGE;
	case CS_PHASE_SOURCE:
		/* a missing, unreadable, empty or huge token file is bad input */
		if (error == CS_EINVAL || error == CS_EIO || error == CS_ETOOBIG)
			return CS_EXIT_USAGE;
		return CS_EXIT_SOURCE;
	case CS_PHASE_BUILD:
		if (error == CS_EBUILD)
			return CS_EXIT_BUILD;
		return error == CS_EINVAL ? CS_EXIT_USAGE : CS_EXIT_UNREACHABLE;
	case CS_PHASE_ENGINE:
		if (error == CS_EBUILD)
			return CS_EXIT_BUILD;
		if (is_bad_input(error) || error == CS_ENOTFOUND)
			return CS_EXIT_USAGE;
		return CS_EXIT_UNREACHABLE;
	case CS_PHASE_PUSH:
		/* an unreadable password file is bad input; the rest is the registry's */
		return error == CS_EINVAL || error == CS_EIO ? CS_EXIT_USAGE : CS_EXIT_PUSH;
	case CS_PHASE_REGISTRY:
		if (error == CS_EINVAL || error == CS_EIO || error == CS_ENOTFOUND)
			return CS_EXIT_USAGE;
		return CS_EXIT_REFUSED;
	case CS_PHASE_BAY:
		if (cs_err_unreachable(error) || error == CS_ETIMEOUT)
			return CS_EXIT_UNREACHABLE;
		if (is_bad_input(error) || error == CS_ENOTFOUND)
			return CS_EXIT_USAGE;
		return CS_EXIT_REFUSED;
	}
	return CS_EXIT_UNREACHABLE;
}
