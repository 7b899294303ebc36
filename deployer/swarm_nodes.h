/*
 * The nodes of a swarm as the deployer's wait sees them (GET /nodes): a task
 * placed on a node the managers mark down is lost with it, and the task the
 * swarm makes to replace it may have nowhere else to go (a placement
 * constraint that names that node). Pure functions of the engine's JSON.
 */
#ifndef DEP_SWARM_NODES_H
#define DEP_SWARM_NODES_H

#include <jansson.h>

#include "buf.h"

/* The node of nodes (the array of GET /nodes) whose ID is id, or NULL. Borrowed. */
json_t *dep_swarm_node_find(json_t *nodes, const char *id);

/* 1 when the managers mark node down: Status.State "down" or "disconnected". */
int dep_swarm_node_down(json_t *node);

/*
 * The task that t replaces and that was placed on a node that is down now:
 * another task of t's service in t's slot (on t's node for a global service,
 * Slot 0) whose NodeID names a down node of nodes; the newest by
 * Meta.CreatedAt (or CreatedAt) when there are several. NULL when there is
 * none, or when nodes is NULL (unknown). Borrowed from tasks.
 */
json_t *dep_swarm_lost_predecessor(json_t *tasks, json_t *t, json_t *nodes);

/*
 * Append "node ID12 (HOSTNAME, ADDR) is STATE" and, when the managers give
 * one, " (MESSAGE)" (e.g. "heartbeat failure"); missing fields are left out.
 */
void dep_swarm_node_describe(struct cs_buf *out, json_t *node);

/*
 * Append "; nodes down: " and each down node of nodes (described as above,
 * separated by ", "); nothing when none is down. Returns how many.
 */
size_t dep_swarm_down_nodes(struct cs_buf *out, json_t *nodes);

#endif
