/* deployer/kube_input.c and kube_compose.c: reading manifests and translating Compose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deployer/compose.h"
#include "deployer/kube.h"
#include "err.h"
#include "test.h"

static char dir[64];

static const char *
put(const char *name, const char *text)
{
	static char path[8][256];
	static int n;
	FILE *f;

	n = (n + 1) % 8;
	snprintf(path[n], sizeof(path[n]), "%s/%s", dir, name);
	f = fopen(path[n], "w");
	fputs(text, f);
	fclose(f);
	return path[n];
}

static int
has(const struct cs_strvec *v, const char *needle)
{
	size_t i;

	for (i = 0; i < v->nr; i++)
		if (strstr(v->v[i], needle))
			return 1;
	return 0;
}

static void
test_kube__variables_and_unrelated_dollars(void)
{
	struct cs_strvec files = CS_STRVEC_INIT, sets = CS_STRVEC_INIT, errors = CS_STRVEC_INIT;
	const char *env[] = {"FROM_ENV=e", NULL};
	struct dep_kube_input in = {.files = &files, .sets = &sets, .env = env, .errors = &errors};
	json_t *m = NULL, *data;

	cs_strvec_push(&files, put("vars.yaml", "apiVersion: v1\n"
						"kind: ConfigMap\n"
						"metadata: {name: c}\n"
						"data:\n"
						"  a: ${IMAGE}\n"
						"  b: $FROM_ENV\n"
						"  c: ${MISSING:-dflt}\n"
						"  d: \"$HOME_X ${NOPE} $$ $(VAR) $1\"\n"));
	cs_strvec_push(&sets, "IMAGE=reg/x:1");
	T_ASSERT_INT(dep_kube_load(&m, &in), 0);
	data = json_object_get(
	    json_object_get(json_array_get(json_object_get(m, "manifests"), 0), "object"), "data");
	T_ASSERT_STR(json_string_value(json_object_get(data, "a")), "reg/x:1");
	T_ASSERT_STR(json_string_value(json_object_get(data, "b")), "e");
	T_ASSERT_STR(json_string_value(json_object_get(data, "c")), "dflt");
	T_ASSERT_STR(json_string_value(json_object_get(data, "d")), "$HOME_X ${NOPE} $$ $(VAR) $1");
	json_decref(m);
	cs_strvec_clear(&files);
	cs_strvec_clear(&sets);
	cs_strvec_clear(&errors);
}

static void
test_kube__every_document_checked_before_anything(void)
{
	struct cs_strvec files = CS_STRVEC_INIT, errors = CS_STRVEC_INIT;
	const char *env[] = {NULL};
	struct dep_kube_input in = {.files = &files, .env = env, .errors = &errors};
	json_t *m = NULL;

	cs_strvec_push(&files, put("bad.yaml", "apiVersion: v1\n"
					       "kind: Service\n"
					       "metadata: {name: ok}\n"
					       "---\n"
					       "apiVersion: extensions/v1beta1\n"
					       "kind: Deployment\n"
					       "metadata: {name: d}\n"
					       "---\n"
					       "kind: ConfigMap\n"
					       "metadata: {}\n"
					       "---\n"
					       "apiVersion: policy/v1beta1\n"
					       "kind: PodDisruptionBudget\n"
					       "metadata: {name: p}\n"
					       "---\n"
					       "apiVersion: v1\n"
					       "kind: Secret\n"
					       "metadata: {name: s}\n"
					       "data: {x: ${REQ:?set REQ}}\n"));
	T_ASSERT_INT(dep_kube_load(&m, &in), CS_EINVAL);
	T_ASSERT(m == NULL);
	T_ASSERT(has(&errors, "bad.yaml: document 2 (line 5): Deployment extensions/v1beta1 was "
			      "removed in Kubernetes 1.16: use Deployment apps/v1 instead"));
	T_ASSERT(has(&errors, "bad.yaml: document 3 (line 9): apiVersion is missing"));
	T_ASSERT(has(&errors, "bad.yaml: document 3 (line 9): metadata.name is missing"));
	T_ASSERT(has(&errors,
		     "document 4 (line 12): PodDisruptionBudget policy/v1beta1 was removed "
		     "in Kubernetes 1.25: use PodDisruptionBudget policy/v1 instead"));
	T_ASSERT(has(&errors, "bad.yaml:19: required variable REQ is missing"));
	cs_strvec_clear(&files);
	cs_strvec_clear(&errors);
}

static void
test_kube__directories_lists_and_compose_detection(void)
{
	struct cs_strvec files = CS_STRVEC_INIT, errors = CS_STRVEC_INIT;
	const char *env[] = {NULL};
	struct dep_kube_input in = {.files = &files, .env = env, .errors = &errors};
	json_t *m = NULL, *list;
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/d", dir);
	mkdir(sub, 0700);
	put("d/b.yml", "apiVersion: v1\nkind: List\nitems:\n"
		       "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b1}}\n"
		       "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b2}}\n");
	put("d/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n");
	put("d/notes.txt", "not yaml: [\n");
	cs_strvec_push(&files, sub);
	T_ASSERT_INT(dep_kube_load(&m, &in), 0);
	list = json_object_get(m, "manifests");
	T_ASSERT_INT((int)json_array_size(list), 3);
	T_ASSERT_STR(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(json_array_get(list, 0), "object"), "metadata"),
		"name")),
	    "a");
	T_ASSERT(dep_kube_is_compose(put("c.yml", "services:\n  web: {image: x}\n")));
	T_ASSERT(!dep_kube_is_compose(put("k.yml", "apiVersion: v1\nkind: Pod\n")));
	T_ASSERT(!dep_kube_is_compose(sub));
	json_decref(m);
	cs_strvec_clear(&files);
	cs_strvec_clear(&errors);
}

static void
test_kube__compose_translation(void)
{
	struct cs_strvec files = CS_STRVEC_INIT, warnings = CS_STRVEC_INIT;
	const char *env[] = {NULL};
	struct dep_compose_opts o = {
	    .files = &files, .app = "demo", .target = "kubernetes", .env = env};
	json_t *model = NULL, *km = NULL, *m, *kinds = json_object();
	size_t i;

	cs_strvec_push(&files, put("compose.yml", "services:\n"
						  "  web:\n"
						  "    image: reg/web:1\n"
						  "    ports: ['8080:80']\n"
						  "    deploy: {replicas: 2}\n"
						  "    cap_add: [NET_ADMIN]\n"
						  "  db:\n"
						  "    image: postgres\n"
						  "    expose: ['5432']\n"
						  "    volumes: ['data:/var/lib/postgresql/data']\n"
						  "volumes:\n"
						  "  data: {}\n"));
	T_ASSERT_INT(dep_compose_load(&model, &o), 0);
	T_ASSERT_INT(dep_kube_from_compose(&km, model, NULL, &warnings), 0);
	json_array_foreach(json_object_get(km, "manifests"), i, m)
	{
		json_t *obj = json_object_get(m, "object");
		char key[128];

		snprintf(
		    key, sizeof(key), "%s/%s", json_string_value(json_object_get(obj, "kind")),
		    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")));
		json_object_set(kinds, key, obj);
	}
	T_ASSERT(json_object_get(kinds, "Deployment/web") != NULL);
	T_ASSERT(json_object_get(kinds, "StatefulSet/db") != NULL);
	T_ASSERT(json_object_get(kinds, "PersistentVolumeClaim/data") != NULL);
	T_ASSERT_STR(json_string_value(json_object_get(
			 json_object_get(json_object_get(kinds, "Service/web"), "spec"), "type")),
		     "NodePort");
	T_ASSERT_STR(json_string_value(json_object_get(
			 json_object_get(json_object_get(kinds, "Service/db"), "spec"), "type")),
		     "ClusterIP");
	T_ASSERT_INT(
	    (int)json_integer_value(json_object_get(
		json_object_get(json_object_get(kinds, "Deployment/web"), "spec"), "replicas")),
	    2);
	T_ASSERT(has(&warnings, "compose.yml:2: service 'web': key 'cap_add' is not translated"));
	json_decref(kinds);
	json_decref(model);
	json_decref(km);
	cs_strvec_clear(&files);
	cs_strvec_clear(&warnings);
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/test_kube.%d", (int)getpid());
	mkdir(dir, 0700);
	T_RUN(test_kube__variables_and_unrelated_dollars);
	T_RUN(test_kube__every_document_checked_before_anything);
	T_RUN(test_kube__directories_lists_and_compose_detection);
	T_RUN(test_kube__compose_translation);
	snprintf(cmd, sizeof(cmd), "%s", dir);
	{
		const char *names[] = {"vars.yaml",   "bad.yaml", "d/b.yml", "d/a.yaml",
				       "d/notes.txt", "c.yml",	  "k.yml",   "compose.yml"};
		char p[256];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/d", dir);
		rmdir(p);
		rmdir(dir);
	}
	(void)cmd;
	return T_REPORT();
}
