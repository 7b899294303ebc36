/*
 * The Kubernetes backend (--coe kubernetes). Work in progress: the flow
 * finds it in its table, and it refuses to run until the API client lands.
 */
#include "backend.h"
#include "err.h"

static int
kube_open(struct dep_ctx *ctx)
{
	(void)ctx;
	return cs_err_set(CS_EINVAL, "--coe kubernetes: the Kubernetes backend is not available "
				     "yet (nothing was changed)");
}

static void
kube_close(struct dep_ctx *ctx)
{
	(void)ctx;
}

const struct dep_backend dep_backend_kubernetes = {
    .coe = "kubernetes",
    .open = kube_open,
    .close = kube_close,
};
