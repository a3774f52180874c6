/* What the walk found in one C file, before any id is assigned or any text
 * written: the walk (rewriter/walk.c) decides which statements, loops and
 * exits get hooks and where; the emitter (rewriter/emit.c) decides what text
 * a hook is.  Keeping them apart lets the hybrid-instrumentation emitter
 * replace the inline one without touching the walk. */
#ifndef LOOM_REWRITE_PLAN_H
#define LOOM_REWRITE_PLAN_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>

#include "manifest.h"

enum rw_point_kind {
	RW_SLOT,          /* slot before a statement */
	RW_RETURN,        /* slot before a return statement, plus which exit it is */
	RW_BREAK,         /* cond_break at a loop body's start */
	RW_BLOCKING,      /* a statement calling a blocking function: begin .. end */
	RW_BLOCKING_COND, /* the same around an if's or a loop's condition */
};

/* Offsets are byte offsets into the original file.  RANK orders insertions
 * at one offset: openings by ascending rank (outer first), closings by
 * descending rank (inner first), closings before openings. */
struct rw_point {
	enum rw_point_kind kind;
	unsigned off, line, column;
	int rank;
	unsigned end_off;  /* RW_BLOCKING: after the statement's ';';
	                    * RW_BLOCKING_COND: after the condition [off, end_off) */
	char *callee;      /* RW_BLOCKING*: the blocking function */
	unsigned func;     /* index into the plan's functions */
	bool decl;         /* where a declaration may stand: emit the hook as one */
	bool call;         /* RW_SLOT, RW_RETURN: its statement makes a call */
};

/* Control flow between hooks: an edge says the hook TO may be the next to
 * run after FROM in the same call of the function.  A node is a point's
 * index in the plan, or one of these. */
#define RW_NODE_ENTRY   UINT_MAX       /* the function's entry slot */
#define RW_NODE_FALLOFF (UINT_MAX - 1) /* its exit slot for falling off the end */
#define RW_NODE_VIRTUAL 0x80000000u    /* | K: join point K, where no hook runs */

struct rw_edge {
	unsigned from, to;
};

/* Braces around an unbraced if/else/loop/switch body. */
struct rw_wrap {
	unsigned open, close;
	int rank;
	unsigned func;
};

/* Where LOOM_FALLTHROUGH goes: before a case label whose statement is a
 * goto (or a block starting with one) that gets a hook.  gcc does not warn
 * about falling through into a label followed by a goto (`if (c) break;
 * default: goto fail;`), but does
 * once a hook precedes the goto; the attribute says the fall through is
 * meant, as the original's silence did. */
struct rw_fallthrough {
	unsigned off;
	unsigned func;
};

/* A static function whose body a macro writes (Open vSwitch's unaligned.h
 * defines its accessors through GCC_UNALIGNED_ACCESSORS): nothing can be
 * inserted there, so it gets no hook, but what it calls decides whether a
 * loop calling it can run long (emit.c may_run_long). */
struct rw_helper {
	char *name;
	char **callees; /* its calls but brief ones; a NULL entry: indirect */
	size_t ncallees, callees_cap;
};

/* A loop, for the hybrid emitter's slow twin (docs/design.md). */
struct rw_loop {
	unsigned func;
	int depth;             /* of the loop statement */
	bool is_do;
	unsigned start;        /* the loop statement */
	unsigned body_start, body_end; /* the body (braced or not) */
	unsigned end;          /* after the loop, with its ';' for do-while */
	unsigned init_start, init_end; /* for (DECL; ...): the declaration, with its ';' */
	unsigned line, end_line;
	size_t break_point;    /* index of its cond_break in the plan's points */
	unsigned exit_node;    /* the join point where the loop is left */
	/* Why it gets no twin (NULL: it can have one). */
	const char *no_twin;
	bool calls;            /* its body makes a call, other than brief ones */
	bool fixed;            /* a for loop with a fixed number of passes: it
	                        * cannot run long by itself (walk.c fixed_passes) */
	bool endless;          /* no condition, or a constant true one (`for (;;)`,
	                        * `while (1)`): left only by a jump, it is likely
	                        * a thread's main loop, and a call of the tree's
	                        * external function keeps its twin even when that
	                        * function cannot run long (emit.c may_run_long) */
};

struct rw_call {
	char *callee;      /* NULL: indirect */
	char *type;        /* indirect: the function type called through, or NULL */
	char *taken;       /* the function whose address is passed here, as an
	                    * argument, to a function that may call it then (then
	                    * callee is NULL) */
	char *passed_to;   /* with taken: that function, if named and not a
	                    * system one (which the manifest may hold) */
	unsigned line, column;
	unsigned off;      /* where the call starts */
	size_t point;      /* the slot of the statement making it (SIZE_MAX: none) */
	unsigned name_off; /* direct call spelled in this file: offset of the callee's
	                    * name (to call its slow copy); else UINT_MAX */
	bool macro_name;   /* direct call whose callee's name a macro writes, which
	                    * `#define NAME NAME__slow` around the caller's copies
	                    * (or NAME__fast around its fast body) can rename:
	                    * NAME is no macro of the unit, and in the caller's
	                    * body every NAME is a call's callee */
	unsigned decl_off; /* direct call: where the callee's declaration it sees is,
	                    * the offset of one at file scope in this file, 0 in a
	                    * header of the tree, UINT_MAX elsewhere, at block scope,
	                    * static (or an indirect call) */
	bool brief;        /* to a system function that cannot keep a thread
	                    * (loom_is_brief): no reason for a loop twin */
	bool in_group;     /* inside a conditional group the body opens (or
	                    * turns): another compile of the file may not make
	                    * it, so it does not call a fast entry, whose weak
	                    * fallback, declared above the function, would then
	                    * name a function that compile may not link
	                    * (binutils' libctf-nobfd: ctf-link.c's ctf_open) */
	bool defined_above; /* direct call of a function defined in another file
	                     * of the tree (a header), whose definition the
	                     * unit has before the caller's: its slow copy is
	                     * declared there too (main.c mark_calls) */
};

struct rw_func {
	char *name;
	bool is_static;
	unsigned line, end_line, column;
	unsigned decl_start; /* offset where the definition starts */
	unsigned name_off;   /* offset of the function's name, UINT_MAX if not spelled here */
	/* The length of the name's text there: the name's, or, with
	 * NAME_MACRO, the macro invocation's that writes it (bfd's
	 * `NAME(aout,swap_exec_header_in)`), whose slow copy is then
	 * LOOM_CAT(invocation, __slow) (rt/loom.h), right in each unit that
	 * compiles the text under other macros. */
	unsigned name_len;
	bool name_macro;
	unsigned body_open;  /* offset just after the body's '{' */
	unsigned body_end;   /* offset just after the body's '}' */
	unsigned body_line;  /* line of the body's '{' */
	unsigned end_column; /* column of the body's '}' */
	char **params;       /* parameter names, in order */
	size_t nparams;
	bool returns_void;
	bool no_prototype;   /* K&R definition */
	/* A K&R definition with a prototype above that F__slow cannot copy
	 * (no proto_end): F__slow is declared `__typeof__(F)`. */
	bool slow_typeof;
	/* A K&R definition: another declaration below it (or in a block)
	 * keeps it inline. */
	bool knr_redeclared_check;
	/* With hoists: where in its body libclang places cursors (walk.c
	 * renamable). */
	unsigned *cursor_at;
	size_t ncursor_at, cursor_at_cap;
	bool noreturn;
	/* It touches no memory but its own parameters and locals and calls
	 * only such functions (walk.c pure_function): no race can involve it,
	 * so it gets no hook, no switch and no slow copy at all. */
	bool pure;
	/* Variadic: F__slow is declared as F is, and its switch passes a
	 * va_list's address as its one variable argument (rt/loom.h,
	 * LOOM_SWITCH_VARIADIC): callers never call F__slow themselves.  The
	 * offsets of the va_start (or __builtin_va_start) spelled in the body,
	 * every one it has, which its slow copy spells LOOM_VA_START. */
	bool variadic;
	unsigned *va_starts;
	size_t nva_starts, va_starts_cap;
	/* Its static locals, with a slow copy: each declaration (its text
	 * [FROM, TO) from LINE on, one static variable NAME) moves to file
	 * scope, above the function, under `#line`, so that both copies name
	 * one object.  Only when every static of the function can move
	 * (walk.c, hoistable): else its reason is "static local variables". */
	struct rw_hoist {
		unsigned from, to, line;
		char *name;
		unsigned name_at;  /* where its declarator spells NAME */
		/* Where the body refers to it, each spelling NAME in this file
		 * (NULL with nrefs 0 when one does not: a macro's text). */
		unsigned *refs;
		size_t nrefs;
		bool spelled;      /* every reference is in refs */
		/* Renamed NAME RENAME at file scope, when another declaration
		 * keeps NAME from moving as it is (walk.c moves_alone), or
		 * NULL. */
		char *rename;
		/* Every cursor of the function named NAME is it or refers to
		 * it (walk.c macro_renamable). */
		bool only_it;
		/* Renamed by `#define NAME RENAME` from above the moved
		 * declaration to the end of the slow copy, for references in
		 * macro arguments (Open vSwitch's `VLOG_WARN_RL(&rl, ...)`),
		 * rather than in the text. */
		bool by_macro;
	} *hoists;
	size_t nhoists, hoists_cap;
	bool declared_above; /* its first declaration is an earlier one at file scope */
	/* With declared_above, when that declaration is in this file, outside
	 * macros, declares F alone and has no attribute, asm label, tag
	 * definition or directive (walk.c): where it starts, F's name in it, where
	 * it ends, and the offset just after its ';' (where F__slow is declared
	 * for the calls below it); else proto_end is UINT_MAX. */
	unsigned proto_start, proto_name, proto_close, proto_end;
	/* In a header, when the definition is inside conditional groups that
	 * begin after the prototype: their directive lines down to the
	 * definition's branch, one per line, and how many groups (walk.c
	 * enclosing_groups); else NULL and 0. */
	char *proto_groups;
	unsigned proto_nested;
	/* In a header, where the innermost conditional group that holds the
	 * definition ends: just after its #endif line (walk.c group_end), or
	 * 0.  A unit that takes another branch of it (a file compiled for
	 * another instruction set: Open vSwitch's hash.h under -msse4.2)
	 * does not compile the slow copy; the written header says
	 * `#define F__slow F` there, after the group, so that the calls of
	 * F__slow that function and the header's other functions make there go
	 * to its F, and F needs no switch for that unit (main.c mark_view). */
	unsigned group_end;
	bool proto_static;   /* that declaration says `static` */
	bool name_in_macro;  /* a macro in its body writes __func__ or the like (assert) */
	/* Line directives above the function: its presumed line is LINE +
	 * LINE_DELTA, in file LINE_FILE if one renamed the file (else NULL).
	 * For the `#line` of its copies. */
	int line_delta;
	char *line_file;
	/* Why the function cannot get an outlined slow copy (NULL: it can):
	 * its hooks then sit inline in its one body. */
	char *macro_resets;  /* for a body that #defines or #undefs macros: the
	                      * directives that put them back as they were where
	                      * the function starts, for its slow copy; or NULL */
	const char *inline_reason;
	struct rw_call *calls;
	size_t ncalls, calls_cap;
	struct rw_edge *edges; /* in the order found; may repeat */
	size_t nedges, edges_cap;
	unsigned nvirtual;     /* join points */
};

/* A statement the walk could not hook because it starts inside a macro
 * expansion (it is covered by the slot before the expansion, if any). */
struct rw_skip {
	unsigned line, column;
	unsigned func;
};

/* A function whose address is taken, and the function type it is taken
 * as (NULL: unknown, e.g. named by a cleanup attribute, or referred to by
 * code outside the tree); sorted by name, then type, unique. */
struct rw_taken {
	char *name;
	char *type;
};

struct rw_plan {
	struct rw_func *funcs;
	size_t nfuncs, funcs_cap;
	struct rw_point *points; /* in walk order: function by function */
	size_t npoints, points_cap;
	struct rw_wrap *wraps;
	size_t nwraps, wraps_cap;
	struct rw_skip *skips;
	size_t nskips, skips_cap;
	struct rw_loop *loops;
	size_t nloops, loops_cap;
	struct rw_fallthrough *fallthroughs;
	size_t nfallthroughs, fallthroughs_cap;
	struct rw_helper *helpers;  /* static functions macros write */
	size_t nhelpers, helpers_cap;
	struct rw_taken *address_taken; /* functions whose address this file takes */
	size_t naddress_taken, address_taken_cap;
	struct loom_conversion *conversions; /* where this file converts function
	                                      * pointers (lib/manifest.h) */
	size_t nconversions, conversions_cap;
	struct rw_taken *fp_params; /* functions defined here, with the type of
	                             * each function pointer parameter */
	size_t nfp_params, fp_params_cap;
	char **unprototyped;        /* functions called here without prototype */
	size_t nunprototyped, unprototyped_cap;
	size_t *by_name;            /* FUNCS' indices by name, then index
	                             * (rw_plan_named) */
};

void rw_plan_free(struct rw_plan *plan);

/* The functions of PLAN named NAME: *N indices into FUNCS, in plan order,
 * from the returned pointer (rw_walk indexes the plan; the emitter looks
 * up every call's callee by name). */
const size_t *rw_plan_named(const struct rw_plan *plan, const char *name, size_t *n);

/* Can a caller call F's slow copy itself, F__slow with F's arguments?  F
 * has one and is not variadic (whose switch alone can call it). */
static inline bool rw_slow_callable(const struct rw_func *f)
{
	return !f->inline_reason && !f->variadic && !f->pure;
}

#endif
