/* Writing a finished report to its file, or to stdout for "-". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "outfile.h"

int
cs_outfile_write(const char *path, const void *data, size_t len)
{
	FILE *f;
	int ok;

	if (strcmp(path, "-") == 0) {
		cs_out_raw(data, len);
		return 0;
	}
	if ((f = fopen(path, "w")) == NULL)
		return cs_err_set(CS_EIO, "cannot write '%s': %s", path, strerror(errno));
	ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		return cs_err_set(CS_EIO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int
cs_outfile_write_json(const char *path, const json_t *doc, size_t flags)
{
	char *text = json_dumps(doc, flags | JSON_INDENT(2)), *grown;
	size_t n;
	int error;

	if (text == NULL)
		return cs_err_set(CS_ERROR, "cannot encode the JSON report for '%s'", path);
	n = strlen(text);
	/* on failure realloc leaves text allocated: keep the pointer to free it */
	if ((grown = realloc(text, n + 2)) == NULL) {
		free(text);
		return cs_err_set(CS_ERROR, "out of memory writing '%s'", path);
	}
	text = grown;
	text[n] = '\n';
	text[n + 1] = '\0';
	error = cs_outfile_write(path, text, n + 1);
	free(text);
	return error;
}
