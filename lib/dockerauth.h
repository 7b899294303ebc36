/*
 * Registry credentials found the way the docker CLI finds them, and the
 * engine's X-Registry-Auth header built from them.
 *
 * Lookup order for a registry host (docker CLI config/configfile):
 *   1. $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json;
 *   2. "credHelpers"[host]: run docker-credential-NAME get;
 *   3. else "credsStore": run docker-credential-NAME get;
 *   4. else "auths"[host]: "auth" (base64 of user:password), or
 *      "username"/"password", and/or "identitytoken".
 * Keys of credHelpers and auths may be written "host", "https://host",
 * "http://host" or "https://host/v1/": they are compared by host[:port].
 * Docker Hub ("docker.io", "index.docker.io" or NULL) is the key
 * "https://index.docker.io/v1/", as the CLI stores it.
 *
 * Helper protocol (docker-credential-helpers): the server URL is written to
 * the helper's stdin, never its argv; stdout carries
 * {"ServerURL","Username","Secret"}; Username "<token>" means Secret is an
 * identity token. A failing helper writes its error to stdout.
 *
 * Every secret loaded here (password, identity token, the base64 "auth"
 * value) is registered with cs_log_secret_add(), and all memory that held
 * one and that this module controls is wiped before it is freed.
 */
#ifndef CS_DOCKERAUTH_H
#define CS_DOCKERAUTH_H

#include <signal.h>

#include "buf.h"

/* All members owned by the struct; release with cs_dockerauth_release(). */
struct cs_dockerauth {
	char *username;	     /* NULL when only an identity token is known */
	char *password;	     /* secret; NULL when identitytoken is used */
	char *identitytoken; /* secret; NULL unless the store holds an OAuth token */
	char *server;	     /* "serveraddress": host[:port], no scheme; may be NULL */
};

/* clang-format off */
#define CS_DOCKERAUTH_INIT { 0 }
/* clang-format on */

/* Default wait for a credential helper, in milliseconds. */
#define CS_DOCKERAUTH_HELPER_TIMEOUT_MS 30000

/*
 * Find the credentials for registry_host ("host[:port]"; a scheme and a path
 * are ignored; NULL or "docker.io" means Docker Hub) and fill *out (need not be initialized; the
 * caller releases it on success; on failure it is all NULL). out->server is set to the host[:port]
 * (or "docker.io"). Errors: CS_ENOTFOUND  no config file, no entry for the host, or the helper says
 *                 "credentials not found";
 *   CS_EPARSE     config.json or the helper's answer is not valid (message
 *                 names the file or helper);
 *   CS_EIO        cannot read the file, or the helper cannot be run or fails;
 *   CS_ETIMEOUT   the helper did not finish within the timeout;
 *   CS_EINTR      the cancel flag (cs_dockerauth_set_cancel) became non-zero
 *                 while the helper ran (it is killed; noticed within 0.1 s).
 */
int cs_dockerauth_lookup(struct cs_dockerauth *out, const char *registry_host);

/*
 * Stop waiting for a credential helper when *flag becomes non-zero (a signal
 * handler sets it). flag may be NULL. Returns the flag set before.
 */
volatile sig_atomic_t *cs_dockerauth_set_cancel(volatile sig_atomic_t *flag);

/*
 * Credentials from a user name and a password file (like
 * `docker login --password-stdin < path`): one trailing "\n" and then "\r"
 * are removed. out->server is NULL; the caller may set it (malloc()ed).
 * Errors: CS_EIO (cannot read, message names path), CS_EINVAL (empty
 * password or user), CS_ETOOBIG (file over 64 KiB).
 */
int cs_dockerauth_from_file(struct cs_dockerauth *out, const char *user, const char *path);

/*
 * The same, with the password given (a module's registry_password; it is
 * never in argv). what names its origin in messages ("registry_password").
 */
int cs_dockerauth_from_password(struct cs_dockerauth *out, const char *user, const char *password,
				const char *what);

/* The same, reading the password from file descriptor 0 until end of file. */
int cs_dockerauth_from_stdin(struct cs_dockerauth *out, const char *user);

/* Wipe the secrets, free everything, reset to INIT. Accepts INIT and NULL. */
void cs_dockerauth_release(struct cs_dockerauth *auth);

/*
 * Append the X-Registry-Auth value to out: base64url (padded) of the JSON
 * {"username","password","serveraddress"}, or {"identitytoken"} when auth has
 * an identity token (Engine API v1.41, "Authentication"). The value is
 * registered as a secret. Wipe out (cs_buf_wipe) when done with it.
 * Errors: CS_EINVAL (neither password nor token), CS_ETOOBIG.
 */
int cs_dockerauth_header(struct cs_buf *out, const struct cs_dockerauth *auth);

/*
 * Append the X-Registry-Config value of POST /build to out: base64url
 * (padded) of the JSON object {KEY: AUTH, ...} with one entry per element of
 * auths[0..n) that has a password or an identity token (the others are
 * skipped); KEY is its server (Docker Hub, NULL or "docker.io":
 * "https://index.docker.io/v1/", the key the engine looks up) and AUTH the
 * object cs_dockerauth_header() encodes. n == 0 gives "{}". The value is
 * registered as a secret; wipe out when done. Errors: CS_ETOOBIG.
 */
int cs_dockerauth_config_header(struct cs_buf *out, const struct cs_dockerauth *auths, size_t n);

/*
 * Semi-private, for tests: the helper timeout in milliseconds (0 restores
 * the default).
 */
void cs_dockerauth__set_helper_timeout(int ms);

/* Semi-private: host[:port] of a config key ("https://h:1/v1/" -> "h:1"), appended to out. */
int cs_dockerauth__key_host(struct cs_buf *out, const char *key);

#endif
