/*
 * Compose backend (plain engine, like `docker compose up`): containers
 * APP_SERVICE_N. NEEDSWORK: placeholder until the backend lands.
 */
#include "backend.h"
#include "docker.h"
#include "err.h"

static int
compose_open(struct dep_ctx *ctx)
{
	(void)ctx;
	return cs_err_set(CS_EINVAL, "the compose target is not implemented yet");
}

static void
compose_close(struct dep_ctx *ctx)
{
	cs_docker_free(ctx->docker);
	ctx->docker = NULL;
}

const struct dep_backend dep_backend_compose = {
	.coe = "compose",
	.open = compose_open,
	.close = compose_close,
};
