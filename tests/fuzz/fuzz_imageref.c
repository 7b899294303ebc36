/*
 * Image references: parse, format, and parse the formatted form again. The
 * fully qualified form must be a fixed point (the same reference), unless it
 * grew past the 255-character name limit by the added "docker.io/library/".
 */
#include "err.h"
#include "fuzz.h"
#include "imageref.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_imageref ref = CS_IMAGEREF_INIT, again = CS_IMAGEREF_INIT;
	char *s = fz_str(data, size), *full = NULL, *name = NULL, *full2 = NULL;

	if (cs_imageref_parse(&ref, s) < 0) {
		FZ_CHECK(ref.repository == NULL && ref.registry == NULL && ref.tag == NULL &&
			 ref.digest == NULL);
		goto out;
	}
	FZ_CHECK(ref.repository != NULL);
	full = cs_imageref_format(&ref);
	name = cs_imageref_name(&ref);
	FZ_CHECK(strncmp(full, name, strlen(name)) == 0);
	(void)cs_imageref_registry_or_default(&ref);
	(void)cs_imageref_tag_or_default(&ref);
	if (cs_imageref_parse(&again, full) < 0) {
		FZ_CHECK(strlen(name) > CS_IMAGEREF_NAME_MAX);
		goto out;
	}
	full2 = cs_imageref_format(&again);
	FZ_CHECK(strcmp(full, full2) == 0);
	FZ_CHECK(cs_imageref_is_docker_hub(ref.registry) ==
		 cs_imageref_is_docker_hub(again.registry));
out:
	cs_imageref_release(&ref);
	cs_imageref_release(&again);
	free(s);
	free(full);
	free(name);
	free(full2);
	return 0;
}
