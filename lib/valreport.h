/*
 * The JSON report of a validation (validate.h), one shape for the two tools
 * that validate: caas-validator (--json, and the caas_validate module's
 * result) and caas-build-runner (the "validation" member of its result).
 *
 * The image factory's fields come first, as the seed's factory wrote them:
 * Id (a random UUID), Name, Tag, FullTag, Status ("success" or "failure"),
 * Err (the violations, one per line). Then: status ("valid" or "not valid",
 * the module result's word), violations (section, item, rule; process for a
 * process), ImageId, Policy, files, packages, processes (null when not
 * checked), packagesSkipped (the reason, or null), notes, and Source (path,
 * layers, layersFromCache, layersFromOverlay2, layersFetched, cache).
 *
 *	json_t *r = cs_valreport_json(&val, "reg:5000/app:3", policy, NULL);
 *	... json_object_get(r, "status") ...
 *	json_decref(r);
 */
#ifndef CS_VALREPORT_H
#define CS_VALREPORT_H

#include <jansson.h>

#include "buf.h"
#include "filch.h"
#include "validate.h"

/* The lowercase status of a finished validation. */
#define CS_VALREPORT_VALID "valid"
#define CS_VALREPORT_NOT_VALID "not valid"

/*
 * The report of val, a finished validation of image against policy. id is
 * the factory's Id; NULL makes a random UUID. Returns a new reference. A
 * validation of an image ID ("sha256:...") is named by the image's first tag.
 */
json_t *cs_valreport_json(const struct cs_validation *val, const char *image,
			  const struct cs_filch *policy, const char *id);

/* How the reports name the image: its first tag when image is an ID, else image. */
const char *cs_valreport_display_name(const struct cs_validation *val, const char *image);

/*
 * Split an image reference as the factory's report did: name
 * "reg:5000/app", tag "1" (default "latest"; "" for a digest reference),
 * full "reg:5000/app:1". Strings are appended to the buffers.
 */
void cs_valreport_image_names(struct cs_buf *name, struct cs_buf *tag, struct cs_buf *full,
			      const char *image);

/*
 * A copy of s (malloc()ed) with invalid UTF-8 bytes and control characters
 * other than \t and \n replaced by '?': names and command lines from an image
 * are not trusted to be text.
 */
char *cs_valreport_clean_text(const char *s);

#endif
