/* The JSON report of a validation, shared by caas-validator and caas-build-runner (valreport.h). */
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "valreport.h"

void
cs_valreport_image_names(struct cs_buf *name, struct cs_buf *tag, struct cs_buf *full,
			 const char *image)
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
cs_valreport_clean_text(const char *s)
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

const char *
cs_valreport_display_name(const struct cs_validation *val, const char *image)
{
	return val->repo_tag && *val->repo_tag && strncmp(image, "sha256:", 7) == 0 ? val->repo_tag
										    : image;
}

static json_t *
jstr(const char *s)
{
	char *clean = cs_valreport_clean_text(s ? s : "");
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

json_t *
cs_valreport_json(const struct cs_validation *val, const char *image, const struct cs_filch *policy,
		  const char *id)
{
	struct cs_buf name = CS_BUF_INIT, tag = CS_BUF_INIT, full = CS_BUF_INIT, err = CS_BUF_INIT;
	json_t *root = json_object(), *list = json_array(), *notes = json_array();
	char uuid[37];
	size_t i;

	if (id == NULL) {
		uuid_t u;

		uuid_generate_random(u);
		uuid_unparse_lower(u, uuid);
		id = uuid;
	}
	cs_valreport_image_names(&name, &tag, &full, cs_valreport_display_name(val, image));
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
	json_object_set_new(root, "Id", json_string(id));
	json_object_set_new(root, "Name", jstr(name.buf));
	json_object_set_new(root, "Tag", jstr(tag.buf));
	json_object_set_new(root, "FullTag", jstr(full.buf));
	json_object_set_new(root, "Status", json_string(val->nr ? "failure" : "success"));
	json_object_set_new(root, "Err", jstr(err.buf));
	json_object_set_new(root, "status",
			    json_string(val->nr ? CS_VALREPORT_NOT_VALID : CS_VALREPORT_VALID));
	json_object_set_new(root, "violations", list);
	json_object_set_new(root, "ImageId", jstr(val->image_id));
	json_object_set_new(root, "Policy", jstr(policy ? cs_filch_name(policy) : NULL));
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
	cs_buf_release(&name);
	cs_buf_release(&tag);
	cs_buf_release(&full);
	cs_buf_release(&err);
	return root;
}
