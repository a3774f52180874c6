/* A pull reader for JSON (RFC 8259): the caller walks the values in the
 * order they come and keeps what it wants, and nothing else is built.  For
 * large machine-written documents: a jansson tree of binutils' 74 MB
 * loom-manifest.json took 826 MB and most of 5 s, all of it in malloc.
 *
 *     struct loom_json j;
 *     const char *key;
 *     loom_json_init(&j, text, len, path, &err);
 *     if (loom_json_object(&j) < 0) ...
 *     while ((rc = loom_json_member(&j, &key)) > 0)
 *             if (!strcmp(key, "n")) rc = loom_json_uint(&j, 100, &n); else rc = loom_json_skip(&j);
 *     ... rc < 0: ERR holds PATH:LINE:COLUMN and what was wrong ...
 *     loom_json_end(&j); loom_json_fini(&j);
 *
 * Every function returns -1 on failure with ERR set (the first error wins,
 * see util.h) at the line and column of the offending byte, after which
 * every call fails.  Syntax errors read "invalid JSON: ..."; a value of
 * another type than the caller asked for is an error that names the value
 * by its path in the document ("slots[3].line: expected ..."), as the
 * caller's own errors about a value can (loom_json_fail).  Strings must be UTF-8 without NUL; numbers
 * are read as unsigned integers only, other numbers are checked and
 * skipped.  Nesting is limited to LOOM_JSON_MAX_DEPTH. */
#ifndef LOOM_JSON_READER_H
#define LOOM_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define LOOM_JSON_MAX_DEPTH 64

/* Where the reader is in the document, per open object or array: for
 * errors, which name the value as a path (`slots[3].line`). */
struct loom_json_level {
	bool array;
	bool first;    /* no member or item read yet */
	size_t index;  /* an array's: the item being read */
	char key[40];  /* an object's: the member being read (cut if longer) */
};

struct loom_json {
	const char *start, *p, *end;
	const char *path;          /* for error locations */
	struct loom_error *err;
	bool failed;
	unsigned depth;
	struct loom_json_level level[LOOM_JSON_MAX_DEPTH];
	char *buf;                 /* the last string read, decoded */
	size_t buf_cap;
	const char *value_at;      /* where the value read last starts (loom_json_fail) */
	const char *what;          /* the caller may set it: what a value of the wrong
	                            * type makes the document ("malformed manifest"),
	                            * the first words of such an error */
};

/* Starts reading the LEN bytes at TEXT (not copied: they must outlive J);
 * errors are reported at PATH in ERR. */
void loom_json_init(struct loom_json *j, const char *text, size_t len, const char *path,
                    struct loom_error *err);

/* Frees what J allocated (not the text). */
void loom_json_fini(struct loom_json *j);

/* The kind of the next value, without reading it: '{', '[', '"', '0' (a
 * number), 't' (true or false), 'n' (null); 0 at the end of the text, at a
 * byte that cannot start a value, or after a failure. */
int loom_json_peek(struct loom_json *j);

/* Reads the '{' that starts an object; its members follow (loom_json_member). */
int loom_json_object(struct loom_json *j);

/* Reads the next member's key and its ':' in the object being read: returns
 * 1 with *KEY the key (decoded, valid until the next string is read), then
 * the caller reads the value; or 0 after the object's '}'.  Duplicate keys
 * are the caller's to notice. */
int loom_json_member(struct loom_json *j, const char **key);

/* Reads the '[' that starts an array; its values follow (loom_json_item). */
int loom_json_array(struct loom_json *j);

/* Returns 1 if another value follows in the array being read (the caller
 * reads it), or 0 after the array's ']'. */
int loom_json_item(struct loom_json *j);

/* Reads a string: *S gets it decoded and NUL-terminated (owned by J, valid
 * until the next string is read), *LEN its length (LEN may be NULL). */
int loom_json_string(struct loom_json *j, const char **s, size_t *len);

/* Reads a non-negative integer up to MAX (written without fraction or
 * exponent) into *OUT. */
int loom_json_uint(struct loom_json *j, unsigned long long max, unsigned long long *out);

/* Reads true or false into *OUT. */
int loom_json_bool(struct loom_json *j, bool *out);

/* Reads null if it comes next: 1 if it did, 0 if another value comes. */
int loom_json_null(struct loom_json *j);

/* Reads and checks the next value, whatever it is, and drops it. */
int loom_json_skip(struct loom_json *j);

/* Checks that only whitespace is left after the document's value. */
int loom_json_end(struct loom_json *j);

/* Fails at the start of the value read last (or at the next byte if none
 * was): ERR gets PREFIX, the value's path in the document, ": " and FMT's
 * text (PREFIX and the path are left out when empty).  Returns -1. */
int loom_json_fail(struct loom_json *j, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
