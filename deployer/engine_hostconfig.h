/*
 * Container settings of a Compose service on a plain engine (--coe compose)
 * beyond image, command, environment, ports, mounts, restart and networks.
 */
#ifndef DEP_ENGINE_HOSTCONFIG_H
#define DEP_ENGINE_HOSTCONFIG_H

#include <jansson.h>

/*
 * Add to the container create body (Config level: Tty, OpenStdin,
 * StopSignal, Domainname, ExposedPorts from expose) and to its HostConfig hc
 * (Privileged, ReadonlyRootfs, Init, CapAdd, CapDrop, Dns, DnsSearch,
 * ExtraHosts, SecurityOpt, Isolation, Sysctls, Tmpfs, Devices, Ulimits,
 * LogConfig, PidsLimit, MemoryReservation) what model service svc says, as
 * docker compose does. Only non-empty values are set.
 */
void dep_engine_container_extras(json_t *body, json_t *hc, json_t *svc);

/*
 * Add to a network create body what model network def says beyond name,
 * driver, options and labels: Internal, Attachable and IPAM (driver; subnet,
 * gateway and ip_range of each config), as docker compose sends them.
 */
void dep_engine_network_extras(json_t *body, json_t *def);

#endif
