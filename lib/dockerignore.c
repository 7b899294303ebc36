/*
 * .dockerignore: docker's line reader (ReadAll) and pattern matcher
 * (moby/patternmatcher), rewritten in C. Patterns are compiled once into a
 * token list; matching runs the tokens over the set of reachable positions
 * (no backtracking), O(tokens x path length) whatever the number of stars.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "dockerignore.h"
#include "err.h"
#include "xalloc.h"

#define LINE_MAX_LEN ((size_t)64 * 1024) /* bufio.MaxScanTokenSize */
#define FILE_MAX_LEN ((size_t)4 << 20)
#define RUNE_ERROR 0xFFFDu

enum tok_kind {
	T_LIT,	       /* one byte */
	T_STAR,	       /* [^/]* */
	T_QMARK,       /* [^/] */
	T_CLASS,       /* [...] on one rune */
	T_DSTAR_SLASH, /* "**" not at the end (its "/" eaten): nothing, or a run ending in '/' */
	T_DSTAR_END,   /* "**" at the end: .* */
};

struct tok {
	enum tok_kind kind;
	unsigned char ch;
	int negated;
	size_t range_off, nrange;
};

/* patternmatcher's fast paths; they differ from the regexp in corner cases, so keep them */
enum match_type { M_EXACT, M_PREFIX, M_SUFFIX, M_REGEXP };

struct pattern {
	char *text; /* cleaned, without the '!' */
	int exclusion;
	enum match_type mtype;
	struct tok *toks;
	size_t ntok, tok_alloc;
	uint32_t *ranges; /* lo, hi pairs */
	size_t nranges, range_alloc;
};

struct cs_dockerignore {
	struct pattern *v;
	size_t nr, alloc;
	int has_exclusions;
	char *filename;
};

/* Go's utf8.DecodeRune: an invalid or truncated sequence is RUNE_ERROR of width 1. */
static uint32_t
decode_rune(const unsigned char *s, size_t n, size_t *width)
{
	uint32_t r;
	size_t len, i;

	*width = 1;
	if (n == 0)
		return RUNE_ERROR;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, r = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, r = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, r = s[0] & 0x07;
	else
		return RUNE_ERROR;
	if (n < len)
		return RUNE_ERROR;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return RUNE_ERROR;
		r = (r << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF))) ||
	    (len == 4 && (r < 0x10000 || r > 0x10FFFF)))
		return RUNE_ERROR;
	*width = len;
	return r;
}

/* unicode.IsSpace */
static int
is_space_rune(uint32_t r)
{
	switch (r) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
		return 1;
	}
	return r >= 0x2000 && r <= 0x200A;
}

/* strings.TrimSpace on s[*start, *end). */
static void
trim_space(const char *str, size_t *start, size_t *end)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t w, j;
	uint32_t r;

	while (*start < *end) {
		r = decode_rune(s + *start, *end - *start, &w);
		if (!is_space_rune(r))
			break;
		*start += w;
	}
	while (*end > *start) {
		j = *end - 1;
		while (j > *start && *end - j < 4 && (s[j] & 0xC0) == 0x80)
			j--;
		r = decode_rune(s + j, *end - j, &w);
		if (w != *end - j)
			r = RUNE_ERROR, w = 1;
		if (!is_space_rune(r))
			break;
		*end -= w;
	}
}

/* Go's path.Clean, appended to out. */
static void
clean_path(struct cs_buf *out, const char *p, size_t n)
{
	size_t base = out->len, w, r = 0, dotdot;
	int rooted;

	if (n == 0) {
		cs_buf_addch(out, '.');
		return;
	}
	rooted = p[0] == '/';
	if (rooted) {
		cs_buf_addch(out, '/');
		r = 1;
	}
	dotdot = rooted ? 1 : 0;
	while (r < n) {
		w = out->len - base;
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out->buf[base + w] != '/')
					w--;
				out->len = base + w;
				out->buf[out->len] = '\0';
			} else if (!rooted) {
				if (w > 0)
					cs_buf_addch(out, '/');
				cs_buf_add(out, "..", 2);
				dotdot = out->len - base;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				cs_buf_addch(out, '/');
			while (r < n && p[r] != '/')
				cs_buf_addch(out, p[r++]);
		}
	}
	if (out->len == base)
		cs_buf_addch(out, '.');
}

struct line_iter {
	const char *text, *filename;
	size_t len, pos;
	unsigned lineno;
};

/*
 * docker's ReadAll: the next pattern (with its '!') into pat, its line number
 * in *lineno. Returns 1 with a pattern, 0 at the end, or a negative error.
 */
static int
next_pattern(struct line_iter *it, struct cs_buf *pat, unsigned *lineno)
{
	const char *nl;
	size_t start, end, ll;
	int invert;

	while (it->pos < it->len) {
		start = it->pos;
		nl = memchr(it->text + start, '\n', it->len - start);
		end = nl ? (size_t)(nl - it->text) : it->len;
		it->pos = nl ? end + 1 : end;
		if (end - start >= LINE_MAX_LEN)
			return cs_err_set(CS_ETOOBIG, "'%s' line %u: line too long", it->filename,
					  it->lineno + 1);
		if (end > start && it->text[end - 1] == '\r')
			end--;
		if (it->lineno == 0 && end - start >= 3 &&
		    memcmp(it->text + start, "\xEF\xBB\xBF", 3) == 0)
			start += 3;
		it->lineno++;
		if (start < end && it->text[start] == '#')
			continue;
		trim_space(it->text, &start, &end);
		if (start == end)
			continue;
		invert = it->text[start] == '!';
		if (invert) {
			start++;
			trim_space(it->text, &start, &end);
		}
		cs_buf_reset(pat);
		if (invert)
			cs_buf_addch(pat, '!');
		if (start < end) {
			ll = pat->len;
			clean_path(pat, it->text + start, end - start);
			if (pat->len - ll > 1 && pat->buf[ll] == '/') {
				memmove(pat->buf + ll, pat->buf + ll + 1, pat->len - ll - 1);
				pat->len--;
				pat->buf[pat->len] = '\0';
			}
		}
		*lineno = it->lineno;
		return 1;
	}
	return 0;
}

static void
push_tok(struct pattern *p, enum tok_kind kind, unsigned char ch)
{
	CS_ALLOC_GROW(p->toks, p->ntok + 1, p->tok_alloc);
	memset(&p->toks[p->ntok], 0, sizeof(p->toks[0]));
	p->toks[p->ntok].kind = kind;
	p->toks[p->ntok].ch = ch;
	p->ntok++;
}

/* Go's filepath getEsc: one class character, possibly '\'-escaped. */
static const char *
get_esc(const char *s, size_t n, size_t *i, uint32_t *r)
{
	size_t w;

	if (*i >= n || s[*i] == '-' || s[*i] == ']')
		return "bad character in class";
	if (s[*i] == '\\') {
		(*i)++;
		if (*i >= n)
			return "trailing '\\' in class";
	}
	*r = decode_rune((const unsigned char *)s + *i, n - *i, &w);
	if (*r == RUNE_ERROR && w == 1)
		return "invalid UTF-8 in class";
	*i += w;
	if (*i >= n)
		return "unclosed '['";
	return NULL;
}

/*
 * Compile p->text into tokens (patternmatcher's regexp translation), checking
 * the syntax as Go's filepath.Match does. Returns NULL or the reason.
 */
static const char *
compile(struct pattern *p)
{
	const char *s = p->text, *why;
	size_t n = strlen(s), i = 0, w, k, nr;
	uint32_t lo, hi;
	int first = 1;

	p->mtype = M_EXACT;
	for (; i < n; first = 0) {
		switch (s[i]) {
		case '*':
			if (i + 1 < n && s[i + 1] == '*') {
				i += 2;
				if (i < n && s[i] == '/')
					i++;
				if (i < n)
					p->mtype = M_REGEXP;
				else
					p->mtype = p->mtype == M_EXACT ? M_PREFIX : M_REGEXP;
				if (first)
					p->mtype = M_SUFFIX;
				push_tok(p, i >= n ? T_DSTAR_END : T_DSTAR_SLASH, 0);
			} else {
				p->mtype = M_REGEXP;
				push_tok(p, T_STAR, 0);
				i++;
			}
			break;
		case '?':
			p->mtype = M_REGEXP;
			push_tok(p, T_QMARK, 0);
			i++;
			break;
		case '\\':
			if (++i >= n)
				return "trailing '\\'";
			p->mtype = M_REGEXP;
			decode_rune((const unsigned char *)s + i, n - i, &w);
			for (k = 0; k < w; k++)
				push_tok(p, T_LIT, (unsigned char)s[i + k]);
			i += w;
			break;
		case '[':
			p->mtype = M_REGEXP;
			push_tok(p, T_CLASS, 0);
			p->toks[p->ntok - 1].range_off = p->nranges;
			if (++i < n && s[i] == '^') {
				p->toks[p->ntok - 1].negated = 1;
				i++;
			}
			for (nr = 0;; nr++) {
				if (i < n && s[i] == ']' && nr > 0) {
					i++;
					break;
				}
				if ((why = get_esc(s, n, &i, &lo)) != NULL)
					return why;
				hi = lo;
				if (s[i] == '-') {
					i++;
					if ((why = get_esc(s, n, &i, &hi)) != NULL)
						return why;
				}
				CS_ALLOC_GROW(p->ranges, p->nranges + 2, p->range_alloc);
				p->ranges[p->nranges++] = lo;
				p->ranges[p->nranges++] = hi;
			}
			p->toks[p->ntok - 1].nrange = nr;
			break;
		case ']':
			p->mtype = M_REGEXP;
			/* fallthrough */
		default:
			push_tok(p, T_LIT, (unsigned char)s[i]);
			i++;
		}
	}
	return NULL;
}

static int
in_class(const struct pattern *p, const struct tok *t, uint32_t r)
{
	size_t k;

	for (k = 0; k < t->nrange; k++)
		if (p->ranges[t->range_off + 2 * k] <= r &&
		    r <= p->ranges[t->range_off + 2 * k + 1])
			return 1;
	return 0;
}

/*
 * One token applied to a set of positions: in[k] says the tokens before it
 * can match s[0, k); out gets the same for the tokens up to this one. Each
 * kind is one left-to-right sweep, so a pattern costs O(tokens x length)
 * however many stars it has ("**" + "/a/" 300 times on a 300-deep path
 * backtracked for minutes before). Returns 1 if out is not empty.
 */
static int
step(const struct pattern *p, const struct tok *t, const unsigned char *s, size_t n,
     const unsigned char *in, unsigned char *out)
{
	size_t k, w;
	uint32_t r;
	int active = 0, any = 0;

	memset(out, 0, n + 1);
	switch (t->kind) {
	case T_LIT:
		for (k = 0; k < n; k++)
			if (in[k] && s[k] == t->ch)
				out[k + 1] = 1;
		break;
	case T_QMARK:
	case T_CLASS:
		for (k = 0; k < n; k++) {
			if (!in[k])
				continue;
			r = decode_rune(s + k, n - k, &w);
			if (t->kind == T_QMARK ? r == '/' : in_class(p, t, r) == t->negated)
				continue;
			out[k + w] = 1;
		}
		break;
	case T_STAR: /* runs of non-'/' runes */
		for (k = 0; k <= n; k++) {
			if (in[k])
				out[k] = 1;
			if (out[k] && k < n && s[k] != '/') {
				decode_rune(s + k, n - k, &w);
				out[k + w] = 1;
			}
		}
		break;
	case T_DSTAR_SLASH: /* nothing, or up to and including a '/' ('.' stops at '\n') */
		for (k = 0; k <= n; k++) {
			if (in[k]) {
				out[k] = 1;
				active = 1;
			}
			if (k == n)
				break;
			if (active && s[k] == '/')
				out[k + 1] = 1;
			if (s[k] == '\n')
				active = 0;
		}
		break;
	case T_DSTAR_END: /* anything up to a '\n' */
		for (k = 0; k <= n; k++) {
			if (in[k])
				active = 1;
			if (active)
				out[k] = 1;
			if (k < n && s[k] == '\n')
				active = 0;
		}
		break;
	}
	for (k = 0; k <= n && !any; k++)
		any = out[k];
	return any;
}

/*
 * Does the compiled pattern match s[0, n), or, with parents set, one of its
 * parent directories s[0, k) (s[k] == '/')? One pass gives every prefix: the
 * positions reachable up to k do not depend on what follows a '/' at k.
 * scratch holds 2 * (n + 1) bytes.
 */
static int
tokens_match(const struct pattern *p, const char *str, size_t n, int parents,
	     unsigned char *scratch)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char *cur = scratch, *nxt = scratch + n + 1, *tmp;
	size_t ti, k;

	memset(cur, 0, n + 1);
	cur[0] = 1;
	for (ti = 0; ti < p->ntok; ti++) {
		if (!step(p, &p->toks[ti], s, n, cur, nxt))
			return 0;
		tmp = cur, cur = nxt, nxt = tmp;
	}
	if (cur[n])
		return 1;
	for (k = 1; parents && k < n; k++)
		if (s[k] == '/' && cur[k])
			return 1;
	return 0;
}

/* Does a fast-path pattern (exact, prefix, suffix) match s[0, n) as a whole? */
static int
plain_match(const struct pattern *p, const char *s, size_t n)
{
	size_t tl;

	switch (p->mtype) {
	case M_EXACT:
		return strlen(p->text) == n && memcmp(p->text, s, n) == 0;
	case M_PREFIX:
		tl = strlen(p->text) - 2;
		return n >= tl && memcmp(p->text, s, tl) == 0;
	case M_SUFFIX:
		tl = strlen(p->text + 2);
		if (n >= tl && memcmp(s + n - tl, p->text + 2, tl) == 0)
			return 1;
		return p->text[2] == '/' && n == tl - 1 && memcmp(s, p->text + 3, n) == 0;
	case M_REGEXP:
		break;
	}
	return 0;
}

static void
pattern_release(struct pattern *p)
{
	free(p->text);
	free(p->toks);
	free(p->ranges);
}

/*
 * patternmatcher's New() for one pattern string; lineno 0 is a pattern given
 * by cs_dockerignore_add().
 */
static int
add_pattern(struct cs_dockerignore *di, const char *line, size_t len, unsigned lineno)
{
	struct cs_buf clean = CS_BUF_INIT, where = CS_BUF_INIT;
	struct pattern p = {0};
	size_t start = 0, end = len;
	const char *why = NULL;
	int error = 0;

	trim_space(line, &start, &end);
	if (start == end)
		goto out;
	clean_path(&clean, line + start, end - start);
	if (clean.buf[0] == '!') {
		if (clean.len == 1)
			why = "illegal exclusion pattern";
		p.exclusion = 1;
	}
	if (why == NULL) {
		p.text = cs_xstrdup(clean.buf + p.exclusion);
		why = compile(&p);
	}
	if (why != NULL) {
		if (lineno)
			cs_buf_addf(&where, "'%s' line %u", di->filename, lineno);
		else
			cs_buf_adds(&where, "added pattern");
		error =
		    cs_err_set(CS_EPARSE, "%s: bad pattern '%s': %s", where.buf, clean.buf, why);
		goto out;
	}
	CS_ALLOC_GROW(di->v, di->nr + 1, di->alloc);
	di->v[di->nr++] = p;
	memset(&p, 0, sizeof(p));
	if (di->v[di->nr - 1].exclusion)
		di->has_exclusions = 1;
out:
	pattern_release(&p);
	cs_buf_release(&clean);
	cs_buf_release(&where);
	return error;
}

int
cs_dockerignore__read_patterns(struct cs_strvec *out, const char *text, size_t len,
			       const char *filename)
{
	struct line_iter it = {.text = text, .len = len, .filename = filename};
	struct cs_buf pat = CS_BUF_INIT;
	unsigned lineno;
	int ret;

	if (it.filename == NULL)
		it.filename = ".dockerignore";
	while ((ret = next_pattern(&it, &pat, &lineno)) > 0)
		cs_strvec_push(out, pat.buf);
	cs_buf_release(&pat);
	return ret;
}

int
cs_dockerignore_parse(struct cs_dockerignore **out, const char *text, size_t len,
		      const char *filename)
{
	struct cs_dockerignore *di;
	struct line_iter it = {.text = text, .len = len};
	struct cs_buf pat = CS_BUF_INIT;
	unsigned lineno;
	int ret;

	*out = NULL;
	di = cs_xcalloc(1, sizeof(*di));
	di->filename = cs_xstrdup(filename ? filename : ".dockerignore");
	it.filename = di->filename;
	while ((ret = next_pattern(&it, &pat, &lineno)) > 0)
		if ((ret = add_pattern(di, pat.buf, pat.len, lineno)) < 0)
			break;
	cs_buf_release(&pat);
	if (ret < 0) {
		cs_dockerignore_free(di);
		return ret;
	}
	*out = di;
	return 0;
}

int
cs_dockerignore_load(struct cs_dockerignore **out, const char *path, struct cs_buf *raw)
{
	struct cs_buf text = CS_BUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, error = 0;

	*out = NULL;
	cs_buf_init(&text, FILE_MAX_LEN);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		goto parse;
	if (fd < 0) {
		error = errno == ELOOP
			    ? cs_err_set(CS_EINVAL, "refusing '%s': it is a symbolic link", path)
			    : cs_err_set(CS_EIO, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cs_err_set(CS_EIO, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (cs_buf_add(&text, chunk, (size_t)n) < 0) {
			error = cs_err_set(CS_ETOOBIG, "'%s' is larger than %zu bytes", path,
					   FILE_MAX_LEN);
			goto out;
		}
	}
parse:
	if ((error = cs_dockerignore_parse(out, text.buf, text.len, path)) < 0)
		goto out;
	if (raw != NULL && cs_buf_add(raw, text.buf, text.len) < 0) {
		cs_dockerignore_free(*out);
		*out = NULL;
		error = cs_err_set(CS_ETOOBIG, "'%s' does not fit the buffer", path);
	}
out:
	if (fd >= 0)
		close(fd);
	cs_buf_release(&text);
	return error;
}

int
cs_dockerignore_add(struct cs_dockerignore *di, const char *line)
{
	struct line_iter it = {.text = line, .len = strlen(line), .filename = di->filename};
	struct cs_buf pat = CS_BUF_INIT;
	unsigned lineno;
	int ret;

	it.lineno = 0;
	ret = next_pattern(&it, &pat, &lineno);
	if (ret > 0)
		ret = add_pattern(di, pat.buf, pat.len, 0);
	cs_buf_release(&pat);
	return ret < 0 ? ret : 0;
}

int
cs_dockerignore_match(const struct cs_dockerignore *di, const char *relpath)
{
	const struct pattern *p;
	unsigned char small[512], *scratch = NULL;
	size_t i, k, n;
	int matched = 0, m;

	if (di == NULL)
		return 0;
	n = strlen(relpath);
	for (i = 0; i < di->nr; i++) {
		p = &di->v[i];
		if (p->exclusion != matched)
			continue; /* cannot change the verdict */
		if (p->mtype == M_REGEXP) {
			if (scratch == NULL)
				scratch =
				    2 * (n + 1) <= sizeof(small) ? small : cs_xmalloc(2 * (n + 1));
			m = tokens_match(p, relpath, n, 1, scratch);
		} else {
			m = plain_match(p, relpath, n);
			for (k = 0; !m && k < n; k++)
				if (relpath[k] == '/' && k > 0)
					m = plain_match(p, relpath, k);
		}
		if (m)
			matched = !p->exclusion;
	}
	if (scratch != small)
		free(scratch);
	return matched;
}

int
cs_dockerignore_may_include_under(const struct cs_dockerignore *di, const char *reldir)
{
	size_t i, dl = strlen(reldir), pl;
	const char *t;

	if (di == NULL || !di->has_exclusions)
		return 0;
	for (i = 0; i < di->nr; i++) {
		if (!di->v[i].exclusion)
			continue;
		t = di->v[i].text;
		pl = strlen(t);
		/* (pattern + "/") starts with (reldir + "/") */
		if (pl >= dl && memcmp(t, reldir, dl) == 0 && (t[dl] == '/' || t[dl] == '\0'))
			return 1;
	}
	return 0;
}

size_t
cs_dockerignore_count(const struct cs_dockerignore *di)
{
	return di ? di->nr : 0;
}

void
cs_dockerignore_free(struct cs_dockerignore *di)
{
	size_t i;

	if (di == NULL)
		return;
	for (i = 0; i < di->nr; i++)
		pattern_release(&di->v[i]);
	free(di->v);
	free(di->filename);
	free(di);
}
