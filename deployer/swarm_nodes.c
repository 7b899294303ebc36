/* Nodes of a swarm and the tasks lost with them (swarm_nodes.h). */
#include <string.h>

#include "backend.h"
#include "engine.h"
#include "swarm_nodes.h"

json_t *
dep_swarm_node_find(json_t *nodes, const char *id)
{
	json_t *n;
	size_t i;

	if (id == NULL || !json_is_array(nodes))
		return NULL;
	json_array_foreach(nodes, i, n)
	{
		if (dep_str(n, "ID") && strcmp(dep_str(n, "ID"), id) == 0)
			return n;
	}
	return NULL;
}

int
dep_swarm_node_down(json_t *node)
{
	const char *s = dep_str(json_object_get(node, "Status"), "State");

	return s && (strcmp(s, "down") == 0 || strcmp(s, "disconnected") == 0);
}

static double
created(json_t *t)
{
	const char *s = dep_str(json_object_get(t, "Meta"), "CreatedAt");
	double when = 0;

	dep_parse_time(&when, s ? s : dep_str(t, "CreatedAt"));
	return when;
}

json_t *
dep_swarm_lost_predecessor(json_t *tasks, json_t *t, json_t *nodes)
{
	const char *svc = dep_str(t, "ServiceID"), *id = dep_str(t, "ID");
	json_int_t slot = dep_num(t, "Slot");
	json_t *o, *best = NULL;
	double best_created = 0;
	size_t i;

	if (nodes == NULL || svc == NULL || id == NULL)
		return NULL;
	json_array_foreach(tasks, i, o)
	{
		const char *node = dep_str(o, "NodeID");

		if (o == t || dep_str(o, "ServiceID") == NULL ||
		    strcmp(dep_str(o, "ServiceID"), svc) != 0 || dep_str(o, "ID") == NULL ||
		    strcmp(dep_str(o, "ID"), id) == 0 || node == NULL)
			continue;
		if (slot
			? dep_num(o, "Slot") != slot
			: (dep_str(t, "NodeID") == NULL || strcmp(dep_str(t, "NodeID"), node) != 0))
			continue;
		if (!dep_swarm_node_down(dep_swarm_node_find(nodes, node)))
			continue;
		if (best == NULL || created(o) > best_created) {
			best = o;
			best_created = created(o);
		}
	}
	return best;
}

void
dep_swarm_node_describe(struct cs_buf *out, json_t *node)
{
	json_t *st = json_object_get(node, "Status");
	const char *host = dep_str(json_object_get(node, "Description"), "Hostname");
	const char *addr = dep_str(st, "Addr"), *msg = dep_str(st, "Message");

	cs_buf_addf(out, "node %.12s", dep_str(node, "ID") ? dep_str(node, "ID") : "?");
	if (host && addr)
		cs_buf_addf(out, " (%s, %s)", host, addr);
	else if (host || addr)
		cs_buf_addf(out, " (%s)", host ? host : addr);
	cs_buf_addf(out, " is %s", dep_str(st, "State") ? dep_str(st, "State") : "unknown");
	if (msg && *msg)
		cs_buf_addf(out, " (%s)", msg);
}

size_t
dep_swarm_down_nodes(struct cs_buf *out, json_t *nodes)
{
	json_t *n;
	size_t i, count = 0;

	if (!json_is_array(nodes))
		return 0;
	json_array_foreach(nodes, i, n)
	{
		if (!dep_swarm_node_down(n))
			continue;
		cs_buf_adds(out, count ? ", " : "; nodes down: ");
		dep_swarm_node_describe(out, n);
		count++;
	}
	return count;
}
