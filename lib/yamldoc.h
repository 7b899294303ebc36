/*
 * YAML (libyaml) to jansson, keeping source positions.
 *
 * A YAML stream is turned into json_t values. Anchors and aliases are
 * supported; an alias is expanded into a fresh deep copy, so every json_t in
 * the result is a distinct node and may be modified in place. The YAML 1.1
 * merge key "<<" takes a mapping or a sequence of mappings: keys written in
 * the mapping itself win over merged ones, and among several merged mappings
 * the first one listing a key wins.
 *
 * Scalars. Quoted scalars are always strings. A plain scalar that is empty,
 * "~", "null", "Null" or "NULL" is JSON null. The other plain scalars:
 *  - with CS_YAMLDOC_PLAIN_STRINGS (what Compose wants: "FOO: 1.0" in an
 *    environment must stay "1.0", "on" stays "on"), they stay strings, and
 *    the consumer converts where its schema needs a number or a boolean;
 *  - otherwise they are typed as the YAML 1.2 core schema says (what
 *    kubectl does): true/false (also True/TRUE/False/FALSE) are booleans,
 *    decimal, 0o-octal and 0x-hex integers are integers, decimals and
 *    .inf/.nan are reals, everything else a string. yes/no/on/off are
 *    strings (YAML 1.2, like compose-go and kubectl's sigs.k8s.io/yaml for
 *    values).
 * Mapping keys are always strings (their source text). A duplicate key in one
 * mapping is an error, as in compose-go and kubectl.
 *
 * Positions. struct cs_yamlpos records, for each mapping key, the line and
 * column where the key was written, and for each sequence item where the item
 * starts (1-based). Lookups are by container node pointer, so they remain
 * valid as long as the tree's containers are not replaced; aliased copies and
 * merged keys report the position of the anchored text. Tags such as
 * "!reset" or "!override" on a key's value are remembered too.
 *
 * Limits: more than CS_YAMLDOC_MAX_NODES nodes or CS_YAMLDOC_MAX_BYTES bytes
 * of scalar and key text after alias expansion (the "billion laughs"
 * document, or a few aliases of a long string) or nesting deeper than
 * CS_YAMLDOC_MAX_DEPTH is CS_ETOOBIG. Memory for the values comes from
 * jansson, which libcs points at its aborting allocator (see xalloc.h): no
 * value is ever dropped for want of memory.
 */
#ifndef CS_YAMLDOC_H
#define CS_YAMLDOC_H

#include <jansson.h>
#include <stddef.h>

#define CS_YAMLDOC_MAX_NODES 1000000
#define CS_YAMLDOC_MAX_DEPTH 256
#define CS_YAMLDOC_MAX_BYTES ((size_t)64 << 20)

enum cs_yamldoc_flags {
	CS_YAMLDOC_PLAIN_STRINGS = 1 << 0, /* plain scalars stay strings (null excepted) */
};

struct cs_yamlpos;

/*
 * Load a stream holding zero or one document. On success *out is a new
 * reference (json_decref; an empty stream gives JSON null) and, when pos is
 * not NULL, *pos a new position table (cs_yamlpos_free). filename is used in
 * messages and copied into the table.
 * Errors: CS_EPARSE "FILE:LINE:COL: problem" for malformed YAML, duplicate
 * keys, unknown aliases, bad merge values, more than one document;
 * CS_ETOOBIG for the limits above. On error *out and *pos are NULL.
 */
int cs_yamldoc_load(json_t **out, struct cs_yamlpos **pos, const char *text, size_t len,
		    const char *filename, unsigned flags);

/*
 * Load every document of a stream ("---" separated, as Kubernetes manifests)
 * into a new JSON array, one element per document (possibly empty). Same
 * ownership and errors as cs_yamldoc_load(); one table covers all documents.
 */
int cs_yamldoc_load_all(json_t **out, struct cs_yamlpos **pos, const char *text, size_t len,
			const char *filename, unsigned flags);

/* Free a table; accepts NULL. */
void cs_yamlpos_free(struct cs_yamlpos *pos);

/* The file name given at load time; borrowed, never NULL. */
const char *cs_yamlpos_file(const struct cs_yamlpos *pos);

/*
 * Line (1-based) of key in mapping obj, or of item index in sequence arr;
 * 0 when unknown (NULL pos, a node that did not come from this table).
 * *col, when col is not NULL, gets the column (1-based) or 0.
 */
int cs_yamlpos_key_line(const struct cs_yamlpos *pos, const json_t *obj, const char *key, int *col);
int cs_yamlpos_index_line(const struct cs_yamlpos *pos, const json_t *arr, size_t index, int *col);

/*
 * The tag written on the value of key in obj ("!reset", "!override", or a
 * resolved "tag:yaml.org,2002:str"), or NULL when there was none. Borrowed.
 */
const char *cs_yamlpos_key_tag(const struct cs_yamlpos *pos, const json_t *obj, const char *key);

/*
 * Line of the node at a dotted path below root: "services.web.build" is key
 * "build" of root.services.web; a numeric component indexes a sequence
 * ("services.web.ports.1"). Keys containing dots cannot be named this way.
 * 0 when the path or its position is unknown.
 */
int cs_yamlpos_path_line(const struct cs_yamlpos *pos, const json_t *root, const char *path);

/*
 * Record a position by hand: for a node built by a consumer (merge of two
 * files) that wants to keep the line of the original. key NULL means index.
 */
void cs_yamlpos_set(struct cs_yamlpos *pos, const json_t *container, const char *key, size_t index,
		    int line, int col);

#endif
