/*
 * Git source checkout on libgit2: clone without checkout, resolve the ref
 * (branch, tag, SHA), check the commit out detached, then update submodules
 * recursively. libgit2 errors are converted here, once, into CS_EGIT messages
 * that name the URL with its credentials removed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "gitsrc.h"
#include "log.h"
#include "strvec.h"
#include "xalloc.h"

#define TOKEN_MAX ((size_t)64 << 10)
#define SUBMODULE_DEPTH_MAX 16

struct ctx {
	const struct cs_gitsrc_opts *opts;
	char *shown_url;     /* opts->url, redacted */
	char *host;	     /* host[:port] of opts->url; the token is sent only there */
	struct cs_buf token; /* HTTPS token (secret; wiped) */
	int userpass_tries;
	int ssh_tries;
	int auth_failed;
	int cancelled;
};

static int
is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

char *
cs_gitsrc_redact_url(const char *url)
{
	const char *sep = strstr(url, "://"), *auth, *end, *at, *colon;

	if (sep == NULL)
		return cs_xstrdup(url); /* scp-like or a path: git allows no password there */
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	if (at == NULL)
		return cs_xstrdup(url);
	if (is_http(url))
		return cs_xasprintf("%.*s%s", (int)(auth - url), url, at + 1);
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon == NULL)
		return cs_xstrdup(url);
	return cs_xasprintf("%.*s%s", (int)(colon - url), url, at);
}

char *
cs_gitsrc__url_host(const char *url)
{
	const char *sep = strstr(url, "://"), *p, *end, *at;

	if (sep != NULL) {
		p = sep + 3;
		end = p + strcspn(p, "/?#");
		at = memrchr(p, '@', (size_t)(end - p));
		if (at != NULL)
			p = at + 1;
		return cs_xstrndup(p, (size_t)(end - p));
	}
	end = strchr(url, ':');
	if (end == NULL || memchr(url, '/', (size_t)(end - url)) != NULL)
		return NULL;
	at = memrchr(url, '@', (size_t)(end - url));
	p = at ? at + 1 : url;
	return cs_xstrndup(p, (size_t)(end - p));
}

/* Register s[0, n) and its percent-decoded form as secrets. */
static void
add_secret(const char *s, size_t n)
{
	char *raw = cs_xstrndup(s, n), *dec = cs_xmalloc(n + 1);
	size_t i, j = 0;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1 &&
		    isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			dec[j++] = (char)v;
			i += 2;
		} else {
			dec[j++] = s[i];
		}
	}
	dec[j] = '\0';
	cs_log_secret_add(raw);
	if (strcmp(raw, dec) != 0 && strlen(dec) == j)
		cs_log_secret_add(dec);
	explicit_bzero(raw, n);
	explicit_bzero(dec, n);
	free(raw);
	free(dec);
}

/*
 * The password in scheme://user:pass@host/..., registered so it is masked
 * everywhere, before anything parses the URL. A password holding '/', '?' or
 * '#' ends the authority early for a URL parser (libgit2 then reports a
 * "malformed URL" quoting all of it), so the text up to the last '@' of the
 * whole URL counts as user:password too, and '+' or '%2B' are masked both
 * as written and decoded.
 */
static void
register_url_password(const char *url)
{
	const char *sep = strstr(url, "://"), *auth, *end, *at, *colon;

	if (sep == NULL)
		return;
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	if ((at = memrchr(auth, '@', (size_t)(end - auth))) != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon)
			add_secret(colon + 1, (size_t)(at - colon - 1));
		else if (is_http(url))
			add_secret(auth, (size_t)(at - auth));
	}
	/* the loose reading: userinfo up to the last '@' anywhere */
	if ((at = strrchr(auth, '@')) != NULL && at >= end &&
	    (colon = memchr(auth, ':', (size_t)(at - auth))) != NULL)
		add_secret(colon + 1, (size_t)(at - colon - 1));
}

static size_t
mask(char *from, char *to)
{
	size_t n = (size_t)(to - from);

	memset(from, '*', n);
	return n;
}

size_t
cs_gitsrc_scrub_arg(char *arg)
{
	char *sep = strstr(arg, "://"), *auth, *end, *at, *colon;
	size_t n = 0;

	if (sep == NULL)
		return 0;
	auth = sep + 3;
	/* the loose reading first: userinfo up to the last '@' anywhere (see above) */
	if ((at = strrchr(auth, '@')) != NULL && (colon = memchr(auth, ':', (size_t)(at - auth))) &&
	    memchr(auth, '/', (size_t)(colon - auth)) == NULL)
		n += mask(colon + 1, at);
	end = auth + strcspn(auth, "/?#");
	if ((at = memrchr(auth, '@', (size_t)(end - auth))) != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon)
			n += mask(colon + 1, at);
		else if (is_http(arg))
			n += mask(auth, at);
	}
	return n;
}

static int
cancelled(struct ctx *c)
{
	if (c->opts->cancel != NULL && *c->opts->cancel) {
		c->cancelled = 1;
		git_error_set_str(GIT_ERROR_NONE, "interrupted");
		return 1;
	}
	return 0;
}

static int
progress_cb(const git_indexer_progress *stats, void *payload)
{
	(void)stats;
	return cancelled(payload) ? GIT_EUSER : 0;
}

static int
sideband_cb(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return cancelled(payload) ? GIT_EUSER : 0;
}

static int
notify_cb(git_checkout_notify_t why, const char *path, const git_diff_file *baseline,
	  const git_diff_file *target, const git_diff_file *workdir, void *payload)
{
	(void)why;
	(void)path;
	(void)baseline;
	(void)target;
	(void)workdir;
	return cancelled(payload) ? GIT_EUSER : 0;
}

static int
cred_cb(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
	void *payload)
{
	struct ctx *c = payload;
	const char *user = user_from_url && *user_from_url ? user_from_url : "git";
	char *host;
	int same_host;

	if (cancelled(c))
		return GIT_EUSER;
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->token.len > 0) {
		/* never hand the token to another host (a submodule elsewhere) */
		host = cs_gitsrc__url_host(url);
		same_host = host != NULL && c->host != NULL && strcasecmp(host, c->host) == 0;
		free(host);
		if (same_host) {
			if (c->userpass_tries++ > 0) {
				c->auth_failed = 1;
				git_error_set_str(GIT_ERROR_NET, "the token was refused");
				return GIT_EAUTH;
			}
			return git_credential_userpass_plaintext_new(out, user, c->token.buf);
		}
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		if (c->ssh_tries++ > 0) {
			c->auth_failed = 1;
			git_error_set_str(GIT_ERROR_SSH, c->opts->ssh_key
							     ? "the SSH key was refused"
							     : "ssh-agent offered no "
							       "accepted key");
			return GIT_EAUTH;
		}
		if (c->opts->ssh_key != NULL)
			return git_credential_ssh_key_new(out, user, NULL, c->opts->ssh_key, NULL);
		return git_credential_ssh_key_from_agent(out, user);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	c->auth_failed = 1;
	git_error_set_str(GIT_ERROR_NET, "the remote asks for credentials and none are configured "
					 "for this host");
	return GIT_EAUTH;
}

static void
fetch_options(git_fetch_options *fo, struct ctx *c)
{
	fo->callbacks.credentials = cred_cb;
	fo->callbacks.transfer_progress = progress_cb;
	fo->callbacks.sideband_progress = sideband_cb;
	fo->callbacks.payload = c;
	/* http.proxy or the http_proxy/https_proxy environment, as git does */
	fo->proxy_opts.type = GIT_PROXY_AUTO;
}

static void
checkout_options(git_checkout_options *co, struct ctx *c)
{
	co->checkout_strategy = GIT_CHECKOUT_FORCE;
	co->notify_flags = GIT_CHECKOUT_NOTIFY_UPDATED;
	co->notify_cb = notify_cb;
	co->notify_payload = c;
}

/*
 * Convert the last libgit2 error into ours. what says what failed ("clone",
 * "submodule 'x' of"); the libgit2 text may contain the raw URL, which is
 * replaced by the redacted one.
 */
/*
 * The file system of the work directory is full (libgit2 says "No space
 * left on device", or names only a file, or nothing): the message must name
 * the directory, which TMPDIR chose.
 */
static int
workdir_full(const struct ctx *c, const char *m)
{
	struct statvfs st;
	char *parent, *slash;
	int full;

	if (strstr(m, strerror(ENOSPC)) != NULL)
		return 1;
	if (statvfs(c->opts->workdir, &st) == 0)
		return st.f_bavail == 0;
	/* a failed clone removes the directory: look at its parent */
	parent = cs_xstrdup(c->opts->workdir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	full = statvfs(parent, &st) == 0 && st.f_bavail == 0;
	free(parent);
	return full;
}

static int
git_fail(struct ctx *c, int code, const char *what, const char *url_shown)
{
	const git_error *e = git_error_last();
	struct cs_buf msg = CS_BUF_INIT;
	const char *m = e && e->message ? e->message : "unknown error", *hit;
	const char *raw = c->opts->url;
	int error;

	if (c->cancelled || (c->opts->cancel && *c->opts->cancel))
		return cs_err_set(CS_EINTR, "interrupted: %s '%s'", what, url_shown);
	while (*raw && (hit = strstr(m, raw)) != NULL) {
		cs_buf_add(&msg, m, (size_t)(hit - m));
		cs_buf_adds(&msg, c->shown_url);
		m = hit + strlen(raw);
	}
	cs_buf_adds(&msg, m);
	if (c->auth_failed || code == GIT_EAUTH)
		error = cs_err_set(CS_EAUTH, "authentication failed: %s '%s': %s", what, url_shown,
				   msg.buf);
	else if (workdir_full(c, msg.buf))
		error = cs_err_set(CS_EGIT, "%s '%s': the work directory '%s' is full: %s", what,
				   url_shown, c->opts->workdir, msg.buf);
	else
		error = cs_err_set(CS_EGIT, "%s '%s': %s", what, url_shown, msg.buf);
	cs_buf_release(&msg);
	return error;
}

static int
read_token(struct ctx *c, const char *path)
{
	char chunk[4096];
	ssize_t n;
	size_t start = 0;
	int fd, error = 0;

	cs_buf_init(&c->token, TOKEN_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cs_err_set(CS_EIO, "cannot open token file '%s': %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cs_err_set(CS_EIO, "cannot read token file '%s': %s", path,
					   strerror(errno));
			break;
		}
		if (cs_buf_add(&c->token, chunk, (size_t)n) < 0) {
			error = cs_err_set(CS_ETOOBIG, "token file '%s' is too large", path);
			break;
		}
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (error == 0) {
		cs_buf_rtrim(&c->token);
		while (start < c->token.len && strchr(" \t\r\n", c->token.buf[start]))
			start++;
		if (start > 0) {
			memmove(c->token.buf, c->token.buf + start, c->token.len - start + 1);
			c->token.len -= start;
		}
		if (c->token.len == 0 || strlen(c->token.buf) != c->token.len)
			error = cs_err_set(CS_EINVAL, "token file '%s' is empty or not text", path);
	}
	if (error < 0)
		cs_buf_wipe(&c->token);
	else
		cs_log_secret_add(c->token.buf);
	return error;
}

static int
peel_ref(git_object **out, git_repository *repo, const char *name)
{
	git_reference *r = NULL;
	int rc;

	if ((rc = git_reference_lookup(&r, repo, name)) == 0)
		rc = git_reference_peel(out, r, GIT_OBJECT_COMMIT);
	git_reference_free(r);
	return rc;
}

static int
is_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return n >= 4 && n <= GIT_OID_HEXSZ && s[n] == '\0';
}

/*
 * A full SHA that no ref of the remote reaches (a pull-request head, a
 * pruned branch): ask the remote for that object directly. Failures are
 * ignored here: the caller reports "not found".
 */
static void
fetch_sha(git_repository *repo, const char *sha, struct ctx *c)
{
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_remote *remote = NULL;
	char spec[GIT_OID_HEXSZ + 40];
	char *specs[1] = {spec};
	git_strarray refspecs = {specs, 1};

	if (strlen(sha) != GIT_OID_HEXSZ || git_remote_lookup(&remote, repo, "origin") < 0)
		return;
	snprintf(spec, sizeof(spec), "+%s:refs/remotes/origin/cs-fetched", sha);
	fetch_options(&fo, c);
	if (git_remote_fetch(remote, &refspecs, &fo, NULL) < 0)
		cs_log(CS_LOG_DEBUG, "fetch of commit %s: %s", sha,
		       git_error_last() ? git_error_last()->message : "failed");
	git_remote_free(remote);
}

static int
resolve(git_object **out, git_repository *repo, const char *ref, struct ctx *c)
{
	git_reference *head = NULL;
	git_object *obj = NULL;
	char *name = NULL;
	int rc, error = 0;

	*out = NULL;
	if (ref == NULL) {
		if (git_repository_head(&head, repo) < 0 ||
		    git_reference_peel(out, head, GIT_OBJECT_COMMIT) < 0)
			error = cs_err_set(CS_EGIT, "the remote HEAD of '%s' is not a commit: %s",
					   c->shown_url,
					   git_error_last() ? git_error_last()->message : "?");
		goto out;
	}
	if (strncmp(ref, "refs/heads/", 11) == 0)
		name = cs_xasprintf("refs/remotes/origin/%s", ref + 11);
	else if (strncmp(ref, "refs/", 5) == 0)
		name = cs_xstrdup(ref);
	if (name != NULL && peel_ref(out, repo, name) == 0)
		goto out;
	free(name);
	name = cs_xasprintf("refs/remotes/origin/%s", ref);
	if (peel_ref(out, repo, name) == 0)
		goto out;
	free(name);
	name = cs_xasprintf("refs/tags/%s", ref);
	if (peel_ref(out, repo, name) == 0)
		goto out;
	rc = git_revparse_single(&obj, repo, ref);
	if (rc == GIT_ENOTFOUND && is_hex(ref)) {
		fetch_sha(repo, ref, c);
		rc = git_revparse_single(&obj, repo, ref);
	}
	if (rc == GIT_EAMBIGUOUS) {
		error = cs_err_set(CS_EGIT, "ref '%s' is ambiguous in '%s'", ref, c->shown_url);
	} else if (rc < 0) {
		error = cs_err_set(CS_EGIT, "ref '%s' not found in '%s'", ref, c->shown_url);
	} else if (git_object_peel(out, obj, GIT_OBJECT_COMMIT) < 0) {
		*out = NULL;
		error = cs_err_set(CS_EGIT, "ref '%s' in '%s' does not point to a commit", ref,
				   c->shown_url);
	}
out:
	git_object_free(obj);
	git_reference_free(head);
	free(name);
	return error;
}

static int
collect_submodule(git_submodule *sm, const char *name, void *payload)
{
	(void)sm;
	cs_strvec_push(payload, name);
	return 0;
}

static int
update_submodules(git_repository *repo, struct ctx *c, int depth)
{
	struct cs_strvec names = CS_STRVEC_INIT;
	git_submodule *sm = NULL;
	git_repository *sub = NULL;
	char *shown = NULL, *what = NULL;
	size_t i;
	int rc, error = 0;

	if (depth > SUBMODULE_DEPTH_MAX)
		return cs_err_set(CS_EGIT, "submodules of '%s' nest deeper than %d levels",
				  c->shown_url, SUBMODULE_DEPTH_MAX);
	if ((rc = git_submodule_foreach(repo, collect_submodule, &names)) < 0) {
		error = git_fail(c, rc, "cannot list the submodules of", c->shown_url);
		goto out;
	}
	for (i = 0; i < names.nr; i++) {
		git_submodule_update_options uo = GIT_SUBMODULE_UPDATE_OPTIONS_INIT;

		if (cancelled(c)) {
			error =
			    cs_err_set(CS_EINTR, "interrupted: submodules of '%s'", c->shown_url);
			goto out;
		}
		what = cs_xasprintf("submodule '%s' of", names.v[i]);
		if ((rc = git_submodule_lookup(&sm, repo, names.v[i])) < 0) {
			error = git_fail(c, rc, what, c->shown_url);
			goto out;
		}
		if (git_submodule_head_id(sm) == NULL) {
			/* in .gitmodules but no gitlink in the commit: nothing to check out */
			cs_log(CS_LOG_DEBUG, "submodule '%s' is not in the commit, skipped",
			       names.v[i]);
			git_submodule_free(sm);
			sm = NULL;
			CS_FREE_AND_NULL(what);
			continue;
		}
		shown = cs_gitsrc_redact_url(git_submodule_url(sm) ? git_submodule_url(sm) : "");
		register_url_password(git_submodule_url(sm) ? git_submodule_url(sm) : "");
		free(what);
		what = cs_xasprintf("submodule '%s' ('%s') of", names.v[i], shown);
		checkout_options(&uo.checkout_opts, c);
		fetch_options(&uo.fetch_opts, c);
		uo.fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_AUTO;
		if ((rc = git_submodule_update(sm, 1, &uo)) < 0 ||
		    (rc = git_submodule_open(&sub, sm)) < 0) {
			error = git_fail(c, rc, what, c->shown_url);
			goto out;
		}
		if ((error = update_submodules(sub, c, depth + 1)) < 0)
			goto out;
		git_repository_free(sub);
		sub = NULL;
		git_submodule_free(sm);
		sm = NULL;
		CS_FREE_AND_NULL(shown);
		CS_FREE_AND_NULL(what);
	}
out:
	git_repository_free(sub);
	git_submodule_free(sm);
	free(shown);
	free(what);
	cs_strvec_clear(&names);
	return error;
}

int
cs_gitsrc_checkout(struct cs_gitsrc_result *out, const struct cs_gitsrc_opts *opts)
{
	struct ctx c = {.opts = opts, .token = CS_BUF_INIT};
	git_clone_options clo = GIT_CLONE_OPTIONS_INIT;
	git_checkout_options cko = GIT_CHECKOUT_OPTIONS_INIT;
	git_repository *repo = NULL;
	git_object *commit = NULL;
	int rc, error = 0;

	memset(out, 0, sizeof(*out));
	if (opts->url == NULL || *opts->url == '\0' || opts->workdir == NULL ||
	    *opts->workdir == '\0')
		return cs_err_set(CS_EINVAL, "git source: a URL and a work directory are needed");
	c.shown_url = cs_gitsrc_redact_url(opts->url);
	c.host = cs_gitsrc__url_host(opts->url);
	register_url_password(opts->url);
	if (opts->token_file != NULL && (error = read_token(&c, opts->token_file)) < 0)
		goto out;
	if (cancelled(&c)) {
		error = cs_err_set(CS_EINTR, "interrupted: clone '%s'", c.shown_url);
		goto out;
	}

	clo.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
	fetch_options(&clo.fetch_opts, &c);
	/* tags that no branch reaches can be built too */
	clo.fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
	if ((rc = git_clone(&repo, opts->url, opts->workdir, &clo)) < 0) {
		error = git_fail(&c, rc, "cannot clone", c.shown_url);
		goto out;
	}
	if ((error = resolve(&commit, repo, opts->ref, &c)) < 0)
		goto out;

	checkout_options(&cko, &c);
	if ((rc = git_checkout_tree(repo, commit, &cko)) < 0 ||
	    (rc = git_repository_set_head_detached(repo, git_object_id(commit))) < 0) {
		error = git_fail(&c, rc, "cannot check out", c.shown_url);
		goto out;
	}
	if ((error = update_submodules(repo, &c, 0)) < 0)
		goto out;

	git_oid_tostr(out->commit, sizeof(out->commit), git_object_id(commit));
	memcpy(out->short_commit, out->commit, 7);
	out->short_commit[7] = '\0';
	out->commit_time = (time_t)git_commit_time((const git_commit *)commit);
	out->source_url = c.shown_url;
	c.shown_url = NULL;
out:
	git_object_free(commit);
	git_repository_free(repo);
	cs_buf_wipe(&c.token);
	free(c.shown_url);
	free(c.host);
	return error;
}

void
cs_gitsrc_result_release(struct cs_gitsrc_result *r)
{
	if (r == NULL)
		return;
	CS_FREE_AND_NULL(r->source_url);
	memset(r, 0, sizeof(*r));
}
