/*
 * caas-build-runner: from a git commit (or a local directory) to an image
 * built by the engine, optionally validated, pushed to the private registry
 * and verified there. main() parses the options and runs the steps in order;
 * each step lives in its own file.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
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
#include "gitsrc.h"
#include "imageref.h"
#include "log.h"
#include "outfile.h"
#include "registry.h"
#include "strvec.h"
#include "xalloc.h"

struct options {
	const char *repo, *ref, *context, *context_dir, *dockerfile;
	const char *git_token_file, *ssh_key;
	const char *image, *registry, *registry_user, *registry_password_file, *registry_ca;
	const char *target, *json_path;
	struct cs_strvec tags, build_args, labels;
	struct br_validate_choice validate;
	int password_stdin, push, no_cache, pull, verbose, quiet;
};

struct timings {
	double source, build, validate, push;
};

static const char usage_text[] =
    "usage: caas-build-runner (--repo URL|PATH [--ref REF] | --context DIR) --image NAME "
    "[options]\n"
    "\n"
    "Build a Docker image from a git commit or a directory through the Docker Engine API,\n"
    "tag it, push it to a private registry and verify the pushed digest.\n"
    "\n"
    "Source:\n"
    "  --repo URL|PATH           git repository: https://, ssh://, git@host:path, file://, path\n"
    "  --ref REF                 branch, tag or commit SHA (default: the remote HEAD)\n"
    "  --git-token-file FILE     HTTPS token or password for the repository\n"
    "  --ssh-key FILE            SSH private key (default: ssh-agent)\n"
    "  --context DIR             build a local directory instead of a git repository\n"
    "Build:\n"
    "  --context-dir SUBDIR      build context inside the source (default: its root)\n"
    "  --dockerfile PATH         Dockerfile, relative to the source root; may lie outside\n"
    "                            the context (default: CONTEXT/Dockerfile)\n"
    "  --build-arg K=V           build-time variable (repeatable; K alone takes $K)\n"
    "  --target STAGE            build up to this stage of a multi-stage Dockerfile\n"
    "  --label K=V               image label (repeatable)\n"
    "  --no-cache                do not use the build cache\n"
    "  --pull                    always try to pull a newer base image\n"
    "Image and registry:\n"
    "  --image NAME              image name, e.g. petclinic or team/petclinic\n"
    "  --tag TAG                 tag (repeatable; default: $BUILD_NUMBER, else the short\n"
    "                            commit SHA, else 'latest')\n"
    "  --registry HOST[:PORT]    private registry: tags become HOST:PORT/NAME:TAG\n"
    "  --push                    push every tag and verify its digest in the registry\n"
    "  --registry-user USER      registry account (default: docker's config.json)\n"
    "  --registry-password-file FILE   read the password from FILE\n"
    "  --password-stdin          read the password from standard input\n"
    "  --registry-ca FILE        CA certificate of the registry (default:\n"
    "                            /etc/docker/certs.d/HOST:PORT/ca.crt)\n"
    "Validation (the image factory; before any push):\n"
    "  --validate POLICY         check the image against a filch policy file\n"
    "  --validate-level LEVEL    production (filch.json) or non-production\n"
    "                            (filch-insecure.json)\n"
    "  --activate_DockerImageFactory 0|1     the seed's switch (also an environment\n"
    "                            variable): 1 validates, at the level given by\n"
    "  --DockerImageFactory_ProdReady True|False   (default True: production)\n"
    "  --validate-observe SECONDS   watch the running image this long (default 5)\n"
    "  --validate-no-processes   check files and packages only, do not run the image\n"
    "Output:\n"
    "  --json FILE               write the result as JSON (image_id, tags, commit, context,\n"
    "                            timings); '-' for standard output\n"
    "  -v, --verbose             more diagnostics (repeatable)\n"
    "  -q, --quiet               only errors\n"
    "  -h, --help                this text\n"
    "\n"
    "Environment: DOCKER_HOST (unix:///var/run/docker.sock by default, tcp://HOST:PORT),\n"
    "DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (engine TLS), DOCKER_CONFIG (registry\n"
    "credentials: auths, credsStore, credHelpers), BUILD_NUMBER (default tag and label),\n"
    "NO_COLOR (no ANSI sequences even on a terminal), CS_TRACE_HTTP=1 (trace HTTP, with\n"
    "credentials redacted).\n"
    "\n"
    "Exit codes:\n"
    "  0    success\n"
    "  1    build failed (a Dockerfile step, or the engine refused the Dockerfile)\n"
    "  2    usage or bad input\n"
    "  3    image not valid, nothing pushed\n"
    "  4    push failed (registry unreachable, authentication or certificate refused,\n"
    "       digest mismatch, another image in the registry)\n"
    "  5    source (git) failed\n"
    "  6    engine unreachable or engine API error\n"
    "  130  interrupted by SIGINT; 143 interrupted by SIGTERM\n";

enum {
	OPT_REF = 256,
	OPT_CONTEXT,
	OPT_CONTEXT_DIR,
	OPT_DOCKERFILE,
	OPT_BUILD_ARG,
	OPT_TARGET,
	OPT_LABEL,
	OPT_NO_CACHE,
	OPT_PULL,
	OPT_IMAGE,
	OPT_TAG,
	OPT_REGISTRY,
	OPT_PUSH,
	OPT_REGISTRY_USER,
	OPT_REGISTRY_PASSWORD_FILE,
	OPT_PASSWORD_STDIN,
	OPT_REGISTRY_CA,
	OPT_JSON,
	OPT_GIT_TOKEN_FILE,
	OPT_SSH_KEY,
	OPT_REPO,
	OPT_VALIDATE,
	OPT_VALIDATE_LEVEL,
	OPT_ACTIVATE,
	OPT_PROD_READY,
	OPT_VALIDATE_OBSERVE,
	OPT_VALIDATE_NO_PROCESSES,
};

static const struct option long_options[] = {
    {"repo", required_argument, NULL, OPT_REPO},
    {"ref", required_argument, NULL, OPT_REF},
    {"git-token-file", required_argument, NULL, OPT_GIT_TOKEN_FILE},
    {"ssh-key", required_argument, NULL, OPT_SSH_KEY},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"context-dir", required_argument, NULL, OPT_CONTEXT_DIR},
    {"dockerfile", required_argument, NULL, OPT_DOCKERFILE},
    {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
    {"target", required_argument, NULL, OPT_TARGET},
    {"label", required_argument, NULL, OPT_LABEL},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"pull", no_argument, NULL, OPT_PULL},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"tag", required_argument, NULL, OPT_TAG},
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"push", no_argument, NULL, OPT_PUSH},
    {"registry-user", required_argument, NULL, OPT_REGISTRY_USER},
    {"registry-password-file", required_argument, NULL, OPT_REGISTRY_PASSWORD_FILE},
    {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
    {"registry-ca", required_argument, NULL, OPT_REGISTRY_CA},
    {"json", required_argument, NULL, OPT_JSON},
    {"validate", required_argument, NULL, OPT_VALIDATE},
    {"validate-level", required_argument, NULL, OPT_VALIDATE_LEVEL},
    {"activate_DockerImageFactory", required_argument, NULL, OPT_ACTIVATE},
    {"DockerImageFactory_ProdReady", required_argument, NULL, OPT_PROD_READY},
    {"validate-observe", required_argument, NULL, OPT_VALIDATE_OBSERVE},
    {"validate-no-processes", no_argument, NULL, OPT_VALIDATE_NO_PROCESSES},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	struct cs_buf m = CS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	cs_buf_vaddf(&m, fmt, ap);
	va_end(ap);
	cs_log(CS_LOG_ERROR, "%s (see --help)", m.buf);
	cs_buf_release(&m);
	return BR_EXIT_USAGE;
}

static int
parse_options(struct options *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "vqh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_REPO:
			o->repo = optarg;
			break;
		case OPT_REF:
			o->ref = optarg;
			break;
		case OPT_GIT_TOKEN_FILE:
			o->git_token_file = optarg;
			break;
		case OPT_SSH_KEY:
			o->ssh_key = optarg;
			break;
		case OPT_CONTEXT:
			o->context = optarg;
			break;
		case OPT_CONTEXT_DIR:
			o->context_dir = optarg;
			break;
		case OPT_DOCKERFILE:
			o->dockerfile = optarg;
			break;
		case OPT_BUILD_ARG:
			cs_strvec_push(&o->build_args, optarg);
			break;
		case OPT_TARGET:
			o->target = optarg;
			break;
		case OPT_LABEL:
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return usage_error("--label '%s': want KEY=VALUE", optarg);
			cs_strvec_push(&o->labels, optarg);
			break;
		case OPT_NO_CACHE:
			o->no_cache = 1;
			break;
		case OPT_PULL:
			o->pull = 1;
			break;
		case OPT_IMAGE:
			o->image = optarg;
			break;
		case OPT_TAG:
			cs_strvec_push(&o->tags, optarg);
			break;
		case OPT_REGISTRY:
			o->registry = optarg;
			break;
		case OPT_PUSH:
			o->push = 1;
			break;
		case OPT_REGISTRY_USER:
			o->registry_user = optarg;
			break;
		case OPT_REGISTRY_PASSWORD_FILE:
			o->registry_password_file = optarg;
			break;
		case OPT_PASSWORD_STDIN:
			o->password_stdin = 1;
			break;
		case OPT_REGISTRY_CA:
			o->registry_ca = optarg;
			break;
		case OPT_JSON:
			o->json_path = optarg;
			break;
		case OPT_VALIDATE:
			o->validate.policy = optarg;
			break;
		case OPT_VALIDATE_LEVEL:
			if (strcmp(optarg, "production") != 0 &&
			    strcmp(optarg, "non-production") != 0)
				return usage_error("--validate-level '%s': want production or "
						   "non-production",
						   optarg);
			o->validate.level = optarg;
			break;
		case OPT_ACTIVATE:
			o->validate.activate = optarg;
			break;
		case OPT_PROD_READY:
			o->validate.prod_ready = optarg;
			break;
		case OPT_VALIDATE_OBSERVE: {
			char *end;

			o->validate.observe_seconds = strtod(optarg, &end);
			/* written so that nan fails too */
			if (*end || end == optarg ||
			    !(o->validate.observe_seconds > 0 &&
			      o->validate.observe_seconds <= 3600))
				return usage_error("--validate-observe '%s': want seconds (0-3600]",
						   optarg);
			break;
		}
		case OPT_VALIDATE_NO_PROCESSES:
			o->validate.no_processes = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return BR_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->repo == !o->context)
		return usage_error("give exactly one of --repo and --context");
	if ((o->repo && *o->repo == '\0') || (o->context && *o->context == '\0'))
		return usage_error("--repo and --context need a non-empty value");
	if (o->context && (o->ref || o->git_token_file || o->ssh_key))
		return usage_error("--ref, --git-token-file and --ssh-key need --repo");
	if (o->image == NULL)
		return usage_error("--image is required");
	if (o->push && o->registry == NULL)
		return usage_error("--push needs --registry");
	if (o->validate.policy && o->validate.level)
		return usage_error("--validate and --validate-level exclude each other");
	if (o->registry_password_file && o->password_stdin)
		return usage_error(
		    "--registry-password-file and --password-stdin exclude each other");
	if ((o->registry_password_file || o->password_stdin) && o->registry_user == NULL)
		return usage_error("a registry password needs --registry-user");
	if (o->registry_user && !o->registry_password_file && !o->password_stdin)
		return usage_error("--registry-user needs --registry-password-file or "
				   "--password-stdin");
	return 0;
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

static int
exit_for(int error)
{
	if (br_interrupted == SIGINT)
		return BR_EXIT_SIGINT;
	if (br_interrupted)
		return BR_EXIT_SIGTERM;
	switch (error) {
	case CS_EINTR:
		return BR_EXIT_SIGTERM;
	case CS_EBUILD:
		return BR_EXIT_BUILD;
	case CS_EINVAL:
		return BR_EXIT_USAGE;
	case CS_EGIT:
		return BR_EXIT_SOURCE;
	default:
		return BR_EXIT_ENGINE;
	}
}

/* Registry credentials for --push: from the options, else docker's config.json. */
static int
load_credentials(struct cs_dockerauth *auth, const struct options *o)
{
	int error;

	if (o->registry_password_file)
		return cs_dockerauth_from_file(auth, o->registry_user, o->registry_password_file);
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

int
main(int argc, char **argv)
{
	struct options o = {
	    .tags = CS_STRVEC_INIT, .build_args = CS_STRVEC_INIT, .labels = CS_STRVEC_INIT};
	struct cs_gitsrc_result src = {0};
	struct cs_dockerauth auth = CS_DOCKERAUTH_INIT;
	struct br_build_result built = {0};
	struct cs_strvec names = CS_STRVEC_INIT, build_names = CS_STRVEC_INIT;
	struct cs_buf auth_header = CS_BUF_INIT;
	struct timings tm = {0};
	struct cs_docker *engine = NULL;
	struct cs_registry *reg = NULL;
	char *workdir = NULL, *root = NULL, *context = NULL, *dockerfile = NULL;
	char *repository = NULL, *temp_name = NULL;
	int lock_fd = -1, temp_tagged = 0;
	const char *first_tag;
	json_t *labels = json_object(), *result = NULL, *tag_list = json_array();
	json_t *validation = NULL;
	struct cs_filch *policy = NULL;
	time_t created = 0;
	double t0;
	size_t i;
	int rc = BR_EXIT_OK, error = 0;

	cs_log_init("caas-build-runner");
	br_install_signals();
	if ((rc = parse_options(&o, argc, argv)) != 0)
		goto out;
	cs_log_set_level(o.quiet ? CS_LOG_ERROR : (enum cs_log_level)(CS_LOG_INFO + o.verbose));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (o.repo)
		git_libgit2_init();

	/* bad input first: a wrong policy or a refused login must not cost a build */
	if ((error = br_validate_policy(&policy, &o.validate)) < 0) {
		rc = BR_EXIT_USAGE;
		goto fail;
	}

	if (o.push) {
		struct cs_registry_opts ropts = {
		    .host = o.registry, .ca_file = o.registry_ca, .cancel = &br_interrupted};

		/* a hanging credential helper or registry must not outlive a Jenkins abort */
		cs_dockerauth_set_cancel(&br_interrupted);
		if ((error = load_credentials(&auth, &o)) < 0) {
			rc = br_interrupted			     ? exit_for(error)
			     : error == CS_EINVAL || error == CS_EIO ? BR_EXIT_USAGE
								     : BR_EXIT_PUSH;
			goto fail;
		}
		ropts.username = auth.username;
		ropts.password = auth.password;
		/* one client (and one login) for this check and every digest verification */
		if ((error = cs_registry_open(&reg, &ropts)) == 0)
			error = cs_registry_check(reg);
		if (error < 0) {
			rc = br_interrupted ? exit_for(error) : BR_EXIT_PUSH;
			goto fail;
		}
		if (auth.username || auth.identitytoken)
			cs_dockerauth_header(&auth_header, &auth);
	}

	if ((error = cs_docker_connect(&engine, NULL)) < 0) {
		rc = br_interrupted	  ? exit_for(error)
		     : error == CS_EINVAL ? BR_EXIT_USAGE /* DOCKER_CERT_PATH */
					  : BR_EXIT_ENGINE;
		goto fail;
	}
	cs_http_set_cancel(cs_docker_http(engine), &br_interrupted);

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
			error = cs_err_set(CS_EIO, "cannot create a work directory: %s",
					   strerror(errno));
			CS_FREE_AND_NULL(workdir);
			rc = BR_EXIT_SOURCE;
			goto fail;
		}
		gopts.workdir = workdir;
		if ((error = cs_gitsrc_checkout(&src, &gopts)) < 0) {
			/* a missing, unreadable, empty or huge token file is bad input */
			rc = br_interrupted ? exit_for(error)
			     : error == CS_EIO || error == CS_EINVAL || error == CS_ETOOBIG
				 ? BR_EXIT_USAGE
				 : BR_EXIT_SOURCE;
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
			rc = BR_EXIT_USAGE;
			goto fail;
		}
		if (!S_ISDIR(st.st_mode)) {
			error = cs_err_set(CS_EINVAL, "--context '%s': not a directory", o.context);
			rc = BR_EXIT_USAGE;
			goto fail;
		}
		if (getenv("SOURCE_DATE_EPOCH"))
			created = (time_t)strtoll(getenv("SOURCE_DATE_EPOCH"), NULL, 10);
	}
	tm.source = cs_clock_now() - t0;
	if (br_interrupted) {
		rc = exit_for(CS_EINTR);
		goto out;
	}

	if ((error = resolve_inside(&context, root, o.context_dir, "--context-dir")) < 0) {
		rc = BR_EXIT_USAGE;
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
		rc = BR_EXIT_USAGE;
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
			rc = BR_EXIT_USAGE;
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
					      .pull = o.pull};

		temp_tagged = 1; /* from here on, whatever happens, the name is removed */
		error = br_build(&built, engine, &bopts);
	}
	tm.build = cs_clock_now() - t0;
	if (error < 0) {
		rc = exit_for(error);
		goto fail;
	}
	cs_out("built %s", built.image_id);

	t0 = cs_clock_now();
	if (policy) {
		error = br_validate(&validation, engine, built.image_id, names.v[0], policy,
				    &o.validate);
		tm.validate = cs_clock_now() - t0;
		if (error == 1) {
			/* the report still goes out: Jenkins archives the violations */
			rc = BR_EXIT_INVALID;
			if (o.json_path) {
				json_t *r = json_pack(
				    "{s:s, s:o, s:O}", "image_id", built.image_id, "commit",
				    src.commit[0] ? json_string(src.commit) : json_null(),
				    "validation", validation);

				cs_outfile_write_json(o.json_path, r, JSON_SORT_KEYS);
				json_decref(r);
			}
			goto fail;
		}
		if (error < 0) {
			rc =
			    br_interrupted ? exit_for(error)
			    : cs_err_unreachable(error) || error == CS_EHTTP || error == CS_ETIMEOUT
				? BR_EXIT_ENGINE
				: BR_EXIT_USAGE;
			goto fail;
		}
	}

	/*
	 * From the first tag to the last verified push, no other run may move
	 * these names: what is pushed is the image built and validated here.
	 */
	t0 = cs_clock_now();
	if ((error = br_repo_lock(&lock_fd, repository, &br_interrupted)) < 0) {
		rc = br_interrupted ? exit_for(error) : BR_EXIT_ENGINE;
		goto fail;
	}
	for (i = 0; i < names.nr; i++) {
		json_t *entry;
		char *digest = NULL;

		if ((error = br_tag(engine, built.image_id, names.v[i])) < 0) {
			rc = exit_for(error);
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

			cs_out("pushing %s", names.v[i]);
			if ((error = br_push(&digest, engine, names.v[i], &popts)) < 0) {
				json_decref(entry);
				rc = br_interrupted ? exit_for(error) : BR_EXIT_PUSH;
				goto fail;
			}
			cs_out("pushed %s@%s (verified in the registry)", names.v[i], digest);
			json_object_set_new(entry, "digest", json_string(digest));
			free(digest);
		}
		json_array_append_new(tag_list, entry);
	}
	br_repo_unlock(lock_fd);
	lock_fd = -1;
	tm.push = cs_clock_now() - t0;

	result = json_pack("{s:s, s:O, s:o, s:{s:I, s:I}, s:{s:f, s:f, s:f, s:f}, s:O?}",
			   "image_id", built.image_id, "tags", tag_list, "commit",
			   src.commit[0] ? json_string(src.commit) : json_null(), "context",
			   "files", (json_int_t)built.files, "bytes", (json_int_t)built.bytes,
			   "timings", "source", tm.source, "build", tm.build, "validate",
			   tm.validate, "push", tm.push, "validation", validation);
	if (o.json_path &&
	    (error = cs_outfile_write_json(o.json_path, result, JSON_SORT_KEYS)) < 0) {
		rc = BR_EXIT_USAGE;
		goto fail;
	}
	goto out;

fail:
	if (br_interrupted)
		cs_log(CS_LOG_ERROR, "interrupted by signal %d: %s", (int)br_interrupted,
		       cs_err_msg());
	else
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
out:
	br_repo_unlock(lock_fd);
	if (temp_tagged && engine) {
		/* also after a signal: the name is the run's own, nobody else removes it */
		cs_http_set_cancel(cs_docker_http(engine), NULL);
		if (br_untag(engine, temp_name) < 0)
			cs_log(CS_LOG_WARN, "%s", cs_err_msg());
	}
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
	cs_log_secret_clear();
	if (o.repo)
		git_libgit2_shutdown();
	curl_global_cleanup();
	if (rc == BR_EXIT_OK && br_interrupted)
		rc = exit_for(CS_EINTR);
	return rc;
}
