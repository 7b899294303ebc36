/*
 * lib/yamldoc: one YAML stream loaded as one document and as a stream of
 * documents, in both scalar modes; the tree is walked and the position and
 * tag of every key and item looked up.
 */
#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "yamldoc.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

/* Walk v; path is the dotted path of v below the document root. */
static void
walk(const struct cs_yamlpos *pos, const json_t *root, const json_t *v, struct cs_buf *path,
     int depth)
{
	size_t len = path->len, i;
	const char *key;
	json_t *child;

	FZ_CHECK(depth <= CS_YAMLDOC_MAX_DEPTH + 1);
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child)
		{
			int col = -1, line = cs_yamlpos_key_line(pos, v, key, &col);

			FZ_CHECK(line >= 0 && col >= 0);
			(void)cs_yamlpos_key_tag(pos, v, key);
			cs_buf_addf(path, "%s%s", len ? "." : "", key);
			(void)cs_yamlpos_path_line(pos, root, path->buf);
			walk(pos, root, child, path, depth + 1);
			path->len = len;
			path->buf[len] = '\0';
		}
	} else if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, child)
		{
			int col = -1, line = cs_yamlpos_index_line(pos, v, i, &col);

			FZ_CHECK(line >= 0 && col >= 0);
			cs_buf_addf(path, "%s%zu", len ? "." : "", i);
			(void)cs_yamlpos_path_line(pos, root, path->buf);
			walk(pos, root, child, path, depth + 1);
			path->len = len;
			path->buf[len] = '\0';
		}
	}
}

static void
load(const char *text, size_t len, unsigned flags, int all)
{
	struct cs_buf path = CS_BUF_INIT;
	struct cs_yamlpos *pos = NULL;
	json_t *doc = NULL;
	char *dump;
	int rc;

	if (all)
		rc = cs_yamldoc_load_all(&doc, &pos, text, len, "fuzz.yml", flags);
	else
		rc = cs_yamldoc_load(&doc, &pos, text, len, "fuzz.yml", flags);
	if (rc < 0) {
		FZ_CHECK(doc == NULL && pos == NULL);
		FZ_CHECK(rc == CS_EPARSE || rc == CS_ETOOBIG);
		return;
	}
	FZ_CHECK(doc != NULL && pos != NULL);
	FZ_CHECK(strcmp(cs_yamlpos_file(pos), "fuzz.yml") == 0);
	FZ_CHECK(!all || json_is_array(doc));
	walk(pos, doc, doc, &path, 0);
	dump = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
	FZ_CHECK(dump != NULL);
	free(dump);
	cs_buf_release(&path);
	cs_yamlpos_free(pos);
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load((const char *)data, size, CS_YAMLDOC_PLAIN_STRINGS, 0);
	load((const char *)data, size, 0, 0);
	load((const char *)data, size, 0, 1);
	return 0;
}
