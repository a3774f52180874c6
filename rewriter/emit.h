#ifndef LOOM_REWRITE_EMIT_H
#define LOOM_REWRITE_EMIT_H

#include "manifest.h"
#include "plan.h"

/* A static function of one of the tree's headers whose callers switch for
 * it in every file that includes the header (rewriter/main.c decides which):
 * it has no entry switch, and a slow copy or loop twin calls its slow copy
 * wherever a call of it is spelled after offset AFTER of the file being
 * written (where that file includes the header).  OTHER_FILE: written in a
 * header, a function of another header (whose every call there was found
 * to come after its definition in each unit). */
struct rw_slow_callee {
	const char *name;
	unsigned after;
	bool other_file;
};

/* A function of the tree with a fast entry (rewriter/main.c decides which):
 * a small non-static function whose original body becomes NAME__fast, with
 * no switch, called by the fast bodies of the tree's functions, which switch
 * for it; NAME itself switches and calls NAME__fast, for every other caller
 * and for function pointers. */
struct rw_fast_entry {
	const char *name;
};

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
	                       * switch, except those of SLOW_CALLEES */
	const struct rw_slow_callee *slow_callees;
	size_t nslow_callees;
	/* Functions with a fast entry that this file defines or calls by it
	 * (never a header's). */
	const struct rw_fast_entry *fast_entries;
	size_t nfast_entries;
};

/* Does CALL, made by CALLER (a function of PLAN), call its callee's slow
 * copy from CALLER's slow copy and loop twins, when PLAN's file is written
 * with OPTS (NULL: no rw_slow_callee)?  Only a direct call spelled in the
 * file, made by a function that has a slow copy, of a function of the same
 * file whose slow copy is declared before the call, or of a SLOW_CALLEES
 * function spelled after its AFTER. */
bool rw_calls_slow_copy(const struct rw_plan *plan, const struct rw_func *caller, const struct rw_call *call,
                        const struct rw_emit_opts *opts);

/* Does CALL, made by CALLER (a function of PLAN, a C file, whose hooks stay
 * inline: it has no slow copy), go to its callee's F__switch, which a
 * header writes after F's slow copy when F has no switch itself: F's
 * switch, for the callers that cannot switch for F?  Only a direct call,
 * spelled in the file (renamed) or written by a macro that `#define F
 * F__switch` around CALLER can rename (rw_call.macro_name), of a
 * SLOW_CALLEES function of OPTS (a header's) spelled after its AFTER. */
bool rw_calls_switch_entry(const struct rw_plan *plan, const struct rw_func *caller, const struct rw_call *call,
                           const struct rw_emit_opts *opts);

/* The tree's external functions that cannot run long (main.c
 * find_short_externals): NAMES, sorted. */
struct rw_shorts {
	char **names;
	size_t n;
};

/* Settles which loops of PLAN get a slow twin, knowing the functions of
 * the headers its file includes (OTHERS, as the file sees them) and the
 * tree's external functions that cannot run long (SHORTS, may be NULL): a
 * loop whose calls cannot run long (to static helpers without loops that
 * make calls, such external functions, and brief library functions) gets
 * none, like a loop without a call, and a loop calling a static helper a
 * macro writes (struct rw_helper) counts what the helper calls.  Call
 * before rw_emit, which gives a twin to every loop this leaves without
 * rw_loop.no_twin. */
void rw_settle_twins(struct rw_plan *plan, const struct rw_plan *const *others, size_t nothers,
                     const struct rw_shorts *shorts);

/* Can function FI of PLAN run long, as its file sees the headers it
 * includes (OTHERS) and knowing SHORTS: does one of its loops make a call
 * that can, or does it make such a call itself?  A call through a pointer,
 * to a function outside the tree that is not brief, or to an external
 * function not in SHORTS can; a static function of the file or its headers
 * can if its own loops and calls can (a bounded depth of them). */
bool rw_runs_long(const struct rw_plan *plan, const struct rw_plan *const *others, size_t nothers, size_t fi,
                  const struct rw_shorts *shorts);

/* Gives PLAN's hooks their ids (continuing M's, in walk order), records the
 * functions and slots in M under file index FILE, and returns the rewritten
 * text of TEXT (LEN bytes) as OPTS say: the include of the runtime, a
 * `#line 1`, then the original with hooks inserted on the lines they belong
 * to.  The caller frees the result; *OUTLEN gets its length. */
char *rw_emit(const struct rw_plan *plan, const char *text, size_t len, const struct rw_emit_opts *opts,
              struct loom_manifest *m, unsigned file, size_t *outlen);

#endif
