/* lib/kubeconfig: file lookup, kubectl's merge rules, path resolution, data fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "kubeconfig.h"
#include "test.h"

static char dir[64];

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static char *
path_of(const char *name)
{
	static char path[4][256];
	static int n;

	n = (n + 1) % 4;
	snprintf(path[n], sizeof(path[n]), "%s/%s", dir, name);
	return path[n];
}

static const char one[] = "apiVersion: v1\n"
			  "kind: Config\n"
			  "current-context: a\n"
			  "clusters:\n"
			  "- name: c1\n"
			  "  cluster:\n"
			  "    server: https://127.0.0.1:6443/\n"
			  "    certificate-authority: certs/ca.crt\n"
			  "contexts:\n"
			  "- name: a\n"
			  "  context: {cluster: c1, user: u1, namespace: team-a}\n"
			  "- name: b\n"
			  "  context: {cluster: c1, user: u2}\n"
			  "users:\n"
			  "- name: u1\n"
			  "  user: {token: s3cr3t-token-one}\n"
			  "- name: u2\n"
			  "  user:\n"
			  "    client-certificate-data: aGVsbG8=\n"
			  "    client-key-data: a2V5LWRhdGE=\n";

/* a later file: its current-context, c1 and u1 lose; its new context d wins */
static const char two[] =
    "current-context: b\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster: {server: https://10.9.9.9:1}\n"
    "- name: c2\n"
    "  cluster: {server: http://127.0.0.1:8080, insecure-skip-tls-verify: true}\n"
    "contexts:\n"
    "- name: d\n"
    "  context: {cluster: c2, user: u3}\n"
    "users:\n"
    "- name: u1\n"
    "  user: {token: other}\n"
    "- name: u3\n"
    "  user: {tokenFile: tok}\n";

static void
test_kubeconfig__explicit_file(void)
{
	struct cs_kubeconfig kc = CS_KUBECONFIG_INIT;
	char want[256];

	T_ASSERT_INT(cs_kubeconfig_load(&kc, path_of("one"), NULL, NULL), 0);
	T_ASSERT_STR(kc.server, "https://127.0.0.1:6443");
	T_ASSERT_STR(kc.context, "a");
	T_ASSERT_STR(kc.namespace, "team-a");
	T_ASSERT_STR(kc.token, "s3cr3t-token-one");
	snprintf(want, sizeof(want), "%s/certs/ca.crt", dir);
	T_ASSERT_STR(kc.ca_file, want);
	cs_kubeconfig_release(&kc);

	T_ASSERT_INT(cs_kubeconfig_load(&kc, path_of("one"), "b", NULL), 0);
	T_ASSERT_STR(kc.cert_pem, "hello");
	T_ASSERT_STR(kc.key_pem, "key-data");
	T_ASSERT(kc.namespace == NULL);
	T_ASSERT(kc.token == NULL);
	cs_kubeconfig_release(&kc);
}

static void
test_kubeconfig__kubeconfig_list_merges_first_wins(void)
{
	struct cs_kubeconfig kc = CS_KUBECONFIG_INIT;
	char kcenv[600];
	const char *env[] = {kcenv, "HOME=/nonexistent", NULL};

	snprintf(kcenv, sizeof(kcenv), "KUBECONFIG=%s:%s:%s", path_of("missing"), path_of("one"),
		 path_of("two"));
	/* current-context of the first file that sets one: a */
	T_ASSERT_INT(cs_kubeconfig_load(&kc, NULL, NULL, env), 0);
	T_ASSERT_STR(kc.context, "a");
	T_ASSERT_STR(kc.server, "https://127.0.0.1:6443"); /* c1 from the first file */
	T_ASSERT_STR(kc.token, "s3cr3t-token-one");	   /* u1 from the first file */
	T_ASSERT_INT((int)kc.files.nr, 2);
	cs_kubeconfig_release(&kc);
	/* a context only the second file has; its tokenFile relative to that file */
	T_ASSERT_INT(cs_kubeconfig_load(&kc, NULL, "d", env), 0);
	T_ASSERT_STR(kc.server, "http://127.0.0.1:8080");
	T_ASSERT(kc.insecure);
	T_ASSERT_STR(kc.token, "from-a-file");
	cs_kubeconfig_release(&kc);
}

static void
test_kubeconfig__home_default_and_errors(void)
{
	struct cs_kubeconfig kc = CS_KUBECONFIG_INIT;
	char home[128];
	const char *env[] = {home, NULL};

	snprintf(home, sizeof(home), "HOME=%s", dir);
	T_ASSERT_INT(cs_kubeconfig_load(&kc, NULL, NULL, env), 0); /* DIR/.kube/config */
	T_ASSERT_STR(kc.context, "a");
	cs_kubeconfig_release(&kc);
	T_ASSERT_INT(cs_kubeconfig_load(&kc, path_of("one"), "nosuch", NULL), CS_ENOTFOUND);
	T_ASSERT(strstr(cs_err_msg(), "context 'nosuch'") != NULL);
	T_ASSERT_INT(cs_kubeconfig_load(&kc, path_of("nofile"), NULL, NULL), CS_EIO);
	T_ASSERT_INT(cs_kubeconfig_load(&kc, path_of("exec"), NULL, NULL), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "exec") != NULL);
	T_ASSERT_INT(cs_kubeconfig_load(&kc, path_of("bad64"), NULL, NULL), CS_EINVAL);
	T_ASSERT(strstr(cs_err_msg(), "certificate-authority-data") != NULL);
	T_ASSERT_INT(cs_kubeconfig_from_url(&kc, "tcp://x:1"), CS_EINVAL);
	T_ASSERT_INT(cs_kubeconfig_from_url(&kc, "http://127.0.0.1:8080/"), 0);
	T_ASSERT_STR(kc.server, "http://127.0.0.1:8080");
	cs_kubeconfig_release(&kc);
}

int
main(void)
{
	char kube[128];

	snprintf(dir, sizeof(dir), "/tmp/test_kubeconfig.%d", (int)getpid());
	mkdir(dir, 0700);
	put("one", one);
	put("two", two);
	put("tok", "from-a-file\n");
	put("exec", "current-context: x\nclusters: [{name: c, cluster: {server: https://h:1}}]\n"
		    "contexts: [{name: x, context: {cluster: c, user: e}}]\n"
		    "users: [{name: e, user: {exec: {command: aws}}}]\n");
	put("bad64", "current-context: x\nclusters: [{name: c, cluster: {server: https://h:1, "
		     "certificate-authority-data: '%%%'}}]\n"
		     "contexts: [{name: x, context: {cluster: c}}]\n");
	snprintf(kube, sizeof(kube), "%s/.kube", dir);
	mkdir(kube, 0700);
	put(".kube/config", one);
	T_RUN(test_kubeconfig__explicit_file);
	T_RUN(test_kubeconfig__kubeconfig_list_merges_first_wins);
	T_RUN(test_kubeconfig__home_default_and_errors);
	{
		const char *names[] = {"one", "two", "tok", "exec", "bad64", ".kube/config"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			unlink(path_of(names[i]));
		rmdir(kube);
		rmdir(dir);
	}
	return T_REPORT();
}
