/*
 * Internals shared by compose.c (load, interpolate), compose_merge.c
 * (canonical raw form, merge of several files), compose_norm.c (the model)
 * and compose_check.c (warnings). Not for the backends: they use compose.h.
 */
#ifndef DEP_COMPOSE_INT_H
#define DEP_COMPOSE_INT_H

#include <jansson.h>

#include "strvec.h"

struct cs_yamlpos;

/*
 * Keys the loader adds to each raw service so that the origin survives the
 * merge; they start with "x-" and are therefore ignored by everything else.
 */
#define DEP_SRC_FILE "x-cs-file"
#define DEP_SRC_LINE "x-cs-line"

/*
 * Rewrite one file's raw document in place into the canonical raw form the
 * merge works on: list-form environment/labels/depends_on/networks become
 * maps, short ports/volumes/secrets/configs become long-form objects, a
 * string build becomes {context}. Records DEP_SRC_FILE/LINE per service.
 * 0 or CS_EINVAL ("FILE:LINE: service 'x': ...").
 */
int dep_compose__canon(json_t *doc, const struct cs_yamlpos *pos, const char *file);

/*
 * Merge over (a canonical raw document of a later -f file) into base, as
 * the Compose Specification's "Merge and override" section says. pos is
 * over's position table (for the !reset and !override tags).
 */
void dep_compose__merge(json_t *base, const json_t *over, const struct cs_yamlpos *pos);

/*
 * Build the model from the merged canonical document. vars resolves bare
 * environment keys; env is the process environment (for "~" in paths).
 * On success *out is a new reference. Errors: CS_EINVAL with "FILE:LINE:".
 */
int dep_compose__normalize(json_t **out, const json_t *doc, const char *app,
			   const char *project_dir, const json_t *vars, const char *const *env,
			   struct cs_strvec *warnings);

/*
 * Validate one raw file (after interpolation) as docker validates against
 * the Compose schema: a key that no Compose format knows (top level,
 * service, deploy and the mappings below deploy), or a version value no
 * format has ("1", "4.0"), is an error. Appends one message per problem to
 * errors ("FILE:LINE: service 'web': unknown key 'deploy.replcas' (not in
 * the Compose schema)"); 0, or CS_EINVAL when it appended any.
 */
int dep_compose__validate(struct cs_strvec *errors, const json_t *doc,
			  const struct cs_yamlpos *pos);

/* Look up K in a NULL-terminated "K=V" array; NULL when absent. */
const char *dep_compose__getenv(const char *const *env, const char *key);

struct cs_buf;
/* Read a whole file (at most 16 MiB) into out. 0, CS_EIO or CS_ETOOBIG. */
int dep_compose__read_file(struct cs_buf *out, const char *path);

/* Log a warning and append it to warnings (when not NULL). */
void dep_compose__warn(struct cs_strvec *warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
