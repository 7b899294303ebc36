/*
 * libyaml event stream to jansson values, with a side table of source
 * positions. Aliases are expanded by copying, so the node count after
 * expansion is what the billion-laughs cap measures.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "xalloc.h"
#include "yamldoc.h"

struct pos_ent {
	const void *node;
	char *key; /* NULL: an index entry */
	size_t index;
	int line, col;
	char *tag;
	struct pos_ent *next;
};

struct cs_yamlpos {
	char *file;
	struct pos_ent **tab;
	size_t nbuckets, nr;
};

struct frame {
	json_t *node; /* the object or array being built */
	char *anchor;
	char *tag;
	int line, col;
	char *key; /* mapping: key waiting for its value */
	int key_line, key_col;
	int key_is_merge;
	json_t *merges; /* mapping: objects named by "<<", in order */
};

struct anchor {
	char *name;
	json_t *node;
};

struct loader {
	yaml_parser_t parser;
	struct cs_yamlpos *pos;
	const char *file;
	unsigned flags;
	struct frame *stack;
	size_t nr, alloc;
	struct anchor *anchors;
	size_t nanchors, aalloc;
	size_t nodes;
	size_t bytes; /* scalar and key text after alias expansion */
	int error;
};

/* Position table */

static size_t
hash_ent(const void *node, const char *key, size_t index)
{
	size_t h = (size_t)(uintptr_t)node * 2654435761u;

	if (key == NULL)
		return h ^ (index * 40503u + 7);
	while (*key)
		h = h * 31 + (unsigned char)*key++;
	return h;
}

static struct pos_ent *
pos_find(const struct cs_yamlpos *pos, const void *node, const char *key, size_t index)
{
	struct pos_ent *e;

	if (pos == NULL || pos->nbuckets == 0 || node == NULL)
		return NULL;
	e = pos->tab[hash_ent(node, key, index) % pos->nbuckets];
	for (; e; e = e->next) {
		if (e->node != node)
			continue;
		if (key == NULL ? e->key == NULL && e->index == index
				: e->key != NULL && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static void
pos_grow(struct cs_yamlpos *pos)
{
	size_t n = pos->nbuckets ? pos->nbuckets * 2 : 256, i;
	struct pos_ent **tab = cs_xcalloc(n, sizeof(*tab)), *e, *next;

	for (i = 0; i < pos->nbuckets; i++) {
		for (e = pos->tab[i]; e; e = next) {
			size_t h = hash_ent(e->node, e->key, e->index) % n;

			next = e->next;
			e->next = tab[h];
			tab[h] = e;
		}
	}
	free(pos->tab);
	pos->tab = tab;
	pos->nbuckets = n;
}

static struct pos_ent *
pos_put(struct cs_yamlpos *pos, const void *node, const char *key, size_t index, int line, int col,
	const char *tag)
{
	struct pos_ent *e = pos_find(pos, node, key, index);
	size_t h;

	if (e == NULL) {
		if (pos->nr >= pos->nbuckets * 2)
			pos_grow(pos);
		e = cs_xcalloc(1, sizeof(*e));
		e->node = node;
		e->key = key ? cs_xstrdup(key) : NULL;
		e->index = index;
		h = hash_ent(node, key, index) % pos->nbuckets;
		e->next = pos->tab[h];
		pos->tab[h] = e;
		pos->nr++;
	}
	e->line = line;
	e->col = col;
	free(e->tag);
	e->tag = tag ? cs_xstrdup(tag) : NULL;
	return e;
}

void
cs_yamlpos_set(struct cs_yamlpos *pos, const json_t *container, const char *key, size_t index,
	       int line, int col)
{
	if (pos == NULL || container == NULL)
		return;
	pos_put(pos, container, key, index, line, col, NULL);
}

void
cs_yamlpos_free(struct cs_yamlpos *pos)
{
	struct pos_ent *e, *next;
	size_t i;

	if (pos == NULL)
		return;
	for (i = 0; i < pos->nbuckets; i++) {
		for (e = pos->tab[i]; e; e = next) {
			next = e->next;
			free(e->key);
			free(e->tag);
			free(e);
		}
	}
	free(pos->tab);
	free(pos->file);
	free(pos);
}

const char *
cs_yamlpos_file(const struct cs_yamlpos *pos)
{
	return pos && pos->file ? pos->file : "-";
}

int
cs_yamlpos_key_line(const struct cs_yamlpos *pos, const json_t *obj, const char *key, int *col)
{
	struct pos_ent *e = key ? pos_find(pos, obj, key, 0) : NULL;

	if (col)
		*col = e ? e->col : 0;
	return e ? e->line : 0;
}

int
cs_yamlpos_index_line(const struct cs_yamlpos *pos, const json_t *arr, size_t index, int *col)
{
	struct pos_ent *e = pos_find(pos, arr, NULL, index);

	if (col)
		*col = e ? e->col : 0;
	return e ? e->line : 0;
}

const char *
cs_yamlpos_key_tag(const struct cs_yamlpos *pos, const json_t *obj, const char *key)
{
	struct pos_ent *e = key ? pos_find(pos, obj, key, 0) : NULL;

	return e ? e->tag : NULL;
}

int
cs_yamlpos_path_line(const struct cs_yamlpos *pos, const json_t *root, const char *path)
{
	const json_t *cur = root;
	char *copy, *p, *dot, *end;
	int line = 0;

	if (pos == NULL || root == NULL || path == NULL)
		return 0;
	copy = cs_xstrdup(path);
	for (p = copy; p && cur; p = dot) {
		dot = strchr(p, '.');
		if (dot)
			*dot++ = '\0';
		if (json_is_object(cur)) {
			line = cs_yamlpos_key_line(pos, cur, p, NULL);
			cur = json_object_get(cur, p);
		} else if (json_is_array(cur)) {
			unsigned long i = strtoul(p, &end, 10);

			if (*p == '\0' || *end != '\0') {
				line = 0;
				break;
			}
			line = cs_yamlpos_index_line(pos, cur, i, NULL);
			cur = json_array_get(cur, i);
		} else {
			line = 0;
			break;
		}
		if (line == 0)
			break;
	}
	if (cur == NULL)
		line = 0;
	free(copy);
	return line;
}

/* Loader */

static int
fail_at(struct loader *l, int code, int line, int col, const char *what)
{
	l->error = cs_err_set(code, "%s:%d:%d: %s", l->file, line, col, what);
	return l->error;
}

static int
count_node(struct loader *l, int line, int col)
{
	if (++l->nodes > CS_YAMLDOC_MAX_NODES)
		return fail_at(
		    l, CS_ETOOBIG, line, col,
		    "document too large after alias expansion (more than 1000000 nodes)");
	return 0;
}

/*
 * Text is capped too: a few thousand nodes that each copy a long string grow
 * a 100 KB file to gigabytes without reaching the node cap.
 */
static int
count_bytes(struct loader *l, size_t n, int line, int col)
{
	if (n > CS_YAMLDOC_MAX_BYTES - l->bytes) {
		l->bytes = CS_YAMLDOC_MAX_BYTES;
		return fail_at(l, CS_ETOOBIG, line, col,
			       "document too large after alias expansion (more than 64 MiB of "
			       "text)");
	}
	l->bytes += n;
	return 0;
}

/*
 * Deep copy for an alias; the copy gets the positions of the original.
 * NULL with l->error set when a limit is reached or jansson refuses a value.
 */
static json_t *
copy_node(struct loader *l, const json_t *src, int line, int col)
{
	json_t *dst = NULL, *v, *c;
	const char *k;
	struct pos_ent *e;
	size_t i;

	if (count_node(l, line, col) < 0)
		return NULL;
	if (json_is_object(src)) {
		dst = json_object();
		json_object_foreach((json_t *)src, k, v)
		{
			if (count_bytes(l, strlen(k), line, col) < 0)
				goto fail;
			if ((c = copy_node(l, v, line, col)) == NULL)
				goto fail;
			if (json_object_set_new(dst, k, c) < 0)
				goto refused;
			if ((e = pos_find(l->pos, src, k, 0)) != NULL)
				pos_put(l->pos, dst, k, 0, e->line, e->col, e->tag);
		}
	} else if (json_is_array(src)) {
		dst = json_array();
		json_array_foreach(src, i, v)
		{
			if ((c = copy_node(l, v, line, col)) == NULL)
				goto fail;
			if (json_array_append_new(dst, c) < 0)
				goto refused;
			if ((e = pos_find(l->pos, src, NULL, i)) != NULL)
				pos_put(l->pos, dst, NULL, i, e->line, e->col, e->tag);
		}
	} else {
		if (json_is_string(src) && count_bytes(l, json_string_length(src), line, col) < 0)
			goto fail;
		if ((dst = json_copy((json_t *)src)) == NULL)
			goto refused;
	}
	return dst;
refused:
	fail_at(l, CS_ERROR, line, col, "cannot copy the aliased value");
fail:
	json_decref(dst);
	return NULL;
}

static int
is_null_text(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 &&
		(!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static json_t *
typed_scalar(const char *s, size_t n)
{
	char *end;
	long long ll;
	double d;
	const char *p = s;
	int digits = 0, dot = 0, exp = 0;

	if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))
		return json_true();
	if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))
		return json_false();
	if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		errno = 0;
		ll = strtoll(s + 2, &end, s[1] == 'o' ? 8 : 16);
		if (errno == 0 && end == s + n && s[2] != '-' && s[2] != '+' && s[2] != ' ')
			return json_integer(ll);
		return NULL;
	}
	if (*p == '-' || *p == '+')
		p++;
	for (; p < s + n; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.' && !dot && !exp)
			dot = 1;
		else if ((*p == 'e' || *p == 'E') && digits && !exp) {
			exp = 1;
			if (p + 1 < s + n && (p[1] == '-' || p[1] == '+'))
				p++;
			if (p + 1 >= s + n)
				return NULL;
		} else
			return NULL;
	}
	if (!digits)
		return NULL;
	errno = 0;
	if (!dot && !exp) {
		ll = strtoll(s, &end, 10);
		if (errno == 0 && end == s + n)
			return json_integer(ll);
		return NULL;
	}
	d = strtod(s, &end);
	if (errno == 0 && end == s + n)
		return json_real(d);
	return NULL;
}

static json_t *
scalar_value(struct loader *l, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	json_t *v = NULL;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (tag == NULL || !strcmp(tag, YAML_NULL_TAG)) && is_null_text(s, n))
		return json_null();
	if (tag && !strcmp(tag, YAML_NULL_TAG))
		return json_null();
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && tag == NULL &&
	    !(l->flags & CS_YAMLDOC_PLAIN_STRINGS))
		v = typed_scalar(s, n);
	else if (tag && (!strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG) ||
			 !strcmp(tag, YAML_BOOL_TAG)))
		v = typed_scalar(s, n);
	if (v == NULL)
		v = json_stringn(s, n);
	return v;
}

static void
frame_release(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->merges);
	free(f->anchor);
	free(f->tag);
	free(f->key);
	memset(f, 0, sizeof(*f));
}

static void
anchor_set(struct loader *l, const char *name, json_t *node)
{
	size_t i;

	for (i = 0; i < l->nanchors; i++) {
		if (!strcmp(l->anchors[i].name, name)) {
			json_decref(l->anchors[i].node);
			l->anchors[i].node = json_incref(node);
			return;
		}
	}
	CS_ALLOC_GROW(l->anchors, l->nanchors + 1, l->aalloc);
	l->anchors[l->nanchors].name = cs_xstrdup(name);
	l->anchors[l->nanchors].node = json_incref(node);
	l->nanchors++;
}

static const json_t *
anchor_get(struct loader *l, const char *name)
{
	size_t i;

	for (i = l->nanchors; i-- > 0;)
		if (!strcmp(l->anchors[i].name, name))
			return l->anchors[i].node;
	return NULL;
}

static void
anchors_clear(struct loader *l)
{
	size_t i;

	for (i = 0; i < l->nanchors; i++) {
		free(l->anchors[i].name);
		json_decref(l->anchors[i].node);
	}
	free(l->anchors);
	l->anchors = NULL;
	l->nanchors = l->aalloc = 0;
}

/*
 * Hand a finished value (reference stolen) to the container on top of the
 * stack, or make it the document when the stack is empty.
 */
static int
add_value(struct loader *l, json_t *v, int line, int col, const char *tag, json_t **doc)
{
	struct frame *f;
	char msg[160];
	size_t i;

	if (l->nr == 0) {
		json_decref(*doc);
		*doc = v;
		return 0;
	}
	f = &l->stack[l->nr - 1];
	if (json_is_array(f->node)) {
		pos_put(l->pos, f->node, NULL, json_array_size(f->node), line, col, tag);
		json_array_append_new(f->node, v);
		return 0;
	}
	if (f->key == NULL) {
		/* this value is a key */
		if (!json_is_string(v)) {
			json_decref(v);
			return fail_at(l, CS_EPARSE, line, col,
				       "only scalar mapping keys are supported");
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			json_decref(v);
			return fail_at(l, CS_EPARSE, line, col, "NUL byte in a mapping key");
		}
		f->key = cs_xstrdup(json_string_value(v));
		f->key_line = line;
		f->key_col = col;
		f->key_is_merge = 0;
		json_decref(v);
		return 0;
	}
	if (f->key_is_merge) {
		if (json_is_object(v)) {
			json_array_append_new(f->merges, v);
		} else if (json_is_array(v)) {
			json_t *m;

			json_array_foreach(v, i, m)
			{
				if (!json_is_object(m)) {
					json_decref(v);
					return fail_at(l, CS_EPARSE, f->key_line, f->key_col,
						       "merge key '<<' needs a mapping or a list "
						       "of mappings");
				}
				json_array_append(f->merges, m);
			}
			json_decref(v);
		} else {
			json_decref(v);
			return fail_at(l, CS_EPARSE, f->key_line, f->key_col,
				       "merge key '<<' needs a mapping or a list of mappings");
		}
	} else {
		if (json_object_get(f->node, f->key) != NULL) {
			json_decref(v);
			snprintf(msg, sizeof(msg), "mapping key '%.100s' already defined", f->key);
			return fail_at(l, CS_EPARSE, f->key_line, f->key_col, msg);
		}
		json_object_set_new(f->node, f->key, v);
		pos_put(l->pos, f->node, f->key, 0, f->key_line, f->key_col, tag);
	}
	CS_FREE_AND_NULL(f->key);
	return 0;
}

/* At the end of a mapping: add the merged keys the mapping does not set itself. */
static void
apply_merges(struct loader *l, struct frame *f)
{
	json_t *m, *v;
	const char *k;
	struct pos_ent *e;
	size_t i;

	json_array_foreach(f->merges, i, m)
	{
		json_object_foreach(m, k, v)
		{
			if (json_object_get(f->node, k) != NULL)
				continue;
			json_object_set(f->node, k, v);
			if ((e = pos_find(l->pos, m, k, 0)) != NULL)
				pos_put(l->pos, f->node, k, 0, e->line, e->col, e->tag);
		}
	}
}

static int
parse_error(struct loader *l)
{
	yaml_parser_t *p = &l->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->context)
		l->error =
		    cs_err_set(CS_EPARSE, "%s:%zu:%zu: %s %s", l->file, p->problem_mark.line + 1,
			       p->problem_mark.column + 1, problem, p->context);
	else
		l->error =
		    cs_err_set(CS_EPARSE, "%s:%zu:%zu: %s", l->file, p->problem_mark.line + 1,
			       p->problem_mark.column + 1, problem);
	return l->error;
}

static int
push_frame(struct loader *l, json_t *node, const yaml_char_t *anchor, const yaml_char_t *tag,
	   int line, int col)
{
	struct frame *f;

	if (l->nr >= CS_YAMLDOC_MAX_DEPTH) {
		json_decref(node);
		return fail_at(l, CS_ETOOBIG, line, col, "nesting too deep");
	}
	CS_ALLOC_GROW(l->stack, l->nr + 1, l->alloc);
	f = &l->stack[l->nr++];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->anchor = anchor ? cs_xstrdup((const char *)anchor) : NULL;
	f->tag = tag ? cs_xstrdup((const char *)tag) : NULL;
	f->line = line;
	f->col = col;
	if (json_is_object(node))
		f->merges = json_array();
	return 0;
}

/* Close the container on top of the stack and hand it to its parent. */
static int
pop_frame(struct loader *l, json_t **doc)
{
	struct frame f = l->stack[--l->nr];
	int error;

	if (json_is_object(f.node))
		apply_merges(l, &f);
	if (f.anchor)
		anchor_set(l, f.anchor, f.node);
	error = add_value(l, f.node, f.line, f.col, f.tag, doc);
	f.node = NULL;
	frame_release(&f);
	return error;
}

static int
load(json_t **out, struct cs_yamlpos **posp, const char *text, size_t len, const char *filename,
     unsigned flags, int all)
{
	struct loader l;
	yaml_event_t ev;
	json_t *docs = json_array(), *doc = NULL, *v;
	int done = 0, error = 0, line, col, is_key;
	const char *s;
	struct frame *f;

	*out = NULL;
	if (posp)
		*posp = NULL;
	memset(&l, 0, sizeof(l));
	l.file = filename ? filename : "-";
	l.flags = flags;
	l.pos = cs_xcalloc(1, sizeof(*l.pos));
	l.pos->file = cs_xstrdup(l.file);
	if (!yaml_parser_initialize(&l.parser)) {
		error = cs_err_set(CS_ERROR, "%s: cannot initialise the YAML parser", l.file);
		goto out;
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&l.parser, &ev)) {
			error = parse_error(&l);
			goto out;
		}
		line = (int)ev.start_mark.line + 1;
		col = (int)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (!all && json_array_size(docs) > 0) {
				error = fail_at(&l, CS_EPARSE, line, col,
						"expected a single YAML document, found several");
				break;
			}
			doc = json_null();
			break;
		case YAML_DOCUMENT_END_EVENT:
			json_array_append_new(docs, doc);
			doc = NULL;
			anchors_clear(&l);
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT: {
			int is_map = ev.type == YAML_MAPPING_START_EVENT;

			if ((error = count_node(&l, line, col)) < 0)
				break;
			f = l.nr ? &l.stack[l.nr - 1] : NULL;
			if (f && json_is_object(f->node) && f->key == NULL) {
				error = fail_at(&l, CS_EPARSE, line, col,
						"only scalar mapping keys are supported");
				break;
			}
			error = push_frame(
			    &l, is_map ? json_object() : json_array(),
			    is_map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor,
			    is_map ? ev.data.mapping_start.tag : ev.data.sequence_start.tag, line,
			    col);
			break;
		}
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			error = pop_frame(&l, &doc);
			break;
		case YAML_SCALAR_EVENT:
			if ((error = count_node(&l, line, col)) < 0 ||
			    (error = count_bytes(&l, ev.data.scalar.length, line, col)) < 0)
				break;
			f = l.nr ? &l.stack[l.nr - 1] : NULL;
			is_key = f && json_is_object(f->node) && f->key == NULL;
			s = (const char *)ev.data.scalar.value;
			if (is_key)
				v = json_stringn(s, ev.data.scalar.length);
			else
				v = scalar_value(&l, &ev);
			if (v == NULL) {
				error =
				    fail_at(&l, CS_EPARSE, line, col, "invalid UTF-8 in a scalar");
				break;
			}
			if (ev.data.scalar.anchor)
				anchor_set(&l, (const char *)ev.data.scalar.anchor, v);
			error = add_value(&l, v, line, col, (const char *)ev.data.scalar.tag, &doc);
			if (error == 0 && is_key &&
			    ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(s, "<<"))
				f->key_is_merge = 1;
			break;
		case YAML_ALIAS_EVENT: {
			const json_t *a = anchor_get(&l, (const char *)ev.data.alias.anchor);

			if (a == NULL) {
				error = fail_at(&l, CS_EPARSE, line, col, "unknown alias");
				break;
			}
			if ((v = copy_node(&l, a, line, col)) == NULL) {
				error = l.error < 0 ? l.error
						    : fail_at(&l, CS_ERROR, line, col,
							      "cannot copy the aliased value");
				break;
			}
			error = add_value(&l, v, line, col, NULL, &doc);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (error < 0)
			goto out;
	}
	if (all) {
		*out = docs;
		docs = NULL;
	} else {
		*out = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_null();
	}
	if (posp) {
		*posp = l.pos;
		l.pos = NULL;
	}
out:
	while (l.nr > 0)
		frame_release(&l.stack[--l.nr]);
	free(l.stack);
	anchors_clear(&l);
	json_decref(doc);
	json_decref(docs);
	cs_yamlpos_free(l.pos);
	yaml_parser_delete(&l.parser);
	return error;
}

int
cs_yamldoc_load(json_t **out, struct cs_yamlpos **pos, const char *text, size_t len,
		const char *filename, unsigned flags)
{
	return load(out, pos, text, len, filename, flags, 0);
}

int
cs_yamldoc_load_all(json_t **out, struct cs_yamlpos **pos, const char *text, size_t len,
		    const char *filename, unsigned flags)
{
	return load(out, pos, text, len, filename, flags, 1);
}
