/*
 * Filch policy loading (jansson) and matching (POSIX regcomp). Files rules are
 * compiled a second time wrapped in ^(...)$ so that they match whole basenames.
 */
#include <jansson.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "filch.h"
#include "xalloc.h"

#ifndef CS_DATADIR
#define CS_DATADIR "/usr/local/share/caas-devops"
#endif

struct rule {
	char *src;
	regex_t re;
};

struct rule_list {
	struct rule *v;
	size_t nr, alloc;
};

struct cs_filch {
	char *name;
	struct rule_list authorized[CS_FILCH_NSECTIONS];
	struct rule_list forbidden[CS_FILCH_NSECTIONS];
};

static const char *const section_names[CS_FILCH_NSECTIONS] = {"packages", "processes", "files"};

const char *
cs_filch_section_name(enum cs_filch_section s)
{
	return (unsigned)s < CS_FILCH_NSECTIONS ? section_names[s] : "?";
}

static void
list_release(struct rule_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		regfree(&l->v[i].re);
		free(l->v[i].src);
	}
	free(l->v);
	l->v = NULL;
	l->nr = l->alloc = 0;
}

void
cs_filch_free(struct cs_filch *p)
{
	int s;

	if (p == NULL)
		return;
	for (s = 0; s < CS_FILCH_NSECTIONS; s++) {
		list_release(&p->authorized[s]);
		list_release(&p->forbidden[s]);
	}
	free(p->name);
	free(p);
}

const char *
cs_filch_name(const struct cs_filch *p)
{
	return p->name;
}

static int
regex_error(const char *name, const char *where, size_t i, const char *src, int rc,
	    const regex_t *re)
{
	char msg[256];

	regerror(rc, re, msg, sizeof(msg));
	return cs_err_set(CS_EPARSE, "policy '%s': %s[%zu] \"%s\": invalid regex: %s", name, where,
			  i, src, msg);
}

/*
 * glibc's regcomp() copies a repeated expression once per repetition and
 * recurses once per parenthesis: "a{0,32767}" takes 40 s to compile,
 * "a*+*+*+*+*+*+*+*+*+" doubles at each '+', and 20000 nested parentheses
 * overflow the stack. A policy must not stall or crash the validator, so an
 * entry is refused before regcomp() when its size with every repetition
 * expanded is over RULE_MAX_SIZE, when it nests parentheses deeper than
 * RULE_MAX_DEPTH, and for what POSIX leaves undefined in an extended regex
 * and glibc makes costly: adjacent repetition operators ("a*+") and
 * back-references ("\1"). None of these is needed to name packages,
 * processes or files.
 */
#define RULE_MAX_SIZE 1000
#define RULE_MAX_DEPTH 32

static size_t
sat_add(size_t a, size_t b)
{
	return a + b > RULE_MAX_SIZE ? RULE_MAX_SIZE + 1 : a + b;
}

static size_t
sat_mul(size_t a, size_t b)
{
	return b != 0 && a > (RULE_MAX_SIZE + 1) / b ? RULE_MAX_SIZE + 1 : a * b;
}

/* The end of the bracket expression that starts at p ('['), or of the string. */
static const char *
skip_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char c = p[1];

			for (p += 2; *p != '\0' && !(*p == c && p[1] == ']'); p++)
				;
			if (*p != '\0')
				p += 2;
			continue;
		}
		p++;
	}
	return *p == ']' ? p + 1 : p;
}

/*
 * The repetition count of an interval "{m}", "{m,}", "{m,n}" or "{,n}" at p;
 * *end is set after the '}'. 0 when p does not start an interval.
 */
static size_t
interval_count(const char *p, const char **end)
{
	size_t m = 0, n = 0;
	int digits = 0, comma = 0, ndigits = 0;

	for (p++; *p >= '0' && *p <= '9'; p++, digits++)
		m = sat_add(sat_mul(m, 10), (size_t)(*p - '0'));
	if (*p == ',') {
		comma = 1;
		for (p++; *p >= '0' && *p <= '9'; p++, ndigits++)
			n = sat_add(sat_mul(n, 10), (size_t)(*p - '0'));
	}
	if (*p != '}' || (!digits && !ndigits))
		return 0;
	*end = p + 1;
	if (!comma)
		return m ? m : 1;
	return ndigits ? (n ? n : 1) : sat_add(m, 1);
}

/* NULL when src may be given to regcomp(), else why not. */
static const char *
rule_too_complex(const char *src)
{
	size_t total[RULE_MAX_DEPTH + 1] = {0}, last[RULE_MAX_DEPTH + 1] = {0}, sum, f;
	const char *p = src, *end;
	int d = 0, prev_rep = 0, i;

	while (*p != '\0') {
		switch (*p) {
		case '\\':
			if (p[1] >= '1' && p[1] <= '9')
				return "back-references are not supported";
			last[d] = 1;
			p += p[1] != '\0' ? 2 : 1;
			break;
		case '[':
			last[d] = 1;
			p = skip_bracket(p);
			break;
		case '(':
			if (d == RULE_MAX_DEPTH)
				return "parentheses nested too deeply";
			d++;
			total[d] = last[d] = 0;
			p++;
			continue;
		case ')':
			if (d > 0) {
				last[d - 1] = sat_add(total[d], 1);
				d--;
			} else {
				last[d] = 1;
			}
			p++;
			break;
		case '|':
			last[d] = 0;
			p++;
			continue;
		case '*':
		case '?':
		case '+':
		case '{':
			f = *p == '+' ? 2 : 1;
			end = p + 1;
			if (*p == '{' && (f = interval_count(p, &end)) == 0) {
				last[d] = 1; /* not an interval: a literal '{' */
				p++;
				break;
			}
			if (prev_rep)
				return "adjacent repetition operators";
			/* the operand counted once already; f - 1 more copies */
			total[d] = sat_add(total[d], sat_mul(last[d], f - 1));
			last[d] = sat_mul(last[d], f);
			p = end;
			prev_rep = 1;
			continue;
		default:
			last[d] = 1;
			p++;
			break;
		}
		prev_rep = 0;
		total[d] = sat_add(total[d], last[d]);
	}
	for (sum = 0, i = 0; i <= d; i++)
		sum = sat_add(sum, total[i]);
	return sum > RULE_MAX_SIZE ? "too complex (over 1000 states once repetitions are expanded)"
				   : NULL;
}

/* Compile one entry; files entries are anchored to the whole basename. */
static int
compile_rule(struct rule *r, const char *src, int anchored, const char *name, const char *where,
	     size_t i)
{
	regex_t raw;
	const char *why;
	char *wrapped;
	size_t nsub;
	int rc;

	if (*src == '\0')
		return cs_err_set(CS_EPARSE, "policy '%s': %s[%zu]: empty regex", name, where, i);
	if ((why = rule_too_complex(src)) != NULL)
		return cs_err_set(CS_EPARSE, "policy '%s': %s[%zu] \"%s\": invalid regex: %s", name,
				  where, i, src, why);
	rc = regcomp(&raw, src, REG_EXTENDED | REG_NOSUB);
	if (rc != 0)
		return regex_error(name, where, i, src, rc, &raw);
	if (!anchored) {
		r->re = raw;
		r->src = cs_xstrdup(src);
		return 0;
	}
	nsub = raw.re_nsub;
	regfree(&raw);
	wrapped = cs_xasprintf("^(%s)$", src);
	rc = regcomp(&r->re, wrapped, REG_EXTENDED | REG_NOSUB);
	free(wrapped);
	if (rc != 0)
		return regex_error(name, where, i, src, rc, &r->re);
	if (r->re.re_nsub != nsub + 1) {
		/* an unbalanced ')' taken literally would change the meaning of the wrapper */
		regfree(&r->re);
		return cs_err_set(CS_EPARSE, "policy '%s': %s[%zu] \"%s\": invalid regex: %s", name,
				  where, i, src, "unbalanced parenthesis");
	}
	r->src = cs_xstrdup(src);
	return 0;
}

static int
load_list(struct rule_list *l, json_t *arr, int anchored, const char *name, const char *where)
{
	size_t i;
	json_t *v;
	int error;

	if (!json_is_array(arr))
		return cs_err_set(CS_EPARSE, "policy '%s': %s: expected a list of strings", name,
				  where);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return cs_err_set(CS_EPARSE, "policy '%s': %s[%zu]: expected a string",
					  name, where, i);
		CS_ALLOC_GROW(l->v, l->nr + 1, l->alloc);
		if ((error = compile_rule(&l->v[l->nr], json_string_value(v), anchored, name, where,
					  i)) < 0)
			return error;
		l->nr++;
	}
	return 0;
}

static int
load_section(struct cs_filch *p, int s, json_t *obj)
{
	const char *key;
	char where[64];
	json_t *v;
	int error;

	if (!json_is_object(obj))
		return cs_err_set(CS_EPARSE, "policy '%s': %s: expected an object", p->name,
				  section_names[s]);
	json_object_foreach(obj, key, v)
	{
		snprintf(where, sizeof(where), "%s.%.20s", section_names[s], key);
		if (strcmp(key, "authorized") == 0)
			error =
			    load_list(&p->authorized[s], v, s == CS_FILCH_FILES, p->name, where);
		else if (strcmp(key, "forbidden") == 0)
			error = load_list(&p->forbidden[s], v, s == CS_FILCH_FILES, p->name, where);
		else
			error = cs_err_set(CS_EPARSE,
					   "policy '%s': %s: unknown list '%s' (expected "
					   "'authorized' or 'forbidden')",
					   p->name, section_names[s], key);
		if (error < 0)
			return error;
	}
	return 0;
}

static int
from_json(struct cs_filch **out, json_t *root, const char *name)
{
	struct cs_filch *p = NULL;
	const char *key;
	json_t *v;
	int error = 0, s;

	*out = NULL;
	if (!json_is_object(root))
		return cs_err_set(CS_EPARSE, "policy '%s': expected a JSON object", name);
	p = cs_xcalloc(1, sizeof(*p));
	p->name = cs_xstrdup(name);
	json_object_foreach(root, key, v)
	{
		for (s = 0; s < CS_FILCH_NSECTIONS; s++)
			if (strcmp(key, section_names[s]) == 0)
				break;
		if (s == CS_FILCH_NSECTIONS) {
			error =
			    cs_err_set(CS_EPARSE,
				       "policy '%s': unknown section '%s' (expected 'packages', "
				       "'processes' or 'files')",
				       name, key);
			goto out;
		}
		if ((error = load_section(p, s, v)) < 0)
			goto out;
	}
	*out = p;
	p = NULL;
out:
	cs_filch_free(p);
	return error;
}

int
cs_filch_parse(struct cs_filch **out, const char *json, size_t len, const char *name)
{
	json_error_t jerr;
	json_t *root;
	int error;

	*out = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return cs_err_set(CS_EPARSE, "policy '%s': line %d: %s", name, jerr.line,
				  jerr.text);
	error = from_json(out, root, name);
	json_decref(root);
	return error;
}

int
cs_filch_load(struct cs_filch **out, const char *path)
{
	json_error_t jerr;
	json_t *root;
	int error;

	*out = NULL;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (access(path, R_OK) != 0)
			return cs_err_set(CS_EIO, "cannot read policy '%s': %m", path);
		return cs_err_set(CS_EPARSE, "policy '%s': line %d: %s", path, jerr.line,
				  jerr.text);
	}
	error = from_json(out, root, path);
	json_decref(root);
	return error;
}

size_t
cs_filch_forbidden_nr(const struct cs_filch *p, enum cs_filch_section s)
{
	return p->forbidden[s].nr;
}

const char *
cs_filch_forbidden_rule(const struct cs_filch *p, enum cs_filch_section s, size_t i)
{
	return i < p->forbidden[s].nr ? p->forbidden[s].v[i].src : NULL;
}

static int
matches(const struct rule *r, const char *s)
{
	return regexec(&r->re, s, 0, NULL, 0) == 0;
}

size_t
cs_filch_check(const struct cs_filch *p, enum cs_filch_section s, const char *item,
	       cs_filch_violation_fn cb, void *payload)
{
	const struct rule_list *forb = &p->forbidden[s], *auth = &p->authorized[s];
	const char *subject = item;
	size_t i, j, n = 0;
	const char *slash;

	if (s == CS_FILCH_FILES && (slash = strrchr(item, '/')) != NULL)
		subject = slash + 1;
	for (i = 0; i < forb->nr; i++)
		if (matches(&forb->v[i], subject))
			break;
	if (i == forb->nr)
		return 0;
	for (j = 0; j < auth->nr; j++)
		if (matches(&auth->v[j], subject))
			return 0;
	for (; i < forb->nr; i++) {
		if (!matches(&forb->v[i], subject))
			continue;
		n++;
		if (cb != NULL)
			cb(forb->v[i].src, i, payload);
	}
	return n;
}

static int
try_dir(struct cs_buf *out, const char *dir, const char *file)
{
	struct cs_buf path = CS_BUF_INIT;
	int found;

	cs_buf_addf(&path, "%s/%s", dir, file);
	found = access(path.buf, R_OK) == 0;
	if (found)
		cs_buf_add(out, path.buf, path.len);
	cs_buf_release(&path);
	return found;
}

int
cs_filch_level_path(struct cs_buf *out, const char *level)
{
	char exe[PATH_MAX], dir[PATH_MAX + 32];
	const char *file;
	ssize_t n;
	char *slash;

	if (strcmp(level, "production") == 0)
		file = "filch.json";
	else if (strcmp(level, "non-production") == 0)
		file = "filch-insecure.json";
	else
		return cs_err_set(CS_EINVAL,
				  "unknown level '%s' (expected 'production' or 'non-production')",
				  level);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		snprintf(dir, sizeof(dir), "%s/policies", exe);
		if (try_dir(out, dir, file))
			return 0;
		snprintf(dir, sizeof(dir), "%s/../validator/policies", exe);
		if (try_dir(out, dir, file))
			return 0;
		/* relocatable installs: PREFIX/bin/TOOL finds PREFIX/share/caas-devops */
		snprintf(dir, sizeof(dir), "%s/../share/caas-devops/policies", exe);
		if (try_dir(out, dir, file))
			return 0;
	}
	if (try_dir(out, CS_DATADIR "/policies", file))
		return 0;
	return cs_err_set(CS_ENOTFOUND,
			  "policy level '%s': '%s' not found next to the executable, in "
			  "../share/caas-devops/policies beside it, nor in '%s'",
			  level, file, CS_DATADIR "/policies");
}
