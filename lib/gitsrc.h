/*
 * Fetch the source of a build: clone a git repository into a work directory
 * and check out one commit (detached, forced), submodules updated
 * recursively. libgit2 must have been initialized (git_libgit2_init(), once,
 * in main()).
 *
 * URLs: https://, http://, ssh://, scp-like "user@host:path", file:// and
 * local paths. Credentials: an HTTPS token read from a file (user: the one
 * in the URL, else "git"), or for SSH a private key file, else ssh-agent.
 * The token is read once, registered with cs_log_secret_add(), and wiped
 * when cs_gitsrc_checkout() returns. Messages never contain the password
 * part of a URL (see cs_gitsrc_redact_url()).
 */
#ifndef CS_GITSRC_H
#define CS_GITSRC_H

#include <signal.h>
#include <time.h>

struct cs_gitsrc_opts {
	const char *url;	/* required; borrowed */
	const char *ref;	/* branch, tag, full or abbreviated SHA; NULL = remote HEAD */
	const char *workdir;	/* destination: must not exist or be empty */
	const char *token_file; /* HTTPS token/password file, or NULL */
	const char *ssh_key;	/* SSH private key file, or NULL for ssh-agent */
	volatile sig_atomic_t *cancel; /* may be NULL; non-zero aborts (CS_EINTR) */
};

/* Filled by cs_gitsrc_checkout(); members owned, freed by cs_gitsrc_result_release(). */
struct cs_gitsrc_result {
	char commit[41];      /* full SHA-1, hex */
	char short_commit[8]; /* first 7 hex digits */
	time_t commit_time;   /* committer time of the commit (for image.created) */
	char *source_url;     /* opts->url without credentials (cs_gitsrc_redact_url) */
};

/*
 * Clone opts->url into opts->workdir and check out opts->ref there:
 * the ref is tried as a branch of the remote, then a tag (annotated tags
 * peeled), then as a commit SHA or unique SHA prefix (git_revparse_single).
 * Submodules are then initialized and updated, recursively, with the same
 * credentials. *out need not be initialized; it is filled on success only.
 * Errors:
 *   CS_EGIT    clone, fetch, ref resolution or checkout failed; the message
 *              names the URL (credentials removed) and the ref, e.g.
 *              "ref 'nope' not found in 'file:///tmp/x'";
 *   CS_EAUTH   the remote refused the credentials;
 *   CS_EIO     the token or key file cannot be read;
 *   CS_EINVAL  missing url or workdir, empty token file;
 *   CS_EINTR   *opts->cancel became non-zero.
 * On failure the work directory may hold a partial clone: the caller removes it.
 */
int cs_gitsrc_checkout(struct cs_gitsrc_result *out, const struct cs_gitsrc_opts *opts);

/* Free the members of r; accepts a zeroed or released struct and NULL. */
void cs_gitsrc_result_release(struct cs_gitsrc_result *r);

/*
 * A copy of url that is safe to show and to put in a label. For http(s) any
 * userinfo ("user:pass@", or a bare token "tok@") is removed; for other
 * URL schemes (ssh://, git://, ...) only the ":password" part is removed and
 * the user name kept; scp-like "git@host:path" and local paths are unchanged.
 * Caller frees.
 */
char *cs_gitsrc_redact_url(const char *url);

/*
 * Overwrite, in place and with '*', the credentials of a URL given as a
 * command-line argument, so that /proc/PID/cmdline no longer shows them
 * (curl's cleanarg): the password of scheme://user:password@host/..., and
 * for http(s) a bare token (tok@host); a password holding '/', '?' or '#'
 * too (the text up to the last '@'). The length is kept. main() calls it on
 * the argv string after copying it. Returns the number of bytes masked.
 */
size_t cs_gitsrc_scrub_arg(char *arg);

/*
 * Semi-private (tested): host[:port] of a URL or of scp-like
 * "user@host:path", as the token is offered only to the host of opts->url;
 * NULL for a local path. Caller frees.
 */
char *cs_gitsrc__url_host(const char *url);

#endif
