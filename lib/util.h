/* Small helpers shared by loom-rewrite and loom: located errors, hashing,
 * files and allocation.  Nothing here is part of the target-process runtime
 * (that is rt/loom.h, which must not depend on this library). */
#ifndef LOOM_UTIL_H
#define LOOM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* A located error, compiler style.  The first error set wins, so that a
 * cascade of follow-up failures cannot hide the cause (as in jansson). */
struct loom_error {
	bool set;
	char file[512];
	unsigned line, column; /* 0 = unknown */
	char text[1024];
};

/* Records an error at FILE:LINE:COL unless one is already recorded.  FILE may
 * be NULL (no location); LINE and COL may be 0.  Always returns -1, so that
 * `return loom_error_set(...)` reads naturally. */
int loom_error_set(struct loom_error *err, const char *file, unsigned line,
                   unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Prints ERR as `file:line:col: error: text` (or `prog: error: text` when it
 * has no location) to stderr. */
void loom_error_print(const struct loom_error *err, const char *prog);

/* 64-bit FNV-1a of LEN bytes, continuing from SEED (use LOOM_FNV_SEED to start).
 * Used for manifest ids and file hashes: a mismatch guard, not a defence
 * against an adversary (an adversary who can write the manifest can push
 * anything anyway). */
#define LOOM_FNV_SEED UINT64_C(0xcbf29ce484222325)
uint64_t loom_fnv64(uint64_t seed, const void *data, size_t len);

/* The Levenshtein distance between A and B (insertions, deletions and
 * substitutions of single bytes), for "did you mean" suggestions: the
 * names closest to a misspelt one. */
size_t loom_edit_distance(const char *a, const char *b);

/* The length of the UTF-8 sequence at P (before END): 1 for ASCII, 2 to 4
 * for a valid multi-byte sequence (no overlong form, no surrogate, nothing
 * above U+10FFFF), 0 if none starts there. */
size_t loom_utf8_length(const unsigned char *p, const unsigned char *end);

/* Whether the string S is valid UTF-8: what a JSON string (the manifest's
 * paths and names) can hold. */
bool loom_utf8_valid(const char *s);

/* Reads a whole file into a NUL-terminated malloc'd buffer; *LEN gets its size.
 * Returns NULL and sets errno on failure. */
char *loom_read_file(const char *path, size_t *len);

/* Writes LEN bytes to PATH atomically (temporary file in the same directory,
 * then rename), with mode 0644.  Returns 0, or -1 with errno set. */
int loom_write_file(const char *path, const void *data, size_t len);

/* mkdir -p with mode 0755.  Returns 0, or -1 with errno set. */
int loom_mkdir_p(const char *path);

/* Allocation that cannot fail: aborts the tool with a message on OOM. */
void *loom_xmalloc(size_t n);
void *loom_xcalloc(size_t n, size_t size);
void *loom_xrealloc(void *p, size_t n);
char *loom_xstrdup(const char *s);
char *loom_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats FMT's %s, %u, %d, %zu, %lu, %ld and %% (no flags, width or
 * precision) into BUF, CAP bytes, as vsnprintf would; returns the length,
 * or -1 if FMT holds another conversion, a %s is NULL, or the result (and
 * its NUL) does not fit.  The
 * manifest and the rewriter's edits format tens of thousands of numbers
 * and names, where vsnprintf's generality costs more than the rest. */
int loom_vformat(char *buf, size_t cap, const char *fmt, va_list ap);

/* Writes the decimal digits of V into the bytes just before END (at most
 * LOOM_DECIMAL_MAX of them, no NUL) and returns where they start. */
char *loom_decimal(char *end, unsigned long long v);
#define LOOM_DECIMAL_MAX 20

/* Sorts the *N elements of SIZE bytes at BASE by CMP, keeps the first of
 * each run of equal ones and passes the others to DROP (which frees what
 * they own); *N becomes the number kept. */
void loom_sort_unique(void *base, size_t *n, size_t size, int (*cmp)(const void *, const void *),
                      void (*drop)(void *));

/* qsort(3) of the N elements of SIZE bytes at BASE, which may be NULL
 * when N is 0 (qsort's base may not: an empty list never allocated). */
static inline void loom_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

/* bsearch(3) for KEY among the N sorted elements of SIZE bytes at BASE,
 * which may be NULL when N is 0 (as loom_sort). */
static inline void *loom_bsearch(const void *key, const void *base, size_t n, size_t size,
                                 int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, base, n, size, cmp) : NULL;
}

/* Compares the strings two `char *` elements point to, for loom_sort and
 * loom_bsearch over arrays of strings (a key is the address of one). */
int loom_cmp_str(const void *a, const void *b);

/* Growable array helpers: ensure room for one more element of SIZE bytes. */
void loom_grow(void **items, size_t *cap, size_t count, size_t size);
#define LOOM_PUSH(arr, n, cap) \
	(loom_grow((void **)&(arr), &(cap), (n), sizeof *(arr)), &(arr)[(n)++])

#endif
