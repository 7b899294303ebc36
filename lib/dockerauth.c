/*
 * Registry credentials from docker's config.json and credential helpers, and
 * the X-Registry-Auth header. Secrets pass through struct cs_buf so they can
 * be wiped; helpers get the server URL on stdin, never in argv.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "base64.h"
#include "dockerauth.h"
#include "err.h"
#include "log.h"
#include "strvec.h"
#include "xalloc.h"

#define HUB_KEY "https://index.docker.io/v1/"
#define HUB_HOST "index.docker.io"
#define FILE_MAX ((size_t)1 << 20)
#define SECRET_FILE_MAX ((size_t)64 << 10)
#define HELPER_OUT_MAX ((size_t)64 << 10)

extern char **environ;

static int helper_timeout_ms = CS_DOCKERAUTH_HELPER_TIMEOUT_MS;
static volatile sig_atomic_t *helper_cancel;

volatile sig_atomic_t *
cs_dockerauth_set_cancel(volatile sig_atomic_t *flag)
{
	volatile sig_atomic_t *prev = helper_cancel;

	helper_cancel = flag;
	return prev;
}

/* The longest poll() without looking at the cancel flag (a signal may land just before it). */
#define CANCEL_POLL_MS 100

void
cs_dockerauth__set_helper_timeout(int ms)
{
	helper_timeout_ms = ms > 0 ? ms : CS_DOCKERAUTH_HELPER_TIMEOUT_MS;
}

static void
free_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void
cs_dockerauth_release(struct cs_dockerauth *auth)
{
	if (auth == NULL)
		return;
	CS_FREE_AND_NULL(auth->username);
	free_secret(&auth->password);
	free_secret(&auth->identitytoken);
	CS_FREE_AND_NULL(auth->server);
}

static char *
secret_dup(const char *s)
{
	cs_log_secret_add(s);
	return cs_xstrdup(s);
}

/* Read all of fd into out (capped at max). */
static int
read_fd(struct cs_buf *out, int fd, size_t max, const char *what)
{
	char chunk[4096];
	ssize_t n;
	int error = 0;

	cs_buf_init(out, max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR && helper_cancel && *helper_cancel) {
			error = cs_err_set(CS_EINTR, "interrupted while reading '%s'", what);
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cs_err_set(CS_EIO, "cannot read '%s': %s", what, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((error = cs_buf_add(out, chunk, (size_t)n)) < 0) {
			error = cs_err_set(CS_ETOOBIG, "'%s' is larger than %zu bytes", what, max);
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	if (error < 0)
		cs_buf_wipe(out);
	return error;
}

static int
read_file(struct cs_buf *out, const char *path, size_t max, int missing_code)
{
	int fd, error;

	cs_buf_init(out, max);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cs_err_set(errno == ENOENT ? missing_code : CS_EIO, "cannot open '%s': %s",
				  path, strerror(errno));
	error = read_fd(out, fd, max, path);
	close(fd);
	return error;
}

int
cs_dockerauth__key_host(struct cs_buf *out, const char *key)
{
	const char *slash;

	if (strncmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncmp(key, "http://", 7) == 0)
		key += 7;
	slash = strchr(key, '/');
	return cs_buf_add(out, key, slash ? (size_t)(slash - key) : strlen(key));
}

/* Compare a config key with the wanted host, after normalizing both. */
static int
key_matches(const char *key, const char *want_host)
{
	struct cs_buf h = CS_BUF_INIT;
	int match;

	cs_dockerauth__key_host(&h, key);
	if (strcmp(h.buf, "docker.io") == 0)
		match = strcmp(want_host, HUB_HOST) == 0;
	else
		match = strcmp(h.buf, want_host) == 0;
	cs_buf_release(&h);
	return match;
}

/* The member of obj for host: the exact key first, then any equivalent key. Borrowed. */
static json_t *
find_key(json_t *obj, const char *exact, const char *host)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, exact)) != NULL)
		return v;
	json_object_foreach(obj, key, v)
	{
		if (key_matches(key, host))
			return v;
	}
	return NULL;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Run prog with argument arg, write input to its stdin, collect stdout and
 * stderr (each capped) until both close, and reap it. The child is killed at
 * the deadline. *status gets the wait status.
 */
static int
run_helper(struct cs_buf *out, struct cs_buf *err, int *status, const char *prog, const char *arg,
	   const char *input)
{
	int in[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
	char *argv[3] = {(char *)prog, (char *)arg, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defs;
	struct pollfd pfd[2];
	long deadline = (long)(cs_clock_now() * 1000) + helper_timeout_ms;
	pid_t pid = -1;
	int error = 0, rc, timed_out = 0;
	char chunk[4096];
	ssize_t n;

	cs_buf_init(out, HELPER_OUT_MAX);
	cs_buf_init(err, HELPER_OUT_MAX);
	/* a socket for stdin, so a helper that exits early cannot SIGPIPE us (MSG_NOSIGNAL) */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		error =
		    cs_err_set(CS_EIO, "cannot create pipes for '%s': %s", prog, strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defs);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, prog, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		pid = -1;
		error =
		    cs_err_set(CS_EIO, "cannot run credential helper '%s': %s", prog, strerror(rc));
		goto out;
	}
	close_fd(&in[1]);
	close_fd(&po[1]);
	close_fd(&pe[1]);
	/* the payload is a short URL: it fits in the socket buffer at once */
	if (send(in[0], input, strlen(input), MSG_NOSIGNAL) < 0 && errno != EPIPE)
		cs_log(CS_LOG_DEBUG, "writing to '%s': %s", prog, strerror(errno));
	close_fd(&in[0]);

	while (po[0] >= 0 || pe[0] >= 0) {
		long left = deadline - (long)(cs_clock_now() * 1000);
		int i;

		if (helper_cancel && *helper_cancel) {
			error = cs_err_set(CS_EINTR, "interrupted while credential helper '%s' ran",
					   prog);
			goto out;
		}
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (left > CANCEL_POLL_MS)
			left = CANCEL_POLL_MS;
		pfd[0].fd = po[0];
		pfd[1].fd = pe[0];
		pfd[0].events = pfd[1].events = POLLIN;
		rc = poll(pfd, 2, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			error = cs_err_set(CS_EIO, "poll: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < 2; i++) {
			int *fd = i == 0 ? &po[0] : &pe[0];
			struct cs_buf *b = i == 0 ? out : err;

			if (*fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(*fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close_fd(fd);
				continue;
			}
			if (cs_buf_add(b, chunk, (size_t)n) < 0) {
				error = cs_err_set(CS_ETOOBIG,
						   "credential helper '%s': output over "
						   "%zu bytes",
						   prog, HELPER_OUT_MAX);
				goto out;
			}
		}
	}
	while (!timed_out && (rc = waitpid(pid, status, WNOHANG)) == 0) {
		if (helper_cancel && *helper_cancel) {
			error = cs_err_set(CS_EINTR, "interrupted while credential helper '%s' ran",
					   prog);
			goto out;
		}
		if ((long)(cs_clock_now() * 1000) >= deadline) {
			timed_out = 1;
			break;
		}
		usleep(5000);
	}
	if (timed_out) {
		error =
		    cs_err_set(CS_ETIMEOUT, "credential helper '%s' did not answer within %d ms",
			       prog, helper_timeout_ms);
		goto out;
	}
	if (rc < 0)
		error = cs_err_set(CS_EIO, "waitpid '%s': %s", prog, strerror(errno));
	pid = -1;
out:
	explicit_bzero(chunk, sizeof(chunk));
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&po[0]);
	close_fd(&po[1]);
	close_fd(&pe[0]);
	close_fd(&pe[1]);
	if (error < 0) {
		cs_buf_wipe(out);
		cs_buf_release(err);
	}
	return error;
}

/* First line of s, trimmed and shortened, for an error message. Caller frees. */
static char *
short_msg(const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	n = strcspn(s, "\r\n");
	if (n > 300)
		n = 300;
	return cs_xstrndup(s, n);
}

static int
from_helper(struct cs_dockerauth *out, const char *name, const char *server_url, const char *host)
{
	struct cs_buf sout = CS_BUF_INIT, serr = CS_BUF_INIT;
	char *prog = NULL, *msg = NULL;
	json_t *root = NULL, *user, *secret;
	json_error_t jerr;
	int status = 0, error;

	if (*name == '\0' || strchr(name, '/') != NULL)
		return cs_err_set(CS_EPARSE, "invalid credential helper name '%s'", name);
	prog = cs_xasprintf("docker-credential-%s", name);
	if ((error = run_helper(&sout, &serr, &status, prog, "get", server_url)) < 0)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		msg = short_msg(sout.len ? sout.buf : serr.buf);
		if (strstr(msg, "credentials not found") != NULL)
			error =
			    cs_err_set(CS_ENOTFOUND, "no credentials for '%s' in '%s'", host, prog);
		else if (WIFEXITED(status))
			error = cs_err_set(CS_EIO, "credential helper '%s' failed (exit %d): %s",
					   prog, WEXITSTATUS(status), msg);
		else
			error = cs_err_set(CS_EIO, "credential helper '%s' killed by signal %d: %s",
					   prog, WTERMSIG(status), msg);
		goto out;
	}
	root = json_loadb(sout.buf, sout.len, 0, &jerr);
	user = json_object_get(root, "Username");
	secret = json_object_get(root, "Secret");
	if (!json_is_object(root) || !json_is_string(user) || !json_is_string(secret)) {
		error = cs_err_set(CS_EPARSE,
				   "credential helper '%s': answer is not "
				   "{\"Username\",\"Secret\"} JSON",
				   prog);
		goto out;
	}
	if (json_string_value(secret)[0] == '\0') {
		error = cs_err_set(CS_ENOTFOUND, "no credentials for '%s' in '%s'", host, prog);
		goto out;
	}
	if (strcmp(json_string_value(user), "<token>") == 0) {
		out->identitytoken = secret_dup(json_string_value(secret));
	} else {
		out->username = cs_xstrdup(json_string_value(user));
		out->password = secret_dup(json_string_value(secret));
	}
out:
	json_decref(root);
	cs_buf_wipe(&sout);
	cs_buf_release(&serr);
	free(prog);
	free(msg);
	return error;
}

static int
from_auths_entry(struct cs_dockerauth *out, json_t *entry, const char *host, const char *path)
{
	struct cs_buf dec = CS_BUF_INIT;
	json_t *auth = json_object_get(entry, "auth");
	json_t *user = json_object_get(entry, "username");
	json_t *pass = json_object_get(entry, "password");
	json_t *tok = json_object_get(entry, "identitytoken");
	const char *a;
	char *colon;
	int error = 0;

	if (!json_is_object(entry)) {
		error = cs_err_set(CS_EPARSE, "'%s': auths entry for '%s' is not an object", path,
				   host);
		goto out;
	}
	if (json_is_string(auth) && json_string_length(auth) > 0) {
		a = json_string_value(auth);
		cs_log_secret_add(a);
		if (cs_base64_decode(&dec, a, strlen(a)) < 0 ||
		    (colon = memchr(dec.buf, ':', dec.len)) == NULL || strlen(dec.buf) != dec.len) {
			error = cs_err_set(CS_EPARSE,
					   "'%s': the auth field for '%s' is not base64 of "
					   "user:password",
					   path, host);
			goto out;
		}
		*colon = '\0';
		out->username = cs_xstrdup(dec.buf);
		out->password = secret_dup(colon + 1);
	} else if (json_is_string(user) && json_is_string(pass) && json_string_length(pass) > 0) {
		out->username = cs_xstrdup(json_string_value(user));
		out->password = secret_dup(json_string_value(pass));
	}
	if (json_is_string(tok) && json_string_length(tok) > 0)
		out->identitytoken = secret_dup(json_string_value(tok));
	if (out->password == NULL && out->identitytoken == NULL)
		error = cs_err_set(CS_ENOTFOUND, "no credentials for '%s' in '%s'", host, path);
out:
	cs_buf_wipe(&dec);
	return error;
}

static int
config_path(struct cs_buf *out)
{
	const char *dir = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");

	if (dir != NULL && *dir != '\0')
		return cs_buf_addf(out, "%s/config.json", dir);
	if (home != NULL && *home != '\0')
		return cs_buf_addf(out, "%s/.docker/config.json", home);
	return cs_err_set(CS_ENOTFOUND, "no docker config: neither DOCKER_CONFIG nor HOME is set");
}

int
cs_dockerauth_lookup(struct cs_dockerauth *out, const char *registry_host)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;
	struct cs_buf path = CS_BUF_INIT, text = CS_BUF_INIT, given = CS_BUF_INIT;
	const char *host, *key, *helper = NULL;
	json_t *root = NULL, *v;
	json_error_t jerr;
	int hub, error;

	memset(out, 0, sizeof(*out));
	/* accept "https://host/..." from a caller as docker login does */
	if (registry_host != NULL) {
		cs_dockerauth__key_host(&given, registry_host);
		registry_host = given.buf;
	}
	hub = registry_host == NULL || *registry_host == '\0' ||
	      strcmp(registry_host, "docker.io") == 0 || strcmp(registry_host, HUB_HOST) == 0;
	host = hub ? HUB_HOST : registry_host;
	key = hub ? HUB_KEY : registry_host;
	if ((error = config_path(&path)) < 0)
		goto out;
	if ((error = read_file(&text, path.buf, FILE_MAX, CS_ENOTFOUND)) < 0)
		goto out;
	root = json_loadb(text.buf, text.len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		error = cs_err_set(CS_EPARSE, "cannot parse '%s': line %d: %s", path.buf,
				   root ? 1 : jerr.line, root ? "not a JSON object" : jerr.text);
		goto out;
	}
	v = find_key(json_object_get(root, "credHelpers"), key, host);
	if (json_is_string(v))
		helper = json_string_value(v);
	else if (json_is_string(v = json_object_get(root, "credsStore")) &&
		 json_string_length(v) > 0)
		helper = json_string_value(v);
	if (helper != NULL) {
		error = from_helper(&a, helper, key, host);
	} else {
		v = find_key(json_object_get(root, "auths"), key, host);
		if (v == NULL)
			error = cs_err_set(CS_ENOTFOUND, "no credentials for '%s' in '%s'", host,
					   path.buf);
		else
			error = from_auths_entry(&a, v, host, path.buf);
	}
	if (error < 0)
		goto out;
	a.server = cs_xstrdup(hub ? "docker.io" : registry_host);
	*out = a;
	memset(&a, 0, sizeof(a));
out:
	cs_dockerauth_release(&a);
	json_decref(root);
	cs_buf_wipe(&text);
	cs_buf_release(&path);
	cs_buf_release(&given);
	return error;
}

static int
from_buf(struct cs_dockerauth *out, const char *user, struct cs_buf *pw, const char *what)
{
	if (pw->len && pw->buf[pw->len - 1] == '\n')
		pw->buf[--pw->len] = '\0';
	if (pw->len && pw->buf[pw->len - 1] == '\r')
		pw->buf[--pw->len] = '\0';
	if (pw->len == 0)
		return cs_err_set(CS_EINVAL, "empty password in '%s'", what);
	if (strlen(pw->buf) != pw->len)
		return cs_err_set(CS_EINVAL, "password in '%s' contains a NUL byte", what);
	out->username = cs_xstrdup(user);
	out->password = secret_dup(pw->buf);
	return 0;
}

int
cs_dockerauth_from_file(struct cs_dockerauth *out, const char *user, const char *path)
{
	struct cs_buf pw = CS_BUF_INIT;
	int error;

	memset(out, 0, sizeof(*out));
	if (user == NULL || *user == '\0')
		return cs_err_set(CS_EINVAL, "a registry user is needed with a password file");
	if ((error = read_file(&pw, path, SECRET_FILE_MAX, CS_EIO)) == 0)
		error = from_buf(out, user, &pw, path);
	cs_buf_wipe(&pw);
	return error;
}

int
cs_dockerauth_from_password(struct cs_dockerauth *out, const char *user, const char *password,
			    const char *what)
{
	struct cs_buf pw = CS_BUF_INIT;
	int error;

	memset(out, 0, sizeof(*out));
	if (user == NULL || *user == '\0')
		return cs_err_set(CS_EINVAL, "a registry user is needed with %s", what);
	cs_buf_adds(&pw, password ? password : "");
	error = from_buf(out, user, &pw, what);
	cs_buf_wipe(&pw);
	return error;
}

int
cs_dockerauth_from_stdin(struct cs_dockerauth *out, const char *user)
{
	struct cs_buf pw = CS_BUF_INIT;
	int error;

	memset(out, 0, sizeof(*out));
	if (user == NULL || *user == '\0')
		return cs_err_set(CS_EINVAL, "a registry user is needed with --password-stdin");
	if ((error = read_fd(&pw, 0, SECRET_FILE_MAX, "stdin")) == 0)
		error = from_buf(out, user, &pw, "stdin");
	cs_buf_wipe(&pw);
	return error;
}

static int
json_str(struct cs_buf *b, const char *s)
{
	int error = cs_buf_addch(b, '"');

	for (; *s && error == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			error = cs_buf_addf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			error = cs_buf_addf(b, "\\u%04x", c);
		else
			error = cs_buf_addch(b, c);
	}
	return error ? error : cs_buf_addch(b, '"');
}

/* Append auth as a JSON object ({"username","password","serveraddress"} or {"identitytoken"}). */
static int
auth_json(struct cs_buf *js, const struct cs_dockerauth *auth)
{
	int error;

	if (auth->identitytoken != NULL) {
		error = cs_buf_adds(js, "{\"identitytoken\":");
		if (!error)
			error = json_str(js, auth->identitytoken);
	} else if (auth->password != NULL) {
		error = cs_buf_adds(js, "{\"username\":");
		if (!error)
			error = json_str(js, auth->username ? auth->username : "");
		if (!error)
			error = cs_buf_adds(js, ",\"password\":");
		if (!error)
			error = json_str(js, auth->password);
		if (!error)
			error = cs_buf_adds(js, ",\"serveraddress\":");
		if (!error)
			error = json_str(js, auth->server ? auth->server : "");
	} else {
		return cs_err_set(CS_EINVAL, "no password or identity token for '%s'",
				  auth->server ? auth->server : "registry");
	}
	return error ? error : cs_buf_addch(js, '}');
}

int
cs_dockerauth_header(struct cs_buf *out, const struct cs_dockerauth *auth)
{
	struct cs_buf js = CS_BUF_INIT;
	size_t start = out->len;
	int error;

	error = auth_json(&js, auth);
	if (!error)
		error = cs_base64_encode(out, js.buf, js.len, CS_BASE64_URL);
	if (!error)
		cs_log_secret_add(out->buf + start);
	cs_buf_wipe(&js);
	return error;
}

int
cs_dockerauth_config_header(struct cs_buf *out, const struct cs_dockerauth *auths, size_t n)
{
	struct cs_buf js = CS_BUF_INIT;
	size_t start = out->len, i, added = 0;
	int error = cs_buf_addch(&js, '{');

	for (i = 0; i < n && error == 0; i++) {
		const struct cs_dockerauth *a = &auths[i];
		const char *key = a->server;

		if (a->password == NULL && a->identitytoken == NULL)
			continue;
		if (key == NULL || strcmp(key, "docker.io") == 0 || strcmp(key, HUB_HOST) == 0)
			key = HUB_KEY;
		if (added++ && (error = cs_buf_addch(&js, ',')) < 0)
			break;
		if ((error = json_str(&js, key)) == 0 && (error = cs_buf_addch(&js, ':')) == 0)
			error = auth_json(&js, a);
	}
	if (!error)
		error = cs_buf_addch(&js, '}');
	if (!error)
		error = cs_base64_encode(out, js.buf, js.len, CS_BASE64_URL);
	if (!error)
		cs_log_secret_add(out->buf + start);
	cs_buf_wipe(&js);
	return error;
}
