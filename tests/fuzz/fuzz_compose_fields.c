/*
 * The deployer's parsers of single Compose values: the first byte picks
 * interpolation of a string, an env file, a duration, a size, a command
 * split like a shell, or a short port specification; the rest is the value.
 */
#include "compose.h"
#include "err.h"
#include "fuzz.h"
#include "strvec.h"

static json_t *vars;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	vars =
	    json_pack("{s:s, s:s, s:s, s:s}", "A", "alpha", "B", "", "NUM", "42", "NESTED", "${A}");
	FZ_CHECK(vars != NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_strvec errors = CS_STRVEC_INIT, unset = CS_STRVEC_INIT;
	json_t *j = NULL;
	char *s, *out = NULL;
	long long n;
	int rc;

	if (size == 0)
		return 0;
	s = fz_str(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		rc = dep_interp_string(&out, s, vars, &errors, &unset);
		FZ_CHECK((rc == 0) == (out != NULL));
		FZ_CHECK(rc == 0 || rc == CS_EINVAL);
		FZ_CHECK(rc == 0 || errors.nr > 0);
		break;
	case 1:
		rc = dep_envfile_parse(&j, (const char *)data + 1, size - 1, ".env", vars);
		FZ_CHECK((rc == 0) == json_is_object(j));
		break;
	case 2:
		rc = dep_parse_duration(&n, s);
		FZ_CHECK(rc == 0 || rc == CS_EINVAL);
		break;
	case 3:
		rc = dep_parse_size(&n, s);
		FZ_CHECK(rc == 0 || rc == CS_EINVAL);
		break;
	case 4:
		rc = dep_shlex_split(&j, s);
		FZ_CHECK(rc != 0 || json_is_array(j));
		break;
	default:
		j = json_array();
		rc = dep_parse_port(j, s);
		FZ_CHECK(rc == 0 || rc == CS_EINVAL);
		break;
	}
	json_decref(j);
	free(out);
	free(s);
	cs_strvec_clear(&errors);
	cs_strvec_clear(&unset);
	return 0;
}
