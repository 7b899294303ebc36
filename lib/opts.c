/*
 * The option tables of the tools: argv or a JSON arguments file into the
 * tool's options struct, and --help, man page and completion out of the
 * same table (opts.h).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "opts.h"
#include "outfile.h"
#include "strvec.h"
#include "xalloc.h"

#ifndef CS_VERSION
#define CS_VERSION "0.9.0"
#endif

/* A JSON arguments file larger than this is not one Ansible wrote. */
#define ARGS_FILE_MAX (4u << 20)

/* The options every tool has; their values live in struct cs_opts_run. */
enum builtin {
	B_NONE,
	B_VERBOSE,
	B_QUIET,
	B_HELP,
	B_VERSION,
	B_HELP_MAN,
	B_HELP_COMPLETION,
};

static const struct builtin_opt {
	const char *name;
	char short_name;
	enum builtin id;
	const char *help;
} builtins[] = {
    {"verbose", 'v', B_VERBOSE, "more diagnostics on stderr (repeatable)"},
    {"quiet", 'q', B_QUIET, "errors only: no progress on stderr"},
    {"help", 'h', B_HELP, "this text"},
    {"version", 0, B_VERSION, "the version"},
    {"help-man", 0, B_HELP_MAN, NULL},
    {"help-completion", 0, B_HELP_COMPLETION, NULL},
    {NULL, 0, B_NONE, NULL},
};

static int
takes_value(const struct cs_opt *o)
{
	return o->type != CS_OPT_FLAG;
}

static int
is_option(const struct cs_opt *o)
{
	return o->type != CS_OPT_GROUP && o->type != CS_OPT_POSITIONAL;
}

/* "registry_user" for "registry-user": the name in a JSON arguments file. */
static char *
json_name(const char *name)
{
	char *s = cs_xstrdup(name), *p;

	for (p = s; *p; p++)
		if (*p == '-')
			*p = '_';
	return s;
}

/* How an option is named in a message: as the user wrote it. */
static char *
display_name(const struct cs_opts_run *run, const struct cs_opt *o)
{
	if (o->type == CS_OPT_POSITIONAL)
		return run->module ? json_name(o->name)
				   : cs_xasprintf("%s", o->arg ? o->arg : o->name);
	return run->module ? json_name(o->name) : cs_xasprintf("--%s", o->name);
}

static int
vusage_error(struct cs_opts_run *run, const char *fmt, va_list ap)
{
	struct cs_buf m = CS_BUF_INIT;

	cs_buf_vaddf(&m, fmt, ap);
	cs_err_set(CS_EINVAL, "%s", m.buf);
	if (run->module) {
		free(run->usage_error);
		run->usage_error = cs_buf_detach(&m, NULL);
	} else {
		cs_log(CS_LOG_ERROR, "%s (see --help)", m.buf);
		cs_buf_release(&m);
	}
	run->exit_code = CS_EXIT_USAGE;
	return CS_EXIT_USAGE;
}

int
cs_opts_usage_error(struct cs_opts_run *run, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vusage_error(run, fmt, ap);
	va_end(ap);
	return rc;
}

int
cs_opts_check_login(struct cs_opts_run *run, const char *user, int passwords, const char *exclusive,
		    const char *user_needs)
{
	if (passwords > 1)
		return cs_opts_usage_error(run, "%s", exclusive);
	if (passwords && user == NULL)
		return cs_opts_usage_error(run, "a registry password needs --registry-user");
	if (user && !passwords)
		return cs_opts_usage_error(run, "%s", user_needs);
	return 0;
}

static void *
field(void *store, const struct cs_opt *o)
{
	return (char *)store + o->offset;
}

static int
choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p += len + (bar != NULL);
	}
	return 0;
}

static char *
choices_text(const char *choices)
{
	struct cs_buf b = CS_BUF_INIT;
	const char *p;

	for (p = choices; *p; p++) {
		if (*p != '|')
			cs_buf_addch(&b, *p);
		else
			cs_buf_adds(&b, strchr(p + 1, '|') ? ", " : " or ");
	}
	return cs_buf_detach(&b, NULL);
}

/*
 * Store value (a string from argv, or made from JSON and kept by the run)
 * into the option's field. 0, or a usage error's exit code.
 */
static int
set_value(struct cs_opts_run *run, const struct cs_opt *o, void *store, const char *value)
{
	char *name = display_name(run, o), *end;
	int rc = 0;

	if (o->flags & CS_OPT_SECRET)
		cs_log_secret_add(value);
	switch (o->type) {
	case CS_OPT_FLAG:
		*(int *)field(store, o) = 1;
		break;
	case CS_OPT_STRING:
	case CS_OPT_POSITIONAL:
		if (*value == '\0')
			rc = cs_opts_usage_error(run, "%s needs a non-empty value", name);
		else
			*(const char **)field(store, o) = value;
		break;
	case CS_OPT_CHOICE:
		if (!choice_ok(o->choices, value)) {
			char *want = choices_text(o->choices);

			rc = cs_opts_usage_error(run, "%s '%s': want %s", name, value, want);
			free(want);
		} else {
			*(const char **)field(store, o) = value;
		}
		break;
	case CS_OPT_LIST:
		cs_strvec_push(field(store, o), value);
		break;
	case CS_OPT_KEYVALUE:
		if (value[0] == '=' || strchr(value, '=') == NULL)
			rc = cs_opts_usage_error(run, "%s '%s': want KEY=VALUE", name, value);
		else
			cs_strvec_push(field(store, o), value);
		break;
	case CS_OPT_LONG: {
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		/* 4294967297 must not wrap to 1 on the way to an int */
		if (*value == '\0' || *end != '\0' || errno == ERANGE || v < o->min || v > o->max)
			rc = cs_opts_usage_error(run,
						 "%s '%s': want a whole number from %.0f to %.0f",
						 name, value, o->min, o->max);
		else
			*(long *)field(store, o) = v;
		break;
	}
	case CS_OPT_DOUBLE: {
		double v = strtod(value, &end);

		/* written so that nan fails too */
		if (*value == '\0' || *end != '\0' || !(v >= o->min && v <= o->max))
			rc = cs_opts_usage_error(run, "%s '%s': want a number from %g to %g", name,
						 value, o->min, o->max);
		else
			*(double *)field(store, o) = v;
		break;
	}
	case CS_OPT_END:
	case CS_OPT_GROUP:
		break;
	}
	free(name);
	return rc;
}

static void
print_version(const struct cs_opts_spec *spec)
{
	printf("%s %s (caas-devops)\n", spec->prog, CS_VERSION);
}

/* Act on a built-in option. 1 when the run ends here (help, version). */
static int
builtin(struct cs_opts_run *run, enum builtin id)
{
	switch (id) {
	case B_VERBOSE:
		run->verbose++;
		return 0;
	case B_QUIET:
		run->quiet = 1;
		return 0;
	case B_HELP:
		cs_opts_print_help(run->spec, stdout);
		break;
	case B_VERSION:
		print_version(run->spec);
		break;
	case B_HELP_MAN:
		cs_opts_print_man(run->spec, stdout);
		break;
	case B_HELP_COMPLETION:
		cs_opts_print_completion(run->spec, stdout);
		break;
	case B_NONE:
		return 0;
	}
	run->exit_code = 0;
	return 1;
}

static size_t
count_options(const struct cs_opt *opts)
{
	size_t n = 0;

	for (; opts->type != CS_OPT_END; opts++)
		n++;
	return n;
}

/* getopt_long's val for table entry i, and for built-in j. */
#define VAL_TABLE(i) (1000 + (int)(i))
#define VAL_BUILTIN(j) (3000 + (int)(j))

static int
parse_argv(struct cs_opts_run *run, void *store, int argc, char **argv)
{
	const struct cs_opt *opts = run->spec->opts;
	size_t n = count_options(opts), nb = sizeof(builtins) / sizeof(builtins[0]) - 1, i, k = 0;
	struct option *longs = cs_xcalloc(n + nb + 1, sizeof(*longs));
	struct cs_buf shorts = CS_BUF_INIT;
	int c, rc = 0;

	cs_buf_addch(&shorts, ':'); /* a missing value is ':', not '?' */
	for (i = 0; i < n; i++) {
		if (!is_option(&opts[i]))
			continue;
		longs[k].name = opts[i].name;
		longs[k].has_arg = takes_value(&opts[i]) ? required_argument : no_argument;
		longs[k].val = VAL_TABLE(i);
		k++;
		if (opts[i].short_name) {
			cs_buf_addch(&shorts, opts[i].short_name);
			if (takes_value(&opts[i]))
				cs_buf_addch(&shorts, ':');
		}
	}
	for (i = 0; i < nb; i++) {
		longs[k].name = builtins[i].name;
		longs[k].has_arg = no_argument;
		longs[k].val = VAL_BUILTIN(i);
		k++;
		if (builtins[i].short_name)
			cs_buf_addch(&shorts, builtins[i].short_name);
	}
	opterr = 0;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, shorts.buf, longs, NULL)) != -1) {
		const struct cs_opt *o = NULL;

		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (c == ':')
				rc = cs_opts_usage_error(run, "option '%s' needs a value", bad);
			else if (optopt >= VAL_TABLE(0))
				rc = cs_opts_usage_error(run, "option '%.*s' takes no value",
							 (int)strcspn(bad, "="), bad);
			else if (optopt && optopt < 256 && strncmp(bad, "--", 2) != 0)
				rc = cs_opts_usage_error(run, "unknown option '-%c'", optopt);
			else
				rc = cs_opts_usage_error(run, "unknown option '%s'", bad);
			break;
		}
		if (c >= VAL_BUILTIN(0)) {
			if (builtin(run, builtins[c - VAL_BUILTIN(0)].id))
				rc = 1;
			continue;
		}
		if (c >= VAL_TABLE(0)) {
			o = &opts[c - VAL_TABLE(0)];
		} else {
			for (i = 0; i < nb; i++)
				if (builtins[i].short_name == c && builtin(run, builtins[i].id))
					rc = 1;
			for (i = 0; i < n && o == NULL; i++)
				if (opts[i].short_name == c && is_option(&opts[i]))
					o = &opts[i];
			if (o == NULL)
				continue;
		}
		if (o->flags & (CS_OPT_JSON_ONLY | CS_OPT_SECRET)) {
			rc = cs_opts_usage_error(
			    run, "--%s is accepted in a module arguments file only%s", o->name,
			    o->flags & CS_OPT_SECRET ? ": a secret never goes in argv" : "");
			break;
		}
		rc = set_value(run, o, store, takes_value(o) ? optarg : "1");
	}
	/* operands, in the order of the table's positional entries */
	for (i = 0; rc == 0 && i < n; i++) {
		if (opts[i].type != CS_OPT_POSITIONAL || optind >= argc)
			continue;
		rc = set_value(run, &opts[i], store, argv[optind++]);
	}
	if (rc == 0 && optind < argc)
		rc = cs_opts_usage_error(run, "unexpected argument '%s'", argv[optind]);
	free(longs);
	cs_buf_release(&shorts);
	return rc;
}

/* A value made for module mode, kept until cs_opts_release(). */
static const char *
keep(struct cs_opts_run *run, char *s)
{
	if (run->strings == NULL)
		run->strings = cs_xcalloc(1, sizeof(struct cs_strvec));
	cs_strvec_push_take(run->strings, s);
	return s;
}

/* A JSON scalar as the string the command line would carry; NULL if not a scalar. */
static char *
scalar_string(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return cs_xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return cs_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return cs_xasprintf("%.17g", json_real_value(v));
	case JSON_TRUE:
		return cs_xstrdup("True"); /* as Python's str(True): the seed's ProdReady */
	case JSON_FALSE:
		return cs_xstrdup("False");
	default:
		return NULL;
	}
}

/* Ansible's booleans: true/false, yes/no, on/off, 1/0, in any case. -1 if none. */
static int
json_bool(const json_t *v)
{
	static const char *const yes[] = {"true", "yes", "on", "1", "y", "t"};
	static const char *const no[] = {"false", "no", "off", "0", "n", "f", ""};
	const char *s;
	size_t i;

	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
		return (int)json_integer_value(v);
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

static int
module_value(struct cs_opts_run *run, const struct cs_opt *o, void *store, const char *key,
	     json_t *v)
{
	size_t i;
	json_t *e;
	const char *k;
	char *s;

	if (json_is_null(v))
		return 0; /* Ansible's "not given" */
	switch (o->type) {
	case CS_OPT_FLAG: {
		int b = json_bool(v);

		if (b < 0)
			return cs_opts_usage_error(run, "%s: want a boolean", key);
		*(int *)field(store, o) = b;
		return 0;
	}
	case CS_OPT_LIST:
		if (json_is_array(v)) {
			json_array_foreach(v, i, e)
			{
				if ((s = scalar_string(e)) == NULL)
					return cs_opts_usage_error(run, "%s[%zu]: want a string",
								   key, i);
				set_value(run, o, store, keep(run, s));
			}
			return 0;
		}
		break;
	case CS_OPT_KEYVALUE:
		if (json_is_object(v)) {
			json_object_foreach(v, k, e)
			{
				char *val = scalar_string(e);

				if (val == NULL)
					return cs_opts_usage_error(run, "%s.%s: want a string", key,
								   k);
				s = cs_xasprintf("%s=%s", k, val);
				free(val);
				if (set_value(run, o, store, keep(run, s)))
					return run->exit_code;
			}
			return 0;
		}
		if (json_is_array(v)) {
			json_array_foreach(v, i, e)
			{
				if ((s = scalar_string(e)) == NULL)
					return cs_opts_usage_error(run, "%s[%zu]: want KEY=VALUE",
								   key, i);
				if (set_value(run, o, store, keep(run, s)))
					return run->exit_code;
			}
			return 0;
		}
		break;
	default:
		break;
	}
	if ((s = scalar_string(v)) == NULL)
		return cs_opts_usage_error(run, "%s: want a %s", key,
					   o->type == CS_OPT_LIST ? "list or a string" : "string");
	return set_value(run, o, store, keep(run, s));
}

/*
 * Ansible's arguments file: argv's only argument, a regular file holding a
 * JSON object. 1 and *out (owned) when it is one; 0 when argv is a command line.
 */
static int
module_args(struct cs_opts_run *run, json_t **out, int argc, char **argv)
{
	json_error_t jerr;
	struct stat st;
	FILE *f;
	int first;

	*out = NULL;
	if (argc != 2 || argv[1][0] == '-' || stat(argv[1], &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > ARGS_FILE_MAX)
		return 0;
	if ((f = fopen(argv[1], "r")) == NULL)
		return 0;
	while ((first = getc(f)) != EOF && isspace(first))
		;
	fclose(f);
	if (first != '{')
		return 0;
	run->module = 1;
	*out = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		cs_opts_usage_error(run, "arguments file '%s': line %d: %s", argv[1], jerr.line,
				    jerr.text);
	}
	return 1;
}

static int
parse_module(struct cs_opts_run *run, void *store, json_t *args)
{
	const struct cs_opt *opts = run->spec->opts;
	const char *key;
	json_t *v;
	size_t i;
	int rc = 0;

	json_object_foreach(args, key, v)
	{
		const struct cs_opt *o = NULL;

		if (strncmp(key, "_ansible_", 9) == 0) {
			if (strcmp(key, "_ansible_check_mode") == 0)
				run->check_mode = json_bool(v) == 1;
			else if (strcmp(key, "_ansible_no_log") == 0)
				run->no_log = json_bool(v) == 1;
			else if (strcmp(key, "_ansible_verbosity") == 0 && json_is_integer(v))
				run->verbose += (int)json_integer_value(v) > 2;
			continue;
		}
		if (strcmp(key, "verbose") == 0 || strcmp(key, "quiet") == 0) {
			int b = json_bool(v);

			if (b < 0 && !json_is_integer(v))
				return cs_opts_usage_error(run, "%s: want a boolean", key);
			if (key[0] == 'v')
				run->verbose += json_is_integer(v) ? (int)json_integer_value(v) : b;
			else
				run->quiet = b == 1;
			continue;
		}
		for (i = 0; opts[i].type != CS_OPT_END && o == NULL; i++) {
			char *jn;

			if (opts[i].type == CS_OPT_GROUP)
				continue;
			jn = json_name(opts[i].name);
			if (strcmp(jn, key) == 0 || strcmp(opts[i].name, key) == 0)
				o = &opts[i];
			free(jn);
		}
		if (o == NULL)
			return cs_opts_usage_error(run, "unsupported parameter '%s' for module %s",
						   key, run->spec->module);
		if ((rc = module_value(run, o, store, key, v)) != 0)
			return rc;
	}
	return 0;
}

static int
check_required(struct cs_opts_run *run, void *store)
{
	const struct cs_opt *o;

	for (o = run->spec->opts; o->type != CS_OPT_END; o++) {
		int missing = 0;
		char *name;

		if (!(o->flags & CS_OPT_REQUIRED))
			continue;
		if (o->type == CS_OPT_LIST || o->type == CS_OPT_KEYVALUE)
			missing = ((struct cs_strvec *)field(store, o))->nr == 0;
		else if (o->type == CS_OPT_STRING || o->type == CS_OPT_CHOICE ||
			 o->type == CS_OPT_POSITIONAL)
			missing = *(const char **)field(store, o) == NULL;
		if (!missing)
			continue;
		name = display_name(run, o);
		cs_opts_usage_error(run, "%s is required", name);
		free(name);
		return CS_EXIT_USAGE;
	}
	return 0;
}

int
cs_opts_parse(struct cs_opts_run *run, const struct cs_opts_spec *spec, void *store, int argc,
	      char **argv)
{
	json_t *args;
	int rc;

	run->spec = spec;
	if (module_args(run, &args, argc, argv)) {
		run->args = args;
		rc = args ? parse_module(run, store, args) : CS_EXIT_USAGE;
	} else {
		rc = parse_argv(run, store, argc, argv);
	}
	if (rc == 0)
		rc = check_required(run, store);
	cs_log_set_level(run->quiet ? CS_LOG_ERROR : run->verbose ? CS_LOG_DEBUG : CS_LOG_INFO);
	if (rc == 0)
		return 0;
	if (rc == 1 && run->exit_code == 0)
		return 1; /* --help, --version */
	if (run->module)
		run->exit_code = cs_opts_finish(run, NULL, NULL, CS_EXIT_USAGE, 0, NULL, NULL);
	else
		run->exit_code = CS_EXIT_USAGE;
	return 1;
}

int
cs_opts_finish(struct cs_opts_run *run, json_t *result, const char *json_path, int rc, int changed,
	       const char *msg, const char *error)
{
	json_t *doc = result ? json_incref(result) : json_object();
	int exit_code = rc;

	if (rc != 0 && error == NULL)
		error = run->usage_error ? run->usage_error : cs_err_msg();
	if (rc != 0 && (error == NULL || *error == '\0'))
		error = "failed";
	if (json_object_get(doc, "status") == NULL)
		json_object_set_new(doc, "status", json_string(rc == 0 ? "ok" : "failed"));
	json_object_set_new(doc, "exit_code", json_integer(rc));
	if (rc != 0)
		json_object_set_new(doc, "error", json_string(error));
	if (json_path && !(run->module && strcmp(json_path, "-") == 0) &&
	    cs_outfile_write_json(json_path, doc, JSON_SORT_KEYS) < 0) {
		cs_log(CS_LOG_ERROR, "%s", cs_err_msg());
		if (exit_code == 0)
			exit_code = CS_EXIT_USAGE;
	}
	if (run->module) {
		json_t *m = json_deep_copy(doc);
		char *s;

		json_object_set_new(m, "changed", json_boolean(changed));
		json_object_set_new(m, "failed", json_boolean(exit_code != 0));
		json_object_set_new(m, "rc", json_integer(exit_code));
		json_object_set_new(m, "msg",
				    json_string(msg		 ? msg
						: exit_code != 0 ? error
								 : "ok"));
		if (run->check_mode)
			json_object_set_new(m, "check_mode", json_true());
		s = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
		if (s) {
			cs_out_raw(s, strlen(s));
			cs_out_raw("\n", 1);
			free(s);
		}
		json_decref(m);
		exit_code = exit_code != 0;
	}
	json_decref(doc);
	return exit_code;
}

void
cs_opts_release(struct cs_opts_run *run)
{
	json_decref(run->args);
	run->args = NULL;
	if (run->strings) {
		cs_strvec_wipe(run->strings); /* they may hold a secret */
		free(run->strings);
		run->strings = NULL;
	}
	free(run->usage_error);
	run->usage_error = NULL;
}

/* --help */

#define HELP_COLUMN 28

/* Print text, its lines after the first indented to column col. */
static void
print_indented(FILE *f, const char *text, int col)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, f);
		if (*p == '\n' && p[1])
			fprintf(f, "%*s", col, "");
	}
	fputc('\n', f);
}

static void
help_line(FILE *f, char short_name, const char *name, const char *arg, const char *help)
{
	struct cs_buf left = CS_BUF_INIT;

	cs_buf_adds(&left, "  ");
	if (short_name)
		cs_buf_addf(&left, "-%c, ", short_name);
	if (name)
		cs_buf_addf(&left, "--%s", name);
	if (arg)
		cs_buf_addf(&left, "%s%s", name ? " " : "", arg);
	if (left.len + 1 >= HELP_COLUMN)
		fprintf(f, "%s\n%*s", left.buf, HELP_COLUMN, "");
	else
		fprintf(f, "%-*s", HELP_COLUMN, left.buf);
	print_indented(f, help ? help : "", HELP_COLUMN);
	cs_buf_release(&left);
}

void
cs_opts_print_help(const struct cs_opts_spec *spec, FILE *f)
{
	const struct cs_opt *o;
	const struct cs_exit_doc *e;
	size_t i;

	fprintf(f, "usage: %s ", spec->prog);
	print_indented(f, spec->synopsis, 7 + (int)strlen(spec->prog));
	fprintf(f, "\n%s\n", spec->description);
	for (o = spec->opts; o->type != CS_OPT_END; o++) {
		if (o->flags & (CS_OPT_HIDDEN | CS_OPT_JSON_ONLY))
			continue;
		if (o->type == CS_OPT_GROUP)
			fprintf(f, "\n%s:\n", o->help);
		else if (o->type == CS_OPT_POSITIONAL)
			help_line(f, 0, NULL, o->arg ? o->arg : o->name, o->help);
		else
			help_line(f, o->short_name, o->name, takes_value(o) ? o->arg : NULL,
				  o->help);
	}
	fputs("\nCommon options:\n", f);
	for (i = 0; builtins[i].name; i++)
		if (builtins[i].help)
			help_line(f, builtins[i].short_name, builtins[i].name, NULL,
				  builtins[i].help);
	if (spec->environment)
		fprintf(f, "\nEnvironment: %s\n", spec->environment);
	fprintf(f,
		"\nAs an Ansible module (%s): the only argument is a JSON file of the options,\n"
		"long names with '_' for '-', lists for repeatable options; one JSON object out.\n",
		spec->module);
	if (spec->notes)
		fprintf(f, "\n%s\n", spec->notes);
	fputs("\nExit codes:\n", f);
	for (e = spec->exits; e->text; e++) {
		fprintf(f, "  %-5d", e->code);
		print_indented(f, e->text, 7);
	}
}

/* man page */

/* Text for roff: backslashes escaped, '-' as \-, lines never starting with '.' or '\''. */
static void
roff(FILE *f, const char *s)
{
	int bol = 1;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* A help text as a roff paragraph: its lines joined, blank lines kept. */
static void
roff_paragraph(FILE *f, const char *text)
{
	roff(f, text);
	fputc('\n', f);
}

void
cs_opts_print_man(const struct cs_opts_spec *spec, FILE *f)
{
	const struct cs_opt *o;
	const struct cs_exit_doc *e;
	size_t i;

	fputs(".TH ", f);
	roff(f, spec->prog);
	fprintf(f, " 1 \"\" \"caas-devops %s\" \"caas-devops manual\"\n.SH NAME\n", CS_VERSION);
	roff(f, spec->prog);
	fputs(" \\- ", f);
	roff_paragraph(f, spec->summary);
	fputs(".SH SYNOPSIS\n.nf\n.B ", f);
	roff(f, spec->prog);
	fputc(' ', f);
	roff_paragraph(f, spec->synopsis);
	fputs(".fi\n.SH DESCRIPTION\n", f);
	roff_paragraph(f, spec->description);
	fputs(".SH OPTIONS\n", f);
	for (o = spec->opts; o->type != CS_OPT_END; o++) {
		if (o->flags & (CS_OPT_HIDDEN | CS_OPT_JSON_ONLY))
			continue;
		if (o->type == CS_OPT_GROUP) {
			fputs(".SS ", f);
			roff_paragraph(f, o->help);
			continue;
		}
		fputs(".TP\n", f);
		if (o->type == CS_OPT_POSITIONAL) {
			fputs("\\fI", f);
			roff(f, o->arg ? o->arg : o->name);
			fputs("\\fR\n", f);
		} else {
			if (o->short_name)
				fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
			fputs("\\fB\\-\\-", f);
			roff(f, o->name);
			fputs("\\fR", f);
			if (takes_value(o) && o->arg) {
				fputs(" \\fI", f);
				roff(f, o->arg);
				fputs("\\fR", f);
			}
			fputc('\n', f);
		}
		roff_paragraph(f, o->help ? o->help : "");
	}
	fputs(".SS Common options\n", f);
	for (i = 0; builtins[i].name; i++) {
		if (builtins[i].help == NULL)
			continue;
		fputs(".TP\n", f);
		if (builtins[i].short_name)
			fprintf(f, "\\fB\\-%c\\fR, ", builtins[i].short_name);
		fputs("\\fB\\-\\-", f);
		roff(f, builtins[i].name);
		fputs("\\fR\n", f);
		roff_paragraph(f, builtins[i].help);
	}
	fputs(".SH ANSIBLE MODULE\n", f);
	fputs("Called with one argument, the path of a file holding a JSON object (Ansible's "
	      "binary module convention), the tool reads its options from it: long option "
	      "names with _ for \\-, lists for repeatable options, a mapping for KEY=VALUE "
	      "options, operands by their name. It prints one JSON object: changed, failed, "
	      "msg, rc and its results. The module's name is \\fB",
	      f);
	roff(f, spec->module);
	fputs("\\fR.\n", f);
	if (spec->environment) {
		fputs(".SH ENVIRONMENT\n", f);
		roff_paragraph(f, spec->environment);
	}
	if (spec->notes) {
		fputs(".SH NOTES\n", f);
		roff_paragraph(f, spec->notes);
	}
	fputs(".SH EXIT STATUS\n", f);
	for (e = spec->exits; e->text; e++) {
		fprintf(f, ".TP\n%d\n", e->code);
		roff_paragraph(f, e->text);
	}
}

/* bash completion */

/* The completion function's name: _caas_build_runner. */
static char *
completion_function(const char *prog)
{
	char *s = cs_xasprintf("_%s", prog), *p;

	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p))
			*p = '_';
	return s;
}

/* What a value named arg completes to: files, directories, or nothing. */
static const char *
compgen_for(const char *arg)
{
	if (arg == NULL)
		return NULL;
	if (strstr(arg, "DIR"))
		return "-d";
	if (strstr(arg, "FILE") || strstr(arg, "PATH"))
		return "-f";
	return NULL;
}

void
cs_opts_print_completion(const struct cs_opts_spec *spec, FILE *f)
{
	const struct cs_opt *o;
	char *fn = completion_function(spec->prog);
	size_t i;
	int positional = 0;

	fprintf(f,
		"# bash completion for %s (generated from its option table)\n"
		"%s()\n{\n"
		"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		"\tcase $prev in\n",
		spec->prog, fn);
	for (o = spec->opts; o->type != CS_OPT_END; o++) {
		const char *gen;

		if (!is_option(o) || !takes_value(o) ||
		    (o->flags & (CS_OPT_HIDDEN | CS_OPT_JSON_ONLY)))
			continue;
		fprintf(f, "\t--%s", o->name);
		if (o->short_name)
			fprintf(f, "|-%c", o->short_name);
		if (o->type == CS_OPT_CHOICE) {
			char *words = cs_xstrdup(o->choices), *p;

			for (p = words; *p; p++)
				if (*p == '|')
					*p = ' ';
			fprintf(f,
				")\n\t\tmapfile -t COMPREPLY < <(compgen -W '%s' -- \"$cur\")\n"
				"\t\treturn ;;\n",
				words);
			free(words);
		} else if ((gen = compgen_for(o->arg)) != NULL) {
			fprintf(f,
				")\n\t\tmapfile -t COMPREPLY < <(compgen %s -- \"$cur\")\n"
				"\t\treturn ;;\n",
				gen);
		} else {
			fputs(")\n\t\treturn ;;\n", f);
		}
	}
	fputs("\tesac\n\tif [[ $cur == -* ]]; then\n\t\tmapfile -t COMPREPLY < <(compgen -W '", f);
	for (o = spec->opts; o->type != CS_OPT_END; o++) {
		if (!is_option(o) || (o->flags & (CS_OPT_HIDDEN | CS_OPT_JSON_ONLY)))
			continue;
		fprintf(f, "--%s ", o->name);
		if (o->short_name)
			fprintf(f, "-%c ", o->short_name);
	}
	for (i = 0; builtins[i].name; i++)
		if (builtins[i].help)
			fprintf(f, "--%s ", builtins[i].name);
	fputs("' -- \"$cur\")\n\t\treturn\n\tfi\n", f);
	for (o = spec->opts; o->type != CS_OPT_END; o++)
		positional |= o->type == CS_OPT_POSITIONAL;
	if (positional)
		fputs("\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n", f);
	fprintf(f, "}\ncomplete -F %s %s\n", fn, spec->prog);
	free(fn);
}
