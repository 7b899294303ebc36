/*
 * The Compose input: real-world files of the corpus, the seed's samples,
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

#ifndef CORPUS_DIR
#define CORPUS_DIR "/work/shared/corpus"
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

	cs_strvec_push(&l.files, CORPUS_DIR "/seed-samples/petclinic/swarm-petclinic.yml");
	cs_strvec_push(&l.sets, "PRIVATE_REGISTRY=reg.example");
	cs_strvec_push(&l.sets, "TAG=42");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	m = l.model;
	T_ASSERT_STR(JSTR(m, "services/web/image"), "reg.example:5000/petclinic:42");
	T_ASSERT_STR(JSTR(m, "services/mysql/image"), "mysql:5.7");
	T_ASSERT_STR(JSTR(m, "services/mysql/environment/MYSQL_DATABASE"), "petclinic");
	T_ASSERT_STR(JSTR(m, "services/web/environment/affinity:container!"), "mysql");
	T_ASSERT_STR(JSTR(m, "services/web/container_name"), "petclinic");
	T_ASSERT_INT(JINT(m, "services/web/ports/0/published"), 8080);
	T_ASSERT(jpath(m, "services/web/networks/petnet") != NULL);
	T_ASSERT(jpath(m, "services/web/networks/default") == NULL);
	T_ASSERT_STR(JSTR(m, "networks/petnet/driver"), "overlay");
	T_ASSERT(jpath(m, "networks/default") == NULL);
	T_ASSERT_INT(dep_compose_deployable(m, NULL), 0);
	T_ASSERT(has_warning(&l, "swarm-petclinic.yml:5: service 'mysql': key 'container_name' is "
				 "ignored by swarm"));
	T_ASSERT(has_warning(&l, "swarm-petclinic.yml:13: service 'web': key 'container_name'"));
	load_release(&l);

	/* the compose target keeps container_name without a word */
	cs_strvec_push(&l.files, CORPUS_DIR "/seed-samples/petclinic/swarm-petclinic.yml");
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

	cs_strvec_push(&l.files, CORPUS_DIR "/seed-samples/tweet/swarm-tweetdemo.yml");
	cs_strvec_push(&l.sets, "PRIVATE_REGISTRY=10.0.0.5");
	cs_strvec_push(&l.sets, "TAG=7");
	T_ASSERT_INT(do_load(&l, "swarm", NULL), 0);
	m = l.model;
	T_ASSERT_STR(JSTR(m, "services/stream/image"), "10.0.0.5:5000/tweets-stream:7");
	T_ASSERT_STR(JSTR(m, "services/stream/environment/TWITTER_TRACK"), "#DonaldTrump");
	T_ASSERT_STR(JSTR(m, "services/stream/environment/CONSUMER_KEY"), "");
	T_ASSERT_STR(JSTR(m, "services/web/environment/MONGODB_SERVICE_SERVICE_HOST"), "mongodb");
	T_ASSERT_STR(JSTR(m, "services/web/depends_on/0"), "mongo");
	T_ASSERT_STR(JSTR(m, "services/web/depends_on_conditions/mongo"), "service_started");
	T_ASSERT_STR(JSTR(m, "services/mongo_express/links/0"), "mongo:mongo");
	T_ASSERT_INT(JINT(m, "services/mongo/ports/0/target"), 27017);
	T_ASSERT(json_is_null(jpath(m, "services/mongo/ports/0/published")));
	T_ASSERT_INT(JINT(m, "services/web/ports/0/published"), 80);
	T_ASSERT_INT(JINT(m, "services/web/ports/0/target"), 8080);
	T_ASSERT_STR(JSTR(m, "services/mongo/container_name"), "mongodb");
	T_ASSERT(has_warning(&l, "service 'mongo_express': key 'links' is ignored by swarm"));
	load_release(&l);

	/* without the variables: a warning each, an empty string, still loads */
	cs_strvec_push(&l.files, CORPUS_DIR "/seed-samples/tweet/swarm-tweetdemo.yml");
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
	T_ASSERT_STR(JSTR(l.model, "services/s/image"), "from_dotenv-qux_from_environment-from_set");
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
		       tmp_write("base.yml", "version: '3.8'\n"
					     "services:\n"
					     "  web:\n"
					     "    image: web:1\n"
					     "    command: [echo, base]\n"
					     "    environment: [A=1, B=2]\n"
					     "    ports: ['8080:80', '9000:9000']\n"
					     "    volumes: ['data:/data', './conf:/etc/conf:ro']\n"
					     "    dns: [1.1.1.1]\n"
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
	cs_strvec_push(&l.files,
		       tmp_write("override.yml", "services:\n"
						 "  web:\n"
						 "    image: web:2\n"
						 "    command: echo override\n"
						 "    environment: {B: 20, C: 3}\n"
						 "    ports: ['8080:80', '8443:443']\n"
						 "    volumes: ['other:/data']\n"
						 "    dns: [8.8.8.8]\n"
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

int
main(void)
{
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_compose__corpus_loads_with_warnings_only);
	T_RUN(test_compose__full_example_matches_golden);
	T_RUN(test_compose__seed_petclinic);
	T_RUN(test_compose__seed_tweetdemo);
	T_RUN(test_compose__missing_required_variables_all_at_once);
	T_RUN(test_compose__variable_sources_in_order);
	T_RUN(test_compose__merge_two_files);
	tmp_cleanup();
	return T_REPORT();
}
