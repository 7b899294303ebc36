/*
 * Validation of an image against a filch policy (see filch.h): the files and
 * packages of its merged filesystem, read statically from the engine's image
 * export (GET /images/{name}/get) or from a `docker save` archive, and the
 * processes it starts when run in a sandbox (see procwatch.h).
 *
 * This is what caas-validator runs and what caas-build-runner calls before
 * a push:
 *
 *	struct cs_validation v = CS_VALIDATION_INIT;
 *	struct cs_validate_opts o = {.observe_seconds = 5, .interrupted = &flag};
 *	if ((error = cs_validate_image(&v, engine, "repo/app:1", NULL, policy, &o)) < 0)
 *		... cs_err_msg() ...;
 *	else if (v.nr > 0)
 *		... not valid: do not push (exit 3) ...;
 *	cs_validation_release(&v);
 */
#ifndef CS_VALIDATE_H
#define CS_VALIDATE_H

#include <signal.h>
#include <stddef.h>

#include "docker.h"
#include "filch.h"
#include "strvec.h"

struct cs_violation {
	enum cs_filch_section section;
	char *item;	   /* a path ("/usr/bin/curl"), a package name, or a process command line */
	char *name;	   /* processes: the process name (comm) matched; else NULL */
	char *rule;	   /* the forbidden entry as written in the policy */
	size_t rule_index; /* its position in the section's forbidden list */
};

struct cs_validation {
	struct cs_violation *v; /* sorted by section, then item; empty: valid */
	size_t nr, alloc;
	char *image_id;		 /* "sha256:..." or "" */
	char *repo_tag;		 /* first RepoTags entry of the image, or "" */
	size_t files, packages;	 /* items checked */
	size_t layers, unsafe;	 /* layers merged; layer entries skipped for an escaping path */
	struct cs_strvec pkgdbs; /* package databases read, e.g. "/var/lib/dpkg/status" */
	int processes_checked;	 /* 0 with no_processes */
	size_t processes;	 /* distinct processes seen */
	int samples;		 /* process lists taken */
	int exited, exit_code;	 /* the container stopped early, with this code */
	double exited_after;	 /* seconds */
	struct cs_strvec notes;	 /* remarks for the report that are not violations */
	double static_seconds, process_seconds;
	const char *source;	 /* how the uncached layers were read: "cache" (none were),
				    "overlay2", "export", "registry", "archive"; static string */
	size_t layers_cached;	 /* layers whose result came from the layer cache */
	size_t layers_local;	 /* layers read from the engine's overlay2 directories */
	size_t layers_fetched;	 /* layers downloaded from the registry */
	int cache_used;		 /* a layer cache was open */
	int packages_skipped;	 /* no package database: the package checks did not run */
	int processes_need_pull; /* registry image not in the engine: processes not checked */
};

/* clang-format off */
#define CS_VALIDATION_INIT { .pkgdbs = CS_STRVEC_INIT, .notes = CS_STRVEC_INIT }
/* clang-format on */

struct cs_validate_opts {
	int no_processes;		    /* skip running the image */
	double observe_seconds;		    /* 0: 5 seconds */
	volatile sig_atomic_t *interrupted; /* polled; non-zero stops with CS_EINTR, or NULL */
	const char *cache_dir;		    /* NULL: cs_layercache_default_dir */
	unsigned long long cache_max;	    /* bytes; 0: CS_LAYERCACHE_DEFAULT_MAX */
	int no_cache;			    /* neither read nor write the layer cache */
	int force_export;		    /* read uncached layers from the export stream */
	/* an image the engine does not have, read from its registry: */
	const char *registry_user;     /* NULL: the docker CLI's config.json */
	const char *registry_password; /* borrowed; with registry_user */
	const char *registry_ca;       /* NULL: certs.d or the system store */
	/* registries not verified, or plain HTTP (docker's insecure-registries); NULL: none */
	const struct cs_strvec *insecure_registries;
};

/*
 * Validate image against policy. The filesystem is read from archive_path
 * when it is not NULL (then image only picks the image in the archive and
 * names it), else from engine via GET /images/{image}/get, streamed through a
 * socket pair into the reader so memory stays bounded. Processes need engine
 * and an image it knows (also with an archive), unless opts->no_processes;
 * they are observed in a thread, on a second connection to the same engine,
 * while the filesystem is read (a failure of either stops the other).
 * engine may be NULL only with an archive and no_processes. opts may be NULL
 * (defaults). While the export runs, engine's HTTP cancel flag
 * (cs_http_set_cancel) is opts->interrupted, then NULL again. A signal
 * (*opts->interrupted non-zero) ends any phase with CS_EINTR, and the
 * validation container is removed first. out must be CS_VALIDATION_INIT; it is filled also on error
 * (partially) and must be released with cs_validation_release.
 *
 * Without an archive, each layer's result is taken from the layer cache
 * (layercache.h, keyed by the DiffIDs of the image's RootFS.Layers) unless
 * opts->no_cache; uncached layers are read from the engine's overlay2
 * directories when the engine is local (overlay2.h; not with
 * opts->force_export), else from the export stream, and stored. A cache
 * directory that cannot be used is a warning, never an error. An image the
 * engine does not have but whose reference names a registry is read from
 * that registry (regimage.h), never pulled; its processes are then not
 * checked: with no_processes the report says so, without it the call fails
 * with CS_EINVAL ("needs a pull").
 * Errors: CS_ENOTFOUND (the engine has no such image), CS_EINVAL (bad
 * arguments, or the archive does not hold the image), CS_EIO, CS_EPARSE,
 * CS_ETOOBIG (archive or image unreadable, a package database unparsable or
 * unsupported: never a clean result), CS_ENET, CS_EHTTP (engine or
 * registry), CS_EAUTH (registry), CS_EINTR.
 */
int cs_validate_image(struct cs_validation *out, struct cs_docker *engine, const char *image,
		      const char *archive_path, const struct cs_filch *policy,
		      const struct cs_validate_opts *opts);

/* One line for a violation: "file /usr/bin/curl is forbidden (files.forbidden \"curl\")". */
void cs_validation_describe(struct cs_buf *out, const struct cs_violation *v);

/* Frees the contents; back to CS_VALIDATION_INIT. Accepts INIT. */
void cs_validation_release(struct cs_validation *val);

#endif
