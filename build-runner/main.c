/*
 * caas-build-runner: from a git commit (or a local directory) to an image
 * built by the engine, optionally validated, pushed to the private registry
 * and verified there. main() parses the options and runs the steps in order;
 * each step lives in its own file.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <git2.h>

#include "clock.h"
#include "br.h"
#include "buf.h"
#include "dockerauth.h"
#include "filch.h"
#include "err.h"
#include "exitcode.h"
#include "http.h"
#include "gitsrc.h"
#include "imageref.h"
#include "log.h"
#include "opts.h"
#include "outfile.h"
#include "registry.h"
#include "strvec.h"
#include "xalloc.h"

struct options {
	const char *repo, *ref, *context, *context_dir, *dockerfile;
	const char *git_token_file, *ssh_key;
	const char *image, *registry, *registry_user, *registry_password_file, *registry_ca;
	const char *registry_password; /* module arguments only */
	const char *target, *json_path;
	struct cs_strvec tags, build_args, labels, insecure_registries;
	struct br_validate_choice validate;
	int password_stdin, push, no_cache, pull;
};

/* Seconds per phase; a phase that did not run stays negative and is left out of the JSON. */
struct timings {
	double source, build, validate, push;
};

#define OPT(t, n, f, a, h) CS_OPT_ENTRY(t, struct options, n, f, a, h)
#define GROUP(h) CS_OPT_HEADING(h)

static const struct cs_opt options[] = {
    GROUP("Source"),
    OPT(CS_OPT_STRING, "repo", repo, "URL|PATH",
	"git repository: https://, ssh://, git@host:path, file://, path"),
    OPT(CS_OPT_STRING, "ref", ref, "REF", "branch, tag or commit SHA (default: the remote HEAD)"),
    OPT(CS_OPT_STRING, "git-token-file", git_token_file, "FILE",
	"HTTPS token or password for the repository"),
    OPT(CS_OPT_STRING, "ssh-key", ssh_key, "FILE", "SSH private key (default: ssh-agent)"),
    OPT(CS_OPT_STRING, "context", context, "DIR",
	"build a local directory instead of a git repository"),
    GROUP("Build"),
    OPT(CS_OPT_STRING, "context-dir", context_dir, "SUBDIR",
	"build context inside the source (default: its root)"),
    OPT(CS_OPT_STRING, "dockerfile", dockerfile, "PATH",
	"Dockerfile, relative to the source root; may lie outside\n"
	"the context (default: CONTEXT/Dockerfile)"),
    OPT(CS_OPT_LIST, "build-arg", build_args, "K=V",
	"build-time variable (repeatable; K alone takes $K)"),
    OPT(CS_OPT_STRING, "target", target, "STAGE",
	"build up to this stage of a multi-stage Dockerfile"),
    OPT(CS_OPT_KEYVALUE, "label", labels, "K=V", "image label (repeatable)"),
    OPT(CS_OPT_FLAG, "no-cache", no_cache, NULL, "do not use the build cache"),
    OPT(CS_OPT_FLAG, "pull", pull, NULL, "always try to pull a newer base image"),
    GROUP("Image and registry"),
    {.type = CS_OPT_STRING,
     .name = "image",
     .flags = CS_OPT_REQUIRED,
     .offset = offsetof(struct options, image),
     .arg = "NAME",
     .help = "image name, e.g. petclinic or team/petclinic"},
    OPT(CS_OPT_LIST, "tag", tags, "TAG",
	"tag (repeatable; default: $BUILD_NUMBER, else the short\n"
	"commit SHA, else 'latest')"),
    OPT(CS_OPT_STRING, "registry", registry, "HOST[:PORT]",
	"private registry: tags become HOST:PORT/NAME:TAG"),
    OPT(CS_OPT_FLAG, "push", push, NULL, "push every tag and verify its digest in the registry"),
    OPT(CS_OPT_STRING, "registry-user", registry_user, "USER",
	"registry account (default: docker's config.json)"),
    OPT(CS_OPT_STRING, "registry-password-file", registry_password_file, "FILE",
	"read the password from FILE"),
    OPT(CS_OPT_FLAG, "password-stdin", password_stdin, NULL,
	"read the password from standard input"),
    CS_OPT_REGISTRY_PASSWORD(struct options, registry_password),
    OPT(CS_OPT_STRING, "registry-ca", registry_ca, "FILE",
	"CA certificate of the registry (default:\n"
	"/etc/docker/certs.d/HOST:PORT/ca.crt)"),
    OPT(CS_OPT_LIST, "insecure-registry", insecure_registries, "HOST:PORT",
	"a registry whose certificate is not verified, or that\n"
	"speaks plain HTTP, as docker's insecure-registries\n"
	"(repeatable; the engine's own list counts too); a warning"),
    GROUP("Validation (the image factory; before any push)"),
    OPT(CS_OPT_STRING, "validate", validate.policy, "POLICY",
	"check the image against a filch policy file"),
    {.type = CS_OPT_CHOICE,
     .name = "validate-level",
     .offset = offsetof(struct options, validate.level),
     .arg = "LEVEL",
     .choices = "production|non-production",
     .help = "production (filch.json) or non-production\n(filch-insecure.json)"},
    OPT(CS_OPT_STRING, "activate_DockerImageFactory", validate.activate, "0|1",
	"the seed's switch (also an environment variable):\n"
	"1 validates, at the level given by"),
    OPT(CS_OPT_STRING, "DockerImageFactory_ProdReady", validate.prod_ready, "True|False",
	"(default True: production)"),
    {.type = CS_OPT_DOUBLE,
     .name = "validate-observe",
     .offset = offsetof(struct options, validate.observe_seconds),
     .arg = "SECONDS",
     .help = "watch the running image this long (default 5)",
     .min = 0.001,
     .max = 3600},
    OPT(CS_OPT_FLAG, "validate-no-processes", validate.no_processes, NULL,
	"check files and packages only, do not run the image"),
    GROUP("Output"),
    OPT(CS_OPT_STRING, "json", json_path, "FILE",
	"write the result as JSON (image_id, tags, commit, context,\n"
	"timings; status, exit_code and error on failure); '-' for\n"
	"standard output"),
    {.type = CS_OPT_END},
};

static const struct cs_exit_doc exit_codes[] = {
    {CS_EXIT_OK, "success"},
    {CS_EXIT_BUILD, "build failed (a Dockerfile step, or the engine refused the Dockerfile)"},
    {CS_EXIT_USAGE, "usage or bad input"},
    {CS_EXIT_INVALID, "image not valid, nothing pushed"},
    {CS_EXIT_PUSH, "push failed (registry unreachable, authentication or certificate refused,\n"
		   "digest mismatch, another image in the registry)"},
    {CS_EXIT_SOURCE, "source (git) failed"},
    {CS_EXIT_UNREACHABLE, "engine unreachable or engine API error"},
    {CS_EXIT_SIGINT, "interrupted by SIGINT; 143 interrupted by SIGTERM"},
    {0, NULL},
};

static const struct cs_opts_spec spec = {
    .prog = "caas-build-runner",
    .module = "caas_build",
    .summary = "build, validate and push a Docker image from a git commit",
    .synopsis = "(--repo URL|PATH [--ref REF] | --context DIR) --image NAME [options]",
    .description =
	"Build a Docker image from a git commit or a directory through the Docker Engine API,\n"
	"tag it, push it to a private registry and verify the pushed digest. Progress goes to\n"
	"stderr; stdout carries the result only: each final name (NAME:TAG@DIGEST once\n"
	"pushed), or the JSON of --json -.",
    .opts = options,
    .environment =
	"DOCKER_HOST (unix:///var/run/docker.sock by default, tcp://HOST:PORT),\n"
	"DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (engine TLS), DOCKER_CONFIG (registry\n"
	"credentials: auths, credsStore, credHelpers), BUILD_NUMBER (default tag and label),\n"
	"NO_COLOR (no ANSI sequences even on a terminal), CS_TRACE_HTTP=1 (trace HTTP, with\n"
	"credentials redacted).",
    .notes = "Module result: image_id, tags (name, digest), commit, validation (status,\n"
	     "violations); changed is true when the build made an image ID the first tag did\n"
	     "not already name, or a push changed a digest in the registry. Check mode builds\n"
	     "nothing and reports the plan.",
    .exits = exit_codes,
};

/* The checks the table cannot express. 0 or CS_EXIT_USAGE. */
static int
check_options(struct cs_opts_run *run, struct options *o)
{
	int passwords = !!o->registry_password_file + o->password_stdin + !!o->registry_password;

	if (!o->repo == !o->context)
		return cs_opts_usage_error(run, "give exactly one of --repo and --context");
	if (o->context && (o->ref || o->git_token_file || o->ssh_key))
		return cs_opts_usage_error(run,
					   "--ref, --git-token-file and --ssh-key need --repo");
	if (o->push && o->registry == NULL)
		return cs_opts_usage_error(run, "--push needs --registry");
	if (o->registry && (strstr(o->registry, "://") || strchr(o->registry, '/')))
		return cs_opts_usage_error(
		    run, "--registry '%s': want HOST[:PORT], without scheme or path", o->registry);
	if (o->validate.policy && o->validate.level)
		return cs_opts_usage_error(run,
					   "--validate and --validate-level exclude each other");
	return cs_opts_check_login(
	    run, o->registry_user, passwords,
	    "--registry-password-file and --password-stdin exclude each other",
	    "--registry-user needs --registry-password-file or "
	    "--password-stdin");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		cs_log(CS_LOG_WARN, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

static void
remove_tree(const char *dir)
{
	if (dir)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* RFC 3339 UTC time. */
static void
format_time(char *out, size_t n, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Resolve a path given relative to root and check that it stays inside
 * root (after symlinks). *out is malloc()ed.
 */
static int
resolve_inside(char **out, const char *root, const char *rel, const char *what)
{
	char *joined = cs_xasprintf("%s/%s", root, rel ? rel : "");
	char *real = realpath(joined, NULL);
	int real_errno = errno; /* the second realpath() would overwrite it */
	char *real_root = realpath(root, NULL);
	size_t n;
	int error = 0;

	*out = NULL;
	if (real == NULL || real_root == NULL) {
		error = cs_err_set(CS_EINVAL, "%s '%s': %s", what, rel ? rel : ".",
				   strerror(real == NULL ? real_errno : errno));
		goto out;
	}
	n = strlen(real_root);
	if (strncmp(real, real_root, n) != 0 || (real[n] != '\0' && real[n] != '/')) {
		error = cs_err_set(CS_EINVAL, "%s '%s' lies outside the source", what, rel);
		goto out;
	}
	*out = real;
	real = NULL;
out:
	free(joined);
	free(real);
	free(real_root);
	return error;
}

/* The exit code for error in phase; a caught signal wins. */
static int
exit_for(int error, enum cs_phase phase)
{
	return cs_exit_for(error, phase, (int)br_interrupted);
}

/*
 * After a failed push (error, the message in cs_err_msg()): when the engine
 * itself no longer answers, the push failed because it went away, not because
 * of the registry. Then the message says so and 1 is returned (exit 6);
 * else the push error stands and 0 is returned.
 */
/* The text after the last ':' of m (curl's reason), or m when there is none. */
static const char *
last_reason(const char *m)
{
	const char *c = strrchr(m, ':');

	if (c == NULL)
		return m;
	c++;
	while (*c == ' ')
		c++;
	return *c ? c : m;
}

static int
engine_lost_during_push(struct cs_docker *d, int error, const char *name)
{
	char *push_msg = cs_xstrdup(cs_err_msg()), *ping_msg;
	int lost = 0;

	if (cs_docker_ping(d, 5000) < 0) {
		ping_msg = cs_xstrdup(cs_err_msg());
		cs_err_set(CS_ENET, "lost the engine at %s during the push of %s: %s (%s)",
			   cs_docker_host(d), name, last_reason(push_msg), last_reason(ping_msg));
		free(ping_msg);
		lost = 1;
	} else {
		cs_err_set(error, "%s", push_msg);
	}
	free(push_msg);
	return lost;
}

/* The image ID name points at in the engine now (caller frees), or NULL. */
static char *
current_image_id(struct cs_docker *engine, const char *name)
{
	struct cs_buf path = CS_BUF_INIT;
	json_t *img = NULL;
	long status = 0;
	char *id = NULL;

	cs_buf_adds(&path, "/images/");
	cs_http_urlencode(&path, name);
	cs_buf_adds(&path, "/json");
	if (cs_docker_json(engine, "GET", path.buf, NULL, NULL, &status, &img) == 0 &&
	    status == 200 && json_is_string(json_object_get(img, "Id")))
		id = cs_xstrdup(json_string_value(json_object_get(img, "Id")));
	json_decref(img);
	cs_buf_release(&path);
	cs_err_clear();
	return id;
}

/* Registry credentials for --push: from the options, else docker's config.json. */
static int
load_credentials(struct cs_dockerauth *auth, const struct options *o)
{
	int error;

	if (o->registry_password_file)
		return cs_dockerauth_from_file(auth, o->registry_user, o->registry_password_file);
	if (o->registry_password)
		return cs_dockerauth_from_password(auth, o->registry_user, o->registry_password,
						   "registry_password");
	if (o->password_stdin)
		return cs_dockerauth_from_stdin(auth, o->registry_user);
	error = cs_dockerauth_lookup(auth, o->registry);
	if (error == CS_ENOTFOUND) {
		cs_log(CS_LOG_INFO, "no credentials for %s in docker's config: pushing anonymously",
		       o->registry);
		return 0;
	}
	return error;
}

/* The plan of a check-mode run: what would be built and where it would go. */
static json_t *
check_mode_plan(const struct options *o, const struct cs_filch *policy)
{
	json_t *tags = json_array(), *plan;
	/* a --repo URL may carry user:password@: the plan shows it without */
	char *source = o->repo ? cs_gitsrc_redact_url(o->repo) : cs_xstrdup(o->context);
	size_t i;

	for (i = 0; i < o->tags.nr; i++)
		json_array_append_new(tags, json_string(o->tags.v[i]));
	plan = json_pack("{s:{s:s, s:s?, s:s?, s:o, s:b, s:b}}", "plan", "image", o->image,
			 "registry", o->registry, "source", source, "tags", tags, "push", o->push,
			 "validate", policy != NULL);
	free(source);
	return plan;
}

/* The run's result, also after a failure: what was done up to it. */
static json_t *
result_json(const struct br_build_result *built, const struct cs_gitsrc_result *src,
	    json_t *tag_list, const struct timings *tm, json_t *validation)
{
	json_t *r = json_object(), *t = json_object();

	if (built->image_id) {
		json_object_set_new(r, "image_id", json_string(built->image_id));
		json_object_set_new(r, "context",
				    json_pack("{s:I, s:I}", "files", (json_int_t)built->files,
					      "bytes", (json_int_t)built->bytes));
	}
	json_object_set(r, "tags", tag_list);
	json_object_set_new(r, "commit", src->commit[0] ? json_string(src->commit) : json_null());
	if (tm->source >= 0)
		json_object_set_new(t, "source", json_real(tm->source));
	if (tm->build >= 0)
		json_object_set_new(t, "build", json_real(tm->build));
	if (tm->validate >= 0)
		json_object_set_new(t, "validate", json_real(tm->validate));
	if (tm->push >= 0)
		json_object_set_new(t, "push", json_real(tm->push));
	json_object_set_new(r, "timings", t);
	if (validation)
		json_object_set(r, "validation", validation);
	return r;
}

int
main(int argc, char **argv)
{
	struct options o = {.tags = CS_STRVEC_INIT,
			    .build_args = CS_STRVEC_INIT,
			    .labels = CS_STRVEC_INIT,
			    .insecure_registries = CS_STRVEC_INIT};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct cs_gitsrc_result src = {0};
	struct cs_dockerauth auth = CS_DOCKERAUTH_INIT;
	struct br_build_result built = {0};
	struct cs_strvec names = CS_STRVEC_INIT, build_names = CS_STRVEC_INIT;
	struct cs_buf auth_header = CS_BUF_INIT;
	struct timings tm = {-1, -1, -1, -1};
	struct cs_docker *engine = NULL;
	struct cs_registry *reg = NULL;
	char *workdir = NULL, *root = NULL, *context = NULL, *dockerfile = NULL;
	char *repository = NULL, *temp_name = NULL, *previous_id = NULL, *error_text = NULL;
	char *repo_copy = NULL;
	int lock_fd = -1, temp_tagged = 0, changed = 0;
	const char *first_tag, *pushing = NULL; /* the name being pushed */
	json_t *labels = json_object(), *result = NULL, *tag_list = json_array();
	json_t *validation = NULL;
	struct cs_filch *policy = NULL;
	time_t created = 0;
	double t0;
	size_t i;
	int rc = CS_EXIT_OK, error = 0;

	cs_log_init("caas-build-runner");
	br_install_signals();
	if (cs_opts_parse(&run, &spec, &o, argc, argv)) {
		rc = run.exit_code;
		goto done;
	}
	if (o.repo && !run.module) {
		/* a password in the URL leaves /proc/PID/cmdline (curl's cleanarg) */
		repo_copy = cs_xstrdup(o.repo);
		cs_gitsrc_scrub_arg((char *)o.repo);
		o.repo = repo_copy;
	}
	if ((rc = check_options(&run, &o)) != 0)
		goto finish;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (o.repo)
		git_libgit2_init();

	/* bad input first: a wrong policy or a refused login must not cost a build */
	if ((error = br_validate_policy(&policy, &o.validate)) < 0) {
		rc = CS_EXIT_USAGE;
		goto fail;
	}
	if (run.check_mode) {
		result = check_mode_plan(&o, policy);
		changed = 1; /* a build cannot tell before it runs */
		goto finish;
	}

	if ((error = cs_docker_connect(&engine, NULL)) < 0) {
		rc = exit_for(error, CS_PHASE_ENGINE); /* EINVAL: DOCKER_CERT_PATH */
		goto fail;
	}
	cs_http_set_cancel(cs_docker_http(engine), &br_interrupted);

	if (o.push) {
		struct cs_registry_opts ropts = {
		    .host = o.registry, .ca_file = o.registry_ca, .cancel = &br_interrupted};

		/* a hanging credential helper or registry must not outlive a Jenkins abort */
		cs_dockerauth_set_cancel(&br_interrupted);
		if ((error = load_credentials(&auth, &o)) < 0) {
			rc = exit_for(error, CS_PHASE_PUSH);
			goto fail;
		}
		ropts.username = auth.username;
		ropts.password = auth.password;
		if (cs_strvec_has(&o.insecure_registries, o.registry) ||
		    cs_docker_registry_insecure(engine, o.registry)) {
			ropts.insecure = 1;
			cs_log(CS_LOG_WARN,
			       "registry %s is insecure (%s): its certificate is not verified",
			       o.registry,
			       cs_strvec_has(&o.insecure_registries, o.registry)
				   ? "--insecure-registry"
				   : "the engine's insecure-registries");
		}
		/* one client (and one login) for this check and every digest verification */
		if ((error = cs_registry_open(&reg, &ropts)) == 0)
			error = cs_registry_check(reg);
		if (error < 0) {
			rc = br_interrupted ? exit_for(error, CS_PHASE_PUSH) : CS_EXIT_PUSH;
			goto fail;
		}
		if (strcmp(cs_registry_scheme(reg), "http") == 0)
			cs_log(CS_LOG_WARN, "registry %s speaks plain HTTP: nothing is encrypted",
			       o.registry);
		if (auth.username || auth.identitytoken)
			cs_dockerauth_header(&auth_header, &auth);
	}

	t0 = cs_clock_now();
	if (o.repo) {
		struct cs_gitsrc_opts gopts = {.url = o.repo,
					       .ref = o.ref,
					       .token_file = o.git_token_file,
					       .ssh_key = o.ssh_key,
					       .cancel = &br_interrupted};
		const char *tmp = getenv("TMPDIR");

		workdir = cs_xasprintf("%s/caas-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(workdir) == NULL) {
			error = cs_err_set(CS_EIO, "cannot create a work directory in '%s': %s",
					   tmp && *tmp ? tmp : "/tmp", strerror(errno));
			CS_FREE_AND_NULL(workdir);
			rc = CS_EXIT_SOURCE;
			goto fail;
		}
		gopts.workdir = workdir;
		if ((error = cs_gitsrc_checkout(&src, &gopts)) < 0) {
			rc = exit_for(error, CS_PHASE_SOURCE);
			goto fail;
		}
		cs_out("source: %s at %s", src.source_url, src.commit);
		root = cs_xstrdup(workdir);
		created = src.commit_time;
	} else {
		struct stat st;

		root = realpath(o.context, NULL);
		if (root == NULL || stat(root, &st) < 0) {
			error =
			    cs_err_set(CS_EINVAL, "--context '%s': %s", o.context, strerror(errno));
			rc = CS_EXIT_USAGE;
			goto fail;
		}
		if (!S_ISDIR(st.st_mode)) {
			error = cs_err_set(CS_EINVAL, "--context '%s': not a directory", o.context);
			rc = CS_EXIT_USAGE;
			goto fail;
		}
		if (getenv("SOURCE_DATE_EPOCH"))
			created = (time_t)strtoll(getenv("SOURCE_DATE_EPOCH"), NULL, 10);
	}
	if (o.repo)
		tm.source = cs_clock_now() - t0; /* a --context needs no source phase */
	if (br_interrupted) {
		error = cs_err_set(CS_EINTR, "interrupted");
		rc = exit_for(CS_EINTR, CS_PHASE_SOURCE);
		goto fail;
	}

	if ((error = resolve_inside(&context, root, o.context_dir, "--context-dir")) < 0) {
		rc = CS_EXIT_USAGE;
		goto fail;
	}
	if (o.dockerfile) {
		error = resolve_inside(&dockerfile, root, o.dockerfile, "--dockerfile");
	} else {
		char *rel = cs_xasprintf("%s/Dockerfile", o.context_dir ? o.context_dir : ".");

		error = resolve_inside(&dockerfile, root, rel, "Dockerfile");
		free(rel);
	}
	if (error < 0) {
		rc = CS_EXIT_USAGE;
		goto fail;
	}

	/* tags */
	if (o.tags.nr == 0) {
		const char *bn = getenv("BUILD_NUMBER");

		cs_strvec_push(&o.tags, bn && *bn	      ? bn
					: src.short_commit[0] ? src.short_commit
							      : "latest");
	}
	for (i = 0; i < o.tags.nr; i++) {
		struct cs_imageref ref;
		char *name = o.registry ? cs_xasprintf("%s/%s:%s", o.registry, o.image, o.tags.v[i])
					: cs_xasprintf("%s:%s", o.image, o.tags.v[i]);

		if ((error = cs_imageref_parse(&ref, name)) < 0) {
			free(name);
			rc = CS_EXIT_USAGE;
			goto fail;
		}
		cs_imageref_release(&ref);
		cs_strvec_push_take(&names, name);
	}
	first_tag = o.tags.v[0];
	/* the build gets a name of its own: the requested ones wait for the validation */
	repository = o.registry ? cs_xasprintf("%s/%s", o.registry, o.image) : cs_xstrdup(o.image);
	temp_name = br_temp_name(repository);
	cs_strvec_push(&build_names, temp_name);

	/* labels: the automatic ones first, so --label can override them */
	if (src.commit[0])
		json_object_set_new(labels, "org.opencontainers.image.revision",
				    json_string(src.commit));
	if (src.source_url)
		json_object_set_new(labels, "org.opencontainers.image.source",
				    json_string(src.source_url));
	if (created) {
		char when[32];

		format_time(when, sizeof(when), created);
		json_object_set_new(labels, "org.opencontainers.image.created", json_string(when));
	}
	json_object_set_new(labels, "org.opencontainers.image.version", json_string(first_tag));
	if (getenv("BUILD_NUMBER") && *getenv("BUILD_NUMBER"))
		json_object_set_new(labels, "io.jenkins.build-number",
				    json_string(getenv("BUILD_NUMBER")));
	for (i = 0; i < o.labels.nr; i++) {
		char *k = cs_xstrndup(o.labels.v[i],
				      (size_t)(strchr(o.labels.v[i], '=') - o.labels.v[i]));

		json_object_set_new(labels, k, json_string(strchr(o.labels.v[i], '=') + 1));
		free(k);
	}

	/* what the first name stands for now: the build changes something only if it differs */
	previous_id = current_image_id(engine, names.v[0]);
	t0 = cs_clock_now();
	{
		struct br_build_opts bopts = {.context_dir = context,
					      .dockerfile = dockerfile,
					      .mtime = created,
					      .tags = &build_names,
					      .exclude_git_dir = o.repo != NULL,
					      .build_args = &o.build_args,
					      .labels = labels,
					      .target = o.target,
					      .no_cache = o.no_cache,
					      .pull = o.pull,
					      .registry = o.registry,
					      .auth = &auth};

		temp_tagged = 1; /* from here on, whatever happens, the name is removed */
		error = br_build(&built, engine, &bopts);
	}
	tm.build = cs_clock_now() - t0;
	if (error < 0) {
		rc = exit_for(error, CS_PHASE_BUILD);
		goto fail;
	}
	cs_out("built %s", built.image_id);
	changed = previous_id == NULL || strcmp(previous_id, built.image_id) != 0;

	t0 = cs_clock_now();
	if (policy) {
		error = br_validate(&validation, engine, built.image_id, names.v[0], policy,
				    &o.validate);
		tm.validate = cs_clock_now() - t0;
		if (error == 1) {
			/* the report still goes out: Jenkins archives the violations */
			rc = CS_EXIT_INVALID;
			goto fail;
		}
		if (error < 0) {
			rc = exit_for(error, CS_PHASE_ENGINE);
			goto fail;
		}
	}

	/*
	 * From the first tag to the last verified push, no other run may move
	 * these names: what is pushed is the image built and validated here.
	 */
	t0 = cs_clock_now();
	if ((error = br_repo_lock(&lock_fd, repository, &br_interrupted)) < 0) {
		rc = br_interrupted ? exit_for(error, CS_PHASE_ENGINE) : CS_EXIT_UNREACHABLE;
		goto fail;
	}
	for (i = 0; i < names.nr; i++) {
		json_t *entry;
		char *digest = NULL, *before = NULL;

		if ((error = br_tag(engine, built.image_id, names.v[i])) < 0) {
			rc = exit_for(error, CS_PHASE_ENGINE);
			goto fail;
		}
		cs_out("tagged %s", names.v[i]);
		entry = json_pack("{s:s}", "name", names.v[i]);
		if (o.push) {
			struct br_push_opts popts = {.auth_header =
							 auth_header.len ? auth_header.buf : NULL,
						     .registry = o.registry,
						     .client = reg,
						     .image_id = built.image_id,
						     .validated = policy != NULL};

			/* a push changes something only when the registry's digest moves */
			if (cs_registry_manifest_digest(&before, reg, o.image, o.tags.v[i]) < 0)
				CS_FREE_AND_NULL(before);
			cs_err_clear();
			cs_out("pushing %s", names.v[i]);
			pushing = names.v[i];
			if ((error = br_push(&digest, engine, names.v[i], &popts)) < 0) {
				json_decref(entry);
				free(before);
				if (br_interrupted)
					rc = exit_for(error, CS_PHASE_PUSH);
				else if (engine_lost_during_push(engine, error, names.v[i]))
					rc = CS_EXIT_UNREACHABLE;
				else
					rc = CS_EXIT_PUSH;
				goto fail;
			}
			pushing = NULL;
			cs_out("pushed %s@%s (verified in the registry)", names.v[i], digest);
			json_object_set_new(entry, "digest", json_string(digest));
			changed |= before == NULL || strcmp(before, digest) != 0;
			free(before);
			free(digest);
		}
		json_array_append_new(tag_list, entry);
	}
	br_repo_unlock(lock_fd);
	lock_fd = -1;
	if (o.push) /* tagging alone is not a phase of its own: no push timing without a push */
		tm.push = cs_clock_now() - t0;

	/* the result on stdout: each final name, unless the JSON goes there */
	if (!run.module && !(o.json_path && strcmp(o.json_path, "-") == 0)) {
		json_t *e;

		json_array_foreach(tag_list, i, e)
		{
			const char *digest = json_string_value(json_object_get(e, "digest"));

			cs_result("%s%s%s", json_string_value(json_object_get(e, "name")),
				  digest ? "@" : "", digest ? digest : "");
		}
	}
	goto finish;

fail:
	error_text = cs_xstrdup(cs_err_msg());
	if (br_interrupted)
		cs_log(CS_LOG_ERROR, "interrupted by signal %d: %s", (int)br_interrupted,
		       error_text);
	else
		cs_log(CS_LOG_ERROR, "%s", error_text);
	if (br_interrupted && pushing)
		/* measured with Docker 20.10: it cancels a blob upload, not a manifest PUT */
		cs_log(CS_LOG_WARN,
		       "the engine may still complete the push of %s: it does not cancel a "
		       "manifest upload already sent (the registry would then hold the whole "
		       "image %s, never part of it)",
		       pushing, built.image_id);
finish:
	br_repo_unlock(lock_fd);
	lock_fd = -1;
	if (temp_tagged && engine) {
		int uerr;

		/* also after a signal: the name is the run's own, nobody else removes it */
		cs_http_set_cancel(cs_docker_http(engine), NULL);
		uerr = br_untag(engine, temp_name);

		/*
		 * The engine makes the name only when a build ends with an image: if it
		 * went away before that, there is nothing to remove (the error says why).
		 */
		if (uerr < 0 && cs_err_unreachable(uerr) && built.image_id == NULL)
			cs_log(CS_LOG_DEBUG, "%s", cs_err_msg());
		else if (uerr < 0 && cs_err_unreachable(uerr))
			cs_log(CS_LOG_WARN,
			       "the temporary name %s stays: the engine at %s does not answer "
			       "(docker rmi %s once it is back)",
			       temp_name, cs_docker_host(engine), temp_name);
		else if (uerr < 0)
			cs_log(CS_LOG_WARN, "%s", cs_err_msg());
		temp_tagged = 0;
	}
	if (rc == CS_EXIT_OK && br_interrupted)
		rc = exit_for(CS_EINTR, CS_PHASE_INPUT);
	if (result == NULL)
		result = result_json(&built, &src, tag_list, &tm, validation);
	rc = cs_opts_finish(&run, result, o.json_path, rc, changed, NULL, error_text);
done:
	free(error_text);
	free(repo_copy);
	free(previous_id);
	free(repository);
	free(temp_name);
	cs_strvec_clear(&build_names);
	json_decref(result);
	json_decref(validation);
	cs_filch_free(policy);
	json_decref(tag_list);
	json_decref(labels);
	br_build_result_release(&built);
	cs_docker_free(engine);
	cs_registry_free(reg);
	cs_gitsrc_result_release(&src);
	cs_dockerauth_release(&auth);
	cs_buf_wipe(&auth_header);
	remove_tree(workdir);
	free(workdir);
	free(root);
	free(context);
	free(dockerfile);
	cs_strvec_clear(&names);
	cs_strvec_clear(&o.tags);
	cs_strvec_clear(&o.build_args);
	cs_strvec_clear(&o.labels);
	cs_strvec_clear(&o.insecure_registries);
	cs_opts_release(&run);
	cs_log_secret_clear();
	if (o.repo && rc != CS_EXIT_USAGE)
		git_libgit2_shutdown();
	curl_global_cleanup();
	return rc;
}
