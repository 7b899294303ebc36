/* caas-validator internals: the report writers (report.c). */
#ifndef VAL_VALIDATOR_H
#define VAL_VALIDATOR_H

#include "buf.h"
#include "filch.h"
#include "validate.h"

/*
 * Split an image reference as the factory's report did: name
 * "reg:5000/app", tag "1" (default "latest"; "" for a digest reference),
 * full "reg:5000/app:1". Strings are appended to the buffers.
 */
void val_image_names(struct cs_buf *name, struct cs_buf *tag, struct cs_buf *full,
		     const char *image);

/* A copy of s with invalid UTF-8 bytes and control characters other than \t \n replaced by '?'. */
char *val_clean_text(const char *s);

/* The text report on stdout: one line per violation and note, then the verdict. */
void val_report_text(const struct cs_validation *val, const char *image,
		     const struct cs_filch *policy, int processes_skipped);

/*
 * Write the JSON report (Id, Name, Tag, FullTag, Status, Err, violations, ...)
 * or the JUnit XML report to path. Errors: CS_EIO (message names the file).
 */
int val_report_json(const char *path, const struct cs_validation *val, const char *image,
		    const struct cs_filch *policy);
int val_report_junit(const char *path, const struct cs_validation *val, const char *image,
		     const struct cs_filch *policy, int processes_skipped);

/* The JSON / XML documents themselves, appended to out (for tests). */
int val_format_json(struct cs_buf *out, const struct cs_validation *val, const char *image,
		    const struct cs_filch *policy, const char *uuid);
void val_format_junit(struct cs_buf *out, const struct cs_validation *val, const char *image,
		      const struct cs_filch *policy, int processes_skipped);

#endif
