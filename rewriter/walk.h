#ifndef LOOM_REWRITE_WALK_H
#define LOOM_REWRITE_WALK_H

#include <clang-c/Index.h>

#include "plan.h"

/* A file of the tree that a translation unit uses: its C file, or a header
 * of the tree it includes (whose functions are walked as well). */
struct rw_source {
	CXFile file;
	const char *text;       /* its content, LEN bytes, as parsed */
	size_t len;
	struct rw_plan *plan;   /* zero-initialised by the caller, freed with rw_plan_free */
};

/* Walks every function defined in one of the N files SRC of TU (SRC[0]:
 * the C file) and fills each file's plan; the functions whose address
 * the unit takes, and the unit's conversions of function pointers, go into
 * SRC[0]'s.  With FIND_PURE, it marks the functions that touch no memory
 * but their own (rw_func.pure; loom-rewrite --skip-pure).  Never fails:
 * what it cannot hook it records as skipped. */
void rw_walk(CXTranslationUnit tu, const struct rw_source *src, size_t n, bool find_pure);

/* Sorts the *N entries at T by name, then type (unknown first), and drops
 * (and frees) repeats. */
void rw_taken_unique(struct rw_taken *t, size_t *n);

#endif
