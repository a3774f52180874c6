#include "json_reader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void loom_json_init(struct loom_json *j, const char *text, size_t len, const char *path,
                    struct loom_error *err)
{
	memset(j, 0, sizeof *j);
	j->start = j->p = text;
	j->end = text + len;
	j->path = path;
	j->err = err;
}

void loom_json_fini(struct loom_json *j)
{
	free(j->buf);
	j->buf = NULL;
	j->buf_cap = 0;
}

static void skip_ws(struct loom_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

/* ---- errors ---- */

static int fail_at(struct loom_json *j, const char *at, const char *text)
{
	const char *bol = j->start;
	unsigned line = 1;

	if (j->failed)
		return -1;
	j->failed = true;
	/* Only now: counting lines as the reader goes would cost every byte. */
	for (const char *q = j->start; q < at; q++)
		if (*q == '\n') {
			line++;
			bol = q + 1;
		}
	return loom_error_set(j->err, j->path, line, (unsigned)(at - bol) + 1, "%s", text);
}

/* A syntax error at the next byte: EXPECTED is what the grammar allows there. */
static int unexpected(struct loom_json *j, const char *expected)
{
	char text[160];
	unsigned char c = j->p < j->end ? (unsigned char)*j->p : 0;

	if (j->p >= j->end)
		snprintf(text, sizeof text, "invalid JSON: unexpected end of text, expected %s", expected);
	else if (c > 0x20 && c < 0x7f)
		snprintf(text, sizeof text, "invalid JSON: expected %s, found '%c'", expected, c);
	else
		snprintf(text, sizeof text, "invalid JSON: expected %s, found byte 0x%02x", expected, c);
	return fail_at(j, j->p, text);
}

static int invalid(struct loom_json *j, const char *at, const char *what)
{
	char text[160];

	snprintf(text, sizeof text, "invalid JSON: %s", what);
	return fail_at(j, at, text);
}

/* The path of the value being read: `slots[3].line`. */
static void value_path(const struct loom_json *j, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned d = 0; d < j->depth && n < size; d++) {
		const struct loom_json_level *l = &j->level[d];
		int k;

		if (l->first)
			break; /* nothing read in it yet */
		if (l->array)
			k = snprintf(out + n, size - n, "[%zu]", l->index);
		else
			k = snprintf(out + n, size - n, "%s%s", d ? "." : "", l->key);
		n += k > 0 ? (size_t)k : 0;
	}
}

/* An error about a value (not the syntax): PREFIX, the value's path, MSG. */
static int value_error(struct loom_json *j, const char *at, const char *prefix, const char *msg)
{
	char path[256], text[1024];

	value_path(j, path, sizeof path);
	snprintf(text, sizeof text, "%s%s%s%s%s", prefix && *prefix ? prefix : "", prefix && *prefix ? ": " : "",
	         path, path[0] ? ": " : "", msg);
	return fail_at(j, at, text);
}

int loom_json_fail(struct loom_json *j, const char *prefix, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	skip_ws(j);
	return value_error(j, j->value_at ? j->value_at : j->p, prefix, msg);
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case '{': return "an object";
	case '[': return "an array";
	case '"': return "a string";
	case '0': return "a number";
	case 't': return "a boolean";
	default: return "null";
	}
}

/* The next value is not what the caller asked for: a type error, or a
 * syntax error if no value starts there. */
static int wrong_type(struct loom_json *j, const char *expected)
{
	int kind = loom_json_peek(j);
	char msg[160];

	if (j->failed)
		return -1;
	if (!kind)
		return unexpected(j, "a value");
	snprintf(msg, sizeof msg, "expected %s, found %s", expected, kind_name(kind));
	return value_error(j, j->p, j->what, msg);
}

/* ---- values ---- */

int loom_json_peek(struct loom_json *j)
{
	if (j->failed)
		return 0;
	skip_ws(j);
	if (j->p >= j->end)
		return 0;
	switch (*j->p) {
	case '{': case '[': case '"':
		return *j->p;
	case 't': case 'f':
		return 't';
	case 'n':
		return 'n';
	case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
		return '0';
	default:
		return 0;
	}
}

/* Reads the next value's first byte if it is C (after whitespace). */
static bool starts(struct loom_json *j, char c)
{
	if (loom_json_peek(j) != c)
		return false;
	j->value_at = j->p;
	return true;
}

static int open_level(struct loom_json *j, bool array)
{
	struct loom_json_level *l;

	if (j->depth == LOOM_JSON_MAX_DEPTH)
		return invalid(j, j->p, "nested too deeply");
	l = &j->level[j->depth++];
	l->array = array;
	l->first = true;
	l->index = 0;
	l->key[0] = '\0';
	j->p++;
	return 0;
}

int loom_json_object(struct loom_json *j)
{
	if (!starts(j, '{'))
		return wrong_type(j, "an object");
	return open_level(j, false);
}

int loom_json_array(struct loom_json *j)
{
	if (!starts(j, '['))
		return wrong_type(j, "an array");
	return open_level(j, true);
}

/* Past the separator before the next member or item of the innermost
 * level, or its closing CLOSE: 1, or 0 at the end of the level. */
static int next_in_level(struct loom_json *j, bool array)
{
	struct loom_json_level *l = j->depth ? &j->level[j->depth - 1] : NULL;
	char close = array ? ']' : '}';

	if (j->failed)
		return -1;
	if (!l || l->array != array)
		abort(); /* the caller's walk does not match what it opened */
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	if (!l->first) {
		if (j->p >= j->end || *j->p != ',')
			return unexpected(j, array ? "',' or ']'" : "',' or '}'");
		j->p++;
		l->index++;
	}
	l->first = false;
	j->value_at = NULL; /* an error now is about the value to come */
	return 1;
}

int loom_json_item(struct loom_json *j)
{
	return next_in_level(j, true);
}

int loom_json_member(struct loom_json *j, const char **key)
{
	struct loom_json_level *l;
	const char *k;
	size_t len;
	int rc = next_in_level(j, false);

	if (rc <= 0)
		return rc;
	l = &j->level[j->depth - 1];
	skip_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return unexpected(j, "a string (a member's name)");
	if (loom_json_string(j, &k, &len) < 0)
		return -1;
	len = len < sizeof l->key ? len : sizeof l->key - 1;
	memcpy(l->key, k, len);
	l->key[len] = '\0';
	skip_ws(j);
	if (j->p >= j->end || *j->p != ':')
		return unexpected(j, "':'");
	j->p++;
	*key = k;
	return 1;
}

static void buf_put(struct loom_json *j, size_t *n, const char *s, size_t len)
{
	while (*n + len + 1 > j->buf_cap)
		loom_grow((void **)&j->buf, &j->buf_cap, j->buf_cap, 1);
	memcpy(j->buf + *n, s, len);
	*n += len;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	*out = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0')
		             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;

		if (v == 16)
			return -1;
		*out = *out << 4 | v;
	}
	return 0;
}

/* A \u escape at P (the backslash), with the low half of a surrogate pair
 * after it: the code point in *CP, the bytes read in *LEN. */
static int unicode_escape(struct loom_json *j, const char *p, unsigned *cp, size_t *len)
{
	unsigned lo;

	if (hex4(p + 2, j->end, cp) < 0)
		return invalid(j, p, "\\u must be followed by four hex digits");
	*len = 6;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return invalid(j, p, "a lone low surrogate in \\u escapes");
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (j->end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, j->end, &lo) < 0
		    || lo < 0xdc00 || lo > 0xdfff)
			return invalid(j, p, "a high surrogate in \\u escapes without its low half");
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		*len = 12;
	}
	if (!*cp)
		return invalid(j, p, "\\u0000 (NUL) in a string");
	return 0;
}

int loom_json_string(struct loom_json *j, const char **s, size_t *len)
{
	size_t n = 0;
	const char *p;

	if (!starts(j, '"'))
		return wrong_type(j, "a string");
	p = ++j->p;
	for (;;) {
		const char *run = p;
		unsigned char c;

		while (p < j->end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\' && (unsigned char)*p < 0x80)
			p++;
		buf_put(j, &n, run, (size_t)(p - run));
		if (p >= j->end) {
			j->p = p;
			return unexpected(j, "'\"' (the end of the string)");
		}
		c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c >= 0x80) {
			size_t k = loom_utf8_length((const unsigned char *)p, (const unsigned char *)j->end);

			if (!k)
				return invalid(j, p, "a string is not valid UTF-8");
			buf_put(j, &n, p, k);
			p += k;
		} else if (c < 0x20) {
			return invalid(j, p, "a control character in a string (write it as an escape)");
		} else if (p + 1 < j->end && p[1] == 'u') {
			unsigned cp;
			size_t k;
			char u[4];

			if (unicode_escape(j, p, &cp, &k) < 0)
				return -1;
			if (cp < 0x80) {
				u[0] = (char)cp;
				buf_put(j, &n, u, 1);
			} else if (cp < 0x800) {
				u[0] = (char)(0xc0 | cp >> 6);
				u[1] = (char)(0x80 | (cp & 0x3f));
				buf_put(j, &n, u, 2);
			} else if (cp < 0x10000) {
				u[0] = (char)(0xe0 | cp >> 12);
				u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
				u[2] = (char)(0x80 | (cp & 0x3f));
				buf_put(j, &n, u, 3);
			} else {
				u[0] = (char)(0xf0 | cp >> 18);
				u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
				u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
				u[3] = (char)(0x80 | (cp & 0x3f));
				buf_put(j, &n, u, 4);
			}
			p += k;
		} else {
			const char *esc = p + 1 < j->end ? strchr("\"\\/bfnrt", p[1]) : NULL;

			if (p + 1 >= j->end) {
				j->p = p + 1;
				return unexpected(j, "'\"' (the end of the string)");
			}
			if (!esc || !p[1])
				return invalid(j, p, "an unknown escape in a string");
			buf_put(j, &n, &"\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"], 1);
			p += 2;
		}
	}
	buf_put(j, &n, "", 0);
	j->buf[n] = '\0';
	j->p = p + 1;
	*s = j->buf;
	if (len)
		*len = n;
	return 0;
}

/* Checks the number at the next byte and reads past it; *INTEGER tells
 * whether it has neither sign, fraction nor exponent. */
static int number(struct loom_json *j, bool *integer)
{
	const char *p = j->p;

	*integer = true;
	if (*p == '-') {
		*integer = false;
		p++;
	}
	if (p < j->end && *p == '0') {
		p++;
	} else if (p < j->end && *p >= '1' && *p <= '9') {
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return invalid(j, j->p, "a '-' without digits");
	}
	if (p < j->end && *p == '.') {
		*integer = false;
		if (++p >= j->end || *p < '0' || *p > '9')
			return invalid(j, j->p, "a number with no digits after its '.'");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		*integer = false;
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return invalid(j, j->p, "a number with no digits in its exponent");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return 0;
}

int loom_json_uint(struct loom_json *j, unsigned long long max, unsigned long long *out)
{
	const char *at;
	unsigned long long v = 0;
	bool integer, big = false;
	char msg[96];

	if (!starts(j, '0'))
		return wrong_type(j, "an unsigned integer");
	at = j->p;
	if (number(j, &integer) < 0)
		return -1;
	for (const char *q = at; integer && !big && q < j->p; q++) {
		unsigned d = (unsigned)(*q - '0');

		big = v > max / 10 || (v == max / 10 && d > max % 10);
		v = v * 10 + d;
	}
	if (!integer || big) {
		snprintf(msg, sizeof msg, "expected an unsigned integer up to %llu, found %.*s", max,
		         (int)(j->p - at > 24 ? 24 : j->p - at), at);
		return value_error(j, at, j->what, msg);
	}
	*out = v;
	return 0;
}

int loom_json_bool(struct loom_json *j, bool *out)
{
	if (!starts(j, 't'))
		return wrong_type(j, "true or false");
	if (j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
		*out = true;
		j->p += 4;
	} else if (j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
		*out = false;
		j->p += 5;
	} else {
		return invalid(j, j->p, "a word that is not true, false or null");
	}
	return 0;
}

int loom_json_null(struct loom_json *j)
{
	if (!starts(j, 'n'))
		return j->failed ? -1 : 0;
	if (j->end - j->p < 4 || memcmp(j->p, "null", 4))
		return invalid(j, j->p, "a word that is not true, false or null");
	j->p += 4;
	return 1;
}

int loom_json_skip(struct loom_json *j)
{
	const char *key, *s;
	bool b, integer;
	int rc;

	switch (loom_json_peek(j)) {
	case '{':
		if (loom_json_object(j) < 0)
			return -1;
		while ((rc = loom_json_member(j, &key)) > 0)
			if (loom_json_skip(j) < 0)
				return -1;
		return rc;
	case '[':
		if (loom_json_array(j) < 0)
			return -1;
		while ((rc = loom_json_item(j)) > 0)
			if (loom_json_skip(j) < 0)
				return -1;
		return rc;
	case '"':
		return loom_json_string(j, &s, NULL);
	case '0':
		j->value_at = j->p;
		return number(j, &integer);
	case 't':
		return loom_json_bool(j, &b);
	case 'n':
		return loom_json_null(j) < 0 ? -1 : 0;
	default:
		return j->failed ? -1 : unexpected(j, "a value");
	}
}

int loom_json_end(struct loom_json *j)
{
	if (j->failed)
		return -1;
	if (j->depth)
		abort(); /* the caller stopped inside a value */
	skip_ws(j);
	if (j->p < j->end)
		return unexpected(j, "the end of the text");
	return 0;
}
