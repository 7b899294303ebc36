/*
 * lib/registry against a canned registry (tests/data/fakes/registry.py) for
 * what the real one will not do on demand: 5xx and 429 bursts, and the bearer
 * token flow. The real registry (TLS + htpasswd) is exercised by the
 * integration tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "http.h"
#include "log.h"
#include "registry.h"
#include "tests/unit/test.h"
#include "xalloc.h"

extern char **environ;

static pid_t server_pid, tls_pid;
static int server_out = -1, tls_out = -1;
static char server_host[64], tls_host[64];

#define TLS_DIR "tests/data/fakes/tls"

/* Wait (up to 10 s) until the server accepts connections. */
static int
wait_listening(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int i;

	for (i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

		ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return i;
		usleep(50000);
	}
	return -1;
}

/* Start registry.py with argv (argv[0] "python3"); host gets 127.0.0.1:PORT. */
static int
start_one(pid_t *pid, int *out, char *host, size_t hostlen, char **argv)
{
	posix_spawn_file_actions_t fa;
	int fds[2];
	char port[16] = "";
	ssize_t n;

	if (pipe(fds) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawnp(pid, "python3", &fa, NULL, argv, environ) != 0)
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	/* keep our end open: the server may still be writing when we have the port */
	*out = fds[0];
	n = read(fds[0], port, sizeof(port) - 1);
	if (n <= 0)
		return -1;
	port[strcspn(port, "\n")] = '\0';
	snprintf(host, hostlen, "127.0.0.1:%s", port);
	return wait_listening(atoi(port));
}

static int
start_server(void)
{
	char a0[] = "python3", a1[] = "tests/data/fakes/registry.py", a2[] = "--tls",
	     a3[] = TLS_DIR "/server.crt", a4[] = TLS_DIR "/server.key";
	char *argv[] = {a0, a1, NULL};
	char *targv[] = {a0, a1, a2, a3, a4, NULL, NULL};
	int rc;

	if ((rc = start_one(&server_pid, &server_out, server_host, sizeof(server_host), argv)) < 0)
		return rc;
	/* the TLS server's http:// realm is the plain server's /token */
	targv[5] = strchr(server_host, ':') + 1;
	return start_one(&tls_pid, &tls_out, tls_host, sizeof(tls_host), targv);
}

static struct cs_registry *
open_fake(const char *user, const char *password)
{
	struct cs_registry_opts o = {
	    .host = server_host, .username = user, .password = password, .plain_http = 1};
	struct cs_registry *r = NULL;

	if (cs_registry_open(&r, &o) < 0)
		return NULL;
	return r;
}

static void
test_registry__check_answers_basic_challenge(void)
{
	struct cs_registry *r = open_fake("u", "p");

	T_ASSERT(r != NULL);
	T_ASSERT_INT(cs_registry_check(r), 0);
	cs_registry_free(r);
}

static void
test_registry__wrong_password_is_an_auth_error_at_once(void)
{
	struct cs_registry *r = open_fake("u", "wrong-password");

	T_ASSERT_INT(cs_registry_check(r), CS_EAUTH);
	T_ASSERT(strstr(cs_err_msg(), "authentication failed for user 'u'") != NULL);
	T_ASSERT(strstr(cs_err_msg(), "wrong-password") == NULL);
	cs_registry_free(r);
}

static void
test_registry__503_burst_is_retried(void)
{
	struct cs_registry *r = open_fake(NULL, NULL);
	char *digest = NULL;

	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "flaky", "t"), 0);
	T_ASSERT(digest != NULL && strncmp(digest, "sha256:abab", 11) == 0);
	free(digest);
	cs_registry_free(r);
}

static void
test_registry__429_forever_gives_up(void)
{
	struct cs_registry_opts o = {.host = server_host, .plain_http = 1, .max_attempts = 3};
	struct cs_registry *r = NULL;
	char *digest = NULL;

	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "busy", "t"), CS_EHTTP);
	T_ASSERT(strstr(cs_err_msg(), "HTTP 429") != NULL);
	T_ASSERT(digest == NULL);
	cs_registry_free(r);
}

static void
test_registry__bearer_token_flow(void)
{
	struct cs_registry *r = open_fake("u", "p");
	char *digest = NULL;

	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "bearer", "t"), 0);
	T_ASSERT(digest != NULL);
	free(digest);
	cs_registry_free(r);
}

static void
test_registry__missing_manifest_is_not_found(void)
{
	struct cs_registry *r = open_fake(NULL, NULL);
	char *digest = NULL;

	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "nope", "t"), CS_ENOTFOUND);
	cs_registry_free(r);
}

/* The manifest's own digest is computed, and its config digest (the image ID) given. */
static void
test_registry__manifest_config(void)
{
	struct cs_registry *r = open_fake(NULL, NULL);
	char *digest = NULL, *config = NULL;

	T_ASSERT_INT(cs_registry_manifest_config(&digest, &config, r, "img", "t"), 0);
	T_ASSERT(digest != NULL && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71);
	T_ASSERT_STR(config,
		     "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	free(digest);
	free(config);
	T_ASSERT_INT(cs_registry_manifest_config(&digest, &config, r, "liar", "t"), CS_EHTTP);
	T_ASSERT(strstr(cs_err_msg(), "but the registry calls it sha256:abab") != NULL);
	T_ASSERT(digest == NULL && config == NULL);
	T_ASSERT_INT(cs_registry_manifest_config(&digest, &config, r, "list", "t"), CS_EHTTP);
	T_ASSERT(strstr(cs_err_msg(), "not an image manifest") != NULL);
	T_ASSERT_INT(cs_registry_manifest_config(&digest, &config, r, "nope", "t"), CS_ENOTFOUND);
	cs_registry_free(r);
}

static volatile sig_atomic_t cancel_flag;

static void
on_alarm(int sig)
{
	cancel_flag = sig;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A registry that accepts and never answers: the cancel flag stops the wait at once. */
static void
test_registry__cancel_stops_a_hanging_request(void)
{
	struct cs_registry_opts o = {.host = server_host, .plain_http = 1, .cancel = &cancel_flag};
	struct cs_registry *r = NULL;
	struct sigaction sa;
	char *digest = NULL;
	double t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	cancel_flag = 0;
	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	t0 = now();
	alarm(1);
	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "hang", "t"), CS_EINTR);
	T_ASSERT(now() - t0 < 3.0);
	T_ASSERT(digest == NULL);
	cs_registry_free(r);
	signal(SIGALRM, SIG_DFL);
}

/* Without a signal, the stall limit ends it (one attempt here). */
static void
test_registry__stalled_request_times_out(void)
{
	struct cs_registry_opts o = {
	    .host = server_host, .plain_http = 1, .max_attempts = 1, .stall_seconds = 1};
	struct cs_registry *r = NULL;
	char *digest = NULL;
	double t0;

	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	t0 = now();
	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "hang", "t"), CS_ETIMEOUT);
	T_ASSERT(now() - t0 < 5.0);
	cs_registry_free(r);
}

/* How many /token requests the plain server had. */
static long
plain_token_requests(void)
{
	struct cs_http *h = NULL;
	struct cs_http_resp resp = CS_HTTP_RESP_INIT;
	struct cs_http_req req = {.path = "/token-count"};
	char *url = NULL;
	long n = -1;

	if (asprintf(&url, "http://%s", server_host) < 0)
		return -1;
	if (cs_http_new(&h, url, NULL) == 0 && cs_http_do(h, &req, &resp) == 0 &&
	    resp.status == 200)
		n = strtol(resp.body.buf, NULL, 10);
	cs_http_resp_release(&resp);
	cs_http_free(h);
	free(url);
	return n;
}

/*
 * A TLS registry with a private CA: the token server of an https realm is
 * verified with that CA too (it failed before), and an http:// realm gets no
 * credentials (they went there in clear before).
 */
static void
test_registry__bearer_realm_tls(void)
{
	struct cs_registry_opts o = {.host = tls_host,
				     .ca_file = TLS_DIR "/ca.crt",
				     .username = "u",
				     .password = "p",
				     .max_attempts = 1};
	struct cs_registry *r = NULL;
	char *digest = NULL;
	long before;

	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "bearer", "t"), 0);
	T_ASSERT(digest != NULL);
	CS_FREE_AND_NULL(digest);
	cs_registry_free(r);

	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	before = plain_token_requests();
	T_ASSERT(before >= 0);
	T_ASSERT_INT(cs_registry_manifest_digest(&digest, r, "bearer-http", "t"), CS_EAUTH);
	T_ASSERT(strstr(cs_err_msg(), "over plain HTTP") != NULL);
	T_ASSERT(strstr(cs_err_msg(), "http://127.0.0.1:") != NULL);
	T_ASSERT_INT(plain_token_requests(), before);
	T_ASSERT(digest == NULL);
	cs_registry_free(r);
}

/*
 * A certificate the client cannot verify is final: no retries, no backoff.
 * Timed against one attempt, so a slow handshake (sanitizers) does not matter.
 */
static void
test_registry__certificate_error_is_not_retried(void)
{
	struct cs_registry_opts o = {
	    .host = tls_host, .ca_file = "/etc/ssl/certs/ca-certificates.crt", .max_attempts = 1};
	struct cs_registry *r = NULL;
	double t0, one, all;
	int rc;

	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	t0 = now();
	rc = cs_registry_check(r);
	one = now() - t0;
	cs_registry_free(r);
	T_ASSERT_INT(rc, CS_ETLS);
	o.max_attempts = 4;
	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	t0 = now();
	rc = cs_registry_check(r);
	all = now() - t0;
	cs_registry_free(r);
	T_ASSERT_INT(rc, CS_ETLS);
	T_ASSERT(strstr(cs_err_msg(), "certificate") != NULL);
	T_ASSERT(all < one + 0.4); /* the first backoff alone is 0.5 s */
}

static void
test_registry__unreachable_is_a_network_error(void)
{
	struct cs_registry_opts o = {.host = "127.0.0.1:1", .plain_http = 1, .max_attempts = 2};
	struct cs_registry *r = NULL;

	T_ASSERT_INT(cs_registry_open(&r, &o), 0);
	T_ASSERT_INT(cs_registry_check(r), CS_ENET);
	T_ASSERT(strstr(cs_err_msg(), "127.0.0.1:1") != NULL);
	cs_registry_free(r);
}

static void
test_registry__bad_host_is_invalid(void)
{
	struct cs_registry_opts o = {.host = "user@host/x"};
	struct cs_registry *r = NULL;

	T_ASSERT_INT(cs_registry_open(&r, &o), CS_EINVAL);
	T_ASSERT(r == NULL);
}

int
main(void)
{
	int rc;

	cs_log_set_level(CS_LOG_ERROR);
	if ((rc = start_server()) < 0) {
		fprintf(stderr, "cannot start tests/data/fakes/registry.py\n");
		if (server_pid > 0)
			kill(server_pid, SIGTERM);
		if (tls_pid > 0)
			kill(tls_pid, SIGTERM);
		return 1;
	}
	if (rc > 0)
		fprintf(stderr, "registry.py listened after %d polls\n", rc);
	T_RUN(test_registry__check_answers_basic_challenge);
	T_RUN(test_registry__wrong_password_is_an_auth_error_at_once);
	T_RUN(test_registry__503_burst_is_retried);
	T_RUN(test_registry__429_forever_gives_up);
	T_RUN(test_registry__bearer_token_flow);
	T_RUN(test_registry__missing_manifest_is_not_found);
	T_RUN(test_registry__manifest_config);
	T_RUN(test_registry__cancel_stops_a_hanging_request);
	T_RUN(test_registry__stalled_request_times_out);
	T_RUN(test_registry__bearer_realm_tls);
	T_RUN(test_registry__certificate_error_is_not_retried);
	T_RUN(test_registry__unreachable_is_a_network_error);
	T_RUN(test_registry__bad_host_is_invalid);
	rc = T_REPORT();
	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	close(server_out);
	kill(tls_pid, SIGTERM);
	waitpid(tls_pid, NULL, 0);
	close(tls_out);
	return rc;
}
