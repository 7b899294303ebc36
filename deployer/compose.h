/*
 * Compose input for caas-deployer: load one or more Compose files (versions
 * 2.x, 3.x and the Compose Specification), interpolate variables, merge the
 * files in order, and normalize the result into ONE canonical JSON model that
 * every backend (swarm, compose, kubernetes) consumes. Nothing here talks to
 * a bay.
 *
 * THE MODEL (the contract with the backends). Every key listed is always
 * present (null, 0, false, [] or {} when the file says nothing), so a backend
 * never has to guess between "absent" and "default". Durations are integer
 * nanoseconds (keys ending in _ns), sizes integer bytes (_bytes), CPUs
 * integer nano-CPUs (nano_cpus: "0.5" -> 500000000); 0 means "not set, use
 * the engine default". Paths taken from the files (bind sources, secret and
 * config files) are absolute, resolved against the project directory (the
 * directory of the first -f file). Names of networks, volumes, secrets and
 * configs under "name" are the final names on the bay: the external name for
 * external objects, the "name:" key when given, else APP_KEY.
 *
 * {
 *   "name": "petclinic",  the app name: --app as given, else the top-level
 *                         name: or the project directory's name, lower-cased
 *                         with other characters than [a-z0-9_-] made '_'
 *   "project_dir": "/abs/dir",
 *   "services": {
 *     "web": {
 *       "name": "web",
 *       "file": "samples/swarm-petclinic.yml",  where the service was first
 *       "line": 12,           defined (for messages; the -f path as given)
 *       "image": "reg:5000/petclinic:7" | null,
 *       "build": false,                     true when a build: key was given
 *       "command": ["java", "-jar", "x"] | null,   string forms are split
 *       "entrypoint": [...] | null,                 like a POSIX shell (shlex)
 *       "environment": {"K": "v", "UNSET": null},  env_file values, then
 *                        environment: entries; a bare "K" takes K from the
 *                        variables (--set, environment, .env) or stays null
 *       "ports": [{"target": 8080, "published": 8080 | null,
 *                  "host_ip": "127.0.0.1" | null, "protocol": "tcp"|"udp"|"sctp",
 *                  "mode": "ingress"|"host"}],  ranges expanded, one per port;
 *                        --publish-mode is the backend's to apply
 *       "networks": {"petnet": {"aliases": [], "ipv4_address": null,
 *                               "ipv6_address": null}},
 *                        a service that names no network (and has no
 *                        network_mode) is on "default", which then exists
 *                        in the top-level "networks"
 *       "volumes": [{"type": "volume"|"bind"|"tmpfs"|"npipe"|"cluster",
 *                    "source": "data" | "/abs/path" | null (anonymous, tmpfs),
 *                    "target": "/var/lib/mysql", "read_only": false,
 *                    "bind_propagation": null, "nocopy": false,
 *                    "tmpfs_size_bytes": 0}],
 *       "labels": {"K": "V"},                        container labels
 *       "healthcheck": {"test": ["CMD-SHELL", "curl -f localhost"],
 *                       "interval_ns": 0, "timeout_ns": 0, "retries": 0,
 *                       "start_period_ns": 0, "start_interval_ns": 0,
 *                       "disable": false} | null,
 *                        "disable: true" or test ["NONE"] give disable true
 *       "depends_on": ["db"],                       names, in file order
 *       "depends_on_conditions": {"db": "service_started"|"service_healthy"|
 *                                 "service_completed_successfully"},
 *       "deploy": {
 *         "mode": "replicated"|"global"|"replicated-job"|"global-job",
 *         "replicas": 1,
 *         "endpoint_mode": "vip"|"dnsrr",
 *         "resources": {"limits": {"nano_cpus": 0, "memory_bytes": 0, "pids": 0},
 *                       "reservations": {"nano_cpus": 0, "memory_bytes": 0}},
 *         "placement": {"constraints": ["node.role==worker"],
 *                       "preferences": ["node.labels.az"],  (spread values)
 *                       "max_replicas_per_node": 0},
 *         "restart_policy": {"condition": "none"|"on-failure"|"any",
 *                            "delay_ns": 0, "max_attempts": 0,
 *                            "window_ns": 0} | null,
 *         "update_config": {"parallelism": 1, "delay_ns": 0,
 *                           "failure_action": "pause"|"continue"|"rollback"|null,
 *                           "monitor_ns": 0, "max_failure_ratio": 0.0,
 *                           "order": "stop-first"|"start-first"|null} | null,
 *         "rollback_config": same shape as update_config | null,
 *         "labels": {"K": "V"}                      service (not container) labels
 *       },
 *         version 2 keys fold in when deploy: does not set them: scale ->
 *         replicas, mem_limit/mem_reservation -> memory_bytes, cpus ->
 *         limits.nano_cpus, pids_limit -> limits.pids, restart: (no ->
 *         none, always/unless-stopped -> any, on-failure[:N] -> on-failure
 *         with max_attempts N) -> restart_policy
 *       "secrets": [{"source": "db_pw", "target": "db_pw", "uid": "0",
 *                    "gid": "0", "mode": 292}],     short form: target =
 *                        source, mode 0444; a relative target stays relative
 *                        (swarm puts it under /run/secrets)
 *       "configs": [{"source": "cfg", "target": "/cfg", "uid": "0", "gid": "0",
 *                    "mode": 292}],                short form: target "/NAME"
 *       "working_dir": str|null, "user": str|null, "hostname": str|null,
 *       "domainname": str|null, "stop_signal": str|null,
 *       "stop_grace_period_ns": 0, "container_name": str|null,
 *       "links": ["db:database"], "restart": "always"|...|null,
 *       "network_mode": str|null, "privileged": false, "read_only": false,
 *       "init": false, "tty": false, "stdin_open": false,
 *       "cap_add": [], "cap_drop": [], "dns": [], "dns_search": [],
 *       "extra_hosts": ["host:1.2.3.4"], "tmpfs": ["/run"], "expose": ["3000"],
 *       "security_opt": [], "devices": ["/dev/x:/dev/x"], "profiles": [],
 *       "sysctls": {"K": "V"}, "ulimits": {"nofile": {"soft": 1, "hard": 2}},
 *       "logging": {"driver": str|null, "options": {"K": "V"}} | null
 *     }
 *   },
 *   "networks": {"petnet": {"name": "petclinic_petnet", "driver": "overlay"|null,
 *                "driver_opts": {}, "attachable": false, "internal": false,
 *                "external": false, "labels": {},
 *                "ipam": {"driver": null, "config": [{"subnet": "...",
 *                         "gateway": null, "ip_range": null}]} | null}},
 *                driver null: the backend's default (overlay on swarm,
 *                bridge on a plain engine)
 *   "volumes": {"data": {"name": "petclinic_data", "driver": null,
 *               "driver_opts": {}, "external": false, "labels": {}}},
 *   "secrets": {"db_pw": {"name": "petclinic_db_pw", "file": "/abs" | null,
 *               "environment": null, "external": false, "labels": {}}},
 *   "configs": {"cfg": {"name": "petclinic_cfg", "file": "/abs" | null,
 *               "content": null, "environment": null, "external": false,
 *               "labels": {}}}
 * }
 *
 * All string values of the files are interpolated; the normalizer converts
 * the strings the schema wants as numbers or booleans ("replicas: ${N}").
 * Keys starting with "x-" are ignored everywhere.
 *
 * Lenient where docker-cli's loader is (docker-cli-full-example.yml must
 * load), each with a warning: a service network that is not declared at the
 * top level is dropped from the service; an undeclared named volume is kept
 * (the engine creates it, unmanaged); depends_on naming no service is
 * dropped; a secret or config with no source stays (file null). Services
 * with profiles: are left out (no profile is ever active). A depends_on or
 * links cycle is an error; dep_compose_order() gives the creation order.
 */
#ifndef DEP_COMPOSE_H
#define DEP_COMPOSE_H

#include <jansson.h>

#include "strvec.h"

struct cs_yamlpos;

struct dep_compose_opts {
	const struct cs_strvec *files; /* -f FILE, in order; at least one */
	const char *app; /* --app ([A-Za-z0-9][A-Za-z0-9_.-]*); NULL: name:, else the dir */
	const struct cs_strvec *sets; /* --set K=V, highest priority */
	const char *env_file;	      /* --env-file; NULL: PROJECT_DIR/.env when it exists */
	const char *target;	      /* "swarm", "compose" or "kubernetes" (warnings only) */
	/*
	 * The process environment as "K=V" strings, NULL-terminated; NULL means
	 * environ. Tests pass their own so that the machine does not leak in.
	 */
	const char *const *env;
	struct cs_strvec *warnings; /* optional: every warning is also appended here */
	/*
	 * Optional: on CS_EINVAL for missing required variables, one message
	 * per variable ("FILE:LINE: required variable X is missing: ERR"), so
	 * that main() can print them one per line; cs_err_msg() has them all
	 * joined with "; ".
	 */
	struct cs_strvec *errors;
};

/*
 * Load, interpolate, merge, normalize and check the files of opts. On
 * success *model is a new reference (json_decref) in the shape above, and
 * warnings (keys that do not apply to the target, unknown keys, unset
 * variables) have been logged with cs_log(CS_LOG_WARN) and appended to
 * opts->warnings. Errors, *model NULL, nothing logged (the message is in
 * cs_err_msg()):
 *   CS_EIO      a file cannot be read;
 *   CS_EPARSE   malformed YAML ("FILE:LINE:COL: problem");
 *   CS_ETOOBIG  a file too large, or too many nodes after alias expansion;
 *   CS_EINVAL   invalid content: missing required variables (all of them,
 *               one per line: "FILE: required variable X is missing: ERR"),
 *               bad interpolation syntax, a wrong type, a bad port, duration
 *               or size, a reference to an undefined network, volume,
 *               secret or config.
 * A service with build: and no image: loads fine (the model says
 * "build": true, "image": null); dep_compose_deployable() refuses it.
 */
int dep_compose_load(json_t **model, const struct dep_compose_opts *opts);

/*
 * Refuse a model that cannot be deployed: a service without an image (with
 * build: or not). 0, or CS_EINVAL naming every such service, one per line:
 * "FILE:LINE: service 'x' has build: but no image: it cannot be deployed
 * (build and push the image first, then name it in image:)", joined with
 * "; " in cs_err_msg() and, when errors is not NULL, appended one by one.
 */
int dep_compose_deployable(const json_t *model, struct cs_strvec *errors);

/*
 * The services of a model in creation order: each after the services it
 * depends on (depends_on, and links naming a service, as compose does),
 * file order otherwise. On success *out is a new JSON array of names.
 * CS_EINVAL when dependencies form a cycle ("services depend on each
 * other: 'a' -> 'b' -> 'a'"); dep_compose_load() already refuses those.
 */
int dep_compose_order(json_t **out, const json_t *model);

/*
 * Warnings for one raw file (after interpolation, before merge): keys the
 * target ignores ("FILE:LINE: service 'web': key 'build' is ignored by
 * swarm") and unknown keys ("FILE:LINE: service 'web': unknown key 'foo'").
 * Each is logged with cs_log(CS_LOG_WARN) and, when warnings is not NULL,
 * appended to it. Never fails; accepts any JSON.
 */
void dep_compose_check(struct cs_strvec *warnings, const json_t *doc, const struct cs_yamlpos *pos,
		       const char *target);

/*
 * How target ("swarm" or "compose") treats service key: 1 when it is mapped
 * onto the bay's objects (or, like depends_on and profiles, shapes the
 * deployment), 0 when it gives a warning (ignored by the target, or not
 * supported by caas-deployer), -1 when no Compose format has it (an error).
 */
int dep_compose_key_mapped(const char *target, const char *key);

/*
 * Interpolate one string as the Compose Specification says: $VAR, ${VAR},
 * ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt},
 * ${VAR+alt}, $$ for a literal $, nested (${A:-${B:-x}}). A $ not followed
 * by a name or "{" stays as it is. vars is a JSON object of string values
 * (a key that is absent is unset; "" is set and empty).
 * On success *out is a new string (free()). A variable used without a
 * default that is unset becomes "" and its name is appended to unset (when
 * not NULL and not there yet).
 * Errors, *out NULL: CS_EINVAL when a required variable is missing — every
 * one of them in the string is appended to errors as "required variable X
 * is missing: ERR" (or "... is missing a value" when ERR is empty) — or when
 * the syntax is invalid ("invalid interpolation format in '...'", also
 * appended). cs_err_msg() holds the first message.
 */
int dep_interp_string(char **out, const char *in, const json_t *vars, struct cs_strvec *errors,
		      struct cs_strvec *unset);

/*
 * Parse an env file (the env_file and .env format of the Compose
 * Specification: KEY=VAL lines, "#" comments, optional "export ", single
 * quotes literal, double quotes with \n \t \r \\ \" escapes, inline " #"
 * comments for unquoted values; unquoted and double-quoted values are
 * interpolated with vars plus the keys defined above them). A bare "KEY"
 * line gives KEY -> null. On success *out is a new JSON object. Errors:
 * CS_EINVAL "FILE:LINE: ..." for a line without a valid key, or a missing
 * required variable.
 */
int dep_envfile_parse(json_t **out, const char *text, size_t len, const char *filename,
		      const json_t *vars);

/*
 * Parse a Go duration ("1m30s", "10s", "500ms", "1h5m30s20ms", "1.5s", "0")
 * into nanoseconds. A bare number is seconds (compose v2 accepts it).
 * 0, or CS_EINVAL.
 */
int dep_parse_duration(long long *out, const char *s);

/* Parse a byte size ("512M", "1g", "100k", "2b", "1024kb", "1.5G", a bare number). */
int dep_parse_size(long long *out, const char *s);

/* Split a command string like a POSIX shell (quotes, backslashes); *out a new JSON array. */
int dep_shlex_split(json_t **out, const char *s);

/*
 * Parse one short port specification ("80", "8080:80", "127.0.0.1:8080:80/udp",
 * "8000-8002:80-82", "127.0.0.1::80") and append the expanded entries, in the
 * model's shape, to the JSON array out. 0 or CS_EINVAL.
 */
int dep_parse_port(json_t *out, const char *spec);

#endif
