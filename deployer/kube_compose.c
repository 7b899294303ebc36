/*
 * A Compose model (compose.h) translated into Kubernetes objects, so that
 * one descriptor deploys to both COEs.
 */
#include "err.h"
#include "kube.h"

int
dep_kube_from_compose(json_t **out, json_t *model, const char *publish_mode,
		      struct cs_strvec *warnings)
{
	(void)model;
	(void)publish_mode;
	(void)warnings;
	*out = NULL;
	return cs_err_set(CS_EINVAL, "Compose files on --coe kubernetes: not yet");
}
