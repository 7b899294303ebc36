/*
 * Filch policies: the JSON policy (everything before the first NUL byte),
 * then, after the NUL, newline-separated items checked against every
 * section. Without items, a fixed list is checked.
 */
#include "filch.h"
#include "fuzz.h"

static const char *const default_items[] = {
    "bash", "/bin/nc", "openssh-server", "/usr/bin/ssh", "netcat-openbsd", "", "/", NULL,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static void
count_cb(const char *rule, size_t index, void *payload)
{
	size_t *n = payload;

	FZ_CHECK(rule != NULL);
	(void)index;
	(*n)++;
}

static void
check_item(const struct cs_filch *p, const char *item)
{
	int s;

	for (s = 0; s < CS_FILCH_NSECTIONS; s++) {
		size_t seen = 0, n;

		n = cs_filch_check(p, (enum cs_filch_section)s, item, count_cb, &seen);
		FZ_CHECK(n == seen);
		FZ_CHECK(n <= cs_filch_forbidden_nr(p, (enum cs_filch_section)s));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	const char *nul = memchr(data, '\0', size);
	size_t jlen = nul ? (size_t)(nul - json) : size, i;
	struct cs_filch *p = NULL;
	int s;

	if (cs_filch_parse(&p, json, jlen, "fuzz.json") < 0) {
		FZ_CHECK(p == NULL);
		return 0;
	}
	FZ_CHECK(strcmp(cs_filch_name(p), "fuzz.json") == 0);
	for (s = 0; s < CS_FILCH_NSECTIONS; s++)
		for (i = 0; i < cs_filch_forbidden_nr(p, (enum cs_filch_section)s); i++)
			FZ_CHECK(cs_filch_forbidden_rule(p, (enum cs_filch_section)s, i) != NULL);
	if (nul != NULL) {
		char *items = fz_str((const uint8_t *)nul + 1, size - jlen - 1);
		char *it = items, *nl;

		for (; it != NULL; it = nl ? nl + 1 : NULL) {
			if ((nl = strchr(it, '\n')) != NULL)
				*nl = '\0';
			check_item(p, it);
		}
		free(items);
	} else {
		for (i = 0; default_items[i] != NULL; i++)
			check_item(p, default_items[i]);
	}
	cs_filch_free(p);
	return 0;
}
