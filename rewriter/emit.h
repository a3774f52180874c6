#ifndef LOOM_REWRITE_EMIT_H
#define LOOM_REWRITE_EMIT_H

#include "manifest.h"
#include "plan.h"

/* How a file is written. */
struct rw_emit_opts {
	const char *include;  /* the path of loom.h relative to the file */
	bool runtime_home;    /* the file compiles the runtime; else it is
	                       * preceded by `#define LOOM_RT_CLIENT 1` and uses
	                       * the runtime another file compiles */
	bool hybrid;          /* functions that can be outlined keep their original
	                       * body as the fast path and get a slow copy;
	                       * otherwise every function's hooks sit inline */
	bool header;          /* a header: every function has an entry switch
	                       * (its callers, in other files, do not switch),
	                       * and slow copies call the fast functions, which
	                       * switch */
};

/* Gives PLAN's hooks their ids (continuing M's, in walk order), records the
 * functions and slots in M under file index FILE, and returns the rewritten
 * text of TEXT (LEN bytes) as OPTS say: the include of the runtime, a
 * `#line 1`, then the original with hooks inserted on the lines they belong
 * to.  The caller frees the result; *OUTLEN gets its length. */
char *rw_emit(const struct rw_plan *plan, const char *text, size_t len, const struct rw_emit_opts *opts,
              struct loom_manifest *m, unsigned file, size_t *outlen);

#endif
