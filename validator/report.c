/*
 * Reports of caas-validator: the text report (violations, the summary and
 * the verdict: results, on stdout; notes on stderr) and JUnit XML for Jenkins
 * (one testsuite per section, one testcase per forbidden entry). The JSON
 * report is lib/valreport.c, shared with caas-build-runner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "outfile.h"
#include "valreport.h"
#include "validator.h"
#include "xalloc.h"

/* A result line: on stdout, or as progress on stderr when stdout is taken. */
static void
result_line(int to_stderr, const char *s)
{
	if (to_stderr)
		cs_out("%s", s);
	else
		cs_result("%s", s);
}

void
val_report_text(const struct cs_validation *val, const char *image, const struct cs_filch *policy,
		int processes_skipped, int to_stderr)
{
	struct cs_buf line = CS_BUF_INIT;
	size_t i;

	for (i = 0; i < val->nr; i++) {
		cs_buf_reset(&line);
		cs_validation_describe(&line, &val->v[i]);
		result_line(to_stderr, line.buf);
	}
	for (i = 0; i < val->notes.nr; i++)
		cs_out("note: %s", val->notes.v[i]);
	cs_buf_reset(&line);
	cs_buf_addf(&line, "checked %zu files, %zu packages", val->files, val->packages);
	if (val->packages_skipped)
		cs_buf_adds(&line, " (package checks skipped: no package database)");
	if (processes_skipped)
		cs_buf_adds(&line, val->processes_need_pull
				       ? ", processes skipped (--no-processes; not in the engine)"
				       : ", processes skipped (--no-processes)");
	else
		cs_buf_addf(&line, ", %zu processes (%d sample%s)", val->processes, val->samples,
			    val->samples == 1 ? "" : "s");
	cs_buf_addf(&line, " against policy '%s'", cs_filch_name(policy));
	result_line(to_stderr, line.buf);
	cs_buf_reset(&line);
	val_verdict(&line, val, image);
	result_line(to_stderr, line.buf);
	cs_buf_release(&line);
}

void
val_verdict(struct cs_buf *out, const struct cs_validation *val, const char *image)
{
	char *img = cs_valreport_clean_text(cs_valreport_display_name(val, image));

	if (val->nr == 0)
		cs_buf_addf(out, "Image '%s' is valid: it can be pushed to the private registry",
			    img);
	else
		cs_buf_addf(out,
			    "Image '%s' is not valid (%zu violation%s): it will not be pushed to "
			    "the private registry",
			    img, val->nr, val->nr == 1 ? "" : "s");
	free(img);
}

static void
xml_add(struct cs_buf *out, const char *s)
{
	char *clean = cs_valreport_clean_text(s);
	const char *p;

	for (p = clean; *p; p++) {
		switch (*p) {
		case '&':
			cs_buf_adds(out, "&amp;");
			break;
		case '<':
			cs_buf_adds(out, "&lt;");
			break;
		case '>':
			cs_buf_adds(out, "&gt;");
			break;
		case '"':
			cs_buf_adds(out, "&quot;");
			break;
		case '\'':
			cs_buf_adds(out, "&apos;");
			break;
		case '\n':
			cs_buf_adds(out, "&#10;");
			break;
		case '\t':
			cs_buf_adds(out, "&#9;");
			break;
		default:
			cs_buf_addch(out, *p);
		}
	}
	free(clean);
}

static void
junit_properties(struct cs_buf *out, const struct cs_validation *val)
{
	cs_buf_adds(out, "    <properties>\n");
	cs_buf_addf(out, "      <property name=\"path\" value=\"%s\"/>\n",
		    val->source ? val->source : "unknown");
	cs_buf_addf(out, "      <property name=\"layers\" value=\"%zu\"/>\n", val->layers);
	cs_buf_addf(out, "      <property name=\"layers_from_cache\" value=\"%zu\"/>\n",
		    val->layers_cached);
	cs_buf_addf(out, "      <property name=\"layers_from_overlay2\" value=\"%zu\"/>\n",
		    val->layers_local);
	cs_buf_addf(out, "      <property name=\"layers_fetched\" value=\"%zu\"/>\n",
		    val->layers_fetched);
	cs_buf_adds(out, "    </properties>\n");
}

static void
junit_suite(struct cs_buf *out, const struct cs_validation *val, const struct cs_filch *policy,
	    enum cs_filch_section s, const char *skipped)
{
	size_t nrules = cs_filch_forbidden_nr(policy, s), i, j, failures = 0;
	const char *sec = cs_filch_section_name(s);

	for (i = 0; i < nrules; i++)
		for (j = 0; j < val->nr; j++)
			if (val->v[j].section == s && val->v[j].rule_index == i) {
				failures++;
				break;
			}
	cs_buf_addf(out,
		    "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		    "skipped=\"%zu\">\n",
		    sec, nrules, skipped ? 0 : failures, skipped ? nrules : 0);
	junit_properties(out, val);
	for (i = 0; i < nrules; i++) {
		size_t n = 0;

		cs_buf_addf(out, "    <testcase classname=\"caas-validator.%s\" name=\"", sec);
		xml_add(out, "forbidden \"");
		xml_add(out, cs_filch_forbidden_rule(policy, s, i));
		xml_add(out, "\"");
		cs_buf_adds(out, "\">");
		if (skipped) {
			cs_buf_adds(out, "<skipped message=\"");
			xml_add(out, skipped);
			cs_buf_adds(out, "\"/></testcase>\n");
			continue;
		}
		for (j = 0; j < val->nr; j++)
			n += val->v[j].section == s && val->v[j].rule_index == i;
		if (n == 0) {
			cs_buf_adds(out, "</testcase>\n");
			continue;
		}
		cs_buf_addf(out, "\n      <failure type=\"forbidden\" message=\"%zu %s break ", n,
			    n == 1 ? "item" : "items");
		xml_add(out, sec);
		xml_add(out, ".forbidden \"");
		xml_add(out, cs_filch_forbidden_rule(policy, s, i));
		cs_buf_adds(out, "&quot;\">");
		for (j = 0; j < val->nr; j++) {
			if (val->v[j].section != s || val->v[j].rule_index != i)
				continue;
			xml_add(out, val->v[j].item);
			cs_buf_addch(out, '\n');
		}
		cs_buf_adds(out, "</failure>\n    </testcase>\n");
	}
	cs_buf_adds(out, "  </testsuite>\n");
}

void
val_format_junit(struct cs_buf *out, const struct cs_validation *val, const char *image,
		 const struct cs_filch *policy, int processes_skipped)
{
	static const enum cs_filch_section order[] = {CS_FILCH_PACKAGES, CS_FILCH_PROCESSES,
						      CS_FILCH_FILES};
	size_t i;

	cs_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
	xml_add(out, "caas-validator ");
	xml_add(out, cs_valreport_display_name(val, image));
	cs_buf_adds(out, "\">\n");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *skipped = NULL;

		if (order[i] == CS_FILCH_PROCESSES && processes_skipped)
			skipped = val->processes_need_pull
				      ? "processes not checked (--no-processes; the image is not "
					"in the engine: needs a pull)"
				      : "processes not checked (--no-processes)";
		else if (order[i] == CS_FILCH_PACKAGES && val->packages_skipped)
			skipped = "packages not checked: no package database found (dpkg, apk)";
		junit_suite(out, val, policy, order[i], skipped);
	}
	cs_buf_adds(out, "</testsuites>\n");
}

int
val_report_junit(const char *path, const struct cs_validation *val, const char *image,
		 const struct cs_filch *policy, int processes_skipped)
{
	struct cs_buf doc = CS_BUF_INIT;
	int error;

	val_format_junit(&doc, val, image, policy, processes_skipped);
	error = cs_outfile_write(path, doc.buf, doc.len);
	cs_buf_release(&doc);
	return error;
}
