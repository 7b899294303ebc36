/*
 * Registry credentials for the base images of a build: the registries the
 * Dockerfile's FROM lines name get their credentials (docker's config.json,
 * or the ones given for --registry) in the X-Registry-Config header of
 * POST /build, which the engine uses when it pulls a base image (--pull, or
 * an image it does not have). The docker CLI sends every credential it
 * knows; we send only those of the registries the Dockerfile uses.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "br.h"
#include "buf.h"
#include "context.h"
#include "dockerauth.h"
#include "err.h"
#include "imageref.h"
#include "log.h"
#include "xalloc.h"

/*
 * The build args (NAME=VALUE), and the ARGs before the first FROM ("NAME" or
 * "NAME=default"): a build arg reaches FROM only through such an ARG.
 */
struct vars {
	struct cs_strvec args, decl;
};

/* The entry of sv for name[0..n): "NAME" or "NAME=...", the last one; NULL if none. */
static const char *
find(const struct cs_strvec *sv, const char *name, size_t n)
{
	size_t i = sv->nr;

	while (i-- > 0)
		if (strncmp(sv->v[i], name, n) == 0 && (sv->v[i][n] == '=' || sv->v[i][n] == '\0'))
			return sv->v[i];
	return NULL;
}

static const char *
var_get(const struct vars *v, const char *name, size_t n)
{
	const char *d = find(&v->decl, name, n), *a;

	if (d == NULL)
		return NULL;
	if ((a = find(&v->args, name, n)) != NULL && a[n] == '=')
		return a + n + 1;
	return d[n] == '=' ? d + n + 1 : NULL;
}

/*
 * Expand $NAME, ${NAME}, ${NAME:-word} and ${NAME:+word} in s. Returns a new
 * string, or NULL when s uses a form this does not handle.
 */
static char *
expand(const char *s, const struct vars *v)
{
	struct cs_buf out = CS_BUF_INIT;
	const char *p = s;

	while (*p) {
		const char *name, *val, *word = NULL;
		size_t n, wn = 0;
		char op = 0;

		if (*p != '$') {
			cs_buf_addch(&out, *p++);
			continue;
		}
		p++;
		if (*p == '{') {
			const char *end = strchr(p, '}');

			if (end == NULL)
				goto bad;
			name = p + 1;
			n = strcspn(name, ":}");
			if (name[n] == ':') {
				op = name[n + 1];
				if (op != '-' && op != '+')
					goto bad;
				word = name + n + 2;
				wn = (size_t)(end - word);
			}
			p = end + 1;
		} else {
			name = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			n = (size_t)(p - name);
		}
		if (n == 0)
			goto bad;
		val = var_get(v, name, n);
		if (op == '-' && (val == NULL || *val == '\0'))
			cs_buf_add(&out, word, wn);
		else if (op == '+' && val && *val)
			cs_buf_add(&out, word, wn);
		else if (op == 0 && val)
			cs_buf_adds(&out, val);
	}
	return cs_buf_detach(&out, NULL);
bad:
	cs_buf_release(&out);
	return NULL;
}

/* Split a logical line into words (quotes removed, no escapes inside words). */
static void
split_words(struct cs_strvec *out, const char *line)
{
	const char *p = line;

	while (*p) {
		struct cs_buf w = CS_BUF_INIT;
		char q = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		while (*p && (q || (*p != ' ' && *p != '\t'))) {
			if (q && *p == q)
				q = 0;
			else if (!q && (*p == '"' || *p == '\''))
				q = *p;
			else
				cs_buf_addch(&w, *p);
			p++;
		}
		cs_strvec_push_take(out, cs_buf_detach(&w, NULL));
	}
}

static void
add_registry(struct cs_strvec *out, const char *image, const struct cs_strvec *stages)
{
	struct cs_imageref ref;

	if (strcasecmp(image, "scratch") == 0 || cs_strvec_has(stages, image))
		return;
	if (cs_imageref_parse(&ref, image) < 0)
		return; /* the engine will say what is wrong with it */
	if (!cs_strvec_has(out, cs_imageref_registry_or_default(&ref)))
		cs_strvec_push(out, cs_imageref_registry_or_default(&ref));
	cs_imageref_release(&ref);
}

/* One instruction (continuations joined); *seen_from tells ARGs of the global scope. */
static void
instruction(struct cs_strvec *out, struct vars *v, struct cs_strvec *stages, const char *line,
	    int *seen_from)
{
	struct cs_strvec w = CS_STRVEC_INIT;
	size_t i;

	split_words(&w, line);
	if (w.nr == 0)
		goto out;
	if (strcasecmp(w.v[0], "ARG") == 0 && !*seen_from) {
		for (i = 1; i < w.nr; i++)
			cs_strvec_push(&v->decl, w.v[i]);
	} else if (strcasecmp(w.v[0], "FROM") == 0) {
		char *image;

		*seen_from = 1;
		for (i = 1; i < w.nr && strncmp(w.v[i], "--", 2) == 0; i++)
			;
		if (i >= w.nr)
			goto out;
		image = expand(w.v[i], v);
		if (image) {
			add_registry(out, image, stages);
			free(image);
		}
		if (i + 2 < w.nr && strcasecmp(w.v[i + 1], "AS") == 0) {
			char *lower = cs_xstrdup(w.v[i + 2]);
			char *c;

			for (c = lower; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			cs_strvec_push_take(stages, lower);
		}
	}
out:
	cs_strvec_clear(&w);
}

void
br_dockerfile_registries(struct cs_strvec *out, const char *text, size_t len,
			 const struct cs_strvec *build_args)
{
	struct vars v = {.args = CS_STRVEC_INIT, .decl = CS_STRVEC_INIT};
	struct cs_strvec stages = CS_STRVEC_INIT;
	struct cs_buf logical = CS_BUF_INIT;
	const char *p = text, *end = text + len;
	char escape = '\\';
	int seen_from = 0, directives = 1;
	size_t i;

	for (i = 0; build_args && i < build_args->nr; i++) {
		const char *kv = build_args->v[i];

		if (strchr(kv, '='))
			cs_strvec_push(&v.args, kv);
		else if (getenv(kv))
			cs_strvec_pushf(&v.args, "%s=%s", kv, getenv(kv));
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct cs_buf phys = CS_BUF_INIT;
		const char *s;

		cs_buf_add(&phys, p, n);
		p += n + (nl != NULL);
		cs_buf_rtrim(&phys);
		s = phys.buf;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#') {
			/* "# escape=`" counts only before anything else */
			if (directives &&
			    strncasecmp(s + 1 + strspn(s + 1, " \t"), "escape=", 7) == 0) {
				const char *e = strchr(s, '=') + 1;

				if (*e == '`' || *e == '\\')
					escape = *e;
			}
			cs_buf_release(&phys);
			continue;
		}
		directives = 0;
		if (*s == '\0' && logical.len == 0) {
			cs_buf_release(&phys);
			continue;
		}
		if (phys.len && phys.buf[phys.len - 1] == escape) {
			cs_buf_add(&logical, s, strlen(s) - 1);
			cs_buf_addch(&logical, ' ');
			cs_buf_release(&phys);
			continue;
		}
		cs_buf_adds(&logical, s);
		instruction(out, &v, &stages, logical.buf, &seen_from);
		cs_buf_reset(&logical);
		cs_buf_release(&phys);
	}
	if (logical.len)
		instruction(out, &v, &stages, logical.buf, &seen_from);
	cs_buf_release(&logical);
	cs_strvec_clear(&stages);
	cs_strvec_wipe(&v.args); /* build args may hold secrets */
	cs_strvec_clear(&v.decl);
}

static int
read_dockerfile(struct cs_buf *out, const char *path)
{
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), error = 0;

	if (fd < 0)
		return cs_err_set(CS_EIO, "cannot open '%s': %s", path, strerror(errno));
	cs_buf_init(out, CS_CONTEXT_DOCKERFILE_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = cs_err_set(CS_EIO, "cannot read '%s': %s", path, strerror(errno));
			break;
		}
		if ((error = cs_buf_add(out, chunk, (size_t)n)) < 0) {
			error = cs_err_set(CS_ETOOBIG, "'%s' is too big", path);
			break;
		}
	}
	close(fd);
	return error;
}

int
br_registry_config(struct cs_buf *out, const char *dockerfile, const struct cs_strvec *build_args,
		   const char *registry, const struct cs_dockerauth *auth)
{
	struct cs_buf text = CS_BUF_INIT;
	struct cs_strvec hosts = CS_STRVEC_INIT;
	struct cs_dockerauth *found = NULL;
	size_t i, n = 0;
	int error;

	if ((error = read_dockerfile(&text, dockerfile)) < 0)
		goto out;
	br_dockerfile_registries(&hosts, text.buf, text.len, build_args);
	found = cs_xcalloc(hosts.nr ? hosts.nr : 1, sizeof(*found));
	for (i = 0; i < hosts.nr; i++) {
		const char *h = hosts.v[i];

		if (auth && registry && strcmp(h, registry) == 0 &&
		    (auth->password || auth->identitytoken)) {
			/* the credentials given for --registry (a password file, stdin) */
			found[n].username = auth->username ? cs_xstrdup(auth->username) : NULL;
			found[n].password = auth->password ? cs_xstrdup(auth->password) : NULL;
			found[n].identitytoken =
			    auth->identitytoken ? cs_xstrdup(auth->identitytoken) : NULL;
			found[n++].server = cs_xstrdup(h);
			continue;
		}
		error = cs_dockerauth_lookup(&found[n], cs_imageref_is_docker_hub(h) ? NULL : h);
		if (error == 0) {
			cs_log(CS_LOG_DEBUG, "credentials for %s sent for the base images", h);
			n++;
		} else if (error == CS_EINTR) {
			goto out;
		} else if (error != CS_ENOTFOUND) {
			/* like the docker CLI: a broken store only costs the anonymous pull */
			cs_log(CS_LOG_WARN, "no credentials for %s: %s", h, cs_err_msg());
		}
		error = 0;
	}
	if (n)
		error = cs_dockerauth_config_header(out, found, n);
out:
	for (i = 0; found && i < hosts.nr; i++)
		cs_dockerauth_release(&found[i]);
	free(found);
	cs_strvec_clear(&hosts);
	cs_buf_release(&text);
	return error;
}
