/*
 * The command line of the three tools, declared once per tool as a table.
 *
 * One table (struct cs_opt[]) says, for every option: its name, its type,
 * where its value is stored (an offset into the tool's options struct),
 * whether it is required or a secret, and its help text. From it this module
 *
 *   - parses argv (getopt_long), or, when the only argument is a file holding
 *     a JSON object, that file: Ansible's binary-module convention, with the
 *     long names spelled with '_' for '-', repeatable options as lists,
 *     key=value options as a mapping, positional arguments by their name;
 *   - prints --help, --version, a man page (--help-man) and a bash
 *     completion script (--help-completion) — the Makefile generates the
 *     installed man pages and completions with the last two;
 *   - writes the run's end: the --json report (also on failure, with status,
 *     exit_code and error) and, in module mode, the one JSON object Ansible
 *     reads on stdout.
 *
 * -v/--verbose, -q/--quiet, -h/--help and --version are added to every table:
 * one verbosity rule for the three tools (lib/log.h).
 */
#ifndef CS_OPTS_H
#define CS_OPTS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum cs_opt_type {
	CS_OPT_END = 0,	   /* ends the table */
	CS_OPT_GROUP,	   /* a heading in --help (help is the heading) */
	CS_OPT_FLAG,	   /* int, set to 1; JSON: a boolean */
	CS_OPT_STRING,	   /* const char * */
	CS_OPT_CHOICE,	   /* const char *, one of choices ("a|b|c") */
	CS_OPT_LIST,	   /* struct cs_strvec, repeatable; JSON: a list */
	CS_OPT_KEYVALUE,   /* struct cs_strvec of "K=V", repeatable; JSON: a mapping */
	CS_OPT_LONG,	   /* long, in [min, max] */
	CS_OPT_DOUBLE,	   /* double, in [min, max] */
	CS_OPT_POSITIONAL, /* const char *, the next operand; name is its --help name */
};

enum {
	CS_OPT_REQUIRED = 1 << 0,
	/*
	 * The value is a secret: registered with the log mask as soon as it is
	 * read, never echoed in a result. A secret option is read from a JSON
	 * arguments file only: secrets never travel in argv.
	 */
	CS_OPT_SECRET = 1 << 1,
	CS_OPT_HIDDEN = 1 << 2,	   /* accepted, not documented (test hooks) */
	CS_OPT_JSON_ONLY = 1 << 3, /* a module argument only */
};

struct cs_opt {
	enum cs_opt_type type;
	const char *name; /* long name, "registry-user" */
	char short_name;  /* 'f', or 0 */
	unsigned flags;
	size_t offset;	     /* where the value goes in the tool's options struct */
	const char *arg;     /* the value's name in --help: "FILE", "K=V" */
	const char *help;    /* lines after the first are indented under it */
	const char *choices; /* CS_OPT_CHOICE: "production|non-production" */
	double min, max;     /* CS_OPT_LONG, CS_OPT_DOUBLE: the accepted range */
};

/* An entry of the table of struct st: type, long name, field, value name, help. */
#define CS_OPT_ENTRY(t, st, n, f, a, h)                                                            \
	{                                                                                          \
		.type = (t), .name = (n), .offset = offsetof(st, f), .arg = (a), .help = (h)       \
	}
/* A heading of --help. */
#define CS_OPT_HEADING(h)                                                                          \
	{                                                                                          \
		.type = CS_OPT_GROUP, .help = (h)                                                  \
	}
/* The module-only secret registry_password, stored in field f of struct st. */
#define CS_OPT_REGISTRY_PASSWORD(st, f)                                                            \
	{                                                                                          \
		.type = CS_OPT_STRING, .name = "registry-password",                                \
		.flags = CS_OPT_SECRET | CS_OPT_JSON_ONLY, .offset = offsetof(st, f),              \
		.arg = "PASSWORD", .help = "the password (module arguments only)"                  \
	}

struct cs_exit_doc {
	int code;
	const char *text; /* NULL ends the list */
};

struct cs_opts_spec {
	const char *prog;	 /* "caas-build-runner" */
	const char *module;	 /* the Ansible module name, "caas_build" */
	const char *summary;	 /* one line: the man page's NAME */
	const char *synopsis;	 /* after "usage: PROG " (lines after the first indented) */
	const char *description; /* paragraphs */
	const struct cs_opt *opts;
	const char *environment; /* the Environment paragraph, or NULL */
	const char *notes;	 /* a closing paragraph, or NULL */
	const struct cs_exit_doc *exits;
};

/* What parsing found out beside the tool's own options. */
struct cs_opts_run {
	const struct cs_opts_spec *spec;
	int module;	/* arguments came from a JSON file: answer with one JSON object */
	int check_mode; /* _ansible_check_mode: plan, change nothing */
	int no_log;	/* _ansible_no_log */
	int verbose, quiet;
	int exit_code;	   /* when cs_opts_parse() returns 1: exit with this */
	json_t *args;	   /* module mode: the arguments (owned) */
	void *strings;	   /* values made for module mode (owned) */
	char *usage_error; /* the usage error, for the module's msg */
};

/* clang-format off */
#define CS_OPTS_RUN_INIT { 0 }
/* clang-format on */

/*
 * Fill store (the tool's options struct) from argv, or from the JSON file
 * that is argv's only argument. Sets the log level (-q, -v). Returns 0 to go
 * on, or 1 when the run ends here with run->exit_code: 0 after --help or
 * --version, CS_EXIT_USAGE after a usage error (one line on stderr ending
 * in "(see --help)"; in module mode, the failed JSON object on stdout).
 */
int cs_opts_parse(struct cs_opts_run *run, const struct cs_opts_spec *spec, void *store, int argc,
		  char **argv);

/*
 * A usage error found by the tool after parsing (options that exclude each
 * other, a malformed K=V): prints the line like cs_opts_parse() does (in
 * module mode it is kept for the result) and returns CS_EXIT_USAGE.
 */
int cs_opts_usage_error(struct cs_opts_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The registry login options, checked alike by the tools: passwords counts
 * the password sources given (at most one: else exclusive is the error), a
 * password needs user, and user needs a password (else user_needs).
 * 0 or CS_EXIT_USAGE.
 */
int cs_opts_check_login(struct cs_opts_run *run, const char *user, int passwords,
			const char *exclusive, const char *user_needs);

/*
 * The end of a run. result (borrowed, may be NULL) gets "status" (when it
 * has none: "ok", else "failed"), "exit_code" and, when rc != 0, "error":
 * error, else the usage error, else cs_err_msg(). It is written to json_path
 * (when not NULL; "-" is stdout, except in module mode). In module mode the
 * result is printed on stdout as Ansible's one JSON object, with "changed",
 * "failed", "msg" (msg, else the error) and "rc". Returns the process exit
 * code: rc; in module mode 0, or 1 when failed (as Ansible's fail_json).
 */
int cs_opts_finish(struct cs_opts_run *run, json_t *result, const char *json_path, int rc,
		   int changed, const char *msg, const char *error);

/* Free what the run holds (after the last use of the option values). */
void cs_opts_release(struct cs_opts_run *run);

/* The help text, man page (roff) and bash completion of spec, to f. */
void cs_opts_print_help(const struct cs_opts_spec *spec, FILE *f);
void cs_opts_print_man(const struct cs_opts_spec *spec, FILE *f);
void cs_opts_print_completion(const struct cs_opts_spec *spec, FILE *f);

#endif
