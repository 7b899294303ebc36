/*
 * The Compose input: real-world files of the corpus, seed-era files,
 * multi-file merge, short syntaxes, units, and the errors that must stop a
 * deployment before anything changes. The process environment is never
 * used: every load passes its own.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deployer/compose.h"
#include "err.h"
#include "log.h"
#include "strvec.h"
#include "tests/unit/test.h"
#include "xalloc.h"
#include "yamldoc.h"
#include "buf.h"

#ifndef SEED_DIR
#define SEED_DIR "tests/data/seed-style"
#endif
#ifndef CORPUS_DIR
#define CORPUS_DIR "tests/data/corpus"
#endif

static const char *const test_env[] = {"HOME=/bar", "QUX=qux_from_environment", NULL};
static char tmpdir[64];
static struct cs_strvec tmpfiles = CS_STRVEC_INIT;

static const char *
tmp_write(const char *name, const char *text)
{
	char *path;
	FILE *f;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/cs-test-%d-XXXXXX", (int)getpid());
		if (mkdtemp(tmpdir) == NULL)
			abort();
	}
	path = cs_xasprintf("%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	if (!cs_strvec_has(&tmpfiles, path))
		cs_strvec_push(&tmpfiles, path);
	free(path);
	return tmpfiles.v[tmpfiles.nr - 1];
}

static void
tmp_cleanup(void)
{
	size_t i;

	for (i = 0; i < tmpfiles.nr; i++)
		unlink(tmpfiles.v[i]);
	cs_strvec_clear(&tmpfiles);
	if (tmpdir[0])
		rmdir(tmpdir);
	tmpdir[0] = '\0';
}

struct load {
	const char *app;
	json_t *model;
	struct cs_strvec files, sets, warnings, errors;
	int rc;
};

static void
load_release(struct load *l)
{
	json_decref(l->model);
	cs_strvec_clear(&l->files);
	cs_strvec_clear(&l->sets);
	cs_strvec_clear(&l->warnings);
	cs_strvec_clear(&l->errors);
	memset(l, 0, sizeof(*l));
}

static int
do_load(struct load *l, const char *target, const char *env_file)
{
	struct dep_compose_opts o = {0};

	o.files = &l->files;
	o.sets = &l->sets;
	o.target = target;
	o.app = l->app;
	o.env = test_env;
	o.env_file = env_file;
	o.warnings = &l->warnings;
	o.errors = &l->errors;
	l->rc = dep_compose_load(&l->model, &o);
	if (l->rc < 0 && getenv("TEST_VERBOSE"))
		fprintf(stderr, "  load: %s\n", cs_err_msg());
	return l->rc;
}

static int
has_warning(const struct load *l, const char *needle)
{
	size_t i;

	for (i = 0; i < l->warnings.nr; i++)
		if (strstr(l->warnings.v[i], needle))
			return 1;
	return 0;
}

static json_t *
jpath(json_t *root, const char *path)
{
	char *copy = cs_xstrdup(path), *p, *dot;
	json_t *cur = root;

	for (p = copy; p && cur; p = dot) {
		if ((dot = strchr(p, '/')) != NULL)
			*dot++ = '\0';
		if (json_is_array(cur))
			cur = json_array_get(cur, strtoul(p, NULL, 10));
		else
			cur = json_object_get(cur, p);
	}
	free(copy);
	return cur;
}

#define JSTR(root, path) json_string_value(jpath((root), (path)))
#define JINT(root, path) json_integer_value(jpath((root), (path)))

static void
test_compose__corpus_loads_with_warnings_only(void)
{
	glob_t g;
	size_t i;

	T_ASSERT_INT(glob(CORPUS_DIR "/compose/*.yml", 0, NULL, &g), 0);
	T_ASSERT(g.gl_pathc >= 20);
	for (i = 0; i < g.gl_pathc; i++) {
		struct load l = {0};
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;

		cs_strvec_push(&l.files, g.gl_pathv[i]);
		/* swarmprom-traefik.yml requires these (${DOMAIN?...}) */
		cs_strvec_push(&l.sets, "DOMAIN=example.org");
		cs_strvec_push(&l.sets, "ADMIN_USER=admin");
		cs_strvec_push(&l.sets, "HASHED_PASSWORD=x");
		if (do_load(&l, "swarm", NULL) != 0) {
			fprintf(stderr, "  %s: %s\n", base, cs_err_msg());
			globfree(&g);
			load_release(&l);
			T_FAIL_("%s does not load", base);
		}
		T_ASSERT(json_object_size(json_object_get(l.model, "services")) > 0);
		if (!strncmp(base, "rejected-", 9)) {
			T_ASSERT(l.warnings.nr > 0);
			/* they all have build: without image: somewhere */
			T_ASSERT_INT(dep_compose_deployable(l.model, NULL), CS_EINVAL);
		}
		load_release(&l);
	}
	globfree(&g);
}

static void
test_compose__full_example_matches_golden(void)
{
	struct load l = {0};
	json_t *m, *foo;

	cs_strvec_push(&l.files, CORPUS_DIR "/compose/docker-cli-full-example.yml");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	m = l.model;
	foo = jpath(m, "services/foo");
	T_ASSERT(foo != NULL);
	T_ASSERT_STR(JSTR(foo, "image"), "redis");
	T_ASSERT(json_is_true(json_object_get(foo, "build")));
	/* command: bundle exec thin -p 3000 (shlex) */
	T_ASSERT_INT(json_array_size(json_object_get(foo, "command")), 5);
	T_ASSERT_STR(JSTR(foo, "command/4"), "3000");
	T_ASSERT_STR(JSTR(foo, "entrypoint/0"), "/code/entrypoint.sh");
	/* env_file then environment; QUX: (null) comes from the environment */
	T_ASSERT_STR(JSTR(foo, "environment/FOO"), "foo_from_env_file");
	T_ASSERT_STR(JSTR(foo, "environment/BAR"), "bar_from_env_file_2");
	T_ASSERT_STR(JSTR(foo, "environment/BAZ"), "baz_from_service_def");
	T_ASSERT_STR(JSTR(foo, "environment/QUX"), "qux_from_environment");
	/* ports: 6 + 1 + 2 + 1 + 1 + 11 entries, as in the golden file */
	T_ASSERT_INT(json_array_size(json_object_get(foo, "ports")), 22);
	T_ASSERT_INT(JINT(foo, "ports/0/target"), 3000);
	T_ASSERT(json_is_null(jpath(foo, "ports/0/published")));
	T_ASSERT_INT(JINT(foo, "ports/7/target"), 8080);
	T_ASSERT_INT(JINT(foo, "ports/7/published"), 9090);
	T_ASSERT_STR(JSTR(foo, "ports/21/host_ip"), "127.0.0.1");
	T_ASSERT_INT(JINT(foo, "ports/21/published"), 5010);
	T_ASSERT_STR(JSTR(foo, "ports/21/mode"), "ingress");
	T_ASSERT_STR(JSTR(foo, "ports/21/protocol"), "tcp");
	/* labels are strings; an empty label is "" */
	T_ASSERT_STR(JSTR(foo, "labels/com.example.number"), "42");
	T_ASSERT_STR(JSTR(foo, "labels/com.example.empty-label"), "");
	T_ASSERT_STR(JSTR(foo, "healthcheck/test/0"), "CMD-SHELL");
	T_ASSERT_STR(JSTR(foo, "healthcheck/test/1"), "echo \"hello world\"");
	T_ASSERT_INT(JINT(foo, "healthcheck/interval_ns"), 10000000000LL);
	T_ASSERT_INT(JINT(foo, "healthcheck/start_period_ns"), 15000000000LL);
	T_ASSERT_INT(JINT(foo, "healthcheck/retries"), 5);
	/* deploy */
	T_ASSERT_INT(JINT(foo, "deploy/replicas"), 6);
	T_ASSERT_STR(JSTR(foo, "deploy/endpoint_mode"), "dnsrr");
	T_ASSERT_INT(JINT(foo, "deploy/resources/limits/memory_bytes"), 52428800);
	T_ASSERT_INT(JINT(foo, "deploy/resources/reservations/memory_bytes"), 20971520);
	T_ASSERT_INT(JINT(foo, "deploy/resources/limits/nano_cpus"), 1000000);
	T_ASSERT_INT(JINT(foo, "deploy/resources/reservations/nano_cpus"), 100000);
	T_ASSERT_INT(JINT(foo, "deploy/resources/limits/pids"), 100);
	T_ASSERT_INT(JINT(foo, "deploy/update_config/monitor_ns"), 60000000000LL);
	T_ASSERT_INT(JINT(foo, "deploy/restart_policy/window_ns"), 120000000000LL);
	T_ASSERT_STR(JSTR(foo, "deploy/restart_policy/condition"), "on-failure");
	T_ASSERT_STR(JSTR(foo, "deploy/placement/constraints/0"), "node=foo");
	T_ASSERT_STR(JSTR(foo, "deploy/placement/preferences/0"), "node.labels.az");
	T_ASSERT_STR(JSTR(foo, "deploy/labels/FOO"), "BAR");
	/* secrets and configs: mode 0440 is octal (288) */
	T_ASSERT_STR(JSTR(foo, "secrets/0/source"), "secret1");
	T_ASSERT_INT(JINT(foo, "secrets/1/mode"), 288);
	T_ASSERT_STR(JSTR(foo, "secrets/1/uid"), "103");
	T_ASSERT_STR(JSTR(foo, "configs/1/target"), "/my_config");
	/* volumes: relative and ~ paths resolved (golden: /foo is the dir, /bar HOME) */
	T_ASSERT_STR(JSTR(foo, "volumes/0/type"), "volume");
	T_ASSERT(json_is_null(jpath(foo, "volumes/0/source")));
	T_ASSERT_STR(JSTR(foo, "volumes/2/source"), CORPUS_DIR "/compose");
	T_ASSERT_STR(JSTR(foo, "volumes/3/source"), CORPUS_DIR "/compose/static");
	T_ASSERT_STR(JSTR(foo, "volumes/4/source"), "/bar/configs");
	T_ASSERT(json_is_true(jpath(foo, "volumes/4/read_only")));
	T_ASSERT_STR(JSTR(foo, "volumes/5/source"), "datavolume");
	T_ASSERT_STR(JSTR(foo, "volumes/6/source"), CORPUS_DIR "/compose/opt");
	T_ASSERT_INT(JINT(foo, "volumes/7/tmpfs_size_bytes"), 10000);
	T_ASSERT_INT(JINT(foo, "stop_grace_period_ns"), 20000000000LL);
	T_ASSERT_STR(JSTR(foo, "sysctls/net.core.somaxconn"), "1024");
	T_ASSERT_INT(JINT(foo, "ulimits/nproc/hard"), 65535);
	T_ASSERT_INT(JINT(foo, "ulimits/nofile/soft"), 20000);
	T_ASSERT_STR(JSTR(foo, "networks/some-network/aliases/1"), "alias3");
	T_ASSERT_STR(JSTR(foo, "networks/other-network/ipv4_address"), "172.16.238.10");
	/* top level: names and externals as in the golden file */
	T_ASSERT_STR(JSTR(m, "networks/other-external-network/name"), "my-cool-network");
	T_ASSERT(json_is_true(jpath(m, "networks/external-network/external")));
	T_ASSERT_STR(JSTR(m, "networks/other-network/driver_opts/baz"), "1");
	T_ASSERT_STR(JSTR(m, "networks/other-network/ipam/config/1/subnet"), "2001:3984:3989::/64");
	T_ASSERT_STR(JSTR(m, "volumes/another-volume/name"), "user_specified_name");
	T_ASSERT_STR(JSTR(m, "volumes/other-external-volume/name"), "my-cool-volume");
	T_ASSERT_STR(JSTR(m, "volumes/external-volume3/name"), "this-is-volume3");
	T_ASSERT_STR(JSTR(m, "secrets/secret1/file"), CORPUS_DIR "/compose/secret_data");
	T_ASSERT_STR(JSTR(m, "secrets/secret2/name"), "my_secret");
	T_ASSERT_STR(JSTR(m, "configs/config3/name"), "config3");
	/* project name from the directory */
	T_ASSERT_STR(JSTR(m, "name"), "compose");
	T_ASSERT_STR(JSTR(m, "networks/some-network/name"), "compose_some-network");
	/* one warning per ignored key, with its line */
	T_ASSERT(has_warning(&l, "docker-cli-full-example.yml:6: service 'foo': key 'build' is "
				 "ignored by swarm"));
	T_ASSERT(has_warning(&l, "docker-cli-full-example.yml:43: service 'foo': key "
				 "'container_name' is ignored by swarm"));
	T_ASSERT(has_warning(&l, ":184: service 'foo': key 'links' is ignored by swarm"));
	T_ASSERT(!has_warning(&l, "'x-foo'"));
	load_release(&l);
}

static void
test_compose__seed_petclinic(void)
{
	struct load l = {0};
	json_t *m;

	cs_strvec_push(&l.files, SEED_DIR "/petclinic-v2.yml");
	cs_strvec_push(&l.sets, "PRIVATE_REGISTRY=reg.example");
	cs_strvec_push(&l.sets, "TAG=42");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	m = l.model;
	T_ASSERT_STR(JSTR(m, "services/web/image"), "reg.example:5000/petclinic:42");
	T_ASSERT_STR(JSTR(m, "services/db/image"), "mariadb:10.11");
	T_ASSERT_STR(JSTR(m, "services/db/environment/MARIADB_DATABASE"), "petclinic");
	T_ASSERT_STR(JSTR(m, "services/web/environment/affinity:container!"), "petdb");
	T_ASSERT_STR(JSTR(m, "services/web/container_name"), "petclinic");
	T_ASSERT_STR(JSTR(m, "services/web/links/0"), "db:database");
	T_ASSERT_INT(JINT(m, "services/web/ports/0/published"), 8080);
	T_ASSERT(jpath(m, "services/web/networks/backend") != NULL);
	T_ASSERT(jpath(m, "services/web/networks/default") == NULL);
	T_ASSERT_STR(JSTR(m, "networks/backend/driver"), "overlay");
	T_ASSERT(jpath(m, "networks/default") == NULL);
	T_ASSERT_INT(dep_compose_deployable(m, NULL), 0);
	T_ASSERT(has_warning(&l, "petclinic-v2.yml:7: service 'db': key 'container_name' is "
				 "ignored by swarm"));
	T_ASSERT(has_warning(&l, "petclinic-v2.yml:15: service 'web': key 'container_name'"));
	load_release(&l);

	/* the compose target keeps container_name without a word */
	cs_strvec_push(&l.files, SEED_DIR "/petclinic-v2.yml");
	cs_strvec_push(&l.sets, "PRIVATE_REGISTRY=reg.example");
	cs_strvec_push(&l.sets, "TAG=42");
	T_ASSERT_INT(do_load(&l, "compose", NULL), 0);
	T_ASSERT(!has_warning(&l, "container_name"));
	load_release(&l);
}

static void
test_compose__seed_tweetdemo(void)
{
	struct load l = {0};
	json_t *m;

	cs_strvec_push(&l.files, SEED_DIR "/tweet-v2.yml");
	cs_strvec_push(&l.sets, "PRIVATE_REGISTRY=10.0.0.5");
	cs_strvec_push(&l.sets, "TAG=7");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	m = l.model;
	T_ASSERT_STR(JSTR(m, "services/stream/image"), "10.0.0.5:5000/tweets-stream:7");
	T_ASSERT_STR(JSTR(m, "services/stream/environment/FEED_TOPIC"), "#containers");
	T_ASSERT_STR(JSTR(m, "services/stream/environment/FEED_API_KEY"), "");
	T_ASSERT_STR(JSTR(m, "services/web/environment/STORE_HOST"), "tweetstore");
	T_ASSERT_STR(JSTR(m, "services/web/depends_on/0"), "store");
	T_ASSERT_STR(JSTR(m, "services/web/depends_on_conditions/store"), "service_started");
	T_ASSERT_STR(JSTR(m, "services/store_admin/links/0"), "store:store");
	T_ASSERT_INT(JINT(m, "services/store/ports/0/target"), 6379);
	T_ASSERT(json_is_null(jpath(m, "services/store/ports/0/published")));
	T_ASSERT_INT(JINT(m, "services/web/ports/0/published"), 80);
	T_ASSERT_INT(JINT(m, "services/web/ports/0/target"), 8080);
	T_ASSERT_STR(JSTR(m, "services/store/container_name"), "tweetstore");
	T_ASSERT(has_warning(&l, "service 'store_admin': key 'links' is ignored by swarm"));
	load_release(&l);

	/* without the variables: a warning each, an empty string, still loads */
	cs_strvec_push(&l.files, SEED_DIR "/tweet-v2.yml");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_STR(JSTR(l.model, "services/stream/image"), ":5000/tweets-stream:");
	T_ASSERT(has_warning(&l, "variable 'PRIVATE_REGISTRY' is not set"));
	T_ASSERT(has_warning(&l, "variable 'TAG' is not set"));
	load_release(&l);
}

static void
test_compose__missing_required_variables_all_at_once(void)
{
	struct load l = {0};

	cs_strvec_push(&l.files, tmp_write("a.yml", "services:\n"
						    "  web:\n"
						    "    image: ${REG:?set REG}/web:${TAG?}\n"
						    "    environment:\n"
						    "      - X=${REG:?set REG}\n"));
	cs_strvec_push(&l.files, tmp_write("b.yml", "services:\n"
						    "  web:\n"
						    "    labels: [\"a=${OTHER:?need OTHER}\"]\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), CS_EINVAL);
	T_ASSERT(l.model == NULL);
	T_ASSERT_INT(l.errors.nr, 3);
	T_ASSERT(strstr(l.errors.v[0], "a.yml:3: required variable REG is missing: set REG"));
	T_ASSERT(strstr(l.errors.v[1], "a.yml:3: required variable TAG is missing a value"));
	T_ASSERT(strstr(l.errors.v[2], "b.yml:3: required variable OTHER is missing: need OTHER"));
	T_ASSERT(strstr(cs_err_msg(), "REG") && strstr(cs_err_msg(), "OTHER"));
	load_release(&l);

	/* a real file: swarmprom-traefik.yml needs three variables */
	cs_strvec_push(&l.files, CORPUS_DIR "/compose/swarmprom-traefik.yml");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), CS_EINVAL);
	T_ASSERT_INT(l.errors.nr, 3);
	T_ASSERT(strstr(l.errors.v[0], "swarmprom-traefik.yml:94: required variable DOMAIN is "
				       "missing: Variable DOMAIN not set"));
	T_ASSERT(strstr(l.errors.v[1], "required variable ADMIN_USER is missing"));
	T_ASSERT(strstr(l.errors.v[2], "required variable HASHED_PASSWORD is missing"));
	load_release(&l);

	/* --set satisfies them; the empty TAG is fine for "?" */
	cs_strvec_push(&l.files, tmpfiles.v[0]);
	cs_strvec_push(&l.files, tmpfiles.v[1]);
	cs_strvec_push(&l.sets, "REG=r");
	cs_strvec_push(&l.sets, "TAG=");
	cs_strvec_push(&l.sets, "OTHER=o");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_STR(JSTR(l.model, "services/web/image"), "r/web:");
	T_ASSERT_STR(JSTR(l.model, "services/web/labels/a"), "o");
	load_release(&l);
	tmp_cleanup();
}

static void
test_compose__variable_sources_in_order(void)
{
	struct load l = {0};
	const char *f;

	/* .env in the project dir < environment (test_env) < --set */
	f = tmp_write("c.yml", "services:\n  s:\n    image: $A-$QUX-$HOME\n");
	tmp_write(".env", "A=from_dotenv\nQUX=from_dotenv\nHOME=from_dotenv\n");
	cs_strvec_push(&l.files, f);
	cs_strvec_push(&l.sets, "HOME=from_set");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_STR(JSTR(l.model, "services/s/image"),
		     "from_dotenv-qux_from_environment-from_set");
	load_release(&l);

	/* --env-file replaces .env */
	cs_strvec_push(&l.files, f);
	T_ASSERT_INT(do_load(&l, "swarm", tmp_write("other.env", "A=from_env_file\n")), 0);
	T_ASSERT_STR(JSTR(l.model, "services/s/image"), "from_env_file-qux_from_environment-/bar");
	load_release(&l);
	tmp_cleanup();
}

static void
test_compose__merge_two_files(void)
{
	struct load l = {0};
	json_t *web;

	cs_strvec_push(&l.files,
		       tmp_write("base.yml",
				 "version: '3.8'\n"
				 "services:\n"
				 "  web:\n"
				 "    image: web:1\n"
				 "    command: [echo, base]\n"
				 "    environment: [A=1, B=2]\n"
				 "    ports: ['8080:80', '9000:9000']\n"
				 "    volumes: ['data:/data', './conf:/etc/conf:ro']\n"
				 "    dns: [1.1.1.1]\n"
				 "    cap_add: [A, B]\n"
				 "    labels: {keep: 'yes', change: old}\n"
				 "    deploy: {replicas: 2, resources: {limits: {memory: 64M}}}\n"
				 "    healthcheck: {test: [CMD, true], interval: 5s}\n"
				 "  db:\n"
				 "    image: db:1\n"
				 "    ports: ['5432:5432']\n"
				 "volumes:\n"
				 "  data:\n"
				 "networks:\n"
				 "  front: {driver: overlay}\n"));
	cs_strvec_push(&l.files, tmp_write("override.yml", "services:\n"
							   "  web:\n"
							   "    image: web:2\n"
							   "    command: echo override\n"
							   "    environment: {B: 20, C: 3}\n"
							   "    ports: ['8080:80', '8443:443']\n"
							   "    volumes: ['other:/data']\n"
							   "    dns: [8.8.8.8]\n"
							   "    cap_add: !override [C]\n"
							   "    labels: [change=new]\n"
							   "    deploy: {replicas: 3}\n"
							   "    healthcheck: {test: [CMD, false]}\n"
							   "    networks: [front]\n"
							   "  db:\n"
							   "    ports: !reset []\n"
							   "  extra:\n"
							   "    image: extra\n"
							   "volumes:\n"
							   "  other:\n"
							   "networks:\n"
							   "  front: {attachable: true}\n"));
	l.app = "myapp";
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	web = jpath(l.model, "services/web");
	T_ASSERT_STR(JSTR(web, "image"), "web:2");
	/* command is replaced, not appended */
	T_ASSERT_INT(json_array_size(json_object_get(web, "command")), 2);
	T_ASSERT_STR(JSTR(web, "command/1"), "override");
	/* environment merged as a map */
	T_ASSERT_STR(JSTR(web, "environment/A"), "1");
	T_ASSERT_STR(JSTR(web, "environment/B"), "20");
	T_ASSERT_STR(JSTR(web, "environment/C"), "3");
	/* ports unique by (ip, target, published, protocol) */
	T_ASSERT_INT(json_array_size(json_object_get(web, "ports")), 3);
	T_ASSERT_INT(JINT(web, "ports/2/target"), 443);
	/* volumes unique by target */
	T_ASSERT_INT(json_array_size(json_object_get(web, "volumes")), 2);
	T_ASSERT_STR(JSTR(web, "volumes/0/source"), "other");
	T_ASSERT(json_is_true(jpath(web, "volumes/1/read_only")));
	/* other sequences append */
	T_ASSERT_INT(json_array_size(json_object_get(web, "dns")), 2);
	/* !override replaces instead of merging */
	T_ASSERT_INT(json_array_size(json_object_get(web, "cap_add")), 1);
	T_ASSERT_STR(JSTR(web, "cap_add/0"), "C");
	T_ASSERT_STR(JSTR(web, "labels/keep"), "yes");
	T_ASSERT_STR(JSTR(web, "labels/change"), "new");
	T_ASSERT_INT(JINT(web, "deploy/replicas"), 3);
	T_ASSERT_INT(JINT(web, "deploy/resources/limits/memory_bytes"), 64 << 20);
	/* healthcheck.test replaced, the rest merged */
	T_ASSERT_INT(json_array_size(jpath(web, "healthcheck/test")), 2);
	T_ASSERT_STR(JSTR(web, "healthcheck/test/1"), "false");
	T_ASSERT_INT(JINT(web, "healthcheck/interval_ns"), 5000000000LL);
	T_ASSERT(jpath(web, "networks/front") != NULL);
	T_ASSERT_STR(JSTR(l.model, "networks/front/driver"), "overlay");
	T_ASSERT(json_is_true(jpath(l.model, "networks/front/attachable")));
	T_ASSERT_STR(JSTR(l.model, "volumes/other/name"), "myapp_other");
	T_ASSERT_STR(JSTR(l.model, "name"), "myapp");
	/* !reset removes what the base file set */
	T_ASSERT_INT(json_array_size(jpath(l.model, "services/db/ports")), 0);
	T_ASSERT_STR(JSTR(l.model, "services/db/image"), "db:1");
	T_ASSERT_STR(JSTR(l.model, "services/extra/image"), "extra");
	/* a service on no network is on "default", which then exists */
	T_ASSERT(jpath(l.model, "services/db/networks/default") != NULL);
	T_ASSERT_STR(JSTR(l.model, "networks/default/name"), "myapp_default");
	load_release(&l);
	tmp_cleanup();
}

struct pcase {
	const char *spec;
	int n;			/* entries, 0: invalid */
	long target, published; /* of the first entry; published -1: null */
	const char *ip, *proto;
};

static const struct pcase port_table[] = {
    {"80", 1, 80, -1, NULL, "tcp"},
    {"8080:80", 1, 80, 8080, NULL, "tcp"},
    {"8080:80/udp", 1, 80, 8080, NULL, "udp"},
    {"127.0.0.1:8080:80", 1, 80, 8080, "127.0.0.1", "tcp"},
    {"127.0.0.1:8080:80/udp", 1, 80, 8080, "127.0.0.1", "udp"},
    {"127.0.0.1::80", 1, 80, -1, "127.0.0.1", "tcp"},
    {"[::1]:8080:80", 1, 80, 8080, "::1", "tcp"},
    {"3000-3005", 6, 3000, -1, NULL, "tcp"},
    {"8000-8002:80-82", 3, 80, 8000, NULL, "tcp"},
    {"127.0.0.1:5000-5010:5000-5010", 11, 5000, 5000, "127.0.0.1", "tcp"},
    {"53:53/sctp", 1, 53, 53, NULL, "sctp"},
    {"", 0, 0, 0, NULL, NULL},
    {"abc", 0, 0, 0, NULL, NULL},
    {"80/xyz", 0, 0, 0, NULL, NULL},
    {"70000", 0, 0, 0, NULL, NULL},
    {"8000-8002:80-81", 0, 0, 0, NULL, NULL},
    {"82-80", 0, 0, 0, NULL, NULL},
    {"8080:", 0, 0, 0, NULL, NULL},
};

static void
test_compose__port_short_forms(void)
{
	size_t i;

	for (i = 0; i < sizeof(port_table) / sizeof(port_table[0]); i++) {
		const struct pcase *tc = &port_table[i];
		json_t *a = json_array(), *p;
		int rc = dep_parse_port(a, tc->spec);

		if (tc->n == 0) {
			if (rc != CS_EINVAL || json_array_size(a) != 0) {
				json_decref(a);
				T_FAIL_("'%s': rc %d, want CS_EINVAL", tc->spec, rc);
			}
			json_decref(a);
			continue;
		}
		p = json_array_get(a, 0);
		if (rc != 0 || (int)json_array_size(a) != tc->n ||
		    json_integer_value(json_object_get(p, "target")) != tc->target ||
		    (tc->published < 0
			 ? !json_is_null(json_object_get(p, "published"))
			 : json_integer_value(json_object_get(p, "published")) != tc->published) ||
		    (tc->ip ? !json_is_string(json_object_get(p, "host_ip")) ||
				  strcmp(json_string_value(json_object_get(p, "host_ip")), tc->ip)
			    : !json_is_null(json_object_get(p, "host_ip"))) ||
		    strcmp(json_string_value(json_object_get(p, "protocol")), tc->proto)) {
			char *d = json_dumps(a, JSON_COMPACT);

			fprintf(stderr, "  '%s' -> rc %d %s\n", tc->spec, rc, d ? d : "");
			free(d);
			json_decref(a);
			T_FAIL_("port case %zu '%s'", i, tc->spec);
		}
		json_decref(a);
	}
}

struct ucase {
	const char *in;
	long long want; /* -1: invalid */
};

static const struct ucase duration_table[] = {
    {"10s", 10000000000LL},
    {"500ms", 500000000LL},
    {"1m30s", 90000000000LL},
    {"1h5m30s20ms", 3930020000000LL},
    {"1.5s", 1500000000LL},
    {"2us", 2000LL},
    {"3ns", 3},
    {"0", 0},
    {"90", 90000000000LL},
    {"1m0s", 60000000000LL},
    {"", -1},
    {"10", 10000000000LL},
    {"10x", -1},
    {"s", -1},
    {"1h-5m", -1},
    {"abc", -1},
};

static const struct ucase size_table[] = {
    {"512M", 512LL << 20},
    {"1g", 1LL << 30},
    {"100k", 100LL << 10},
    {"2b", 2},
    {"1024kb", 1LL << 20},
    {"300m", 300LL << 20},
    {"1gb", 1LL << 30},
    {"1.5G", 3LL << 29},
    {"10000", 10000},
    {"50M", 52428800},
    {"1Gi", 1LL << 30},
    {"", -1},
    {"m", -1},
    {"10q", -1},
    {"-5m", -1},
};

static void
test_compose__durations_and_sizes(void)
{
	long long v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(duration_table) / sizeof(duration_table[0]); i++) {
		v = -2;
		rc = dep_parse_duration(&v, duration_table[i].in);
		if (duration_table[i].want < 0 ? rc != CS_EINVAL
					       : rc != 0 || v != duration_table[i].want)
			T_FAIL_("duration '%s': rc %d, %lld", duration_table[i].in, rc, v);
	}
	for (i = 0; i < sizeof(size_table) / sizeof(size_table[0]); i++) {
		v = -2;
		rc = dep_parse_size(&v, size_table[i].in);
		if (size_table[i].want < 0 ? rc != CS_EINVAL : rc != 0 || v != size_table[i].want)
			T_FAIL_("size '%s': rc %d, %lld", size_table[i].in, rc, v);
	}
}

static void
test_compose__shlex(void)
{
	json_t *a = NULL;

	T_ASSERT_INT(dep_shlex_split(&a, "sh -c 'echo \"a  b\"' \"x\\\"y\" c\\ d  e''f"), 0);
	T_ASSERT_INT(json_array_size(a), 6);
	T_ASSERT_STR(json_string_value(json_array_get(a, 2)), "echo \"a  b\"");
	T_ASSERT_STR(json_string_value(json_array_get(a, 5)), "ef");
	T_ASSERT_STR(json_string_value(json_array_get(a, 3)), "x\"y");
	T_ASSERT_STR(json_string_value(json_array_get(a, 4)), "c d");
	json_decref(a);
	T_ASSERT_INT(dep_shlex_split(&a, "a '' b"), 0);
	T_ASSERT_INT(json_array_size(a), 3);
	T_ASSERT_STR(json_string_value(json_array_get(a, 1)), "");
	json_decref(a);
	T_ASSERT_INT(dep_shlex_split(&a, "echo 'open"), CS_EINVAL);
	T_ASSERT(a == NULL);
}

static void
test_compose__build_without_image_is_refused(void)
{
	struct load l = {0};
	struct cs_strvec errors = CS_STRVEC_INIT;

	cs_strvec_push(&l.files, CORPUS_DIR "/compose/rejected-voting-app-compose-v2-2016.yml");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_INT(dep_compose_deployable(l.model, &errors), CS_EINVAL);
	T_ASSERT_INT(errors.nr, 3); /* vote, result, worker; redis and db have images */
	T_ASSERT(strstr(errors.v[0], "rejected-voting-app-compose-v2-2016.yml:4: service 'vote' "
				     "has build: but no image:") != NULL);
	T_ASSERT(strstr(errors.v[2], "service 'worker'") != NULL);
	T_ASSERT(strstr(cs_err_msg(), "service 'result'") != NULL);
	cs_strvec_clear(&errors);
	load_release(&l);

	/* build: with image: is fine (the image is pulled, build is ignored) */
	cs_strvec_push(&l.files, tmp_write("bi.yml", "services:\n  a:\n    build: .\n"
						     "    image: reg/a:1\n  b:\n    image: b\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_INT(dep_compose_deployable(l.model, NULL), 0);
	T_ASSERT(has_warning(&l, "bi.yml:3: service 'a': key 'build' is ignored by swarm"));
	load_release(&l);

	/* an image that is no reference, e.g. the seed's "$PRIVATE_REGISTRY:5000/app:$TAG"
	 * with the variables unset: refused before the bay sees it */
	cs_strvec_push(&l.files, tmp_write("badref.yml", "services:\n  a:\n    image: b\n"
							 "  web:\n    image: $R:5000/app:$T\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_INT(dep_compose_deployable(l.model, &errors), CS_EINVAL);
	T_ASSERT_INT(errors.nr, 1);
	T_ASSERT(strstr(errors.v[0],
			"badref.yml:4: service 'web' cannot be deployed: invalid image "
			"reference ':5000/app:'") != NULL);
	cs_strvec_clear(&errors);
	load_release(&l);
	tmp_cleanup();
}

static void
test_compose__anchors_and_merge_keys(void)
{
	struct load l = {0};

	cs_strvec_push(&l.files, tmp_write("anchors.yml", "x-common: &common\n"
							  "  image: base:${TAG:-1}\n"
							  "  environment: &env\n"
							  "    LOG: info\n"
							  "  deploy:\n"
							  "    replicas: 2\n"
							  "services:\n"
							  "  a:\n"
							  "    <<: *common\n"
							  "  b:\n"
							  "    <<: *common\n"
							  "    image: other\n"
							  "    environment:\n"
							  "      <<: *env\n"
							  "      EXTRA: 'yes'\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT_STR(JSTR(l.model, "services/a/image"), "base:1");
	T_ASSERT_INT(JINT(l.model, "services/a/deploy/replicas"), 2);
	T_ASSERT_STR(JSTR(l.model, "services/b/image"), "other");
	T_ASSERT_STR(JSTR(l.model, "services/b/environment/LOG"), "info");
	T_ASSERT_STR(JSTR(l.model, "services/b/environment/EXTRA"), "yes");
	T_ASSERT(!has_warning(&l, "x-common"));
	load_release(&l);
	tmp_cleanup();
}

static void
test_compose__billion_laughs(void)
{
	struct load l = {0};

	cs_strvec_push(&l.files,
		       tmp_write("lol.yml",
				 "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
				 "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				 "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				 "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				 "x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
				 "x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
				 "x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
				 "services:\n  s:\n    image: x\n    command: *g\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), CS_ETOOBIG);
	T_ASSERT(l.model == NULL);
	load_release(&l);
	tmp_cleanup();
}

static void
test_compose__warnings_name_key_and_line(void)
{
	struct load l = {0};

	cs_strvec_push(&l.files,
		       tmp_write("w.yml", "version: '2.4'\n"
					  "services:\n"
					  "  web:\n"
					  "    image: w\n"
					  "    links: [db]\n"
					  "    frobnicate: 1\n"
					  "    x-mine: ok\n"
					  "    restart: on-failure:3\n"
					  "    mem_limit: 256m\n"
					  "    cpus: 0.5\n"
					  "    scale: 2\n"
					  "    depends_on:\n"
					  "      db:\n"
					  "        condition: service_healthy\n"
					  "    deploy:\n"
					  "      placement: {constraints: [node.role==worker]}\n"
					  "      wibble: 1\n"
					  "  db:\n"
					  "    image: d\n"
					  "    environment: [A, B=]\n"
					  "whatever: 1\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	T_ASSERT(has_warning(&l, "w.yml:5: service 'web': key 'links' is ignored by swarm"));
	T_ASSERT(has_warning(&l, "w.yml:6: service 'web': unknown key 'frobnicate'"));
	T_ASSERT(has_warning(&l, "w.yml:14: service 'web': key 'depends_on.db.condition' "
				 "(service_healthy) is ignored by swarm"));
	T_ASSERT(has_warning(&l, "w.yml:17: service 'web': unknown key 'deploy.wibble'"));
	T_ASSERT(has_warning(&l, "w.yml:21: unknown key 'whatever'"));
	T_ASSERT(!has_warning(&l, "x-mine"));
	T_ASSERT(!has_warning(&l, "placement"));
	/* version 2 keys fold into deploy */
	T_ASSERT_STR(JSTR(l.model, "services/web/deploy/restart_policy/condition"), "on-failure");
	T_ASSERT_INT(JINT(l.model, "services/web/deploy/restart_policy/max_attempts"), 3);
	T_ASSERT_INT(JINT(l.model, "services/web/deploy/resources/limits/memory_bytes"), 256 << 20);
	T_ASSERT_INT(JINT(l.model, "services/web/deploy/resources/limits/nano_cpus"), 500000000);
	T_ASSERT_INT(JINT(l.model, "services/web/deploy/replicas"), 2);
	T_ASSERT_STR(JSTR(l.model, "services/web/depends_on_conditions/db"), "service_healthy");
	/* environment list: "A" alone is unset (null), "B=" is empty */
	T_ASSERT(json_is_null(jpath(l.model, "services/db/environment/A")));
	T_ASSERT_STR(JSTR(l.model, "services/db/environment/B"), "");
	T_ASSERT(json_is_null(jpath(l.model, "services/web/healthcheck")));
	load_release(&l);

	/* the compose target: placement is what it ignores, links are fine */
	cs_strvec_push(&l.files, tmpfiles.v[0]);
	T_ASSERT_INT(do_load(&l, "compose", NULL), 0);
	T_ASSERT(!has_warning(&l, "'links'"));
	T_ASSERT(has_warning(&l, "w.yml:16: service 'web': key 'deploy.placement' is ignored by "
				 "compose"));
	load_release(&l);
	tmp_cleanup();
}

static void
test_compose__invalid_input(void)
{
	static const struct {
		const char *yaml, *msg;
		int rc;
	} cases[] = {
	    {"services:\n  a:\n    image: x\n    ports: ['99999:80']\n", "invalid port", CS_EINVAL},
	    {"services:\n  a:\n    image: x\n    deploy: {replicas: many}\n", "'replicas' must be",
	     CS_EINVAL},
	    {"services:\n  a:\n    image: x\n    stop_grace_period: soon\n", "duration", CS_EINVAL},
	    {"services:\n  a:\n    image: x\n    secrets: [nope]\n", "undefined secret 'nope'",
	     CS_EINVAL},
	    {"services:\n  a:\n    image: x\n    command: \"echo 'x\"\n", "unterminated",
	     CS_EINVAL},
	    {"services:\n  a:\n    image: x\n    env_file: missing.env\n", "missing.env",
	     CS_EINVAL},
	    {"services:\n  a:\n    image: x\n    read_only: maybe\n", "boolean", CS_EINVAL},
	    {"services:\n  a: [1]\n", "service 'a' must be a mapping", CS_EINVAL},
	    {"services:\n  a:\n    image: ${A:x}\n", "invalid interpolation format", CS_EINVAL},
	    {"- just a list\n", "top-level must be a mapping", CS_EINVAL},
	    {"services:\n  a:\n    image: [\n", "bad.yml:", CS_EPARSE},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct load l = {0};

		cs_strvec_push(&l.files, tmp_write("bad.yml", cases[i].yaml));
		if (do_load(&l, "swarm", NULL) != cases[i].rc || l.model != NULL ||
		    strstr(cs_err_msg(), cases[i].msg) == NULL) {
			fprintf(stderr, "  case %zu: rc %d: %s\n", i, l.rc, cs_err_msg());
			load_release(&l);
			T_FAIL_("invalid case %zu not refused as expected", i);
		}
		load_release(&l);
	}
	/* optional env files may be missing */
	{
		struct load l = {0};

		cs_strvec_push(&l.files,
			       tmp_write("opt.yml",
					 "services:\n  a:\n    image: x\n    env_file:\n"
					 "      - path: nope.env\n        required: false\n"));
		T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
		load_release(&l);
	}
	tmp_cleanup();
}

static void
test_compose__order_profiles_and_cycles(void)
{
	struct load l = {0};
	json_t *order = NULL;

	cs_strvec_push(&l.files, tmp_write("o.yml", "services:\n"
						    "  web:\n"
						    "    image: w\n"
						    "    depends_on: [api]\n"
						    "  api:\n"
						    "    image: a\n"
						    "    links: ['db:database', 'external_thing']\n"
						    "  db:\n"
						    "    image: d\n"
						    "  seed:\n"
						    "    image: s\n"
						    "    profiles: [seed]\n"
						    "    depends_on: [web]\n"));
	T_ASSERT_INT(do_load(&l, "compose", NULL), 0);
	T_ASSERT(jpath(l.model, "services/seed") == NULL);
	T_ASSERT(has_warning(&l, "o.yml:10: service 'seed' has profiles: and is not deployed"));
	T_ASSERT_INT(dep_compose_order(&order, l.model), 0);
	T_ASSERT_INT(json_array_size(order), 3);
	T_ASSERT_STR(json_string_value(json_array_get(order, 0)), "db");
	T_ASSERT_STR(json_string_value(json_array_get(order, 1)), "api");
	T_ASSERT_STR(json_string_value(json_array_get(order, 2)), "web");
	json_decref(order);
	load_release(&l);

	cs_strvec_push(&l.files, tmp_write("cycle.yml", "services:\n"
							"  a: {image: a, depends_on: [b]}\n"
							"  b: {image: b, depends_on: [c]}\n"
							"  c: {image: c, depends_on: [a]}\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), CS_EINVAL);
	T_ASSERT(l.model == NULL);
	T_ASSERT(strstr(cs_err_msg(), "'a' -> 'b' -> 'c' -> 'a'") != NULL);
	load_release(&l);

	/* an invalid --app is refused */
	cs_strvec_push(&l.files, tmpfiles.v[0]);
	l.app = "bad name";
	T_ASSERT_INT(do_load(&l, "swarm", NULL), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "invalid app name 'bad name'") != NULL);
	load_release(&l);

	/* errors in top-level objects name their file and line */
	cs_strvec_push(&l.files,
		       tmp_write("top.yml", "services:\n  a: {image: a}\n"
					    "networks:\n  n:\n    attachable: perhaps\n"));
	T_ASSERT_INT(do_load(&l, "swarm", NULL), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "top.yml:4: 'attachable' must be a boolean") != NULL);
	load_release(&l);
	tmp_cleanup();
}

static json_t *
load_yaml_file(const char *path)
{
	struct cs_buf b = CS_BUF_INIT;
	char chunk[4096];
	json_t *doc = NULL;
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cs_buf_add(&b, chunk, n);
	fclose(f);
	if (cs_yamldoc_load(&doc, NULL, b.buf, b.len, path, CS_YAMLDOC_PLAIN_STRINGS) < 0)
		doc = NULL;
	cs_buf_release(&b);
	return doc;
}

/* golden paths use /foo for the project dir and /bar for HOME */
static int
same_path(const char *golden, const char *got)
{
	char *want;
	int eq;

	if (golden == NULL || got == NULL)
		return golden == got;
	if (strncmp(golden, "/foo", 4) == 0)
		want = cs_xasprintf("%s%s", CORPUS_DIR "/compose", golden + 4);
	else
		want = cs_xstrdup(golden);
	eq = strcmp(want, got) == 0;
	free(want);
	return eq;
}

static long long
golden_ns(json_t *v)
{
	long long ns = -1;

	if (json_is_string(v))
		dep_parse_duration(&ns, json_string_value(v));
	return ns;
}

static void
test_compose__full_example_against_golden_file(void)
{
	struct load l = {0};
	json_t *g = load_yaml_file(CORPUS_DIR "/compose/docker-cli-full-example.golden.yaml");
	json_t *gs, *ms, *gv, *mv, *a, *b;
	const char *k;
	size_t i;

	T_ASSERT(g != NULL);
	cs_strvec_push(&l.files, CORPUS_DIR "/compose/docker-cli-full-example.yml");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	gs = jpath(g, "services/foo");
	ms = jpath(l.model, "services/foo");
	/* maps of strings: equal as they are */
	T_ASSERT(
	    json_equal(json_object_get(gs, "environment"), json_object_get(ms, "environment")));
	T_ASSERT(json_equal(json_object_get(gs, "labels"), json_object_get(ms, "labels")));
	T_ASSERT(json_equal(json_object_get(gs, "sysctls"), json_object_get(ms, "sysctls")));
	T_ASSERT(json_equal(json_object_get(gs, "command"), json_object_get(ms, "command")));
	T_ASSERT(json_equal(json_object_get(gs, "entrypoint"), json_object_get(ms, "entrypoint")));
	T_ASSERT(json_equal(jpath(gs, "healthcheck/test"), jpath(ms, "healthcheck/test")));
	T_ASSERT(json_equal(json_object_get(gs, "links"), json_object_get(ms, "links")));
	T_ASSERT(
	    json_equal(json_object_get(gs, "extra_hosts"), json_object_get(ms, "extra_hosts")));
	T_ASSERT(json_equal(json_object_get(gs, "expose"), json_object_get(ms, "expose")));
	T_ASSERT(json_equal(jpath(gs, "deploy/labels"), jpath(ms, "deploy/labels")));
	T_ASSERT(json_equal(jpath(gs, "deploy/placement/constraints"),
			    jpath(ms, "deploy/placement/constraints")));
	/* ports */
	a = json_object_get(gs, "ports");
	b = json_object_get(ms, "ports");
	T_ASSERT_INT(json_array_size(b), json_array_size(a));
	json_array_foreach(a, i, gv)
	{
		mv = json_array_get(b, i);
		T_ASSERT_INT(JINT(mv, "target"), strtol(JSTR(gv, "target"), NULL, 10));
		if (json_object_get(gv, "published"))
			T_ASSERT_INT(JINT(mv, "published"),
				     strtol(JSTR(gv, "published"), NULL, 10));
		else
			T_ASSERT(json_is_null(json_object_get(mv, "published")));
		T_ASSERT_STR(JSTR(mv, "mode"), JSTR(gv, "mode"));
		T_ASSERT_STR(JSTR(mv, "protocol"), JSTR(gv, "protocol"));
	}
	/* volumes */
	a = json_object_get(gs, "volumes");
	b = json_object_get(ms, "volumes");
	T_ASSERT_INT(json_array_size(b), json_array_size(a));
	json_array_foreach(a, i, gv)
	{
		mv = json_array_get(b, i);
		T_ASSERT_STR(JSTR(mv, "type"), JSTR(gv, "type"));
		T_ASSERT_STR(JSTR(mv, "target"), JSTR(gv, "target"));
		T_ASSERT(same_path(JSTR(gv, "source"), JSTR(mv, "source")));
		T_ASSERT(json_is_true(json_object_get(mv, "read_only")) ==
			 (JSTR(gv, "read_only") != NULL));
	}
	/* secrets and configs of the service */
	json_array_foreach(json_object_get(gs, "secrets"), i, gv)
	{
		mv = json_array_get(json_object_get(ms, "secrets"), i);
		T_ASSERT_STR(JSTR(mv, "source"), JSTR(gv, "source"));
		if (json_object_get(gv, "mode"))
			T_ASSERT_INT(JINT(mv, "mode"), strtol(JSTR(gv, "mode"), NULL, 10));
		if (json_object_get(gv, "uid"))
			T_ASSERT_STR(JSTR(mv, "uid"), JSTR(gv, "uid"));
	}
	/* deploy: durations in ns, sizes in bytes */
	T_ASSERT_INT(JINT(ms, "deploy/replicas"), strtol(JSTR(gs, "deploy/replicas"), NULL, 10));
	T_ASSERT_INT(JINT(ms, "deploy/update_config/monitor_ns"),
		     golden_ns(jpath(gs, "deploy/update_config/monitor")));
	T_ASSERT_INT(JINT(ms, "deploy/rollback_config/delay_ns"),
		     golden_ns(jpath(gs, "deploy/rollback_config/delay")));
	T_ASSERT_INT(JINT(ms, "deploy/restart_policy/window_ns"),
		     golden_ns(jpath(gs, "deploy/restart_policy/window")));
	T_ASSERT_INT(JINT(ms, "deploy/resources/limits/memory_bytes"),
		     strtoll(JSTR(gs, "deploy/resources/limits/memory"), NULL, 10));
	T_ASSERT_INT(JINT(ms, "deploy/resources/reservations/memory_bytes"),
		     strtoll(JSTR(gs, "deploy/resources/reservations/memory"), NULL, 10));
	T_ASSERT_INT(JINT(ms, "healthcheck/start_interval_ns"),
		     golden_ns(jpath(gs, "healthcheck/start_interval")));
	T_ASSERT_INT(JINT(ms, "stop_grace_period_ns"), golden_ns(jpath(gs, "stop_grace_period")));
	/* top-level: external names and files */
	json_object_foreach(json_object_get(g, "networks"), k, gv)
	{
		mv = jpath(json_object_get(l.model, "networks"), k);
		T_ASSERT(mv != NULL);
		if (json_object_get(gv, "external"))
			T_ASSERT_STR(JSTR(mv, "name"), JSTR(gv, "name"));
	}
	json_object_foreach(json_object_get(g, "volumes"), k, gv)
	{
		mv = json_object_get(json_object_get(l.model, "volumes"), k);
		T_ASSERT(mv != NULL);
		if (json_object_get(gv, "name"))
			T_ASSERT_STR(JSTR(mv, "name"), JSTR(gv, "name"));
		T_ASSERT(json_is_true(json_object_get(mv, "external")) ==
			 (json_object_get(gv, "external") != NULL));
	}
	json_object_foreach(json_object_get(g, "secrets"), k, gv)
	{
		mv = json_object_get(json_object_get(l.model, "secrets"), k);
		T_ASSERT(mv != NULL);
		if (json_object_get(gv, "name"))
			T_ASSERT_STR(JSTR(mv, "name"), JSTR(gv, "name"));
		/* docker-cli gives secret4 (name only) file /foo: a quirk we do not copy */
		if (json_object_get(gv, "file") && strcmp(k, "secret4"))
			T_ASSERT(same_path(JSTR(gv, "file"), JSTR(mv, "file")));
	}
	load_release(&l);
	json_decref(g);
}

static void
test_compose__corpus_env_files(void)
{
	struct cs_buf t1 = CS_BUF_INIT, t2 = CS_BUF_INIT;
	json_t *a = NULL, *b = NULL;
	char chunk[512];
	size_t n;
	FILE *f;

	T_ASSERT((f = fopen(CORPUS_DIR "/compose/example1.env", "r")) != NULL);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cs_buf_add(&t1, chunk, n);
	fclose(f);
	T_ASSERT((f = fopen(CORPUS_DIR "/compose/example2.env", "r")) != NULL);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cs_buf_add(&t2, chunk, n);
	fclose(f);
	T_ASSERT_INT(dep_envfile_parse(&a, t1.buf, t1.len, "example1.env", NULL), 0);
	T_ASSERT_INT(dep_envfile_parse(&b, t2.buf, t2.len, "example2.env", NULL), 0);
	T_ASSERT_STR(JSTR(a, "FOO"), "foo_from_env_file");
	T_ASSERT_STR(JSTR(a, "BAR"), "bar_from_env_file");
	T_ASSERT_STR(JSTR(a, "BAZ"), "baz_from_env_file");
	T_ASSERT_INT(json_object_size(a), 3);
	T_ASSERT_STR(JSTR(b, "BAR"), "bar_from_env_file_2");
	T_ASSERT_STR(JSTR(b, "QUX"), "quz_from_env_file_2");
	json_decref(a);
	json_decref(b);
	cs_buf_release(&t1);
	cs_buf_release(&t2);
}

int
main(void)
{
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_compose__corpus_loads_with_warnings_only);
	T_RUN(test_compose__full_example_matches_golden);
	T_RUN(test_compose__full_example_against_golden_file);
	T_RUN(test_compose__corpus_env_files);
	T_RUN(test_compose__seed_petclinic);
	T_RUN(test_compose__seed_tweetdemo);
	T_RUN(test_compose__missing_required_variables_all_at_once);
	T_RUN(test_compose__variable_sources_in_order);
	T_RUN(test_compose__merge_two_files);
	T_RUN(test_compose__port_short_forms);
	T_RUN(test_compose__durations_and_sizes);
	T_RUN(test_compose__shlex);
	T_RUN(test_compose__build_without_image_is_refused);
	T_RUN(test_compose__anchors_and_merge_keys);
	T_RUN(test_compose__billion_laughs);
	T_RUN(test_compose__warnings_name_key_and_line);
	T_RUN(test_compose__invalid_input);
	T_RUN(test_compose__order_profiles_and_cycles);
	tmp_cleanup();
	return T_REPORT();
}
