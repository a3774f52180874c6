/* Execution filters: parse (docs/filters.md), resolve against a manifest,
 * and compile to the runtime's image (rt/loom.h) with the hooks that are
 * unsafe to pause at while the filter is installed or removed. */
#ifndef LOOM_FILTER_H
#define LOOM_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"
#include "util.h"

#define LOOM_WIRE_ONLY
#include "loom.h"

struct loom_loc {
	unsigned line, column;
};

enum loom_event_kind { LOOM_EV_LINE, LOOM_EV_ENTRY, LOOM_EV_EXIT };

struct loom_event {
	enum loom_event_kind kind;
	char *file;     /* LINE: a path suffix */
	unsigned line;  /* LINE */
	char *function; /* ENTRY, EXIT */
	unsigned count; /* {N}, 1 by default */
	struct loom_loc loc;
};

enum loom_region_kind { LOOM_REGION_FUNCTION, LOOM_REGION_LINES, LOOM_REGION_EVENTS };

struct loom_region {
	enum loom_region_kind kind;
	char *function;            /* FUNCTION */
	char *file;                /* LINES */
	unsigned first, last;      /* LINES */
	struct loom_event from, to; /* EVENTS */
	struct loom_loc loc;
	struct loom_loc last_loc;  /* LINES: where the last line is written */
};

enum loom_constraint_kind {
	LOOM_MUTEX,      /* r <> r ...  and  r <> self */
	LOOM_UNILATERAL, /* r <> * */
	LOOM_ORDER,      /* e > e ... */
};

struct loom_constraint {
	enum loom_constraint_kind kind;
	struct loom_region *regions;
	size_t nregions, regions_cap;
	struct loom_event *events;
	size_t nevents, events_cap;
	struct loom_loc loc;
};

struct loom_filter {
	char *name;     /* the spec's path, for error locations */
	char *text;     /* the whole source */
	struct loom_constraint *constraints;
	size_t nconstraints, constraints_cap;
};

/* Parses TEXT (named NAME in errors).  Returns a filter the caller frees with
 * loom_filter_free, or NULL with ERR located at NAME:line:col and saying what
 * was expected. */
struct loom_filter *loom_filter_parse(const char *name, const char *text, struct loom_error *err);
void loom_filter_free(struct loom_filter *f);

/* Reads the filter file PATH ("-": standard input) and parses it as
 * loom_filter_parse does.  Returns the filter, or NULL with ERR located in
 * PATH (cannot read it, NUL bytes, a syntax error). */
struct loom_filter *loom_filter_read(const char *path, struct loom_error *err);

/* The compiled form: ops for the runtime, and every hook inside the
 * filter's dangerous region (DESIGN §5). */
struct loom_compiled {
	struct loom_image_op *ops;
	size_t nops, ops_cap;
	unsigned *danger; /* sorted, unique */
	size_t ndanger, danger_cap;
	unsigned *fns;    /* functions with ops: their slow copies must run, or with
	                   * LOOM_FN_WRAP their fast body wrapped in their entry and exit ops */
	size_t nfns, fns_cap;
	unsigned nlocks, nregions;
	char **warnings;  /* "SPEC:LINE:COL: warning: ..." or "SPEC: warning: FILE:LINE: ...", for loom check */
	size_t nwarnings, warnings_cap;
	/* Why hooks are dangerous (loom_compiled_why), per function of the
	 * manifest: the call through which it was first found inside the
	 * dangerous region, and the function making that call; or, for a
	 * function whose calls are dangerous themselves, why (enum loom_why). */
	const struct loom_call **via;
	unsigned *via_fn;
	unsigned char *root;
};

/* Why a function's calls put what they reach in the dangerous region. */
enum loom_why {
	LOOM_WHY_NONE,
	LOOM_WHY_REGION,     /* they are inside one of the filter's regions */
	LOOM_WHY_FLOW,       /* a statement on an event region's way */
	LOOM_WHY_FAST_FRAME, /* its fast frame goes on to code that must run slow */
};

/* How hook HOOK of M came to be in C's dangerous region, for a person: the
 * chain of calls from a function of the filter's region (or a fast frame
 * that would skip the filter's ops) down to the hook's function, e.g.
 * "bridge_run (in the region) -> bridge_destroy (vswitchd/bridge.c:3236) ->
 * ...", or NULL when HOOK's own function is such a function or HOOK is not
 * dangerous.  Malloc'd. */
char *loom_compiled_why(const struct loom_compiled *c, const struct loom_manifest *m, unsigned hook);

/* Resolves F against M and compiles it.  Returns 0, or -1 with ERR located
 * in the spec (unknown function with the closest names, a line where no
 * statement starts with the nearest ones, an ambiguous file, ...). */
int loom_filter_compile(const struct loom_filter *f, const struct loom_manifest *m,
                        struct loom_compiled *out, struct loom_error *err);
void loom_compiled_free(struct loom_compiled *c);

/* What the runtime does for an op of KIND (enum loom_op_kind): "lock",
 * "unlock", "lock (range)", "unlock (range)", "wait", "post", "mark" or
 * "post (marked)"; "?" for anything else. */
const char *loom_op_name(unsigned kind);

/* Writes the image for C into a new sealed memfd and returns it, or -1 with
 * errno set. */
int loom_image_memfd(const struct loom_filter *f, const struct loom_manifest *m,
                     const struct loom_compiled *c, unsigned timeout_ms);

#endif
