/*
 * tweet-producer: the stream producer of the Tweet sample. It replaces the seed's reader of
 * the (dead) Twitter streaming API with an offline feed: a file of "user<TAB>text" lines,
 * read in a loop. Each message becomes a JSON item
 *     {"id":N,"user":"...","text":"...","time":"2026-01-01T00:00:00Z"}
 * written to the store, a Redis server, with the Redis protocol (RESP) spoken directly:
 *     INCR tweets:seq          -> N, the item's id
 *     LPUSH tweets ITEM        the newest item first
 *     LTRIM tweets 0 999       the latest thousand are kept
 *
 * usage: tweet-producer [--feed FILE] [--store HOST:PORT] [--interval-ms N] [--count N]
 * Environment: STORE (default store:6379), INTERVAL_MS (default 1000).
 * It waits for the store (retrying every second), reconnects when the connection breaks, and
 * exits 0 at once on SIGTERM or SIGINT. Exit 2: bad usage or unreadable feed.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tweet-producer: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Sleeps MS milliseconds or until a signal asks to stop. */
static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the feed ---- */

struct msg {
	char *user;
	char *text;
};

static struct msg *msgs;
static size_t nmsgs;

static int load_feed(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		logf_("cannot read the feed %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *tab;
		struct msg *m;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		tab = strchr(line, '\t');
		if (!tab || tab == line || !tab[1])
			continue; /* not "user<TAB>text": skipped */
		*tab = '\0';
		m = realloc(msgs, (nmsgs + 1) * sizeof(*msgs));
		if (!m)
			abort();
		msgs = m;
		msgs[nmsgs].user = strdup(line);
		msgs[nmsgs].text = strdup(tab + 1);
		if (!msgs[nmsgs].user || !msgs[nmsgs].text)
			abort();
		nmsgs++;
	}
	free(line);
	fclose(f);
	if (nmsgs == 0) {
		logf_("the feed %s has no \"user<TAB>text\" line", path);
		return -1;
	}
	return 0;
}

/* ---- a growing string ---- */

struct str {
	char *p;
	size_t len, cap;
};

static void put(struct str *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		while (cap < s->len + n + 1)
			cap *= 2;
		s->p = realloc(s->p, cap);
		if (!s->p)
			abort();
		s->cap = cap;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void puts_(struct str *s, const char *p)
{
	put(s, p, strlen(p));
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json(struct str *s, const char *p)
{
	char u[8];

	put(s, "\"", 1);
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			put(s, "\\", 1);
			put(s, p, 1);
		} else if (c < 0x20) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			puts_(s, u);
		} else {
			put(s, p, 1);
		}
	}
	put(s, "\"", 1);
}

/* ---- the store (RESP over TCP) ---- */

static int fd = -1;
static char rbuf[4096];
static size_t rlen;

static int store_connect(const char *hostport)
{
	char host[256], *colon;
	const char *port = "6379";
	struct addrinfo hints = {0}, *res, *ai;
	struct timeval tv = {5, 0};
	int err;

	snprintf(host, sizeof(host), "%s", hostport);
	colon = strrchr(host, ':');
	if (colon) {
		*colon = '\0';
		port = colon + 1;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		logf_("store %s: %s", hostport, gai_strerror(err));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		logf_("store %s: %s", hostport, strerror(errno));
		return -1;
	}
	rlen = 0;
	return 0;
}

static void store_close(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
}

/* Reads one reply line (without CRLF) into line; -1 on error or end of stream. */
static int read_line(char *line, size_t size)
{
	for (;;) {
		char *crlf = rlen ? memmem(rbuf, rlen, "\r\n", 2) : NULL;
		ssize_t n;

		if (crlf) {
			size_t len = (size_t)(crlf - rbuf);

			if (len >= size)
				return -1;
			memcpy(line, rbuf, len);
			line[len] = '\0';
			rlen -= len + 2;
			memmove(rbuf, crlf + 2, rlen);
			return 0;
		}
		if (rlen == sizeof(rbuf))
			return -1;
		n = read(fd, rbuf + rlen, sizeof(rbuf) - rlen);
		if (n <= 0)
			return -1;
		rlen += (size_t)n;
	}
}

/*
 * Sends a command (argc strings) and reads its reply, which must be a status (+) or an
 * integer (:), stored in *num. -1 on a broken connection or an error reply.
 */
static int command(long long *num, int argc, ...)
{
	struct str req = {0};
	char hdr[32], line[512];
	va_list ap;
	size_t off = 0;
	int i;

	snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
	puts_(&req, hdr);
	va_start(ap, argc);
	for (i = 0; i < argc; i++) {
		const char *a = va_arg(ap, const char *);

		snprintf(hdr, sizeof(hdr), "$%zu\r\n", strlen(a));
		puts_(&req, hdr);
		puts_(&req, a);
		puts_(&req, "\r\n");
	}
	va_end(ap);
	while (off < req.len) {
		ssize_t n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);

		if (n <= 0) {
			free(req.p);
			return -1;
		}
		off += (size_t)n;
	}
	free(req.p);
	if (read_line(line, sizeof(line)) < 0)
		return -1;
	if (line[0] == ':') {
		if (num)
			*num = strtoll(line + 1, NULL, 10);
		return 0;
	}
	if (line[0] == '+')
		return 0;
	logf_("store: %s", line);
	return -1;
}

/* ---- main ---- */

static const char *now_utc(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int usage(void)
{
	fputs("usage: tweet-producer [--feed FILE] [--store HOST:PORT] [--interval-ms N] [--count N]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *feed = "/usr/share/tweet/feed.txt";
	const char *store = getenv("STORE") ? getenv("STORE") : "store:6379";
	long interval = getenv("INTERVAL_MS") ? atol(getenv("INTERVAL_MS")) : 1000;
	long long count = 0, sent = 0;
	struct sigaction sa = {0};
	size_t next = 0;
	int i, waiting = 0;

	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--feed") == 0)
			feed = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--store") == 0)
			store = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--interval-ms") == 0)
			interval = atol(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--count") == 0)
			count = atoll(argv[++i]);
		else
			return usage();
	}
	if (interval < 0 || count < 0 || !*store)
		return usage();
	/* no SA_RESTART: a signal interrupts a blocking connect, read or sleep */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (load_feed(feed) < 0)
		return 2;
	printf("tweet-producer: %zu messages from %s, one every %ld ms, to %s\n", nmsgs, feed,
	       interval, store);

	while (!stop && (count == 0 || sent < count)) {
		struct str item = {0};
		char num[32], ts[32];
		long long id;

		if (fd < 0) {
			if (store_connect(store) < 0) {
				if (!waiting++)
					logf_("waiting for the store %s", store);
				pause_ms(1000);
				continue;
			}
			printf("tweet-producer: connected to the store %s\n", store);
			waiting = 0;
		}
		if (command(&id, 2, "INCR", "tweets:seq") < 0) {
			store_close();
			continue;
		}
		snprintf(num, sizeof(num), "%lld", id);
		puts_(&item, "{\"id\":");
		puts_(&item, num);
		puts_(&item, ",\"user\":");
		put_json(&item, msgs[next].user);
		puts_(&item, ",\"text\":");
		put_json(&item, msgs[next].text);
		puts_(&item, ",\"time\":");
		put_json(&item, now_utc(ts, sizeof(ts)));
		puts_(&item, "}");
		if (command(NULL, 3, "LPUSH", "tweets", item.p) < 0 ||
		    command(NULL, 4, "LTRIM", "tweets", "0", "999") < 0) {
			free(item.p);
			store_close();
			continue;
		}
		free(item.p);
		sent++;
		if (sent == 1 || sent % 60 == 0)
			printf("tweet-producer: item %lld written (%lld this run)\n", id, sent);
		next = (next + 1) % nmsgs;
		pause_ms(interval);
	}
	store_close();
	printf("tweet-producer: stopping after %lld items\n", sent);
	return 0;
}
