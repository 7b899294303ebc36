/*
 * The validation step (the seed's "Docker image factory"): the built image is
 * checked against a filch policy before anything is pushed. The policy is
 * loaded before the build, so a bad policy costs no build.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "br.h"
#include "buf.h"
#include "err.h"
#include "filch.h"
#include "log.h"
#include "validate.h"
#include "valreport.h"

/* "1", "true", "yes" (any case) are true; "0", "false", "no" false; else -1. */
static int
parse_bool(const char *s)
{
	if (strcasecmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		return 1;
	if (strcasecmp(s, "0") == 0 || strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		return 0;
	return -1;
}

int
br_validate_policy(struct cs_filch **out, const struct br_validate_choice *c)
{
	struct cs_buf path = CS_BUF_INIT;
	const char *activate = c->activate ? c->activate : getenv("activate_DockerImageFactory");
	const char *prod = c->prod_ready ? c->prod_ready : getenv("DockerImageFactory_ProdReady");
	const char *level = c->level;
	int on, error;

	*out = NULL;
	if (c->policy == NULL && level == NULL && activate && *activate) {
		if ((on = parse_bool(activate)) < 0)
			return cs_err_set(
			    CS_EINVAL, "activate_DockerImageFactory='%s': want 0 or 1", activate);
		if (on) {
			int p = prod && *prod ? parse_bool(prod) : 1;

			if (p < 0)
				return cs_err_set(
				    CS_EINVAL,
				    "DockerImageFactory_ProdReady='%s': want True or False", prod);
			level = p ? "production" : "non-production";
		}
	}
	if (c->policy == NULL && level == NULL)
		return 0; /* no validation asked for */
	if (c->policy) {
		cs_buf_adds(&path, c->policy);
	} else if ((error = cs_filch_level_path(&path, level)) < 0) {
		goto out;
	}
	error = cs_filch_load(out, path.buf);
	if (error == 0)
		cs_log(CS_LOG_INFO, "validation policy: %s", path.buf);
out:
	cs_buf_release(&path);
	return error;
}

int
br_validate(json_t **report, struct cs_docker *d, const char *image_id, const char *name,
	    const struct cs_filch *policy, const struct br_validate_choice *c)
{
	struct cs_validation val = CS_VALIDATION_INIT;
	struct cs_validate_opts vopts = {.no_processes = c->no_processes,
					 .observe_seconds = c->observe_seconds,
					 .interrupted = &br_interrupted};
	struct cs_buf line = CS_BUF_INIT;
	size_t i;
	int error;

	*report = NULL;
	cs_out("validating %s against the %s policy", name,
	       c->policy  ? c->policy
	       : c->level ? c->level
			  : "filch");
	error = cs_validate_image(&val, d, image_id, NULL, policy, &vopts);
	if (error < 0)
		goto out;
	for (i = 0; i < val.nr; i++) {
		const struct cs_violation *v = &val.v[i];

		cs_buf_reset(&line);
		cs_validation_describe(&line, v);
		cs_out("%s", line.buf);
	}
	/* the validator's report, the same shape (lib/valreport.h) */
	*report = cs_valreport_json(&val, name, policy, NULL);
	if (val.nr) {
		cs_err_set(
		    CS_ERROR,
		    "container %s is not valid (%zu violation%s), it will not be pushed to the "
		    "private registry",
		    name, val.nr, val.nr == 1 ? "" : "s");
		error = 1;
		goto out;
	}
	cs_out("container %s is valid (%zu files, %zu packages%s checked)", name, val.files,
	       val.packages, val.processes_checked ? ", processes" : "");
out:
	cs_buf_release(&line);
	cs_validation_release(&val);
	return error;
}
