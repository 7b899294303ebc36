/* caas-validator internals: the report writers (report.c). */
#ifndef VAL_VALIDATOR_H
#define VAL_VALIDATOR_H

#include "buf.h"
#include "filch.h"
#include "validate.h"

/*
 * The text report: one line per violation, the summary ("checked N files,
 * ...") and the verdict on stdout (on stderr, as progress, when to_stderr:
 * stdout carries a JSON or XML document, or the module's answer); the notes
 * on stderr ("note: ...").
 */
void val_report_text(const struct cs_validation *val, const char *image,
		     const struct cs_filch *policy, int processes_skipped, int to_stderr);

/* The verdict line: "Image 'app:1' is not valid (2 violations): it will not be pushed ...". */
void val_verdict(struct cs_buf *out, const struct cs_validation *val, const char *image);

/* Write the JUnit XML report to path ("-": stdout). Errors: CS_EIO (message names the file). */
int val_report_junit(const char *path, const struct cs_validation *val, const char *image,
		     const struct cs_filch *policy, int processes_skipped);

/* The XML document itself, appended to out (for tests). */
void val_format_junit(struct cs_buf *out, const struct cs_validation *val, const char *image,
		      const struct cs_filch *policy, int processes_skipped);

#endif
