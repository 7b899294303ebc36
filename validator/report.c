/*
 * Reports of caas-validator: text lines on stdout, the image factory's JSON
 * result fields, and JUnit XML for Jenkins (one testsuite per section, one
 * testcase per forbidden entry).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "err.h"
#include "log.h"
#include "outfile.h"
#include "validator.h"
#include "xalloc.h"

void
val_image_names(struct cs_buf *name, struct cs_buf *tag, struct cs_buf *full, const char *image)
{
	const char *at = strchr(image, '@'), *slash, *colon;
	size_t n = at ? (size_t)(at - image) : strlen(image);

	slash = memrchr(image, '/', n);
	colon = memrchr(slash ? slash : image, ':', n - (size_t)((slash ? slash : image) - image));
	if (colon != NULL) {
		cs_buf_add(name, image, (size_t)(colon - image));
		cs_buf_add(tag, colon + 1, n - (size_t)(colon + 1 - image));
		cs_buf_adds(full, image);
	} else if (at != NULL) {
		cs_buf_add(name, image, n);
		cs_buf_adds(full, image);
	} else {
		cs_buf_adds(name, image);
		cs_buf_adds(tag, "latest");
		cs_buf_addf(full, "%s:latest", image);
	}
}

char *
val_clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct cs_buf out = CS_BUF_INIT;

	while (*p) {
		size_t n = 0, i;

		if (*p < 0x80)
			n = 1;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 2;
		else if ((*p & 0xf0) == 0xe0)
			n = 3;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 4;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 1 && *p < 0x20 && *p != '\t' && *p != '\n')
			n = 0;
		if (n == 0 || (n == 1 && *p == 0x7f)) {
			cs_buf_addch(&out, '?');
			p++;
			continue;
		}
		cs_buf_add(&out, p, n);
		p += n;
	}
	return cs_buf_detach(&out, NULL);
}

static const char *
display_name(const struct cs_validation *val, const char *image)
{
	return val->repo_tag && *val->repo_tag && strncmp(image, "sha256:", 7) == 0 ? val->repo_tag
										    : image;
}

void
val_report_text(const struct cs_validation *val, const char *image, const struct cs_filch *policy,
		int processes_skipped)
{
	struct cs_buf line = CS_BUF_INIT;
	char *img = val_clean_text(display_name(val, image));
	size_t i;

	for (i = 0; i < val->nr; i++) {
		cs_buf_reset(&line);
		cs_validation_describe(&line, &val->v[i]);
		cs_out("%s", line.buf);
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
	cs_out("%s", line.buf);
	if (val->nr == 0)
		cs_out("Image '%s' is valid: it can be pushed to the private registry", img);
	else
		cs_out("Image '%s' is not valid (%zu violation%s): it will not be pushed to the "
		       "private registry",
		       img, val->nr, val->nr == 1 ? "" : "s");
	free(img);
	cs_buf_release(&line);
}

static json_t *
jstr(const char *s)
{
	char *clean = val_clean_text(s ? s : "");
	json_t *v = json_string(clean);

	free(clean);
	return v;
}

static json_t *
source_json(const struct cs_validation *val)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", json_string(val->source ? val->source : "unknown"));
	json_object_set_new(o, "layers", json_integer((json_int_t)val->layers));
	json_object_set_new(o, "layersFromCache", json_integer((json_int_t)val->layers_cached));
	json_object_set_new(o, "layersFromOverlay2", json_integer((json_int_t)val->layers_local));
	json_object_set_new(o, "layersFetched", json_integer((json_int_t)val->layers_fetched));
	json_object_set_new(o, "cache", json_boolean(val->cache_used));
	return o;
}

int
val_format_json(struct cs_buf *out, const struct cs_validation *val, const char *image,
		const struct cs_filch *policy, const char *uuid)
{
	struct cs_buf name = CS_BUF_INIT, tag = CS_BUF_INIT, full = CS_BUF_INIT, err = CS_BUF_INIT;
	json_t *root = json_object(), *list = json_array(), *notes = json_array();
	char *text = NULL;
	size_t i;
	int error = 0;

	val_image_names(&name, &tag, &full, display_name(val, image));
	for (i = 0; i < val->nr; i++) {
		json_t *v = json_object();

		if (i > 0)
			cs_buf_addch(&err, '\n');
		cs_validation_describe(&err, &val->v[i]);
		json_object_set_new(v, "section",
				    json_string(cs_filch_section_name(val->v[i].section)));
		json_object_set_new(v, "item", jstr(val->v[i].item));
		json_object_set_new(v, "rule", jstr(val->v[i].rule));
		if (val->v[i].name)
			json_object_set_new(v, "process", jstr(val->v[i].name));
		json_array_append_new(list, v);
	}
	for (i = 0; i < val->notes.nr; i++)
		json_array_append_new(notes, jstr(val->notes.v[i]));
	json_object_set_new(root, "Id", json_string(uuid));
	json_object_set_new(root, "Name", jstr(name.buf));
	json_object_set_new(root, "Tag", jstr(tag.buf));
	json_object_set_new(root, "FullTag", jstr(full.buf));
	json_object_set_new(root, "Status", json_string(val->nr ? "failure" : "success"));
	json_object_set_new(root, "Err", jstr(err.buf));
	json_object_set_new(root, "ImageId", jstr(val->image_id));
	json_object_set_new(root, "Policy", jstr(cs_filch_name(policy)));
	json_object_set_new(root, "violations", list);
	json_object_set_new(root, "files", json_integer((json_int_t)val->files));
	json_object_set_new(root, "packages", json_integer((json_int_t)val->packages));
	json_object_set_new(root, "processes",
			    val->processes_checked ? json_integer((json_int_t)val->processes)
						   : json_null());
	json_object_set_new(root, "packagesSkipped",
			    val->packages_skipped
				? json_string("no package database found (dpkg, apk)")
				: json_null());
	json_object_set_new(root, "notes", notes);
	json_object_set_new(root, "Source", source_json(val));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		error = cs_err_set(CS_ERROR, "cannot encode the JSON report");
	else
		error = cs_buf_addf(out, "%s\n", text);
	free(text);
	json_decref(root);
	cs_buf_release(&name);
	cs_buf_release(&tag);
	cs_buf_release(&full);
	cs_buf_release(&err);
	return error;
}

static void
xml_add(struct cs_buf *out, const char *s)
{
	char *clean = val_clean_text(s);
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
	xml_add(out, display_name(val, image));
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
val_report_json(const char *path, const struct cs_validation *val, const char *image,
		const struct cs_filch *policy)
{
	struct cs_buf doc = CS_BUF_INIT;
	char uuid[37];
	uuid_t u;
	int error;

	uuid_generate_random(u);
	uuid_unparse_lower(u, uuid);
	if ((error = val_format_json(&doc, val, image, policy, uuid)) == 0)
		error = cs_outfile_write(path, doc.buf, doc.len);
	cs_buf_release(&doc);
	return error;
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
