/*
 * Loading Compose files: read each -f file, interpolate its string values
 * with the variables (--set, then the environment, then .env or
 * --env-file), warn about keys that do not apply, merge the files in order
 * and hand the result to the normalizer (compose_norm.c).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "compose.h"
#include "compose_int.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"
#include "yamldoc.h"

#define MAX_FILE_SIZE ((size_t)16 << 20)

extern char **environ;

const char *
dep_compose__getenv(const char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

void
dep_compose__warn(struct cs_strvec *warnings, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	cs_log_sanitize(msg);
	cs_log(CS_LOG_WARN, "%s", msg);
	if (warnings)
		cs_strvec_push_take(warnings, msg);
	else
		free(msg);
}

int
dep_compose__read_file(struct cs_buf *out, const char *path)
{
	char chunk[8192];
	FILE *f;
	size_t n;
	int error = 0;

	cs_buf_init(out, MAX_FILE_SIZE);
	if ((f = fopen(path, "r")) == NULL)
		return cs_err_set(CS_EIO, "cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (cs_buf_add(out, chunk, n) < 0) {
			error = cs_err_set(CS_ETOOBIG, "'%s' is larger than %zu bytes", path,
					   MAX_FILE_SIZE);
			break;
		}
	}
	if (error == 0 && ferror(f))
		error = cs_err_set(CS_EIO, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	if (error)
		cs_buf_release(out);
	return error;
}

/* Variables: .env (or --env-file), overridden by the environment, then by --set. */
static int
build_vars(json_t **out, const struct dep_compose_opts *opts, const char *project_dir)
{
	json_t *base = json_object(), *filevars = NULL, *vars = NULL;
	struct cs_buf text = CS_BUF_INIT;
	const char *const *e;
	char *path = NULL;
	const char *eq;
	size_t i;
	int error = 0;

	*out = NULL;
	for (e = opts->env ? opts->env : (const char *const *)environ; e && *e; e++) {
		if ((eq = strchr(*e, '=')) == NULL || eq == *e)
			continue;
		path = cs_xstrndup(*e, (size_t)(eq - *e));
		json_object_set_new(base, path, json_string(eq + 1));
		CS_FREE_AND_NULL(path);
	}
	for (i = 0; opts->sets && i < opts->sets->nr; i++) {
		const char *kv = opts->sets->v[i];

		if ((eq = strchr(kv, '=')) == NULL || eq == kv) {
			error = cs_err_set(CS_EINVAL, "invalid --set '%s': expected KEY=VALUE", kv);
			goto out;
		}
		path = cs_xstrndup(kv, (size_t)(eq - kv));
		json_object_set_new(base, path, json_string(eq + 1));
		CS_FREE_AND_NULL(path);
	}
	if (opts->env_file)
		path = cs_xstrdup(opts->env_file);
	else
		path = cs_xasprintf("%s/.env", project_dir);
	if (opts->env_file || access(path, F_OK) == 0) {
		if ((error = dep_compose__read_file(&text, path)) < 0)
			goto out;
		if ((error = dep_envfile_parse(&filevars, text.buf, text.len, path, base)) < 0)
			goto out;
	}
	vars = json_object();
	if (filevars) {
		const char *k;
		json_t *v;

		json_object_foreach(filevars, k, v) if (json_is_string(v))
		    json_object_set(vars, k, v);
	}
	json_object_update(vars, base);
	*out = vars;
	vars = NULL;
out:
	free(path);
	cs_buf_release(&text);
	json_decref(base);
	json_decref(filevars);
	json_decref(vars);
	return error;
}

struct walk {
	const json_t *vars;
	const struct cs_yamlpos *pos;
	const char *file;
	struct cs_strvec *errors; /* "FILE:LINE: required variable ..." */
	struct cs_strvec seen;	  /* messages already reported for this file */
	struct cs_strvec *unset;
	int syntax;
};

static void
interp_node(struct walk *w, json_t *node, json_t *parent, const char *key, size_t index)
{
	struct cs_strvec errs = CS_STRVEC_INIT;
	const char *k;
	json_t *v;
	char *res;
	size_t i;
	int line;

	if (json_is_object(node)) {
		json_object_foreach(node, k, v) interp_node(w, v, node, k, 0);
		return;
	}
	if (json_is_array(node)) {
		json_array_foreach(node, i, v) interp_node(w, v, node, NULL, i);
		return;
	}
	if (!json_is_string(node) || strchr(json_string_value(node), '$') == NULL)
		return;
	if (dep_interp_string(&res, json_string_value(node), w->vars, &errs, w->unset) == 0) {
		json_string_set(node, res);
		free(res);
		return;
	}
	line = key ? cs_yamlpos_key_line(w->pos, parent, key, NULL)
		   : cs_yamlpos_index_line(w->pos, parent, index, NULL);
	for (i = 0; i < errs.nr; i++) {
		if (cs_strvec_has(&w->seen, errs.v[i]))
			continue;
		cs_strvec_push(&w->seen, errs.v[i]);
		cs_strvec_pushf(w->errors, "%s:%d: %s", w->file, line, errs.v[i]);
	}
	cs_strvec_clear(&errs);
}

static int
load_one(json_t **out, struct cs_yamlpos **pos, const char *path)
{
	struct cs_buf text = CS_BUF_INIT;
	json_t *doc = NULL;
	int error;

	*out = NULL;
	if ((error = dep_compose__read_file(&text, path)) < 0)
		return error;
	error = cs_yamldoc_load(&doc, pos, text.buf, text.len, path, CS_YAMLDOC_PLAIN_STRINGS);
	cs_buf_release(&text);
	if (error < 0)
		return error;
	if (json_is_null(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		cs_yamlpos_free(*pos);
		*pos = NULL;
		return cs_err_set(CS_EINVAL, "%s: top-level must be a mapping", path);
	}
	*out = doc;
	return 0;
}

static char *
app_name(const char *want, const json_t *doc, const char *project_dir)
{
	const char *n = want, *q;
	char *s, *p;

	if (n && *n) {
		/* an explicit --app is used as it is, or refused */
		for (q = n; *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			      (*q >= '0' && *q <= '9') || (q > n && strchr("_.-", *q))))
				return NULL;
		return cs_xstrdup(n);
	}
	n = json_string_value(json_object_get(doc, "name"));
	if (n == NULL || *n == '\0') {
		const char *slash = strrchr(project_dir, '/');

		n = slash && slash[1] ? slash + 1 : project_dir;
	}
	s = cs_xstrdup(n);
	/* compose's rule: lower case, [a-z0-9_-], starting with a letter or digit */
	for (p = s; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
			   *p == '-'))
			*p = '_';
	}
	return s;
}

/*
 * No profile is ever active (there is no --profile), so a service that lists
 * profiles is not deployed, as "docker compose up" without --profile does.
 */
static void
skip_profiles(json_t *doc, struct cs_strvec *warnings)
{
	json_t *services = json_object_get(doc, "services"), *svc;
	const char *name;
	void *tmp;

	json_object_foreach_safe(services, tmp, name, svc)
	{
		if (json_array_size(json_object_get(svc, "profiles")) == 0)
			continue;
		dep_compose__warn(warnings,
				  "%s:%d: service '%s' has profiles: and is not deployed (no "
				  "profile is active)",
				  json_string_value(json_object_get(svc, DEP_SRC_FILE)),
				  (int)json_integer_value(json_object_get(svc, DEP_SRC_LINE)),
				  name);
		json_object_del(services, name);
	}
}

static int
join_errors(const struct cs_strvec *errors)
{
	struct cs_buf m = CS_BUF_INIT;
	size_t i;
	int error;

	for (i = 0; i < errors->nr; i++)
		cs_buf_addf(&m, "%s%s", i ? "; " : "", errors->v[i]);
	error = cs_err_set(CS_EINVAL, "%s", m.buf);
	cs_buf_release(&m);
	return error;
}

int
dep_compose_load(json_t **model, const struct dep_compose_opts *opts)
{
	struct cs_strvec errors = CS_STRVEC_INIT, unset = CS_STRVEC_INIT;
	struct cs_yamlpos *pos = NULL;
	json_t *vars = NULL, *merged = NULL, *doc = NULL;
	char *project_dir = NULL, *tmp = NULL, *app = NULL, real[PATH_MAX];
	const char *target = opts->target ? opts->target : "swarm";
	size_t i, j;
	int error = 0;

	*model = NULL;
	if (opts->files == NULL || opts->files->nr == 0)
		return cs_err_set(CS_EINVAL, "no compose file given (-f FILE)");
	if (realpath(opts->files->v[0], real) == NULL)
		return cs_err_set(CS_EIO, "cannot open '%s': %s", opts->files->v[0],
				  strerror(errno));
	tmp = cs_xstrdup(real);
	project_dir = cs_xstrdup(dirname(tmp));
	if ((error = build_vars(&vars, opts, project_dir)) < 0)
		goto out;
	for (i = 0; i < opts->files->nr; i++) {
		struct walk w = {.vars = vars, .errors = &errors, .unset = &unset};
		const char *path = opts->files->v[i];

		if ((error = load_one(&doc, &pos, path)) < 0)
			goto out;
		w.pos = pos;
		w.file = path;
		interp_node(&w, doc, NULL, NULL, 0);
		cs_strvec_clear(&w.seen);
		if (errors.nr == 0)
			dep_compose__validate(&errors, doc, pos);
		if (errors.nr == 0) {
			dep_compose_check(opts->warnings, doc, pos, target);
			if ((error = dep_compose__canon(doc, pos, path)) < 0)
				goto out;
			if (merged == NULL)
				merged = json_incref(doc);
			else
				dep_compose__merge(merged, doc, pos);
		}
		json_decref(doc);
		doc = NULL;
		cs_yamlpos_free(pos);
		pos = NULL;
	}
	if (errors.nr) {
		if (opts->errors)
			for (j = 0; j < errors.nr; j++)
				cs_strvec_push(opts->errors, errors.v[j]);
		error = join_errors(&errors);
		goto out;
	}
	for (j = 0; j < unset.nr; j++)
		dep_compose__warn(opts->warnings, "variable '%s' is not set, using an empty string",
				  unset.v[j]);
	skip_profiles(merged, opts->warnings);
	if ((app = app_name(opts->app, merged, project_dir)) == NULL) {
		error = cs_err_set(CS_EINVAL,
				   "invalid app name '%s': letters, digits, '_', '.' and '-' only, "
				   "starting with a letter or digit",
				   opts->app);
		goto out;
	}
	error = dep_compose__normalize(model, merged, app, project_dir, vars,
				       opts->env ? opts->env : (const char *const *)environ,
				       opts->warnings);
	if (error == 0) {
		json_t *order = NULL;

		if ((error = dep_compose_order(&order, *model)) < 0) {
			json_decref(*model);
			*model = NULL;
		}
		json_decref(order);
	}
	if (error < 0 && opts->errors)
		cs_strvec_push(opts->errors, cs_err_msg());
out:
	cs_strvec_clear(&errors);
	cs_strvec_clear(&unset);
	cs_yamlpos_free(pos);
	json_decref(doc);
	json_decref(merged);
	json_decref(vars);
	free(project_dir);
	free(tmp);
	free(app);
	return error;
}
