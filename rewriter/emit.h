#ifndef LOOM_REWRITE_EMIT_H
#define LOOM_REWRITE_EMIT_H

#include "manifest.h"
#include "plan.h"

/* Gives PLAN's hooks their ids (continuing M's, in walk order), records the
 * functions and slots in M under file index FILE, and returns the rewritten
 * text of TEXT (LEN bytes, the file BASENAME): INCLUDE (the path of loom.h
 * relative to the file, preceded by `#define LOOM_RT_CLIENT 1` unless
 * RUNTIME_HOME: the file then uses the runtime another file compiles), a
 * `#line 1`, then the original with hooks inserted
 * on the lines they belong to.  HYBRID: functions that can be outlined keep
 * their original body as the fast path and get a slow copy; otherwise every
 * function's hooks sit inline.  The caller frees the result; *OUTLEN gets
 * its length. */
char *rw_emit(const struct rw_plan *plan, const char *text, size_t len, const char *include,
              bool runtime_home, const char *basename, bool hybrid, struct loom_manifest *m, unsigned file,
              size_t *outlen);

#endif
