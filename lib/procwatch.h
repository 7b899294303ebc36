/*
 * Run an image in a sandbox and watch which processes it starts: the
 * image's own entrypoint, command and environment, with no network, all
 * capabilities dropped, no-new-privileges, 256 MiB of memory, 256 pids,
 * one CPU, and a read-only root filesystem (tmpfs on /tmp, /run and
 * /var/tmp, CS_PROCWATCH_TMPFS). An image that cannot run read-only (it does
 * not start, or stops with a non-zero code before the observation ends) is
 * observed a second time with a writable root; the processes of both runs
 * count.
 * The process list is sampled through the engine (GET /containers/{id}/top)
 * several times during the observation; the container is always removed.
 */
#ifndef CS_PROCWATCH_H
#define CS_PROCWATCH_H

#include <signal.h>

#include "docker.h"
#include "strvec.h"

/* Docker's tmpfs options for /tmp, /run and /var/tmp under a read-only root. */
#define CS_PROCWATCH_TMPFS "rw,nosuid,nodev,size=64m"

struct cs_procwatch {
	struct cs_strvec names;	   /* comm of each distinct process seen */
	struct cs_strvec cmdlines; /* its full command line (same index) */
	int samples;		   /* process lists taken */
	int started;		   /* 0: nothing ran (see note) */
	int exited;		   /* the container stopped before the end */
	int exit_code;		   /* its exit code, when exited */
	double exited_after;	   /* seconds after start, when exited */
	char *note;		   /* why nothing ran, or NULL (e.g. "image has no command") */
	char *container;	   /* the container's name, "cs-val-<random>" */
	int read_only;		   /* the observed run had a read-only root */
	int read_only_failed;	   /* a read-only run failed: observed writable */
};

/* clang-format off */
#define CS_PROCWATCH_INIT { .names = CS_STRVEC_INIT, .cmdlines = CS_STRVEC_INIT }
/* clang-format on */

/*
 * Create, start and observe a container of image for seconds (> 0), then
 * remove it (DELETE ?force=1&v=1), also on error and when *interrupted
 * (may be NULL) becomes non-zero during the observation (CS_EINTR). An image
 * without a command, or a container that cannot start, is not an error: out
 * then has started == 0 and a note. out must be CS_PROCWATCH_INIT; release
 * it with cs_procwatch_release. Errors: CS_ENOTFOUND (no such image),
 * CS_ENET, CS_EHTTP (the engine refused), CS_EINTR.
 */
int cs_procwatch_run(struct cs_procwatch *out, struct cs_docker *d, const char *image,
		     double seconds, volatile sig_atomic_t *interrupted);

void cs_procwatch_release(struct cs_procwatch *pw);

#endif
