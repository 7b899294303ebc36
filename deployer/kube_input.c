/*
 * Kubernetes manifests as input: files and directories of multi-document
 * YAML, variables replaced line by line (deployer/interp.c), every document
 * checked before anything is sent.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "compose.h"
#include "err.h"
#include "kube.h"
#include "log.h"
#include "xalloc.h"
#include "yamldoc.h"

extern char **environ;

#define KUBE_MAX_FILE (16 << 20)

static const struct {
	const char *api, *kind, *use, *removed_in;
} removed[] = {
    {"extensions/v1beta1", "Deployment", "apps/v1", "1.16"},
    {"extensions/v1beta1", "DaemonSet", "apps/v1", "1.16"},
    {"extensions/v1beta1", "ReplicaSet", "apps/v1", "1.16"},
    {"extensions/v1beta1", "NetworkPolicy", "networking.k8s.io/v1", "1.16"},
    {"extensions/v1beta1", "Ingress", "networking.k8s.io/v1", "1.22"},
    {"extensions/v1beta1", "HorizontalPodAutoscaler", "autoscaling/v2", "1.16"},
    {"extensions/v1beta1", "PodSecurityPolicy", NULL, "1.16"},
    {"apps/v1beta1", "Deployment", "apps/v1", "1.16"},
    {"apps/v1beta1", "StatefulSet", "apps/v1", "1.16"},
    {"apps/v1beta2", "Deployment", "apps/v1", "1.16"},
    {"apps/v1beta2", "StatefulSet", "apps/v1", "1.16"},
    {"apps/v1beta2", "DaemonSet", "apps/v1", "1.16"},
    {"apps/v1beta2", "ReplicaSet", "apps/v1", "1.16"},
    {"networking.k8s.io/v1beta1", "Ingress", "networking.k8s.io/v1", "1.22"},
    {"networking.k8s.io/v1beta1", "IngressClass", "networking.k8s.io/v1", "1.22"},
    {"apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "apiextensions.k8s.io/v1", "1.22"},
    {"admissionregistration.k8s.io/v1beta1", NULL, "admissionregistration.k8s.io/v1", "1.22"},
    {"rbac.authorization.k8s.io/v1beta1", NULL, "rbac.authorization.k8s.io/v1", "1.22"},
    {"rbac.authorization.k8s.io/v1alpha1", NULL, "rbac.authorization.k8s.io/v1", "1.22"},
    {"apiregistration.k8s.io/v1beta1", "APIService", "apiregistration.k8s.io/v1", "1.22"},
    {"certificates.k8s.io/v1beta1", "CertificateSigningRequest", "certificates.k8s.io/v1", "1.22"},
    {"coordination.k8s.io/v1beta1", "Lease", "coordination.k8s.io/v1", "1.22"},
    {"batch/v1beta1", "CronJob", "batch/v1", "1.25"},
    {"discovery.k8s.io/v1beta1", "EndpointSlice", "discovery.k8s.io/v1", "1.25"},
    {"events.k8s.io/v1beta1", "Event", "events.k8s.io/v1", "1.25"},
    {"autoscaling/v2beta1", "HorizontalPodAutoscaler", "autoscaling/v2", "1.25"},
    {"autoscaling/v2beta2", "HorizontalPodAutoscaler", "autoscaling/v2", "1.26"},
    {"policy/v1beta1", "PodDisruptionBudget", "policy/v1", "1.25"},
    {"policy/v1beta1", "PodSecurityPolicy", NULL, "1.25"},
    {"node.k8s.io/v1beta1", "RuntimeClass", "node.k8s.io/v1", "1.25"},
};

const char *
dep_kube_removed_api(const char *api_version, const char *kind, const char **removed_in)
{
	size_t i;

	for (i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
		if (strcmp(removed[i].api, api_version) != 0 ||
		    (removed[i].kind && strcmp(removed[i].kind, kind) != 0))
			continue;
		if (removed_in)
			*removed_in = removed[i].removed_in;
		return removed[i].use ? removed[i].use : "";
	}
	return NULL;
}

static int
is_name_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/*
 * Escape what interp.c would change but a manifest means literally: "$$"
 * (kept as "$$"), and $NAME / ${NAME} naming no variable. The forms with a
 * default, an error or an alternative are left to interp.c.
 */
static void
protect(struct cs_buf *out, const char *s, const json_t *vars)
{
	size_t i = 0, n = strlen(s), j;

	while (i < n) {
		if (s[i] != '$') {
			cs_buf_addch(out, s[i++]);
			continue;
		}
		if (i + 1 < n && s[i + 1] == '$') {
			cs_buf_adds(out, "$$$$");
			i += 2;
		} else if (i + 1 < n && is_name_start((unsigned char)s[i + 1])) {
			for (j = i + 1; j < n && is_name_char((unsigned char)s[j]); j++)
				;
			if (json_object_getn(vars, s + i + 1, j - i - 1) == NULL)
				cs_buf_adds(out, "$$");
			else
				cs_buf_addch(out, '$');
			cs_buf_add(out, s + i + 1, j - i - 1);
			i = j;
		} else if (i + 2 < n && s[i + 1] == '{' && is_name_start((unsigned char)s[i + 2])) {
			for (j = i + 2; j < n && is_name_char((unsigned char)s[j]); j++)
				;
			if (j < n && s[j] == '}' &&
			    json_object_getn(vars, s + i + 2, j - i - 2) == NULL)
				cs_buf_adds(out, "$$");
			else
				cs_buf_addch(out, '$');
			cs_buf_add(out, s + i + 1, j - i - 1);
			i = j;
		} else {
			cs_buf_addch(out, s[i++]);
		}
	}
}

/* Interpolate text line by line so that an error names its line. */
static int
interpolate(struct cs_buf *out, const char *text, size_t len, const char *file, const json_t *vars,
	    struct cs_strvec *errors)
{
	size_t pos = 0;
	int line = 0, bad = 0;

	while (pos < len) {
		size_t end = pos;
		struct cs_buf prot = CS_BUF_INIT;
		struct cs_strvec errs = CS_STRVEC_INIT;
		char *raw, *res = NULL;
		size_t k;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		raw = cs_xstrndup(text + pos, end - pos);
		if (strchr(raw, '$') == NULL) {
			cs_buf_adds(out, raw);
		} else {
			protect(&prot, raw, vars);
			if (dep_interp_string(&res, prot.buf, vars, &errs, NULL) < 0) {
				for (k = 0; k < errs.nr; k++)
					cs_strvec_pushf(errors, "%s:%d: %s", file, line, errs.v[k]);
				if (errs.nr == 0)
					cs_strvec_pushf(errors, "%s:%d: %s", file, line,
							cs_err_msg());
				bad = 1; /* the line is left empty: the other checks still run */
			} else {
				cs_buf_adds(out, res);
			}
		}
		if (end < len)
			cs_buf_addch(out, '\n');
		free(res);
		free(raw);
		cs_buf_release(&prot);
		cs_strvec_clear(&errs);
		pos = end + 1;
	}
	return bad ? CS_EINVAL : 0;
}

static int
read_all(struct cs_buf *out, const char *path)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int error = 0;

	if (f == NULL)
		return cs_err_set(CS_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > KUBE_MAX_FILE) {
			error = cs_err_set(CS_ETOOBIG, "'%s' is larger than 16 MiB", path);
			break;
		}
		cs_buf_add(out, chunk, n);
	}
	fclose(f);
	return error;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files named by -f: a directory gives its manifest files, sorted. */
static int
expand_files(struct cs_strvec *out, const struct cs_strvec *args)
{
	size_t i;

	for (i = 0; i < args->nr; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		size_t first = out->nr;

		if (stat(args->v[i], &st) < 0)
			return cs_err_set(CS_EIO, "cannot open '%s': %s", args->v[i],
					  strerror(errno));
		if (!S_ISDIR(st.st_mode)) {
			cs_strvec_push(out, args->v[i]);
			continue;
		}
		if ((d = opendir(args->v[i])) == NULL)
			return cs_err_set(CS_EIO, "cannot open '%s': %s", args->v[i],
					  strerror(errno));
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);

			if (e->d_name[0] == '.')
				continue;
			if ((l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0) ||
			    (l > 4 && strcmp(e->d_name + l - 4, ".yml") == 0) ||
			    (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0))
				cs_strvec_pushf(out, "%s/%s", args->v[i], e->d_name);
		}
		closedir(d);
		qsort(out->v + first, out->nr - first, sizeof(char *), by_name);
		if (out->nr == first)
			return cs_err_set(CS_EINVAL, "'%s' holds no .yaml, .yml or .json file",
					  args->v[i]);
	}
	return 0;
}

static int
build_vars(json_t **out, const struct dep_kube_input *in)
{
	const char *const *env = in->env ? in->env : (const char *const *)environ;
	json_t *vars = json_object(), *filevars = NULL, *v;
	const char *k;
	size_t i;
	int error = 0;

	for (; env && *env; env++) {
		const char *eq = strchr(*env, '=');

		if (eq && eq > *env)
			json_object_setn_new(vars, *env, (size_t)(eq - *env), json_string(eq + 1));
	}
	if (in->env_file) {
		struct cs_buf text = CS_BUF_INIT;

		if ((error = read_all(&text, in->env_file)) == 0)
			error =
			    dep_envfile_parse(&filevars, text.buf, text.len, in->env_file, vars);
		cs_buf_release(&text);
		if (error < 0)
			goto out;
		/* the environment wins over the env file, as in Compose */
		json_object_foreach(filevars, k, v)
		{
			if (json_is_string(v) && json_object_get(vars, k) == NULL)
				json_object_set(vars, k, v);
		}
	}
	for (i = 0; in->sets && i < in->sets->nr; i++) {
		const char *eq = strchr(in->sets->v[i], '=');

		json_object_setn_new(vars, in->sets->v[i], (size_t)(eq - in->sets->v[i]),
				     json_string(eq + 1));
	}
	*out = vars;
	vars = NULL;
out:
	json_decref(filevars);
	json_decref(vars);
	return error;
}

/* Check one object; problems are appended to errors. */
static void
check_object(struct cs_strvec *errors, json_t *obj, const char *where)
{
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *md = json_object_get(obj, "metadata");
	const char *use, *when = NULL;

	if (!json_is_object(obj)) {
		cs_strvec_pushf(errors, "%s: not a mapping", where);
		return;
	}
	if (api == NULL || *api == '\0')
		cs_strvec_pushf(errors, "%s: apiVersion is missing", where);
	if (kind == NULL || *kind == '\0')
		cs_strvec_pushf(errors, "%s: kind is missing", where);
	if (!json_is_object(md) || json_string_value(json_object_get(md, "name")) == NULL ||
	    json_string_length(json_object_get(md, "name")) == 0) {
		if (json_object_get(md, "generateName"))
			cs_strvec_pushf(errors,
					"%s: metadata.generateName is not supported (apply "
					"needs a fixed metadata.name)",
					where);
		else
			cs_strvec_pushf(errors, "%s: metadata.name is missing", where);
	}
	if (api && kind && (use = dep_kube_removed_api(api, kind, &when)) != NULL) {
		if (*use)
			cs_strvec_pushf(errors,
					"%s: %s %s was removed in Kubernetes %s: use %s %s "
					"instead",
					where, kind, api, when, kind, use);
		else
			cs_strvec_pushf(errors,
					"%s: %s %s was removed in Kubernetes %s and has no "
					"replacement",
					where, kind, api, when);
	}
}

static void
add_doc(json_t *list, json_t *obj, const char *file, int doc, int line)
{
	json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:O}", "file", file, "doc", doc,
					      "line", line, "object", obj));
}

int
dep_kube_load(json_t **out, const struct dep_kube_input *in)
{
	struct cs_strvec files = CS_STRVEC_INIT, local = CS_STRVEC_INIT;
	struct cs_strvec *errors = in->errors ? in->errors : &local;
	json_t *vars = NULL, *list = json_array();
	size_t i, first_error = errors->nr;
	int error = 0;

	*out = NULL;
	if ((error = expand_files(&files, in->files)) < 0 || (error = build_vars(&vars, in)) < 0) {
		cs_strvec_push(errors, cs_err_msg());
		goto out;
	}
	for (i = 0; i < files.nr; i++) {
		struct cs_buf text = CS_BUF_INIT, exp = CS_BUF_INIT;
		struct cs_yamlpos *pos = NULL;
		json_t *docs = NULL, *d;
		size_t k;

		int bad_vars = 0;

		if ((error = read_all(&text, files.v[i])) == 0)
			bad_vars =
			    interpolate(&exp, text.buf, text.len, files.v[i], vars, errors) < 0;
		if (error < 0 || (error = cs_yamldoc_load_all(&docs, &pos, exp.buf, exp.len,
							      files.v[i], 0)) < 0) {
			/* a YAML error after a variable error is only its consequence */
			if (!bad_vars)
				cs_strvec_push(errors, cs_err_msg());
			cs_buf_release(&text);
			cs_buf_release(&exp);
			continue;
		}
		json_array_foreach(docs, k, d)
		{
			int line = cs_yamlpos_index_line(pos, docs, k, NULL);

			/* a document's own position is not recorded: its first key's line is */
			if (line == 0 && json_is_object(d) && json_object_iter(d))
				line = cs_yamlpos_key_line(
				    pos, d, json_object_iter_key(json_object_iter(d)), NULL);
			char *where =
			    cs_xasprintf("%s: document %zu (line %d)", files.v[i], k + 1, line);
			const char *kind = json_string_value(json_object_get(d, "kind"));

			if (json_is_null(d)) {
				free(where);
				continue; /* an empty document ("---" at the end) */
			}
			if (kind && strcmp(kind, "List") == 0 &&
			    json_is_array(json_object_get(d, "items"))) {
				json_t *item;
				size_t n;

				json_array_foreach(json_object_get(d, "items"), n, item)
				{
					char *w = cs_xasprintf("%s item %zu", where, n);

					check_object(errors, item, w);
					add_doc(list, item, files.v[i], (int)k + 1, line);
					free(w);
				}
			} else {
				check_object(errors, d, where);
				add_doc(list, d, files.v[i], (int)k + 1, line);
			}
			free(where);
		}
		json_decref(docs);
		cs_yamlpos_free(pos);
		cs_buf_release(&text);
		cs_buf_release(&exp);
	}
	if (errors->nr > first_error) {
		error = cs_err_set(CS_EINVAL, "%s", errors->v[first_error]);
		goto out;
	}
	if (json_array_size(list) == 0) {
		cs_strvec_push(errors, "the files hold no Kubernetes object");
		error = cs_err_set(CS_EINVAL, "the files hold no Kubernetes object");
		goto out;
	}
	*out = json_pack("{s:n, s:O}", "name", "manifests", list);
out:
	json_decref(list);
	json_decref(vars);
	cs_strvec_clear(&files);
	cs_strvec_clear(&local);
	return error;
}

int
dep_kube_is_compose(const char *path)
{
	struct cs_buf text = CS_BUF_INIT;
	json_t *docs = NULL, *d;
	struct stat st;
	int res = 0;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || read_all(&text, path) < 0)
		goto out;
	if (cs_yamldoc_load_all(&docs, NULL, text.buf, text.len, path, CS_YAMLDOC_PLAIN_STRINGS) <
	    0)
		goto out;
	d = json_array_get(docs, 0);
	res = json_is_object(d) && json_object_get(d, "services") &&
	      json_object_get(d, "kind") == NULL;
out:
	json_decref(docs);
	cs_buf_release(&text);
	return res;
}
