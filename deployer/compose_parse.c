/*
 * The small value syntaxes of Compose files: Go durations, byte sizes,
 * shell-like command strings and short port specifications.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compose.h"
#include "err.h"
#include "xalloc.h"

int
dep_parse_duration(long long *out, const char *s)
{
	const char *p = s;
	double total = 0, num;
	char *end;
	int neg = 0;

	if (s == NULL || *s == '\0')
		return cs_err_set(CS_EINVAL, "invalid duration ''");
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*out = 0;
		return 0;
	}
	if (strspn(p, "0123456789") == strlen(p)) {
		errno = 0;
		num = strtod(p, &end);
		if (errno || num > 9e9)
			return cs_err_set(CS_EINVAL, "invalid duration '%s'", s);
		*out = (long long)(num * 1e9) * (neg ? -1 : 1);
		return 0;
	}
	while (*p) {
		double unit;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return cs_err_set(CS_EINVAL, "invalid duration '%s'", s);
		errno = 0;
		num = strtod(p, &end);
		if (end == p || errno)
			return cs_err_set(CS_EINVAL, "invalid duration '%s'", s);
		p = end;
		if (!strncmp(p, "ns", 2))
			unit = 1, p += 2;
		else if (!strncmp(p, "us", 2))
			unit = 1e3, p += 2;
		else if (!strncmp(p, "\xc2\xb5s", 3))
			unit = 1e3, p += 3;
		else if (!strncmp(p, "ms", 2))
			unit = 1e6, p += 2;
		else if (*p == 's')
			unit = 1e9, p++;
		else if (*p == 'm')
			unit = 60e9, p++;
		else if (*p == 'h')
			unit = 3600e9, p++;
		else
			return cs_err_set(CS_EINVAL,
					  "invalid duration '%s': missing or unknown unit", s);
		total += num * unit;
		if (total > 9.2e18)
			return cs_err_set(CS_EINVAL, "invalid duration '%s': too large", s);
	}
	*out = (long long)(total + 0.5) * (neg ? -1 : 1);
	return 0;
}

int
dep_parse_size(long long *out, const char *s)
{
	char *end;
	double num, mul = 1;
	const char *p;

	if (s == NULL || !isdigit((unsigned char)*s))
		return cs_err_set(CS_EINVAL, "invalid size '%s'", s ? s : "");
	errno = 0;
	num = strtod(s, &end);
	if (errno || end == s)
		return cs_err_set(CS_EINVAL, "invalid size '%s'", s);
	p = end;
	if (*p == ' ')
		p++;
	switch (tolower((unsigned char)*p)) {
	case 'k':
		mul = 1024.0, p++;
		break;
	case 'm':
		mul = 1024.0 * 1024, p++;
		break;
	case 'g':
		mul = 1024.0 * 1024 * 1024, p++;
		break;
	case 't':
		mul = 1024.0 * 1024 * 1024 * 1024, p++;
		break;
	case 'p':
		mul = 1024.0 * 1024 * 1024 * 1024 * 1024, p++;
		break;
	}
	if (mul > 1 && tolower((unsigned char)*p) == 'i')
		p++;
	if (tolower((unsigned char)*p) == 'b')
		p++;
	if (*p != '\0' || num * mul > 9.2e18)
		return cs_err_set(CS_EINVAL, "invalid size '%s'", s);
	*out = (long long)(num * mul);
	return 0;
}

int
dep_shlex_split(json_t **out, const char *s)
{
	struct cs_buf w = CS_BUF_INIT;
	json_t *arr = json_array();
	int inword = 0;
	char q = 0;

	*out = NULL;
	for (; *s; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				cs_buf_addch(&w, *s);
		} else if (q == '"') {
			if (*s == '"')
				q = 0;
			else if (*s == '\\' && s[1] && strchr("$`\"\\\n", s[1]))
				cs_buf_addch(&w, *++s);
			else
				cs_buf_addch(&w, *s);
		} else if (*s == '\'' || *s == '"') {
			q = *s;
			inword = 1;
		} else if (*s == '\\') {
			if (s[1] == '\0')
				break;
			if (s[1] != '\n')
				cs_buf_addch(&w, s[1]);
			s++;
			inword = 1;
		} else if (isspace((unsigned char)*s)) {
			if (inword) {
				json_array_append_new(arr, json_string(w.buf));
				cs_buf_reset(&w);
				inword = 0;
			}
		} else {
			cs_buf_addch(&w, *s);
			inword = 1;
		}
	}
	if (q) {
		cs_buf_release(&w);
		json_decref(arr);
		return cs_err_set(CS_EINVAL, "unterminated quote in command");
	}
	if (inword)
		json_array_append_new(arr, json_string(w.buf));
	cs_buf_release(&w);
	*out = arr;
	return 0;
}

/* "80" or "80-82" → [lo, hi]; 0 or -1 */
static int
port_range(const char *s, size_t n, long *lo, long *hi)
{
	char tmp[32], *end, *dash;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!isdigit((unsigned char)tmp[0]))
		return -1;
	*lo = strtol(tmp, &end, 10);
	if (*end == '\0') {
		*hi = *lo;
	} else if (*end == '-') {
		dash = end + 1;
		if (!isdigit((unsigned char)*dash))
			return -1;
		*hi = strtol(dash, &end, 10);
		if (*end != '\0')
			return -1;
	} else {
		return -1;
	}
	if (*lo < 0 || *hi > 65535 || *lo > *hi)
		return -1;
	return 0;
}

int
dep_parse_port(json_t *out, const char *spec)
{
	const char *proto = "tcp", *slash, *colon, *rest, *tgt;
	char *ip = NULL, *s = cs_xstrdup(spec);
	long tlo, thi, plo = -1, phi = -1, i;
	int error = 0;

	if ((slash = strrchr(s, '/')) != NULL) {
		proto = slash + 1;
		s[slash - s] = '\0';
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			goto bad;
	}
	colon = strrchr(s, ':');
	tgt = colon ? colon + 1 : s;
	if (port_range(tgt, strlen(tgt), &tlo, &thi) < 0)
		goto bad;
	if (colon) {
		const char *pc;

		s[colon - s] = '\0';
		rest = s;
		pc = strrchr(rest, ':');
		if (pc && rest[0] == '[' && pc < strchr(rest, ']'))
			pc = NULL; /* "[::1]" alone is not an ip:port pair */
		if (pc) {
			ip = cs_xstrndup(rest, (size_t)(pc - rest));
			rest = pc + 1;
			if (ip[0] == '[' && ip[strlen(ip) - 1] == ']') {
				char *unb = cs_xstrndup(ip + 1, strlen(ip) - 2);

				free(ip);
				ip = unb;
			}
		}
		if (*rest != '\0' && port_range(rest, strlen(rest), &plo, &phi) < 0)
			goto bad;
		if (plo >= 0 && phi - plo != thi - tlo && !(plo == phi && tlo != thi))
			goto bad;
		if (plo >= 0 && plo == phi && tlo != thi)
			goto bad;
	}
	for (i = 0; i <= thi - tlo; i++) {
		json_t *p = json_object();

		json_object_set_new(p, "target", json_integer(tlo + i));
		json_object_set_new(p, "published", plo >= 0 ? json_integer(plo + i) : json_null());
		json_object_set_new(p, "host_ip", ip && *ip ? json_string(ip) : json_null());
		json_object_set_new(p, "protocol", json_string(proto));
		json_object_set_new(p, "mode", json_string("ingress"));
		json_array_append_new(out, p);
	}
	goto out;
bad:
	error = cs_err_set(CS_EINVAL, "invalid port '%s'", spec);
out:
	free(ip);
	free(s);
	return error;
}
