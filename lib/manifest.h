/* The manifest model: what loom-rewrite instrumented, where.  One piece of
 * code reads and writes loom-manifest.json for both loom-rewrite and loom;
 * docs/manifest.md documents every field. */
#ifndef LOOM_MANIFEST_H
#define LOOM_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define LOOM_MANIFEST_VERSION 5
#define LOOM_MANIFEST_NAME "loom-manifest.json"

/* Every hook has one id, unique across the tree, starting at 1. */
enum loom_slot_kind {
	LOOM_KIND_ENTRY,    /* slot at function entry (after its cond_break) */
	LOOM_KIND_STMT,     /* slot before a statement that makes no call */
	LOOM_KIND_CALL,     /* slot before a statement that makes a call */
	LOOM_KIND_EXIT,     /* slot at a function exit, after the value is computed */
	LOOM_KIND_BREAK,    /* cond_break at function entry */
	LOOM_KIND_BACKEDGE, /* cond_break at the start of a loop body */
	LOOM_KIND_BLOCKING, /* marker around a statement calling a blocking function */
	LOOM_KIND_COUNT
};

/* A slot before a statement, which a filter's FILE:LINE names. */
static inline bool loom_kind_is_statement(enum loom_slot_kind kind)
{
	return kind == LOOM_KIND_STMT || kind == LOOM_KIND_CALL;
}

/* A cond_break: a pause point for evacuation. */
static inline bool loom_kind_is_break(enum loom_slot_kind kind)
{
	return kind == LOOM_KIND_BREAK || kind == LOOM_KIND_BACKEDGE;
}

/* Which copy of its function a hook is in (docs/design.md, "Hybrid").
 * Hooks of the slow copy also run in the loop twins of the fast path. */
enum loom_copy {
	LOOM_COPY_SLOW,   /* the outlined slow copy only */
	LOOM_COPY_BOTH,   /* both copies (blocking markers) */
	LOOM_COPY_INLINE, /* the function's one body: it has no slow copy */
	LOOM_COPY_TWIN,   /* a loop twin only (the exit hook after its loop) */
	LOOM_COPY_COUNT
};

struct loom_slot {
	unsigned id;
	enum loom_copy copy;
	enum loom_slot_kind kind;
	unsigned file;     /* index into files */
	unsigned line, column;
	unsigned function; /* index into functions */
	char *callee;      /* BLOCKING: the blocking function called; else NULL */
};

struct loom_call {
	char *callee; /* NULL: an indirect call */
	char *type;   /* an indirect call: the function type it calls through
	               * (canonical, e.g. "int (void *)"), or NULL if unknown */
	char *taken;  /* an indirect call that is a function's address passed
	               * to a function that may call it then (qsort,
	               * pthread_once...): that function; NULL otherwise */
	char *passed_to; /* an indirect call that is a function pointer passed to
	                  * a named function that is not a system one (with
	                  * taken: a function's address; without: a pointer of
	                  * the call's type): that function; if the manifest
	                  * holds it, its own calls say what it calls */
	unsigned line, column;
	unsigned slot; /* the slot of the statement making it (0: none) */
};

/* The function CALL may reach by name: its callee, or the function whose
 * address it passes; NULL for a call through a pointer, which may reach
 * the functions of its type (cli/indirect.h). */
static inline const char *loom_call_target(const struct loom_call *call)
{
	return call->callee ? call->callee : call->taken;
}

/* Control flow: the hook TO may run next after FROM, in the same call of
 * the function. */
struct loom_edge {
	unsigned from, to;
};

/* A loop of a function with a slow copy: whether it has a slow twin in the
 * fast path, and the exit hook that runs when the twin loop ends. */
struct loom_loop {
	unsigned line, end_line;
	unsigned brk;       /* its cond_break (0: none, e.g. it comes from a macro) */
	unsigned twin_exit; /* 0: no twin */
};

struct loom_function {
	char *name;
	unsigned file;
	unsigned line, end_line;
	bool is_static;
	bool address_taken;
	char **taken_as;       /* the function types its address is taken as
	                        * (canonical, as a call's type), sorted; none:
	                        * unknown, so any call through a pointer may
	                        * reach it (see loom_manifest.conversions) */
	size_t ntaken_as, taken_as_cap;
	bool slow_copy;        /* has an outlined slow copy */
	bool pure;             /* touches no memory but its own parameters and
	                        * locals: it has no hook (its entry, break and
	                        * exit ids fire never), and no filter may name it */
	char *inline_reason;   /* hybrid, without slow copy: why its hooks stay
	                        * inline, as loom-rewrite says it (or NULL) */
	bool entry_switch;     /* its fast path switches to it at entry; without a
	                        * switch (static, address not taken) its callers
	                        * switch instead and call the slow copy */
	bool fast_entry;       /* it also has an unchecked entry, F__fast: its
	                        * original body, which the fast bodies of the
	                        * tree's functions call, so they switch for it
	                        * (F itself switches for other callers) */
	bool wraps;            /* its slow copy can run its fast body between the
	                        * locks of its entry slot and the unlocks of its exits
	                        * (rt/loom.h LOOM_SLOW_FUNCTION_ENTRY_WRAP) */
	unsigned entry, brk;   /* ids of the entry slot and the entry cond_break */
	unsigned *exits;       /* ids of the exit slots; the first is falling off the end */
	size_t nexits, exits_cap;
	struct loom_call *calls;
	size_t ncalls, calls_cap;
	struct loom_loop *loops;
	size_t nloops, loops_cap;
	struct loom_edge *edges; /* sorted, unique */
	size_t nedges, edges_cap;
};

/* A statement left without a hook: it starts inside a macro expansion (the
 * slot before the expansion, if any, covers it), or its slot's braces would
 * straddle an #if group (docs/design.md, "Conditional groups"). */
struct loom_skip {
	unsigned file, line, column;
	unsigned function;
};

/* A value of function type FROM may become one of type TO: a cast, an
 * implicit conversion, a union or a variadic argument.  Either end may be
 * LOOM_OPAQUE_TYPE: a pointer to something else, or an integer that can
 * hold an address (void *, uintptr_t), whatever type it came from or
 * becomes. */
struct loom_conversion {
	char *from, *to;
};

#define LOOM_OPAQUE_TYPE "*"

/* Sorts the *N conversions at C by FROM, then TO, and drops (and frees)
 * repeats. */
void loom_conversions_unique(struct loom_conversion *c, size_t *n);

struct loom_file {
	char *path;        /* relative to the source root, '/'-separated */
	char hash[17];     /* FNV-1a 64 of the original content, hex */
	unsigned lines;
	bool instrumented; /* false: copied unchanged (parse failure, no functions) */
};

struct loom_manifest {
	char id[17];       /* FNV-1a 64 of the manifest without its id, hex */
	char *tool;
	char *root;
	struct loom_file *files;
	size_t nfiles, files_cap;
	struct loom_function *functions;
	size_t nfunctions, functions_cap;
	struct loom_slot *slots; /* slots[i].id == i + 1 */
	size_t nslots, slots_cap;
	struct loom_skip *skips;
	size_t nskips, skips_cap;
	/* Where the program converts a function pointer to another type, so
	 * that a call through one type may reach a function taken as another
	 * (docs/manifest.md).  Without them (an older manifest) no function
	 * counts as typed: any call through a pointer reaches every
	 * address-taken function. */
	bool typed;
	struct loom_conversion *conversions;
	size_t nconversions, conversions_cap;
};

const char *loom_kind_name(enum loom_slot_kind kind);
const char *loom_copy_name(enum loom_copy copy);

/* Returns a new empty manifest; free with loom_manifest_free(). */
struct loom_manifest *loom_manifest_new(const char *tool, const char *root);
void loom_manifest_free(struct loom_manifest *m);

/* Appends a slot of KIND and returns its id (ids are dense, in call order). */
unsigned loom_manifest_add_slot(struct loom_manifest *m, enum loom_slot_kind kind,
                                unsigned file, unsigned line, unsigned column,
                                unsigned function);

/* Computes M->id and writes the manifest to PATH (deterministic: same model,
 * same bytes).  Returns 0, or -1 with ERR set. */
int loom_manifest_save(struct loom_manifest *m, const char *path,
                       struct loom_error *err);

/* Reads and validates the manifest at PATH: format, version, every field's
 * type and range, and that the id matches the content.  Returns a manifest
 * the caller frees, or NULL with ERR located at PATH. */
struct loom_manifest *loom_manifest_load(const char *path, struct loom_error *err);

/* The same for the LEN bytes at TEXT (not copied, not changed, no NUL
 * needed), read from PATH: errors are located there. */
struct loom_manifest *loom_manifest_parse(const char *text, size_t len, const char *path,
                                         struct loom_error *err);

/* Loads the manifest ARG names: the manifest file itself, or the rewritten
 * tree that holds it (the directory a reviewer has at hand).  As
 * loom_manifest_load; a directory without a manifest is an error saying
 * so. */
struct loom_manifest *loom_manifest_open(const char *arg, struct loom_error *err);

/* DIR/NAME, without doubling the '/' of a DIR given as "out/" (malloc'd). */
char *loom_join_path(const char *dir, const char *name);

/* The edges of F that leave hook FROM: a pointer to the first and their
 * number in *N (0, and any pointer, when there are none).  F's edges are
 * sorted (the loader checks), so this is a binary search. */
const struct loom_edge *loom_function_edges_from(const struct loom_function *f, unsigned from, size_t *n);

/* Whether the fast bodies of G's callers may run G's fast body without a
 * switch, so that they must switch for G (run slow) while G must: G has a
 * slow copy and no entry switch, or a fast entry. */
bool loom_callers_switch(const struct loom_function *g);

/* Whether CALL, made by a function of file FILE, may call G's fast body
 * without a switch, G being a function whose callers switch for it
 * (loom_callers_switch; docs/design.md): the callee is named as G is, and
 * G has a fast entry (any file may call it), is defined in FILE, or is a
 * static function of a header, a file not named *.c (the rewriter leaves
 * the switch out of a header's function only when every file including the
 * header switches for it).  By name alone, so a call of another function of
 * that name counts too: that only makes more functions run slow. */
bool loom_call_may_reach(const struct loom_manifest *m, unsigned file, const struct loom_call *call,
                         const struct loom_function *g);

/* Looks up a slot by id; NULL when out of range. */
const struct loom_slot *loom_manifest_slot(const struct loom_manifest *m, unsigned id);

/* The index in M's files of the file whose path is exactly PATH, or
 * M->nfiles when there is none (or PATH is NULL). */
size_t loom_manifest_file_index(const struct loom_manifest *m, const char *path);

/* Finds the one file of M that PATH names: its whole path, or a suffix of
 * it that starts after a '/' ("js.c" and "src/js.c" name "src/js.c", "s.c"
 * does not; a PATH starting with '/' may end any path).  Returns 0 with
 * *OUT the file's index, or -1 with ERR set at WHERE:LINE:COLUMN (WHERE
 * NULL: no location): an ambiguous PATH lists the files it names, an
 * unknown one the closest paths, or the first few when none is close. */
int loom_manifest_find_file(const struct loom_manifest *m, const char *path, unsigned *out,
                            struct loom_error *err, const char *where, unsigned line,
                            unsigned column);

#endif
