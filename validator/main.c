/*
 * caas-validator: check an image against a filch policy (files, packages,
 * processes) before it may be pushed. The work is done by lib/validate.c;
 * this file parses the command line, maps errors to exit codes and writes
 * the reports.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signals.h"
#include "docker.h"
#include "dockerauth.h"
#include "err.h"
#include "filch.h"
#include "log.h"
#include "validate.h"
#include "validator.h"

enum val_exit {
	EXIT_VALID = 0,
	EXIT_NOT_VALID = 3,
	EXIT_BAD_INPUT = 2,
	EXIT_ENGINE = 6,
	EXIT_REGISTRY = 7,
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
usage(FILE *f)
{
	fputs("usage: caas-validator [--policy FILE | --level production|non-production]\n"
	      "                      [--archive FILE] [--no-processes] [--observe SECONDS]\n"
	      "                      [--cache-dir DIR] [--cache-size MIB] [--no-cache] [--export]\n"
	      "                      [--registry-user USER --registry-password-file FILE]\n"
	      "                      [--registry-ca FILE] [--json FILE] [--junit FILE] [-v] IMAGE\n"
	      "\n"
	      "Check IMAGE against a filch policy (blacklists of packages, processes and\n"
	      "files) before it may be pushed to the private registry.\n"
	      "\n"
	      "  --policy FILE      the policy to apply (JSON, filch format)\n"
	      "  --level LEVEL      a shipped policy: production (filch.json, the default)\n"
	      "                     or non-production (filch-insecure.json)\n"
	      "  --archive FILE     read files and packages from a `docker save` tarball\n"
	      "                     instead of the engine; IMAGE picks the image in it\n"
	      "                     (processes still need the engine, or --no-processes)\n"
	      "  --no-processes     do not run the image; check only files and packages\n"
	      "  --observe SECONDS  how long to watch the running image (default 5)\n"
	      "  --cache-dir DIR    per-layer results, by DiffID (default\n"
	      "                     $XDG_CACHE_HOME/caas-devops, else /var/cache/caas-devops)\n"
	      "  --cache-size MIB   bound of the cache; least recently used entries go\n"
	      "                     first (default 1024)\n"
	      "  --no-cache         neither read nor write the layer cache\n"
	      "  --export           read uncached layers from the engine's export stream,\n"
	      "                     not from its overlay2 directories\n"
	      "  --registry-user USER, --registry-password-file FILE, --registry-ca FILE\n"
	      "                     for an IMAGE (host[:port]/repo:tag) that the engine does\n"
	      "                     not have: read from the registry (default credentials:\n"
	      "                     the docker CLI's config.json; CA: certs.d)\n"
	      "  --json FILE        write the result as JSON (Id, Name, Tag, FullTag, Status,\n"
	      "                     Err, violations)\n"
	      "  --junit FILE       write the result as JUnit XML (for Jenkins' junit step)\n"
	      "  -v, --verbose      more diagnostics on stderr (repeatable)\n"
	      "  -h, --help         this help\n"
	      "\n"
	      "Files and packages (dpkg, apk) are read statically from the image layers\n"
	      "(layer cache, else the engine's overlay2 directories when it is local, else\n"
	      "its export stream; an image only in a registry: the registry, no pull);\n"
	      "processes are sampled while the image runs in a sandbox (no network, no\n"
	      "capabilities, no-new-privileges, 256 MiB, 256 pids), which is always removed.\n"
	      "\n"
	      "Environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.\n"
	      "\n"
	      "Exit codes:\n"
	      "  0    valid: the image may be pushed\n"
	      "  2    bad input: arguments, policy file (malformed, unknown section, bad\n"
	      "       regex), unknown image, unreadable archive or package database\n"
	      "  3    not valid: the image must not be pushed\n"
	      "  6    engine unreachable or engine API error\n"
	      "  7    registry unreachable, credentials refused, or a bad manifest or blob\n"
	      "  130  interrupted (SIGINT), 143 terminated (SIGTERM)\n",
	      f);
}

static int
exit_code_for(int error)
{
	switch (error) {
	case CS_ENET:
	case CS_ETLS:
	case CS_EHTTP:
	case CS_ETIMEOUT:
		return EXIT_ENGINE;
	case CS_EINTR:
		return 128 + (interrupted ? interrupted : SIGINT);
	default:
		return EXIT_BAD_INPUT;
	}
}

static int
parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v > 0) || v > 3600)
		return cs_err_set(CS_EINVAL, "bad --observe value '%s' (seconds, 0 < s <= 3600)",
				  s);
	*out = v;
	return 0;
}

static int
parse_mib(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v == 0 || v > (1ULL << 24))
		return cs_err_set(CS_EINVAL, "bad --cache-size value '%s' (MiB, 1 to 16777216)", s);
	*out = v << 20;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"level", required_argument, NULL, 'l'},
	    {"archive", required_argument, NULL, 'a'},
	    {"no-processes", no_argument, NULL, 'n'},
	    {"observe", required_argument, NULL, 'o'},
	    {"json", required_argument, NULL, 'j'},
	    {"junit", required_argument, NULL, 'u'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"cache-dir", required_argument, NULL, 'C'},
	    {"cache-size", required_argument, NULL, 'S'},
	    {"no-cache", no_argument, NULL, 'N'},
	    {"export", no_argument, NULL, 'E'},
	    {"registry-user", required_argument, NULL, 'U'},
	    {"registry-password-file", required_argument, NULL, 'P'},
	    {"registry-ca", required_argument, NULL, 'A'},
	    {NULL, 0, NULL, 0}};
	const char *policy_file = NULL, *level = NULL, *archive = NULL, *json_file = NULL,
		   *junit_file = NULL, *image, *password_file = NULL;
	struct cs_dockerauth auth = CS_DOCKERAUTH_INIT;
	struct cs_validate_opts opts = {.observe_seconds = 5, .interrupted = &interrupted};
	struct cs_validation val = CS_VALIDATION_INIT;
	struct cs_buf level_path = CS_BUF_INIT;
	struct cs_docker *engine = NULL;
	struct cs_filch *policy = NULL;
	enum cs_log_level verbosity = CS_LOG_WARN;
	int c, error, rc = EXIT_BAD_INPUT, curl_ready = 0;

	cs_log_init("caas-validator");
	cs_log_set_level(CS_LOG_WARN);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy_file = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case 'a':
			archive = optarg;
			break;
		case 'n':
			opts.no_processes = 1;
			break;
		case 'o':
			if (parse_seconds(optarg, &opts.observe_seconds) < 0) {
				cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
				goto out;
			}
			break;
		case 'j':
			json_file = optarg;
			break;
		case 'C':
			opts.cache_dir = optarg;
			break;
		case 'S':
			if (parse_mib(optarg, &opts.cache_max) < 0) {
				cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
				goto out;
			}
			break;
		case 'N':
			opts.no_cache = 1;
			break;
		case 'E':
			opts.force_export = 1;
			break;
		case 'U':
			opts.registry_user = optarg;
			break;
		case 'P':
			password_file = optarg;
			break;
		case 'A':
			opts.registry_ca = optarg;
			break;
		case 'u':
			junit_file = optarg;
			break;
		case 'v':
			if (verbosity < CS_LOG_DEBUG)
				verbosity++;
			cs_log_set_level(verbosity);
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc - 1) {
		cs_log(CS_LOG_ERROR, "%s", optind < argc ? "too many arguments" : "no IMAGE given");
		usage(stderr);
		goto out;
	}
	image = argv[optind];
	if (*image == '\0') {
		/* the engine would answer "HTTP 301" for an empty name: bad input, exit 2 */
		cs_log(CS_LOG_ERROR, "IMAGE is empty");
		goto out;
	}
	if (policy_file != NULL && level != NULL) {
		cs_log(CS_LOG_ERROR, "--policy and --level exclude each other");
		goto out;
	}
	if (policy_file == NULL) {
		if (cs_filch_level_path(&level_path, level ? level : "production") < 0) {
			cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
			goto out;
		}
		policy_file = level_path.buf;
	}
	if (cs_filch_load(&policy, policy_file) < 0) {
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
		goto out;
	}
	if ((opts.registry_user == NULL) != (password_file == NULL)) {
		cs_log(CS_LOG_ERROR, "--registry-user and --registry-password-file go together");
		goto out;
	}
	if (password_file != NULL) {
		if (cs_dockerauth_from_file(&auth, opts.registry_user, password_file) < 0) {
			cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
			goto out;
		}
		opts.registry_password = auth.password;
	}

	cs_signals_catch(on_signal);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_ready = 1;

	if (archive == NULL || !opts.no_processes) {
		if ((error = cs_docker_connect(&engine, NULL)) < 0) {
			cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
			rc = EXIT_ENGINE;
			goto out;
		}
	}
	cs_log(CS_LOG_INFO, "validating '%s' against policy '%s'", image, policy_file);
	if ((error = cs_validate_image(&val, engine, image, archive, policy, &opts)) < 0) {
		rc = interrupted ? 128 + interrupted : exit_code_for(error);
		if (!interrupted && val.source != NULL && strcmp(val.source, "registry") == 0 &&
		    (cs_err_unreachable(error) || error == CS_EHTTP || error == CS_EAUTH ||
		     error == CS_ETIMEOUT))
			rc = EXIT_REGISTRY;
		if (error == CS_EINTR)
			cs_log(CS_LOG_ERROR, "interrupted: validation of '%s' stopped", image);
		else
			cs_log(CS_LOG_ERROR, "cannot validate '%s': %s", image, cs_err_msg());
		goto out;
	}
	if (interrupted) {
		rc = 128 + interrupted;
		goto out;
	}
	val_report_text(&val, image, policy, opts.no_processes);
	rc = val.nr ? EXIT_NOT_VALID : EXIT_VALID;
	if (json_file && val_report_json(json_file, &val, image, policy) < 0) {
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
		rc = EXIT_BAD_INPUT;
	}
	if (junit_file &&
	    val_report_junit(junit_file, &val, image, policy, opts.no_processes) < 0) {
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
		rc = EXIT_BAD_INPUT;
	}
out:
	cs_validation_release(&val);
	cs_dockerauth_release(&auth);
	cs_filch_free(policy);
	cs_docker_free(engine);
	cs_buf_release(&level_path);
	if (curl_ready)
		curl_global_cleanup();
	return rc;
}
