/*
 * The build context as a tar stream, produced on demand for the engine's
 * POST /build body, the way the docker CLI builds it (cli/command/image/build
 * and pkg/archive TarWithOptions), without a temporary file.
 *
 * The tree under opts->dir is walked depth first, names sorted bytewise in
 * each directory (so the same tree gives the same tar), filtered by
 * dir/.dockerignore (see dockerignore.h). Sent: regular files (content),
 * directories, and symbolic links as links (target kept verbatim, never
 * followed); a file with several names is sent once, its later names as hard
 * links (as docker does). Sockets, FIFOs and devices are skipped with a warning. Every
 * entry has uid/gid 0, empty user and group names, the file's permission
 * bits (setuid/setgid/sticky included) and either the file's mtime (whole
 * seconds) or opts->mtime. Format: pax (ustar with extended headers only when
 * needed), like docker's Go writer.
 *
 * Safety: directories are opened with openat(O_NOFOLLOW|O_DIRECTORY) relative
 * to their parent and files with openat(O_NOFOLLOW) relative to their
 * directory, so nothing outside the context is read through a symlink, even
 * when a path component is replaced by one during the walk. A file whose
 * size changes while it is read, or that changes type between the check and
 * the open, stops the stream with an error (never a corrupt tar).
 *
 * The Dockerfile and .dockerignore are always sent, even when excluded
 * (docker adds "!<name>" exceptions; the daemon then drops them itself
 * because it reads the same .dockerignore). A Dockerfile outside the context
 * is sent as ".dockerfile.<20 hex digits>" (the docker CLI's name length; the
 * digits are the start of its SHA-256, so the stream stays reproducible), and
 * that name is appended to the sent .dockerignore (one is made when there is
 * none) so that COPY never copies it, as the docker CLI does.
 *
 * Memory: bounded, independent of the context size: one read chunk
 * (CS_CONTEXT_CHUNK, 64 KiB), the pending tar output (at most one chunk plus
 * one header block: about 70 KiB, a few KiB more for very long names or link
 * targets), the .dockerignore (at most 4 MiB, normally tiny), an outside
 * Dockerfile (at most CS_CONTEXT_DOCKERFILE_MAX), and the sorted names of the
 * directories on the current path (one open descriptor per level).
 */
#ifndef CS_CONTEXT_H
#define CS_CONTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define CS_CONTEXT_CHUNK ((size_t)64 * 1024)
#define CS_CONTEXT_DOCKERFILE_MAX ((size_t)4 << 20)

struct cs_context;

struct cs_context_opts {
	const char *dir;	/* the context root (symlinks in this path itself are fine) */
	const char *dockerfile; /* path of the Dockerfile, relative to the current directory
				   or absolute, inside or outside dir; NULL: dir/Dockerfile
				   (or dir/dockerfile when that is the one that exists) */
	time_t mtime;		/* non-zero: the mtime of every entry (reproducible tar) */
	int exclude_git_dir;	/* 1: never send .git (a checkout made by us: its files differ
				   from clone to clone, like BuildKit's default for git contexts) */
};

/*
 * Prepare the context: read dir/.dockerignore, locate the Dockerfile, and walk
 * the tree once to count what will be sent (cs_context_stats); skipped special
 * files are reported then with cs_log(CS_LOG_WARN). Strings in opts are
 * copied. On success *out is a new context (cs_context_free). Errors:
 * CS_ENOTFOUND (no such dir or Dockerfile), CS_EINVAL (the Dockerfile is not
 * a regular file, or a Dockerfile path leads out of the context through a
 * symlink, or .dockerignore is a symlink), CS_EPARSE (bad .dockerignore
 * pattern, with file and line), CS_ETOOBIG, CS_EIO (cannot read a directory
 * or file of the context).
 */
int cs_context_open(struct cs_context **out, const struct cs_context_opts *opts);

/*
 * What the stream will hold, from the walk done by cs_context_open(): files
 * is the number of regular-file entries (the Dockerfile and .dockerignore
 * included), bytes the sum of their sizes. Either pointer may be NULL.
 */
void cs_context_stats(const struct cs_context *ctx, uint64_t *files, uint64_t *bytes);

/*
 * The Dockerfile's name inside the tar: the value for the /build "dockerfile"
 * query parameter ("Dockerfile", "sub/Dockerfile.prod", or
 * ".dockerfile.0123456789abcdef0123"). Borrowed; valid until cs_context_free().
 */
const char *cs_context_dockerfile_name(const struct cs_context *ctx);

/*
 * Copy up to size bytes of the tar stream into buf, producing more as needed
 * (the second walk). Returns the number of bytes (> 0 when size > 0), 0 at
 * the end of the stream, or -1 on error with the message in cs_err_msg()
 * (naming the file); after an error every call returns -1 and sets the same
 * message again. The stream can be read once.
 */
long cs_context_read(struct cs_context *ctx, char *buf, size_t size);

/* cs_context_read() with the cs_http_read_fn signature: payload is the context. */
long cs_context_read_cb(char *buf, size_t size, void *payload);

/* The error code of a failed stream (0 if none), e.g. CS_EIO. */
int cs_context_error(const struct cs_context *ctx);

/* Close every descriptor and free the context; NULL is fine. */
void cs_context_free(struct cs_context *ctx);

/* Largest allocation of the pending-output buffer so far (memory-bound tests). */
size_t cs_context__peak_buffer(const struct cs_context *ctx);

/* Internal to the context module (context_dockerfile.c). */
struct cs_context__dockerfile {
	char *rel;  /* inside the context: its path there (symlinks resolved); else NULL */
	char *name; /* its name in the tar: rel, or ".dockerfile.<20 hex>" */
	struct cs_buf content; /* outside: the file's bytes */
	time_t mtime;	       /* outside: the file's mtime */
};

/*
 * Find the Dockerfile of the context dir as the docker CLI does: path
 * (relative to the current directory) or, when NULL, dir/Dockerfile or
 * dir/dockerfile; symlinks resolved, then inside or outside the context. An
 * outside one is read into out->content and named after its SHA-256. A path
 * that goes through the context and ends outside it (a symlink of the
 * context) is refused: the context does not choose what we read. out must
 * be zeroed with content = CS_BUF_INIT; release it in any case. Errors:
 * CS_ENOTFOUND, CS_EINVAL (not a regular file; escapes the context),
 * CS_ETOOBIG (over CS_CONTEXT_DOCKERFILE_MAX), CS_EIO.
 */
int cs_context__locate_dockerfile(struct cs_context__dockerfile *out, const char *dir,
				  const char *path);
void cs_context__dockerfile_release(struct cs_context__dockerfile *df);

#endif
