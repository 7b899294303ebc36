/*
 * Variable interpolation and env files, as the Compose Specification
 * defines them (sections "Interpolation" and "env_file").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compose.h"
#include "err.h"
#include "xalloc.h"

/*
 * Nesting limit of "${A:-${B:-...}}": each level recurses and rescans the
 * rest of the string, so without a limit a hostile file overflows the stack
 * and takes quadratic time. Real files nest two or three levels.
 */
#define INTERP_MAX_DEPTH 32

struct ictx {
	const json_t *vars;
	struct cs_strvec *errors, *unset;
	const char *whole; /* the string being interpolated, for messages */
	int nerr;
	int depth;   /* nesting of braced expressions being expanded */
	int toodeep; /* the nesting limit was hit (reported once) */
	char *first; /* first error message */
};

static void
ierror(struct ictx *c, char *msg)
{
	if (c->errors && !cs_strvec_has(c->errors, msg))
		cs_strvec_push(c->errors, msg);
	if (c->first == NULL)
		c->first = msg;
	else
		free(msg);
	c->nerr++;
}

static const char *
lookup(struct ictx *c, const char *name, size_t n)
{
	char key[256];
	json_t *v;

	if (n >= sizeof(key))
		return NULL;
	memcpy(key, name, n);
	key[n] = '\0';
	v = json_object_get(c->vars, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
note_unset(struct ictx *c, const char *name, size_t n)
{
	char *s;

	if (c->unset == NULL)
		return;
	s = cs_xstrndup(name, n);
	if (cs_strvec_has(c->unset, s))
		free(s);
	else
		cs_strvec_push_take(c->unset, s);
}

static int
is_name_start(int ch)
{
	return ch == '_' || isalpha((unsigned char)ch);
}

static int
is_name_char(int ch)
{
	return ch == '_' || isalnum((unsigned char)ch);
}

static int interp(struct cs_buf *out, const char *s, size_t n, struct ictx *c);

static void
syntax_error(struct ictx *c)
{
	ierror(c, cs_xasprintf("invalid interpolation format in '%s'", c->whole));
}

/* The value is quoted only in part: it can be megabytes long. */
static void
depth_error(struct ictx *c)
{
	if (c->toodeep)
		return;
	c->toodeep = 1;
	ierror(c, cs_xasprintf("interpolation nested deeper than %d levels in '%.40s%s'",
			       INTERP_MAX_DEPTH, c->whole, strlen(c->whole) > 40 ? "..." : ""));
}

/* s points after "${"; returns the length consumed up to and including "}". */
static size_t
braced(struct cs_buf *out, const char *s, size_t n, struct ictx *c)
{
	size_t i = 0, nlen, arg, k, depth = 0;
	const char *val;
	int colon = 0;
	char op = 0;

	if (n == 0 || !is_name_start(s[0])) {
		syntax_error(c);
		return n;
	}
	if (c->toodeep || c->depth >= INTERP_MAX_DEPTH) {
		depth_error(c);
		return n;
	}
	while (i < n && is_name_char(s[i]))
		i++;
	nlen = i;
	if (i < n && s[i] == ':') {
		colon = 1;
		i++;
	}
	if (i < n && (s[i] == '-' || s[i] == '?' || s[i] == '+'))
		op = s[i++];
	else if (colon || i >= n || s[i] != '}') {
		syntax_error(c);
		return n;
	}
	arg = i;
	for (k = i; k < n; k++) {
		if (s[k] == '$' && k + 1 < n && (s[k + 1] == '$' || s[k + 1] == '{')) {
			if (s[k + 1] == '{')
				depth++;
			k++;
		} else if (s[k] == '}') {
			if (depth == 0)
				break;
			depth--;
		}
	}
	if (k >= n) {
		syntax_error(c);
		return n;
	}
	val = lookup(c, s, nlen);
	c->depth++;
	switch (op) {
	case 0:
		if (val == NULL)
			note_unset(c, s, nlen);
		else
			cs_buf_adds(out, val);
		break;
	case '-':
		if (val == NULL || (colon && *val == '\0'))
			interp(out, s + arg, k - arg, c);
		else
			cs_buf_adds(out, val);
		break;
	case '+':
		if (val != NULL && !(colon && *val == '\0'))
			interp(out, s + arg, k - arg, c);
		break;
	case '?':
		if (val == NULL || (colon && *val == '\0')) {
			struct cs_buf msg = CS_BUF_INIT;

			interp(&msg, s + arg, k - arg, c);
			if (msg.len)
				ierror(c, cs_xasprintf("required variable %.*s is missing: %s",
						       (int)nlen, s, msg.buf));
			else
				ierror(c, cs_xasprintf("required variable %.*s is missing a value",
						       (int)nlen, s));
			cs_buf_release(&msg);
		} else {
			cs_buf_adds(out, val);
		}
		break;
	}
	c->depth--;
	return k + 1;
}

static int
interp(struct cs_buf *out, const char *s, size_t n, struct ictx *c)
{
	size_t i = 0, j;
	const char *val;

	while (i < n && !c->toodeep) {
		if (s[i] != '$' || i + 1 >= n) {
			cs_buf_addch(out, s[i++]);
			continue;
		}
		if (s[i + 1] == '$') {
			cs_buf_addch(out, '$');
			i += 2;
		} else if (s[i + 1] == '}') {
			/* "$}": docker refuses it, and so does compose */
			syntax_error(c);
			return CS_EINVAL;
		} else if (s[i + 1] == '{') {
			i += 2;
			i += braced(out, s + i, n - i, c);
		} else if (is_name_start(s[i + 1])) {
			for (j = i + 1; j < n && is_name_char(s[j]); j++)
				;
			val = lookup(c, s + i + 1, j - i - 1);
			if (val)
				cs_buf_adds(out, val);
			else
				note_unset(c, s + i + 1, j - i - 1);
			i = j;
		} else {
			cs_buf_addch(out, s[i++]);
		}
	}
	return c->nerr ? CS_EINVAL : 0;
}

int
dep_interp_string(char **out, const char *in, const json_t *vars, struct cs_strvec *errors,
		  struct cs_strvec *unset)
{
	struct cs_buf b = CS_BUF_INIT;
	struct ictx c = {.vars = vars, .errors = errors, .unset = unset, .whole = in};
	int error;

	*out = NULL;
	interp(&b, in, strlen(in), &c);
	if (c.nerr) {
		error = cs_err_set(CS_EINVAL, "%s", c.first);
		free(c.first);
		cs_buf_release(&b);
		return error;
	}
	*out = cs_buf_detach(&b, NULL);
	return 0;
}

/* Env files */

static const char *
skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static int
valid_key(const char *k, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (isspace((unsigned char)k[i]) || k[i] == '#' || k[i] == '\'' || k[i] == '"')
			return 0;
	return 1;
}

/* Parse a quoted value starting at *pp (on the quote); *pp ends after the closing quote. */
static int
quoted(struct cs_buf *v, const char **pp, const char *end)
{
	const char *p = *pp;
	char q = *p++;

	for (; p < end && *p != q; p++) {
		if (*p == '\\' && p + 1 < end) {
			char e = p[1];

			if (e == q || e == '\\') {
				cs_buf_addch(v, e);
				p++;
				continue;
			}
			if (q == '"' && (e == 'n' || e == 't' || e == 'r')) {
				cs_buf_addch(v, e == 'n' ? '\n' : e == 't' ? '\t' : '\r');
				p++;
				continue;
			}
		}
		cs_buf_addch(v, *p);
	}
	if (p >= end)
		return -1;
	*pp = p + 1;
	return 0;
}

int
dep_envfile_parse(json_t **out, const char *text, size_t len, const char *filename,
		  const json_t *vars)
{
	const char *p = text, *end = text + len, *eol, *k, *ke;
	struct cs_buf v = CS_BUF_INIT;
	struct cs_strvec errs = CS_STRVEC_INIT;
	json_t *res = json_object(), *look = vars ? json_deep_copy(vars) : json_object();
	char *key = NULL, *iv;
	int line = 0, error = 0, interpolate, startline;

	*out = NULL;
	while (p < end) {
		line++;
		startline = line;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		p = skip_blank(p, eol);
		if (p == eol || *p == '#' || (eol - p == 1 && *p == '\r')) {
			p = eol + 1;
			continue;
		}
		if (eol - p > 7 && !memcmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
			p = skip_blank(p + 6, eol);
		for (k = p; p < eol && *p != '='; p++)
			;
		for (ke = p; ke > k && isspace((unsigned char)ke[-1]); ke--)
			;
		if (!valid_key(k, (size_t)(ke - k))) {
			error = cs_err_set(CS_EINVAL, "%s:%d: invalid variable name in env file",
					   filename, line);
			goto out;
		}
		key = cs_xstrndup(k, (size_t)(ke - k));
		if (p == eol) {
			json_object_set_new(res, key, json_null());
			CS_FREE_AND_NULL(key);
			p = eol + 1;
			continue;
		}
		p = skip_blank(p + 1, eol);
		cs_buf_reset(&v);
		interpolate = 1;
		if (p < eol && (*p == '"' || *p == '\'')) {
			const char *q = p, *nl;

			interpolate = *p == '"';
			if (quoted(&v, &q, end) < 0) {
				error = cs_err_set(CS_EINVAL, "%s:%d: unterminated quoted value",
						   filename, line);
				goto out;
			}
			for (nl = p; nl < q; nl++)
				if (*nl == '\n')
					line++;
			eol = memchr(q, '\n', (size_t)(end - q));
			if (eol == NULL)
				eol = end;
		} else {
			const char *e = eol, *h;

			for (h = p; h < eol; h++) {
				if (*h == '#' && h > p && (h[-1] == ' ' || h[-1] == '\t')) {
					e = h;
					break;
				}
			}
			while (e > p && isspace((unsigned char)e[-1]))
				e--;
			cs_buf_add(&v, p, (size_t)(e - p));
		}
		if (interpolate) {
			size_t before = errs.nr;

			if (dep_interp_string(&iv, v.buf, look, &errs, NULL) < 0) {
				size_t i;
				char *m;

				for (i = before; i < errs.nr; i++) {
					m = cs_xasprintf("%s:%d: %s", filename, startline,
							 errs.v[i]);
					free(errs.v[i]);
					errs.v[i] = m;
				}
				CS_FREE_AND_NULL(key);
				p = eol + 1;
				continue;
			}
			json_object_set_new(res, key, json_string(iv));
			free(iv);
		} else {
			json_object_set_new(res, key, json_string(v.buf));
		}
		if (json_object_get(vars, key) == NULL)
			json_object_set(look, key, json_object_get(res, key));
		CS_FREE_AND_NULL(key);
		p = eol + 1;
	}
	if (errs.nr) {
		struct cs_buf m = CS_BUF_INIT;
		size_t i;

		for (i = 0; i < errs.nr; i++)
			cs_buf_addf(&m, "%s%s", i ? "; " : "", errs.v[i]);
		error = cs_err_set(CS_EINVAL, "%s", m.buf);
		cs_buf_release(&m);
		goto out;
	}
	*out = res;
	res = NULL;
out:
	free(key);
	json_decref(res);
	json_decref(look);
	cs_buf_release(&v);
	cs_strvec_clear(&errs);
	return error;
}
