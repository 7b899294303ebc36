#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "dockerauth.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"
#include "tests/unit/test.h"

static char tmpdir[] = "/tmp/cs-test-dockerauth-XXXXXX";
static char *old_path;

static void
write_file(const char *name, const char *text, int mode)
{
	char *p = cs_xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");

	if (f == NULL) {
		perror(p);
		abort();
	}
	fputs(text, f);
	fclose(f);
	chmod(p, (mode_t)mode);
	free(p);
}

static const char helper_script[] =
    "#!/bin/sh\n"
    "[ $# -eq 1 ] && [ \"$1\" = get ] || { echo \"bad args: $*\"; exit 3; }\n"
    "url=$(cat)\n"
    "case \"$url\" in\n"
    "reg.example.com:5000) printf '{\"ServerURL\":\"%s\",\"Username\":\"helperuser\","
    "\"Secret\":\"helper-secret-1\"}\\n' \"$url\" ;;\n"
    "https://index.docker.io/v1/) printf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\","
    "\"Secret\":\"hub-token-xyz\"}' \"$url\" ;;\n"
    "store.example.com) printf '{\"Username\":\"storeuser\",\"Secret\":\"store-pw\"}' ;;\n"
    "slow.example.com) exec sleep 5 ;;\n"
    "broken.example.com) echo 'not json' ;;\n"
    "fail.example.com) echo 'keyring is locked' >&2; exit 2 ;;\n"
    "*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
    "esac\n";

static void
set_config(const char *json)
{
	write_file("config.json", json, 0600);
}

static void
test_dockerauth__auth_field(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;

	/* "dXNlcjE6cGFzczpAd29yZA==" is base64 of "user1:pass:@word" */
	set_config("{\"auths\":{\"reg.example.com\":{\"auth\":\"dXNlcjE6cGFzczpAd29yZA==\"}}}");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "reg.example.com"), 0);
	T_ASSERT_STR(a.username, "user1");
	T_ASSERT_STR(a.password, "pass:@word");
	T_ASSERT(a.identitytoken == NULL);
	T_ASSERT_STR(a.server, "reg.example.com");
	cs_dockerauth_release(&a);
	T_ASSERT(a.password == NULL);
	cs_dockerauth_release(&a);
}

static void
test_dockerauth__username_password_and_key_forms(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;
	static const char *const keys[] = {"localhost:5443", "https://localhost:5443",
					   "http://localhost:5443", "https://localhost:5443/v1/"};
	char json[256];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(json, sizeof(json),
			 "{\"auths\":{\"other:1\":{\"auth\":\"eDp5\"},"
			 "\"%s\":{\"username\":\"u%zu\",\"password\":\"pw-%zu\"}}}",
			 keys[i], i, i);
		set_config(json);
		T_ASSERT_INT(cs_dockerauth_lookup(&a, "localhost:5443"), 0);
		T_ASSERT_STR(a.password, i == 0	  ? "pw-0"
					 : i == 1 ? "pw-1"
					 : i == 2 ? "pw-2"
						  : "pw-3");
		T_ASSERT(a.username != NULL && a.username[0] == 'u');
		cs_dockerauth_release(&a);
	}
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "https://localhost:5443/v2/"), 0);
	T_ASSERT_STR(a.server, "localhost:5443");
	cs_dockerauth_release(&a);
	/* a key with a different port is another registry */
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "localhost:5000"), CS_ENOTFOUND);
	T_ASSERT(strstr(cs_err_msg(), "localhost:5000") != NULL);
}

static void
test_dockerauth__identitytoken_and_hub_key(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;

	set_config("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"\","
		   "\"identitytoken\":\"tok-123456\"}}}");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, NULL), 0);
	T_ASSERT_STR(a.identitytoken, "tok-123456");
	T_ASSERT(a.password == NULL);
	T_ASSERT_STR(a.server, "docker.io");
	cs_dockerauth_release(&a);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "docker.io"), 0);
	cs_dockerauth_release(&a);
}

static void
test_dockerauth__missing_entry_and_file(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;
	char *p;

	set_config("{\"auths\":{\"reg.example.com\":{}}}");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "nothere.example.com"), CS_ENOTFOUND);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "reg.example.com"), CS_ENOTFOUND);
	T_ASSERT(a.username == NULL && a.password == NULL && a.server == NULL);
	p = cs_xasprintf("%s/config.json", tmpdir);
	unlink(p);
	free(p);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "reg.example.com"), CS_ENOTFOUND);
	T_ASSERT(strstr(cs_err_msg(), "config.json") != NULL);
}

static void
test_dockerauth__malformed_json(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;

	set_config("{\"auths\": {\"x\": ");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "x"), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), tmpdir) != NULL);
	T_ASSERT(strstr(cs_err_msg(), "config.json") != NULL);
	set_config("[1, 2]");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "x"), CS_EPARSE);
	set_config("{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}"); /* "nocolon" */
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "x"), CS_EPARSE);
	T_ASSERT(strstr(cs_err_msg(), "user:password") != NULL);
	set_config("{\"auths\":{\"x\":{\"auth\":\"!!!\"}}}");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "x"), CS_EPARSE);
}

static void
test_dockerauth__cred_helpers(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;

	set_config("{\"auths\":{\"reg.example.com:5000\":{\"auth\":\"eDp5\"}},"
		   "\"credsStore\":\"nonexistent-store\","
		   "\"credHelpers\":{\"https://reg.example.com:5000\":\"fake\","
		   "\"https://index.docker.io/v1/\":\"fake\",\"slow.example.com\":\"fake\","
		   "\"broken.example.com\":\"fake\",\"fail.example.com\":\"fake\","
		   "\"nf.example.com\":\"fake\",\"evil.example.com\":\"../x\"}}");
	/* credHelpers wins over auths and credsStore */
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "reg.example.com:5000"), 0);
	T_ASSERT_STR(a.username, "helperuser");
	T_ASSERT_STR(a.password, "helper-secret-1");
	cs_dockerauth_release(&a);
	/* Username "<token>": the secret is an identity token */
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "docker.io"), 0);
	T_ASSERT(a.username == NULL);
	T_ASSERT_STR(a.identitytoken, "hub-token-xyz");
	cs_dockerauth_release(&a);

	T_ASSERT_INT(cs_dockerauth_lookup(&a, "nf.example.com"), CS_ENOTFOUND);
	T_ASSERT(strstr(cs_err_msg(), "docker-credential-fake") != NULL);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "broken.example.com"), CS_EPARSE);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "fail.example.com"), CS_EIO);
	T_ASSERT(strstr(cs_err_msg(), "keyring is locked") != NULL);
	T_ASSERT(strstr(cs_err_msg(), "exit 2") != NULL);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "evil.example.com"), CS_EPARSE);

	cs_dockerauth__set_helper_timeout(300);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "slow.example.com"), CS_ETIMEOUT);
	cs_dockerauth__set_helper_timeout(0);

	/* not in credHelpers: credsStore, which does not exist */
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "other.example.com"), CS_EIO);
	T_ASSERT(strstr(cs_err_msg(), "docker-credential-nonexistent-store") != NULL);
	T_ASSERT(a.username == NULL && a.password == NULL);
}

static void
test_dockerauth__creds_store(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;

	set_config("{\"auths\":{\"store.example.com\":{}},\"credsStore\":\"fake\"}");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "store.example.com"), 0);
	T_ASSERT_STR(a.username, "storeuser");
	T_ASSERT_STR(a.password, "store-pw");
	T_ASSERT_STR(a.server, "store.example.com");
	cs_dockerauth_release(&a);
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "unknown.example.com"), CS_ENOTFOUND);
}

static void
test_dockerauth__password_file_and_stdin(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;
	char *p = cs_xasprintf("%s/pw", tmpdir);
	int fds[2], saved;

	write_file("pw", "s3cret-pw\r\n", 0600);
	T_ASSERT_INT(cs_dockerauth_from_file(&a, "bob", p), 0);
	T_ASSERT_STR(a.username, "bob");
	T_ASSERT_STR(a.password, "s3cret-pw");
	cs_dockerauth_release(&a);
	write_file("pw", "  spaced pw  ", 0600); /* only the newline is trimmed */
	T_ASSERT_INT(cs_dockerauth_from_file(&a, "bob", p), 0);
	T_ASSERT_STR(a.password, "  spaced pw  ");
	cs_dockerauth_release(&a);
	write_file("pw", "\n", 0600);
	T_ASSERT_INT(cs_dockerauth_from_file(&a, "bob", p), CS_EINVAL);
	T_ASSERT_INT(cs_dockerauth_from_file(&a, "", p), CS_EINVAL);
	unlink(p);
	T_ASSERT_INT(cs_dockerauth_from_file(&a, "bob", p), CS_EIO);
	T_ASSERT(strstr(cs_err_msg(), p) != NULL);
	free(p);

	T_ASSERT_INT(pipe(fds), 0);
	T_ASSERT_INT(write(fds[1], "piped-pw\n", 9), 9);
	close(fds[1]);
	saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	T_ASSERT_INT(cs_dockerauth_from_stdin(&a, "carol"), 0);
	dup2(saved, 0);
	close(saved);
	T_ASSERT_STR(a.password, "piped-pw");
	cs_dockerauth_release(&a);
}

static void
test_dockerauth__header_round_trip(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;
	struct cs_buf h = CS_BUF_INIT, dec = CS_BUF_INIT;
	json_t *j = NULL;
	char line[256];

	a.username = cs_xstrdup("us\"er");
	a.password = cs_xstrdup("p\\w\n?>>?"); /* '?>>?' encodes to '/' and '+' in std base64 */
	a.server = cs_xstrdup("localhost:5443");
	T_ASSERT_INT(cs_dockerauth_header(&h, &a), 0);
	T_ASSERT(strchr(h.buf, '+') == NULL && strchr(h.buf, '/') == NULL);
	T_ASSERT_INT(h.len % 4, 0);
	T_ASSERT_INT(cs_base64_decode(&dec, h.buf, h.len), 0);
	j = json_loadb(dec.buf, dec.len, JSON_REJECT_DUPLICATES, NULL);
	T_ASSERT(j != NULL);
	T_ASSERT_INT(json_object_size(j), 3);
	T_ASSERT_STR(json_string_value(json_object_get(j, "username")), "us\"er");
	T_ASSERT_STR(json_string_value(json_object_get(j, "password")), "p\\w\n?>>?");
	T_ASSERT_STR(json_string_value(json_object_get(j, "serveraddress")), "localhost:5443");
	json_decref(j);
	j = NULL;

	/* the header value is a registered secret */
	T_ASSERT(h.len < sizeof(line) - 20);
	snprintf(line, sizeof(line), "X-Registry-Auth: %s;", h.buf);
	cs_log_mask(line);
	T_ASSERT(strncmp(line, "X-Registry-Auth: ****", 21) == 0);
	T_ASSERT(strstr(line, h.buf) == NULL);

	cs_buf_wipe(&h);
	cs_buf_wipe(&dec);
	a.identitytoken = cs_xstrdup("id-token-1");
	T_ASSERT_INT(cs_dockerauth_header(&h, &a), 0);
	T_ASSERT_INT(cs_base64_decode(&dec, h.buf, h.len), 0);
	T_ASSERT_STR(dec.buf, "{\"identitytoken\":\"id-token-1\"}");
	cs_buf_wipe(&h);
	cs_buf_wipe(&dec);
	cs_dockerauth_release(&a);
	T_ASSERT_INT(cs_dockerauth_header(&h, &a), CS_EINVAL);
}

static void
test_dockerauth__config_header(void)
{
	struct cs_dockerauth a[3] = {CS_DOCKERAUTH_INIT, CS_DOCKERAUTH_INIT, CS_DOCKERAUTH_INIT};
	struct cs_buf h = CS_BUF_INIT, dec = CS_BUF_INIT;
	json_t *j;
	size_t i;

	T_ASSERT_INT(cs_dockerauth_config_header(&h, a, 0), 0);
	T_ASSERT_INT(cs_base64_decode(&dec, h.buf, h.len), 0);
	T_ASSERT_STR(dec.buf, "{}");
	cs_buf_wipe(&h);
	cs_buf_wipe(&dec);

	a[0].username = cs_xstrdup("u1");
	a[0].password = cs_xstrdup("p\"1");
	a[0].server = cs_xstrdup("127.0.0.1:5000");
	a[1].server = cs_xstrdup("anonymous.example.com"); /* no secret: skipped */
	a[2].identitytoken = cs_xstrdup("tok");
	a[2].server = cs_xstrdup("docker.io");
	T_ASSERT_INT(cs_dockerauth_config_header(&h, a, 3), 0);
	T_ASSERT(strchr(h.buf, '+') == NULL && strchr(h.buf, '/') == NULL);
	T_ASSERT_INT(cs_base64_decode(&dec, h.buf, h.len), 0);
	j = json_loadb(dec.buf, dec.len, JSON_REJECT_DUPLICATES, NULL);
	T_ASSERT(j != NULL);
	T_ASSERT_INT(json_object_size(j), 2);
	T_ASSERT_STR(
	    json_string_value(json_object_get(json_object_get(j, "127.0.0.1:5000"), "password")),
	    "p\"1");
	T_ASSERT_STR(json_string_value(json_object_get(
			 json_object_get(j, "https://index.docker.io/v1/"), "identitytoken")),
		     "tok");
	json_decref(j);
	cs_buf_wipe(&h);
	cs_buf_wipe(&dec);
	for (i = 0; i < 3; i++)
		cs_dockerauth_release(&a[i]);
}

static void
test_dockerauth__secrets_are_registered(void)
{
	struct cs_dockerauth a = CS_DOCKERAUTH_INIT;
	char line[] = "error from registry: pw=canary-pw-77 token=canary-tok-88";

	set_config(
	    "{\"auths\":{\"c.example.com\":{\"username\":\"u\",\"password\":\"canary-pw-77\","
	    "\"identitytoken\":\"canary-tok-88\"}}}");
	T_ASSERT_INT(cs_dockerauth_lookup(&a, "c.example.com"), 0);
	cs_log_mask(line);
	T_ASSERT(strstr(line, "canary") == NULL);
	cs_dockerauth_release(&a);
}

static void
test_base64__vectors(void)
{
	static const char *const v[][2] = {{"", ""},
					   {"f", "Zg=="},
					   {"fo", "Zm8="},
					   {"foo", "Zm9v"},
					   {"foob", "Zm9vYg=="},
					   {"fooba", "Zm9vYmE="},
					   {"foobar", "Zm9vYmFy"}};
	struct cs_buf b = CS_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		T_ASSERT_INT(cs_base64_encode(&b, v[i][0], strlen(v[i][0]), 0), 0);
		T_ASSERT_STR(b.buf, v[i][1]);
		cs_buf_release(&b);
		T_ASSERT_INT(cs_base64_decode(&b, v[i][1], strlen(v[i][1])), 0);
		T_ASSERT_STR(b.buf, v[i][0]);
		cs_buf_release(&b);
	}
	T_ASSERT_INT(cs_base64_decode(&b, "Zm9vYg", 6), 0); /* unpadded */
	T_ASSERT_STR(b.buf, "foob");
	cs_buf_release(&b);
	T_ASSERT_INT(cs_base64_decode(&b, "Zm9vY", 5), CS_EPARSE);
	T_ASSERT_INT(cs_base64_decode(&b, "Zm9v====", 8), CS_EPARSE);
	T_ASSERT_INT(cs_base64_decode(&b, "Zm 9v", 5), CS_EPARSE);
	T_ASSERT_INT(b.len, 0);
	T_ASSERT_INT(cs_base64_encode(&b, "\xfb\xff", 2, CS_BASE64_URL), 0);
	T_ASSERT_STR(b.buf, "-_8=");
	cs_buf_release(&b);
}

int
main(void)
{
	char *path;
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	write_file("docker-credential-fake", helper_script, 0755);
	old_path = cs_xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	path = cs_xasprintf("%s:%s", tmpdir, old_path);
	setenv("PATH", path, 1);
	setenv("DOCKER_CONFIG", tmpdir, 1);

	T_RUN(test_dockerauth__auth_field);
	T_RUN(test_dockerauth__username_password_and_key_forms);
	T_RUN(test_dockerauth__identitytoken_and_hub_key);
	T_RUN(test_dockerauth__missing_entry_and_file);
	T_RUN(test_dockerauth__malformed_json);
	T_RUN(test_dockerauth__cred_helpers);
	T_RUN(test_dockerauth__creds_store);
	T_RUN(test_dockerauth__password_file_and_stdin);
	T_RUN(test_dockerauth__header_round_trip);
	T_RUN(test_dockerauth__config_header);
	T_RUN(test_dockerauth__secrets_are_registered);
	T_RUN(test_base64__vectors);
	rc = T_REPORT();

	cs_log_secret_clear();
	setenv("PATH", old_path, 1);
	free(path);
	free(old_path);
	path = cs_xasprintf("%s/docker-credential-fake", tmpdir);
	unlink(path);
	free(path);
	path = cs_xasprintf("%s/config.json", tmpdir);
	unlink(path);
	free(path);
	path = cs_xasprintf("%s/pw", tmpdir);
	unlink(path);
	free(path);
	rmdir(tmpdir);
	return rc;
}
