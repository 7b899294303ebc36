/*
 * Helpers shared by the live deployer tests (test_swarm.c,
 * test_engine_compose.c): fetch a page from a published port, and read the
 * action a deployment reported for an object.
 */
#ifndef CS_TEST_DEPLOY_HELPERS_H
#define CS_TEST_DEPLOY_HELPERS_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "deployer/deploy.h"
#include "http.h"

/* GET http://127.0.0.1:port/ into out, a few tries (the port opens with the task). 0 or -1. */
static int
http_get_port(int port, struct cs_buf *out)
{
	struct cs_http *h = NULL;
	char base[64];
	int i, error = -1;

	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	if (cs_http_new(&h, base, NULL) < 0)
		return -1;
	for (i = 0; i < 20 && error < 0; i++) {
		struct cs_http_req req = {.path = "/", .timeout_ms = 2000};
		struct cs_http_resp resp = CS_HTTP_RESP_INIT;

		if (cs_http_do(h, &req, &resp) == 0 && resp.status == 200) {
			cs_buf_reset(out);
			cs_buf_add(out, resp.body.buf, resp.body.len);
			cs_buf_rtrim(out);
			error = 0;
		} else {
			usleep(250000);
		}
		cs_http_resp_release(&resp);
	}
	cs_http_free(h);
	return error;
}

/* The action reported for the object called name, or NULL. */
static const char *
action_of(struct dep_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->objects_nr; i++)
		if (strcmp(r->objects[i].name, name) == 0)
			return r->objects[i].action;
	return NULL;
}

#endif
