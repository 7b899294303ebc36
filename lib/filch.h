/*
 * Filch policies: the blacklists the validator checks an image against.
 *
 *   { "packages":  { "authorized": [...], "forbidden": [...] },
 *     "processes": { "authorized": [...], "forbidden": [...] },
 *     "files":     { "authorized": [...], "forbidden": [...] } }
 *
 * Every section and both lists are optional; any other key is an error.
 * Entries are POSIX extended regular expressions. packages and processes
 * entries are searched anywhere in the name (anchor with ^ and $ to mean it);
 * files entries must match the whole basename of a path ("nc" matches
 * "/bin/nc", not "/bin/sync"). An item violates a forbidden entry when it
 * matches it and matches no authorized entry of the same section.
 */
#ifndef CS_FILCH_H
#define CS_FILCH_H

#include <stddef.h>

#include "buf.h"

enum cs_filch_section {
	CS_FILCH_PACKAGES = 0,
	CS_FILCH_PROCESSES = 1,
	CS_FILCH_FILES = 2,
};
#define CS_FILCH_NSECTIONS 3

struct cs_filch;

/* "packages", "processes", "files" (static string). */
const char *cs_filch_section_name(enum cs_filch_section s);

/*
 * Load the policy file at path. On success *out is a new policy
 * (cs_filch_free). Errors: CS_EIO (cannot read), CS_EPARSE (not JSON, wrong
 * types, unknown section or list, a regex that does not compile); the message
 * names the file, the section and the entry, e.g.
 * "policy 'p.json': files.forbidden[2] \"(\": invalid regex: ...".
 */
int cs_filch_load(struct cs_filch **out, const char *path);

/* As cs_filch_load, from len bytes of JSON; name is used in messages. */
int cs_filch_parse(struct cs_filch **out, const char *json, size_t len, const char *name);

/* Accepts NULL. */
void cs_filch_free(struct cs_filch *p);

/* The name the policy was loaded under (borrowed). */
const char *cs_filch_name(const struct cs_filch *p);

/* Number of entries in a section's forbidden list, and entry i (borrowed). */
size_t cs_filch_forbidden_nr(const struct cs_filch *p, enum cs_filch_section s);
const char *cs_filch_forbidden_rule(const struct cs_filch *p, enum cs_filch_section s, size_t i);

/*
 * Called by cs_filch_check for each forbidden entry item violates: rule is
 * the entry as written (borrowed), index its position in the list.
 */
typedef void (*cs_filch_violation_fn)(const char *rule, size_t index, void *payload);

/*
 * Check item against section s: a package name, a process name (the command's
 * basename), or a path (its basename is matched). Calls cb (may be NULL) for
 * every forbidden entry the item violates and returns how many it violates
 * (0 when some authorized entry matches).
 */
size_t cs_filch_check(const struct cs_filch *p, enum cs_filch_section s, const char *item,
		      cs_filch_violation_fn cb, void *payload);

/*
 * Find the file of a policy level: "production" is filch.json,
 * "non-production" filch-insecure.json. Looked up in <exe dir>/policies,
 * <exe dir>/../validator/policies (in-tree builds of the other tools),
 * <exe dir>/../share/caas-devops/policies (an install under any PREFIX or
 * DESTDIR), then CS_DATADIR/policies. The path is appended to out. Errors: CS_EINVAL for an
 * unknown level, CS_ENOTFOUND when no file exists (message lists the places).
 */
int cs_filch_level_path(struct cs_buf *out, const char *level);

#endif
