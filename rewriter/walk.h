#ifndef LOOM_REWRITE_WALK_H
#define LOOM_REWRITE_WALK_H

#include <clang-c/Index.h>

#include "plan.h"

/* Walks every function defined in TU's main file, whose source is TEXT (LEN
 * bytes), and fills PLAN (zero-initialised by the caller, freed with
 * rw_plan_free).  Never fails: what it cannot hook it records as skipped. */
void rw_walk(CXTranslationUnit tu, const char *text, size_t len, struct rw_plan *plan);

#endif
