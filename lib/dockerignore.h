/*
 * .dockerignore parsing and matching, with the docker CLI's semantics
 * (cli/cli/command/image/build/dockerignore ReadAll, moby/patternmatcher).
 *
 * Reading: lines are split on '\n' (a trailing '\r' is dropped), a UTF-8 BOM
 * is removed from the first line, a line whose first byte is '#' is a
 * comment (a '#' after leading blanks is not), the rest is trimmed of
 * (Unicode) white space; blank lines are ignored. A leading '!' marks an
 * exception; the pattern after it is trimmed again, cleaned like Go's
 * filepath.Clean ("a//b/./c/../d" -> "a/b/d", trailing '/' removed) and a
 * leading '/' is removed, so "/foo", "./foo" and "foo/" all mean "foo".
 *
 * Matching: '*' is any run of non-'/' characters, '?' one non-'/' character,
 * "[a-c]" / "[^a-c]" a character class ('!' does NOT negate: docker passes
 * classes to Go's regexp and filepath.Match, where only '^' does), '\x' the
 * literal x, "**" any number of path components including none ("**" at the
 * end matches everything below). '.', '$', '+', '(', ')', '|', '{', '}' are
 * literals. patternmatcher's shortcuts are kept: a pattern starting with "**"
 * and otherwise plain ("**foo", "**" + "/foo") matches by suffix, a plain one
 * ending in "**" (as "dir/" + "**") by prefix. A pattern matches a path when it
 * matches the whole relative path or any of its parent directories, so "foo"
 * excludes "foo/bar/baz". The last pattern that matches decides: an exception
 * re-includes.
 *
 * Paths given to this module are relative to the context root, '/'-separated,
 * with no leading "./" or '/' (as the context walker produces them).
 */
#ifndef CS_DOCKERIGNORE_H
#define CS_DOCKERIGNORE_H

#include <stddef.h>

#include "buf.h"
#include "strvec.h"

struct cs_dockerignore;

/*
 * Parse the text of a .dockerignore (len bytes; need not be NUL-terminated).
 * filename (borrowed, may be NULL) only names the file in error messages.
 * On success *out is a new set, freed with cs_dockerignore_free(); on failure
 * *out is NULL. Errors: CS_EPARSE for a malformed pattern (unclosed '[',
 * trailing '\', empty class, a lone "!"), the message naming file and line
 * ("'.dockerignore' line 3: bad pattern '[a-': ..."); CS_ETOOBIG for a line
 * of 64 KiB or more (docker's bufio.Scanner limit).
 */
int cs_dockerignore_parse(struct cs_dockerignore **out, const char *text, size_t len,
			  const char *filename);

/*
 * Read and parse the file at path. A missing file (ENOENT) gives an empty set,
 * as docker does. The file is opened with O_NOFOLLOW: a .dockerignore that is
 * a symbolic link is refused (CS_EINVAL), so it cannot make us read outside
 * the context. Errors: CS_EIO, CS_EINVAL, CS_ETOOBIG (file over 4 MiB), or
 * those of cs_dockerignore_parse(). If raw is not NULL, the file's bytes are
 * appended to it (empty for a missing file), so the caller can send exactly
 * what was parsed.
 */
int cs_dockerignore_load(struct cs_dockerignore **out, const char *path, struct cs_buf *raw);

/*
 * Add one pattern line at the end (it wins over earlier ones), processed like
 * a line of the file (trimmed, '!' exception, cleaned). The context uses it
 * as the docker CLI does, to keep the Dockerfile and .dockerignore:
 * cs_dockerignore_add(di, "!.dockerignore"). Errors as cs_dockerignore_parse.
 */
int cs_dockerignore_add(struct cs_dockerignore *di, const char *line);

/*
 * 1 if relpath is excluded (the last matching pattern is not an exception),
 * 0 if it is included. di may be NULL (nothing excluded).
 */
int cs_dockerignore_match(const struct cs_dockerignore *di, const char *relpath);

/*
 * For an excluded directory reldir: 1 if the walker must still descend into
 * it because an exception pattern could match something inside, else 0 (skip
 * the whole subtree). Docker's rule, kept exactly: some exception pattern,
 * followed by '/', starts with reldir + '/' (so "!dir/keep" opens "dir", but
 * "!**" + "/keep" does not). The excluded directory itself is not sent.
 */
int cs_dockerignore_may_include_under(const struct cs_dockerignore *di, const char *reldir);

/* Number of patterns (exceptions included). */
size_t cs_dockerignore_count(const struct cs_dockerignore *di);

/* Free the set; NULL is fine. */
void cs_dockerignore_free(struct cs_dockerignore *di);

/*
 * docker's ReadAll alone: the cleaned pattern strings, exceptions with their
 * '!', without compiling them (so a lone "!" is kept). Appends to out.
 * Errors: CS_ETOOBIG as cs_dockerignore_parse. For tests and diagnostics.
 */
int cs_dockerignore__read_patterns(struct cs_strvec *out, const char *text, size_t len,
				   const char *filename);

#endif
