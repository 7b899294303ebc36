/*
 * Kubernetes client configuration: the kubeconfig files kubectl reads, merged
 * the way kubectl merges them, resolved into one connection (server, TLS
 * material, credentials, namespace), and an HTTP client for it (lib/http).
 *
 * Files: --kubeconfig FILE alone when given (it must exist); else every file
 * of $KUBECONFIG (a colon-separated list; missing files are skipped, as
 * kubectl does); else ~/.kube/config. Merge (clientcmd's rules): for
 * clusters, users and contexts the first file that defines a name wins;
 * current-context is the first one set. A relative path in a file
 * (certificate-authority, client-certificate, client-key, tokenFile) is
 * relative to that file's directory.
 *
 * Supported: server, certificate-authority(-data), insecure-skip-tls-verify,
 * tls-server-name is ignored (with a warning), client-certificate(-data),
 * client-key(-data), token, tokenFile, username/password (HTTP Basic), and
 * the context's namespace. exec and auth-provider plugins are refused
 * (they would run a program; the deployer runs none).
 *
 * Secrets (token, password, client key) are registered with
 * cs_log_secret_add() and wiped when released.
 */
#ifndef CS_KUBECONFIG_H
#define CS_KUBECONFIG_H

#include "strvec.h"

struct cs_http;

/* One resolved connection; every member owned (release with cs_kubeconfig_release). */
struct cs_kubeconfig {
	char *server;		/* "https://host:port" (no trailing slash) */
	char *context;		/* the context used, or NULL (--bay URL) */
	char *namespace;	/* the context's namespace, or NULL */
	char *ca_file;		/* absolute path, or NULL */
	char *ca_pem;		/* decoded certificate-authority-data, or NULL */
	char *cert_file;	/* client certificate path, or NULL */
	char *cert_pem;		/* decoded client-certificate-data, or NULL */
	char *key_file;		/* client key path, or NULL */
	char *key_pem;		/* decoded client-key-data (secret), or NULL */
	char *token;		/* bearer token (secret; from token or tokenFile), or NULL */
	char *basic;		/* "user:password" (secret), or NULL */
	int insecure;		/* insecure-skip-tls-verify: true */
	struct cs_strvec files; /* the files that were read, in order */
};

/* clang-format off */
#define CS_KUBECONFIG_INIT { .files = CS_STRVEC_INIT }
/* clang-format on */

/*
 * Load and resolve. path: --kubeconfig or NULL; context: --context or NULL
 * (current-context). env: the process environment ("K=V", NULL-terminated;
 * NULL means environ), read for KUBECONFIG and HOME.
 * Errors (message names the file or the context): CS_ENOTFOUND no file,
 * no context or an unknown context/cluster/user; CS_EIO a file cannot be
 * read; CS_EPARSE malformed YAML; CS_EINVAL an unsupported entry (exec,
 * auth-provider), bad base64, a cluster without server.
 */
int cs_kubeconfig_load(struct cs_kubeconfig *out, const char *path, const char *context,
		       const char *const *env);

/*
 * A connection from a URL alone (--bay http://host:8080 or https://...):
 * no credentials, the system CA store. CS_EINVAL for another scheme.
 */
int cs_kubeconfig_from_url(struct cs_kubeconfig *out, const char *url);

/* Wipe the secrets and free everything; back to INIT. Accepts INIT. */
void cs_kubeconfig_release(struct cs_kubeconfig *kc);

/*
 * A new HTTP client for kc's server with its TLS material, and the header
 * lines every request needs (Authorization: Bearer/Basic) appended to
 * headers (secrets: wipe them). Errors: those of cs_http_new().
 */
int cs_kubeconfig_client(struct cs_http **out, struct cs_strvec *headers,
			 const struct cs_kubeconfig *kc);

#endif
