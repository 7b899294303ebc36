/*
 * caas-validator: check an image against a filch policy (files, packages,
 * processes) before it may be pushed. The work is done by lib/validate.c and
 * the JSON report by lib/valreport.c (shared with caas-build-runner); this
 * file declares the options (lib/opts.h: the command line, or the arguments
 * of the caas_validate Ansible module), maps errors to exit codes and writes
 * the text and JUnit reports.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "dockerauth.h"
#include "err.h"
#include "exitcode.h"
#include "filch.h"
#include "log.h"
#include "opts.h"
#include "signals.h"
#include "validate.h"
#include "validator.h"
#include "valreport.h"
#include "xalloc.h"

struct options {
	const char *policy, *level, *archive, *image;
	const char *cache_dir, *registry_user, *registry_password_file, *registry_ca;
	const char *registry_password; /* module arguments only */
	struct cs_strvec insecure_registries;
	const char *json_path, *junit_path;
	double observe;
	long cache_size; /* MiB; 0: the layer cache's default */
	int no_processes, no_cache, force_export;
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

#define OPT(t, n, f, a, h) CS_OPT_ENTRY(t, struct options, n, f, a, h)
#define GROUP(h) CS_OPT_HEADING(h)

static const struct cs_opt options[] = {
    GROUP("Policy"),
    OPT(CS_OPT_STRING, "policy", policy, "FILE", "the policy to apply (JSON, filch format)"),
    {.type = CS_OPT_CHOICE,
     .name = "level",
     .offset = offsetof(struct options, level),
     .arg = "LEVEL",
     .choices = "production|non-production",
     .help = "a shipped policy: production (filch.json, the default)\n"
	     "or non-production (filch-insecure.json)"},
    GROUP("The image"),
    {.type = CS_OPT_POSITIONAL,
     .name = "image",
     .flags = CS_OPT_REQUIRED,
     .offset = offsetof(struct options, image),
     .arg = "IMAGE",
     .help = "the image: a name the engine knows, an image ID, or\n"
	     "host[:port]/repo:tag of an image only in a registry"},
    OPT(CS_OPT_STRING, "archive", archive, "FILE",
	"read files and packages from a `docker save` tarball\n"
	"instead of the engine; IMAGE picks the image in it\n"
	"(processes still need the engine, or --no-processes)"),
    OPT(CS_OPT_FLAG, "no-processes", no_processes, NULL,
	"do not run the image; check only files and packages"),
    {.type = CS_OPT_DOUBLE,
     .name = "observe",
     .offset = offsetof(struct options, observe),
     .arg = "SECONDS",
     .help = "how long to watch the running image (default 5)",
     .min = 0.001,
     .max = 3600},
    OPT(CS_OPT_STRING, "cache-dir", cache_dir, "DIR",
	"per-layer results, by DiffID (default\n"
	"$XDG_CACHE_HOME/caas-devops, else /var/cache/caas-devops)"),
    {.type = CS_OPT_LONG,
     .name = "cache-size",
     .offset = offsetof(struct options, cache_size),
     .arg = "MIB",
     .help = "bound of the cache; least recently used entries go\nfirst (default 1024)",
     .min = 1,
     .max = 16777216},
    OPT(CS_OPT_FLAG, "no-cache", no_cache, NULL, "neither read nor write the layer cache"),
    OPT(CS_OPT_FLAG, "export", force_export, NULL,
	"read uncached layers from the engine's export stream,\n"
	"not from its overlay2 directories"),
    GROUP("Registry (an IMAGE not in the engine: read from it, never pulled)"),
    OPT(CS_OPT_STRING, "registry-user", registry_user, "USER",
	"registry account (default credentials: the docker CLI's\nconfig.json)"),
    OPT(CS_OPT_STRING, "registry-password-file", registry_password_file, "FILE",
	"read the password from FILE"),
    CS_OPT_REGISTRY_PASSWORD(struct options, registry_password),
    OPT(CS_OPT_STRING, "registry-ca", registry_ca, "FILE",
	"CA certificate of the registry (default:\n"
	"/etc/docker/certs.d/HOST:PORT/ca.crt, else the system store)"),
    OPT(CS_OPT_LIST, "insecure-registry", insecure_registries, "HOST:PORT",
	"a registry whose certificate is not verified, or that\n"
	"speaks plain HTTP, as docker's insecure-registries\n"
	"(repeatable); a warning"),
    GROUP("Output"),
    OPT(CS_OPT_STRING, "json", json_path, "FILE",
	"write the result as JSON: the image factory's Id, Name,\n"
	"Tag, FullTag, Status (success/failure), Err; status\n"
	"(valid/not valid), violations, ImageId, Policy, files,\n"
	"packages, processes, packagesSkipped, notes, Source,\n"
	"exit_code; status failed and error when the validation\n"
	"could not run; '-' for standard output"),
    OPT(CS_OPT_STRING, "junit", junit_path, "FILE",
	"write the result as JUnit XML (for Jenkins' junit step);\n"
	"'-' for standard output"),
    {.type = CS_OPT_END},
};

static const struct cs_exit_doc exit_codes[] = {
    {CS_EXIT_OK, "valid: the image may be pushed"},
    {CS_EXIT_USAGE, "bad input: arguments, policy file (malformed, unknown section, bad\n"
		    "regex), unknown image, unreadable archive or package database"},
    {CS_EXIT_INVALID, "not valid: the image must not be pushed"},
    {CS_EXIT_UNREACHABLE, "engine unreachable or engine API error"},
    {CS_EXIT_REFUSED, "registry unreachable, credentials refused, or a bad manifest or blob"},
    {CS_EXIT_SIGINT, "interrupted (SIGINT), 143 terminated (SIGTERM)"},
    {0, NULL},
};

static const struct cs_opts_spec spec = {
    .prog = "caas-validator",
    .module = "caas_validate",
    .summary = "check a Docker image against a filch policy before it is pushed",
    .synopsis = "[--policy FILE | --level production|non-production] [options] IMAGE",
    .description = "Check IMAGE against a filch policy (blacklists of packages, processes and\n"
		   "files) before it may be pushed to the private registry.\n"
		   "\n"
		   "Files and packages (dpkg, apk, rpm) are read statically from the image layers\n"
		   "(layer cache, else the engine's overlay2 directories when it is local, else\n"
		   "its export stream; an image only in a registry: the registry, no pull);\n"
		   "processes are sampled while the image runs in a sandbox (no network, no\n"
		   "capabilities, no-new-privileges, read-only root with tmpfs /tmp, /run and\n"
		   "/var/tmp, 256 MiB, 256 pids), which is always removed; an image that cannot\n"
		   "run read-only is observed again with a writable root.\n"
		   "\n"
		   "The result is on stdout: one line per violation, a summary and the verdict\n"
		   "(or the document of --json - or --junit -, and then these lines go to\n"
		   "stderr); notes and progress are on stderr (-q hides them).",
    .opts = options,
    .environment = "DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH (the engine), DOCKER_CONFIG\n"
		   "(registry credentials), XDG_CACHE_HOME (the layer cache).",
    .notes = "Module result: the --json fields, with status (valid, not valid, or failed\n"
	     "when the validation could not run) and violations (section, item, rule;\n"
	     "process). changed is always false: a validation changes nothing. A not\n"
	     "valid image fails the task (rc 3, msg with the number of violations).\n"
	     "Check mode validates as usual (the sandbox container is removed).",
    .exits = exit_codes,
};

/* The checks the table cannot express. 0 or CS_EXIT_USAGE. */
static int
check_options(struct cs_opts_run *run, const struct options *o)
{
	int passwords = !!o->registry_password_file + !!o->registry_password;
	int json_stdout = o->json_path && strcmp(o->json_path, "-") == 0;
	int junit_stdout = o->junit_path && strcmp(o->junit_path, "-") == 0;

	if (o->policy && o->level)
		return cs_opts_usage_error(run, "--policy and --level exclude each other");
	if (json_stdout && junit_stdout)
		return cs_opts_usage_error(run, "--json - and --junit - cannot both use stdout");
	if (run->module && junit_stdout)
		return cs_opts_usage_error(
		    run, "junit: '-' is not possible in a module: stdout carries its result");
	return cs_opts_check_login(
	    run, o->registry_user, passwords,
	    "registry_password and --registry-password-file exclude each other",
	    "--registry-user and --registry-password-file go together");
}

/*
 * The exit code of a validation that failed with error: the registry's
 * (7) when the image was read from a registry that failed or refused,
 * the engine's (6) when the engine did, else bad input (2).
 */
static int
failed_exit(int error, const struct cs_validation *val)
{
	int remote = cs_err_unreachable(error) || error == CS_EHTTP || error == CS_ETIMEOUT;

	if (val->source && strcmp(val->source, "registry") == 0 && (remote || error == CS_EAUTH))
		return cs_exit_for(error, CS_PHASE_REGISTRY, (int)interrupted);
	if (remote || error == CS_EINTR || interrupted)
		return cs_exit_for(error, CS_PHASE_ENGINE, (int)interrupted);
	return cs_exit_for(error, CS_PHASE_INPUT, (int)interrupted);
}

int
main(int argc, char **argv)
{
	struct options o = {.observe = 5};
	struct cs_opts_run run = CS_OPTS_RUN_INIT;
	struct cs_dockerauth auth = CS_DOCKERAUTH_INIT;
	struct cs_validate_opts vopts = {.interrupted = &interrupted};
	struct cs_validation val = CS_VALIDATION_INIT;
	struct cs_buf level_path = CS_BUF_INIT, verdict = CS_BUF_INIT;
	struct cs_docker *engine = NULL;
	struct cs_filch *policy = NULL;
	const char *policy_file;
	char *error_text = NULL;
	json_t *result = NULL;
	int error, rc, curl_ready = 0, stdout_taken;

	cs_log_init("caas-validator");
	if (cs_opts_parse(&run, &spec, &o, argc, argv)) {
		rc = run.exit_code;
		goto done;
	}
	if ((rc = check_options(&run, &o)) != 0)
		goto finish;
	stdout_taken = run.module || (o.json_path && strcmp(o.json_path, "-") == 0) ||
		       (o.junit_path && strcmp(o.junit_path, "-") == 0);
	vopts.no_processes = o.no_processes;
	vopts.observe_seconds = o.observe;
	vopts.cache_dir = o.cache_dir;
	vopts.cache_max = (unsigned long long)o.cache_size << 20;
	vopts.no_cache = o.no_cache;
	vopts.force_export = o.force_export;
	vopts.registry_user = o.registry_user;
	vopts.registry_ca = o.registry_ca;
	vopts.insecure_registries = &o.insecure_registries;

	/* bad input first: nothing runs with a policy or credentials that cannot be used */
	rc = CS_EXIT_USAGE;
	policy_file = o.policy;
	if (policy_file == NULL) {
		if (cs_filch_level_path(&level_path, o.level ? o.level : "production") < 0)
			goto fail;
		policy_file = level_path.buf;
	}
	if (cs_filch_load(&policy, policy_file) < 0)
		goto fail;
	if (o.registry_password_file &&
	    cs_dockerauth_from_file(&auth, o.registry_user, o.registry_password_file) < 0)
		goto fail;
	if (o.registry_password &&
	    cs_dockerauth_from_password(&auth, o.registry_user, o.registry_password,
					"registry_password") < 0)
		goto fail;
	vopts.registry_password = auth.password;

	cs_signals_catch(on_signal);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_ready = 1;

	if (o.archive == NULL || !o.no_processes) {
		if (cs_docker_connect(&engine, NULL) < 0) {
			rc = CS_EXIT_UNREACHABLE; /* as documented: any failure to reach the engine
						   */
			goto fail;
		}
	}
	cs_log(CS_LOG_INFO, "validating '%s' against policy '%s'", o.image, policy_file);
	if ((error = cs_validate_image(&val, engine, o.image, o.archive, policy, &vopts)) < 0) {
		rc = failed_exit(error, &val);
		if (error == CS_EINTR || interrupted) {
			cs_err_set(CS_EINTR, "interrupted: validation of '%s' stopped", o.image);
		} else {
			char *why = cs_xstrdup(cs_err_msg());

			cs_err_set(error, "cannot validate '%s': %s", o.image, why);
			free(why);
		}
		goto fail;
	}
	if (interrupted) {
		rc = cs_exit_for(CS_EINTR, CS_PHASE_ENGINE, (int)interrupted);
		cs_err_set(CS_EINTR, "interrupted: validation of '%s' stopped", o.image);
		goto fail;
	}
	val_report_text(&val, o.image, policy, o.no_processes, stdout_taken);
	result = cs_valreport_json(&val, o.image, policy, NULL);
	val_verdict(&verdict, &val, o.image);
	rc = val.nr ? CS_EXIT_INVALID : CS_EXIT_OK;
	if (rc != CS_EXIT_OK)
		error_text = cs_xstrdup(verdict.buf);
	if (o.junit_path &&
	    val_report_junit(o.junit_path, &val, o.image, policy, o.no_processes) < 0) {
		rc = CS_EXIT_USAGE;
		goto fail;
	}
	goto finish;

fail:
	free(error_text);
	error_text = cs_xstrdup(cs_err_msg());
	cs_log(CS_LOG_ERROR, "%s", error_text);
finish:
	rc = cs_opts_finish(&run, result, o.json_path, rc, 0,
			    rc == CS_EXIT_OK && verdict.len ? verdict.buf : NULL, error_text);
done:
	json_decref(result);
	free(error_text);
	cs_validation_release(&val);
	cs_dockerauth_release(&auth);
	cs_filch_free(policy);
	cs_docker_free(engine);
	cs_buf_release(&level_path);
	cs_buf_release(&verdict);
	cs_strvec_clear(&o.insecure_registries);
	cs_opts_release(&run);
	cs_log_secret_clear();
	if (curl_ready)
		curl_global_cleanup();
	return rc;
}
