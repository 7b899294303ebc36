/*
 * deployer/swarm_nodes.c: which task a pending one replaces on a node that is
 * down, and how a node is named. Pure: JSON as GET /nodes and GET /tasks give it.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deployer/swarm_nodes.h"
#include "log.h"
#include "tests/unit/test.h"

static json_t *
node(const char *id, const char *host, const char *state, const char *addr, const char *msg)
{
	json_t *n = json_pack("{s:s, s:{s:s}, s:{s:s}}", "ID", id, "Description", "Hostname", host,
			      "Status", "State", state);

	if (addr)
		json_object_set_new(json_object_get(n, "Status"), "Addr", json_string(addr));
	if (msg)
		json_object_set_new(json_object_get(n, "Status"), "Message", json_string(msg));
	return n;
}

static json_t *
task(const char *id, const char *svc, int slot, const char *node_id, const char *created)
{
	json_t *t = json_pack("{s:s, s:s, s:i, s:{s:s}}", "ID", id, "ServiceID", svc, "Slot", slot,
			      "Meta", "CreatedAt", created);

	if (node_id)
		json_object_set_new(t, "NodeID", json_string(node_id));
	return t;
}

static json_t *
nodes(void)
{
	return json_pack(
	    "[o, o, o]", node("mgr0000000000000000000001", "vm", "ready", "127.0.0.1", NULL),
	    node("wrk0000000000000000000002", "worker", "down", "10.213.1.2", "heartbeat failure"),
	    node("wrk0000000000000000000003", "other", "disconnected", NULL, NULL));
}

static void
test_swarm_nodes__find_and_down(void)
{
	json_t *n = nodes();

	T_ASSERT(dep_swarm_node_find(n, "mgr0000000000000000000001") == json_array_get(n, 0));
	T_ASSERT(dep_swarm_node_find(n, "nosuch") == NULL);
	T_ASSERT(dep_swarm_node_find(n, NULL) == NULL);
	T_ASSERT(dep_swarm_node_find(NULL, "mgr0000000000000000000001") == NULL);
	T_ASSERT(!dep_swarm_node_down(json_array_get(n, 0)));
	T_ASSERT(dep_swarm_node_down(json_array_get(n, 1)));
	T_ASSERT(dep_swarm_node_down(json_array_get(n, 2)));
	T_ASSERT(!dep_swarm_node_down(NULL));
	json_decref(n);
}

/* The ID of task t, or "(none)". */
static const char *
id_of(json_t *t)
{
	return t ? json_string_value(json_object_get(t, "ID")) : "(none)";
}

static void
test_swarm_nodes__lost_predecessor_in_the_slot(void)
{
	json_t *n = nodes(), *tasks, *pending, *other;

	/* slot 1: the task on the down worker, and its replacement, not placed yet */
	pending = task("new1", "svcA", 1, NULL, "2026-11-28T15:18:43.19Z");
	tasks = json_pack(
	    "[o, o, o, o, o]", pending,
	    /* older, on the same down node: not the newest */
	    task("older", "svcA", 1, "wrk0000000000000000000002", "2026-11-28T15:10:00Z"),
	    task("old1", "svcA", 1, "wrk0000000000000000000002", "2026-11-28T15:18:30Z"),
	    /* another slot, another service: not its predecessors */
	    task("slot2", "svcA", 2, "wrk0000000000000000000002", "2026-11-28T15:18:59Z"),
	    task("otherB", "svcB", 1, "wrk0000000000000000000002", "2026-11-28T15:18:59Z"));
	T_ASSERT_STR(id_of(dep_swarm_lost_predecessor(tasks, pending, n)), "old1");
	/* nodes unknown (GET /nodes failed): nothing is claimed */
	T_ASSERT_STR(id_of(dep_swarm_lost_predecessor(tasks, pending, NULL)), "(none)");
	json_decref(tasks);

	/* the predecessor ran on a node that is ready: a rolling update, not a lost node */
	pending = task("new2", "svcA", 1, NULL, "2026-11-28T15:18:43Z");
	tasks =
	    json_pack("[o, o]", pending,
		      task("old2", "svcA", 1, "mgr0000000000000000000001", "2026-11-28T15:18:30Z"));
	T_ASSERT_STR(id_of(dep_swarm_lost_predecessor(tasks, pending, n)), "(none)");
	json_decref(tasks);

	/* a first task has no predecessor; a node the list does not know is not down */
	pending = task("new3", "svcA", 1, NULL, "2026-11-28T15:18:43Z");
	other = task("old3", "svcA", 1, "gone00000000000000000000", "2026-11-28T15:18:30Z");
	tasks = json_pack("[o]", json_incref(pending));
	T_ASSERT_STR(id_of(dep_swarm_lost_predecessor(tasks, pending, n)), "(none)");
	json_array_append_new(tasks, other);
	T_ASSERT_STR(id_of(dep_swarm_lost_predecessor(tasks, pending, n)), "(none)");
	json_decref(pending);
	json_decref(tasks);

	/* a global service (slot 0): its node is its slot */
	pending = task("g-new", "svcG", 0, "wrk0000000000000000000003", "2026-11-28T15:18:43Z");
	tasks = json_pack(
	    "[o, o, o]", pending,
	    task("g-old", "svcG", 0, "wrk0000000000000000000003", "2026-11-28T15:18:30Z"),
	    task("g-mgr", "svcG", 0, "mgr0000000000000000000001", "2026-11-28T15:18:31Z"));
	T_ASSERT_STR(id_of(dep_swarm_lost_predecessor(tasks, pending, n)), "g-old");
	json_decref(tasks);
	json_decref(n);
}

static void
test_swarm_nodes__described(void)
{
	json_t *n = nodes(), *bare = json_pack("{s:s}", "ID", "x");
	struct cs_buf b = CS_BUF_INIT;

	dep_swarm_node_describe(&b, json_array_get(n, 1));
	T_ASSERT_STR(b.buf, "node wrk000000000 (worker, 10.213.1.2) is down (heartbeat failure)");
	cs_buf_reset(&b);
	dep_swarm_node_describe(&b, json_array_get(n, 2));
	T_ASSERT_STR(b.buf, "node wrk000000000 (other) is disconnected");
	cs_buf_reset(&b);
	dep_swarm_node_describe(&b, bare);
	T_ASSERT_STR(b.buf, "node x is unknown");
	cs_buf_reset(&b);
	dep_swarm_node_describe(&b, NULL);
	T_ASSERT_STR(b.buf, "node ? is unknown");
	cs_buf_reset(&b);

	T_ASSERT_INT(dep_swarm_down_nodes(&b, n), 2);
	T_ASSERT_STR(b.buf, "; nodes down: node wrk000000000 (worker, 10.213.1.2) is down "
			    "(heartbeat failure), node wrk000000000 (other) is disconnected");
	cs_buf_reset(&b);
	json_array_remove(n, 2);
	json_array_remove(n, 1);
	T_ASSERT_INT(dep_swarm_down_nodes(&b, n), 0);
	T_ASSERT_INT(dep_swarm_down_nodes(&b, NULL), 0);
	T_ASSERT_STR(b.buf, "");
	cs_buf_release(&b);
	json_decref(bare);
	json_decref(n);
}

int
main(void)
{
	cs_log_init("test_swarm_nodes");
	cs_log_set_level(CS_LOG_ERROR);
	T_RUN(test_swarm_nodes__find_and_down);
	T_RUN(test_swarm_nodes__lost_predecessor_in_the_slot);
	T_RUN(test_swarm_nodes__described);
	return T_REPORT();
}
