/*
 * Reports the tools write for Jenkins and Ansible (--json, --junit): a whole
 * document to a path, "-" meaning standard output (through the secret mask).
 */
#ifndef CS_OUTFILE_H
#define CS_OUTFILE_H

#include <jansson.h>
#include <stddef.h>

/* Write len bytes to path ("-": stdout). Errors: CS_EIO naming the path. */
int cs_outfile_write(const char *path, const void *data, size_t len);

/*
 * Write doc (borrowed) as indented JSON plus a newline, with the jansson
 * flags given (JSON_INDENT is added). Errors: CS_EIO, CS_ERROR (encoding).
 */
int cs_outfile_write_json(const char *path, const json_t *doc, size_t flags);

#endif
