/* loom.h: the Loom runtime, header only.
 *
 * USAGE
 *   You do not include this file yourself: `loom-rewrite SRC OUT` copies it
 *   to OUT/loom-rt/ and makes the first line of every rewritten C file
 *   include it, followed by `#line 1` so that line numbers are unchanged.
 *   Build OUT with its own build system and flags; nothing else is needed.
 *   At start-up each process opens an update channel (a Unix socket in a
 *   private directory) that `loom push|ls|pop PID` talk to.
 *
 *   The loom CLI includes this file with LOOM_WIRE_ONLY defined, to share
 *   the wire format (below) with the runtime: one definition for both ends.
 *
 * WHY NO SYSTEM HEADERS
 *   This header comes before the program's own `#define _GNU_SOURCE` (or
 *   _POSIX_C_SOURCE) lines; including any libc header here would fix the
 *   feature set before the program chose it and change what it compiles to.
 *   So the runtime uses only compiler builtins and declares the libc
 *   functions it calls under private names bound with __asm__ labels, with
 *   its own copies of the few kernel ABI structures it needs (Linux, LP64).
 *
 * WHY WEAK SYMBOLS
 *   There is no separate runtime object to link (the build files are not
 *   changed), so every translation unit carries the runtime; its globals and
 *   functions are weak, and the linker keeps one copy per program.
 */
#ifndef LOOM_H
#define LOOM_H

#pragma GCC system_header

typedef __UINT8_TYPE__ loom_u8;
typedef __UINT16_TYPE__ loom_u16;
typedef __UINT32_TYPE__ loom_u32;
typedef __INT32_TYPE__ loom_i32;
typedef __UINT64_TYPE__ loom_u64;

/* ======================================================================
 * Wire format: messages on the update channel and the compiled filter
 * image.  All integers are little-endian host order (same machine).
 * ====================================================================== */

#define LOOM_WIRE_MAGIC 0x4d4f4f4cu    /* "LOOM" */
#define LOOM_WIRE_VERSION 2u
#define LOOM_WIRE_MAX_PAYLOAD 65536u   /* socket messages */
#define LOOM_IMAGE_MAGIC 0x49464d4cu   /* "LMFI" */
#define LOOM_IMAGE_VERSION 4u
#define LOOM_IMAGE_MAX_SIZE (16u << 20)
#define LOOM_IMAGE_MAX_LOCKS 1024u
#define LOOM_IMAGE_MAX_REGIONS 4096u
#define LOOM_IMAGE_MAX_TEXT 65536u
#define LOOM_OPS_PER_HOOK_MAX 64u      /* ops that may run at one hook */
#define LOOM_IMAGE_MAX_COUNT 1000000u  /* a{N} > b: the largest N */
#define LOOM_TIMEOUT_MAX_MS 600000u
#define LOOM_ID_LEN 16                 /* manifest id: 16 hex digits */
#define LOOM_REPORT_MAX_THREADS 64u

enum loom_msg_type {
	LOOM_MSG_HELLO = 1,   /* runtime -> CLI on accept: struct loom_hello + manifest path */
	LOOM_MSG_PUSH = 2,    /* CLI -> runtime: no payload; SCM_RIGHTS [eventfd, sealed memfd];
	                       * the CLI signals the eventfd to commit */
	LOOM_MSG_POP = 3,     /* CLI -> runtime: struct loom_pop */
	LOOM_MSG_LIST = 4,    /* CLI -> runtime: no payload */
	LOOM_MSG_REPLY = 5,   /* runtime -> CLI: struct loom_reply + text + thread reports */
	LOOM_MSG_LISTING = 6, /* runtime -> CLI: loom_u32 count, then count loom_listing + text */
};

struct loom_msg_header {
	loom_u32 magic;
	loom_u16 version;
	loom_u16 type;
	loom_u32 length; /* payload bytes that follow */
};

struct loom_hello {
	loom_u32 pid;
	loom_u32 nhooks;
	char manifest_id[LOOM_ID_LEN];
	loom_u32 path_len; /* followed by the manifest path the program was built from */
};

struct loom_pop {
	loom_u32 filter_id;
	loom_u32 timeout_ms;
};

enum loom_status {
	LOOM_OK = 0,
	LOOM_E_MALFORMED = 1, /* the message or image failed validation */
	LOOM_E_MANIFEST = 2,  /* compiled against another manifest */
	LOOM_E_TIMEOUT = 3,   /* evacuation did not finish in time: nothing changed */
	LOOM_E_NOFILTER = 4,  /* pop of an unknown filter id */
	LOOM_E_LIMIT = 5,     /* too many filters or ops at a hook */
	LOOM_E_ABORTED = 6,   /* the CLI went away before committing */
	LOOM_E_DENIED = 7,    /* peer is neither the same user nor root */
};

struct loom_reply {
	loom_i32 status;   /* enum loom_status */
	loom_u32 filter_id;
	loom_u32 text_len; /* followed by text, then nthreads loom_thread_report */
	loom_u32 nthreads;
	/* CLOCK_MONOTONIC when a push or pop took effect: the table replaced,
	 * every thread still stopped (one clock for the machine, unless the
	 * process runs in another time namespace).  The reply comes later, by
	 * as long as the CLI waits for a CPU; 0 when nothing changed. */
	loom_u64 in_force_ns;
};

/* Why a thread held up an evacuation (LOOM_E_TIMEOUT). */
enum loom_thread_state {
	LOOM_THREAD_RUNNING = 1,   /* last seen at hook `hook` (0: never seen) */
	LOOM_THREAD_BLOCKING = 2,  /* in a blocking call at an unsafe site `hook` */
	LOOM_THREAD_LOCKWAIT = 3,  /* waiting for a filter lock at hook `hook` */
};

struct loom_thread_report {
	loom_u32 tid;
	loom_u32 state;
	loom_u32 hook;
};

struct loom_listing {
	loom_u32 filter_id;
	loom_u32 text_len; /* followed by text */
	loom_u64 hits;     /* lock acquisitions */
	loom_u64 waits;    /* acquisitions that had to wait */
	loom_u64 wait_ns;  /* total time waited */
};

/* The compiled filter, in a sealed memfd.  Offsets are from the start of the
 * image and 4-byte aligned; every field is validated by the runtime. */
struct loom_image {
	loom_u32 magic, version, size, nhooks;
	char manifest_id[LOOM_ID_LEN];
	loom_u32 timeout_ms;
	loom_u32 text_off, text_len;   /* the filter's source text, for `loom ls` */
	loom_u32 nlocks, nregions;
	loom_u32 ops_off, nops;        /* struct loom_image_op[nops] */
	loom_u32 danger_off, ndanger;  /* loom_u32[ndanger]: hooks inside the dangerous region */
	loom_u32 fns_off, nfns;        /* loom_u32[nfns]: functions whose slow copy must run,
	                                * or with LOOM_FN_WRAP their fast body between the
	                                * ops of their entry and exit slots */
};
/* In loom_image.fns: every op the filter has in the function is at its entry
 * slot or its exit slots, the same at every exit. */
#define LOOM_FN_WRAP 0x80000000u

enum loom_op_kind {
	LOOM_OP_ENTER = 1,       /* acquire lock (reentrant), e.g. at a function's entry */
	LOOM_OP_LEAVE = 2,       /* release one level of lock, at a function's exits */
	LOOM_OP_ENTER_RANGE = 3, /* acquire lock unless this thread is already inside region */
	LOOM_OP_LEAVE_RANGE = 4, /* release lock if this thread is inside region */
	/* Execution order (a > b): the lock is a semaphore counting the
	 * instances of a that no instance of b has consumed yet. */
	LOOM_OP_WAIT = 5,        /* b: wait for `region` instances of a, consume them */
	LOOM_OP_POST = 6,        /* a happened (at a function's entry or exit) */
	LOOM_OP_MARK = 7,        /* a is about to run (a statement) ... */
	LOOM_OP_POST_MARKED = 8, /* ... and has run, if this thread marked it */
};
/* With LOCK..LEAVE_RANGE: unilateral exclusion (r <> *): while a thread
 * holds the lock, every other thread pauses at its next hook. */
#define LOOM_OP_SOLO 0x100u

struct loom_image_op {
	loom_u32 hook;
	loom_u16 kind;
	loom_u16 lock;   /* < nlocks; a lock is a mutex or, for order ops only, a semaphore */
	loom_u32 region; /* ranges: < nregions; WAIT: how many (1..LOOM_IMAGE_MAX_COUNT); else 0 */
};

#ifndef LOOM_WIRE_ONLY

/* ======================================================================
 * Hooks: what loom-rewrite inserts.  With no filter installed and no update
 * in progress each is one load of read-mostly state and a predicted branch.
 * ====================================================================== */

#if defined(__has_include)
#if __has_include("loom-config.h")
#include "loom-config.h" /* LOOM_MANIFEST_ID, LOOM_MANIFEST_PATH, LOOM_NHOOKS */
#endif
#endif
#ifndef LOOM_MANIFEST_ID
#define LOOM_MANIFEST_ID "0000000000000000"
#define LOOM_MANIFEST_PATH ""
#define LOOM_NHOOKS 0u
#endif
#ifndef LOOM_NFUNCS
#define LOOM_NFUNCS 0u
#endif
#ifndef LOOM_RT_EVERYWHERE
#define LOOM_RT_EVERYWHERE 1
#endif

#define LOOM__FILTERS 1 /* loom__active: some filter is installed */
#define LOOM__UPDATING 2 /* loom__active: an evacuation is in progress */

struct loom__thread;
extern int loom__active;
/* The thread inside a unilateral region (r <> *), 0 if none: the others
 * pause at their next hook, also right after a blocking call. */
extern int loom__solo_tid;
/* Per function (by manifest index): 0 the fast path, LOOM__SLOW the slow
 * copy, LOOM__WRAP the fast body between the ops of the entry and exit slots
 * (see LOOM_SWITCH).  Hidden, so that the check is one PC-relative compare. */
extern __attribute__((visibility("hidden"))) unsigned char loom__slow[LOOM_NFUNCS + 1];
#define LOOM__SLOW 1
#define LOOM__WRAP 2
/* Per hook: whether it calls the runtime at all (an installed filter has
 * ops there, an update is in progress, or a unilateral filter is installed).
 * Hidden, like loom__slow. */
extern __attribute__((visibility("hidden"))) unsigned char loom__ops_at[LOOM_NHOOKS + 1];
int loom__wrap(loom_u32 fid, loom_u32 entry);
void loom__unwrap(loom_u32 exit);
/* Initial-exec (also on the definition below: gcc takes the model from the
 * last declaration): under -fPIC the default model calls __tls_get_addr, and a
 * wrapped switch (LOOM__NOT_WRAPPING) or a blocking marker reading it made
 * gcc keep the arguments in saved registers on the fast path too (bfd's
 * bfd_elf_sym_name: 6 instructions more a call).  A shared object opened by
 * dlopen takes the struct's ~200 bytes from glibc's static TLS surplus. */
extern __thread struct loom__thread loom__self __attribute__((tls_model("initial-exec")));
void loom__slot(loom_u32 id);
void loom__cond_break(loom_u32 id);
void loom__register(void);
void loom__after_blocking(loom_u32 id);
/* In a slow copy: the exit slot, always. */
static __inline__ __attribute__((always_inline, unused)) void loom__exit_call(const loom_u32 *id)
{
	loom__slot(*id);
}

#define LOOM__HOOK_ON(id) __builtin_expect(__atomic_load_n(&loom__ops_at[id], __ATOMIC_RELAXED), 0)

/* The exit guard's cleanup: inline, so that a return costs a flag check, not
 * a call (a weak function cannot be inlined). */
static __inline__ __attribute__((always_inline, unused)) void loom__exit_guard(const loom_u32 *id)
{
	if (LOOM__HOOK_ON(*id))
		loom__slot(*id);
}

struct loom__thread {
	int tid;                  /* 0: not registered yet */
	loom_u32 blocking;        /* hook id of the blocking call in progress, or 0 */
	int parked;               /* waiting for the update engine */
	int released;             /* let go by a stalled evacuation: parks nowhere until it is over */
	loom_u32 last_hook;       /* last hook seen on the slow path */
	const void *wait_lock;    /* filter lock being waited for */
	int in_runtime;           /* in the runtime (or the engine): hooks do nothing */
	loom_u32 wrapping;        /* 1 + the function whose slow copy is wrapping a call */
	loom_u32 inside[8];       /* range regions this thread is inside */
	loom_u32 ninside;
	/* Order events this thread is running (LOOM_OP_MARK): the semaphore,
	 * by address and serial (a freed filter's address may come back). */
	const void *marked[8];
	loom_u32 marked_serial[8];
	loom_u32 nmarked;
	struct loom__thread *next, *prev;
};

/* An event a filter can name by file:line.  With no filter installed and no
 * update in progress, and while filters with no ops here are, a load and a
 * predicted branch. */
#define LOOM_SLOT(id) \
	do { if (LOOM__HOOK_ON(id)) loom__slot(id); } while (0)

/* A pause point for evacuation: function entry and loop body start.  It
 * may carry ops too (a loop's back edge leaves a line range). */
#define LOOM_COND_BREAK(id) \
	do { if (LOOM__HOOK_ON(id)) loom__cond_break(id); } while (0)

/* The same hooks as declarations, for where a declaration may follow: at
 * the start of a block and before a declaration.  A statement there would
 * add a -Wdeclaration-after-statement warning to C90-style code.  The names
 * are unique because ids are. */
#define LOOM__DECL_HOOK(name, expr) __attribute__((unused)) const char name = (char)((expr), 0)
#define LOOM_SLOT_D(id) \
	LOOM__DECL_HOOK(loom__s##id, LOOM__HOOK_ON(id) ? loom__slot(id) : (void)0)
#define LOOM_COND_BREAK_D(id) \
	LOOM__DECL_HOOK(loom__c##id, LOOM__HOOK_ON(id) ? loom__cond_break(id) : (void)0)

/* The fast path's only hook: at the entry of a function that has an
 * outlined slow copy, tail-call it while a filter touches the function or an
 * update is in progress, unless its slow copy is wrapping this call
 * (LOOM_SLOW_FUNCTION_ENTRY_WRAP).  A declaration (see above), whose
 * initializer may return through a statement expression. */
#define LOOM_SWITCH_WRAPPED(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid], 0) && LOOM__NOT_WRAPPING(fid)) return call; (char)0; })
#define LOOM_SWITCH_WRAPPED_VOID(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid], 0) && LOOM__NOT_WRAPPING(fid)) { call; return; } (char)0; })
/* Inline, not a call: a call before the tail call would give every such
 * function a stack frame on its fast path.  The wrapped body's own
 * recursive calls go through too, inside the locks already held. */
#define LOOM__NOT_WRAPPING(fid) (loom__self.wrapping != (fid) + 1u)
/* The same for a function whose slow copy does not wrap (manifest: "wraps"
 * false). */
#define LOOM_SWITCH(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid], 0)) return call; (char)0; })
#define LOOM_SWITCH_NORETURN(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid], 0)) { call; __builtin_unreachable(); } (char)0; })
#define LOOM_SWITCH_VOID(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid], 0)) { call; return; } (char)0; })

/* The switch of a variadic function F, whose last named parameter is LAST.
 * Its variable arguments cannot be passed on as such: F starts a va_list,
 * and CALL, F__slow with F's named parameters, passes its address
 * (loom__ap) as F__slow's one variable argument, which keeps F__slow's
 * declaration, attributes (format) and all, the same as F's.  F's va_start
 * calls are LOOM_VA_START in F__slow.  Not a tail call: F ends the list
 * after F__slow returns.  Quiet: the call does not end as F's attributes
 * may ask of its callers (`sentinel`). */
#define LOOM__SWITCH_VARIADIC(fid, last, then) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid], 0)) { \
			__builtin_va_list loom__ap; \
			__builtin_va_start(loom__ap, last); \
			LOOM_QUIET_PUSH then LOOM_QUIET_POP \
		} (char)0; })
#define LOOM_SWITCH_VARIADIC(fid, last, call) LOOM__SWITCH_VARIADIC(fid, last, \
	__typeof__(call) loom__r = call; __builtin_va_end(loom__ap); return loom__r;)
#define LOOM_SWITCH_VARIADIC_VOID(fid, last, call) LOOM__SWITCH_VARIADIC(fid, last, \
	call; __builtin_va_end(loom__ap); return;)
#define LOOM_SWITCH_VARIADIC_NORETURN(fid, last, call) LOOM__SWITCH_VARIADIC(fid, last, \
	call; __builtin_va_end(loom__ap); __builtin_unreachable();)
/* va_start(AP, LAST) in the slow copy of a variadic function: AP becomes a
 * copy of the list its switch started (never read itself), so every
 * va_start of the function starts again at its first variable argument. */
#define LOOM_VA_START(ap, ...) __extension__ ({ \
	__builtin_va_list loom__own; \
	__builtin_va_start(loom__own, __VA_ARGS__); \
	__builtin_va_copy(ap, *__builtin_va_arg(loom__own, __builtin_va_list *)); \
	__builtin_va_end(loom__own); \
	(void)0; })

/* The name of the slow copy of a function whose name a macro invocation
 * writes: the invocation is expanded first, as this unit's macros say. */
#define LOOM_CAT(a, b) LOOM__CAT(a, b)
#define LOOM__CAT(a, b) a##b
/* __func__ in that slow copy, the same way. */
#define LOOM_STR(a) LOOM__STR(a)
#define LOOM__STR(a) #a

/* The function itself, called from its slow copy: through a pointer the
 * compiler cannot follow, so that it does not inline the fast body into the
 * cold slow copy.  (F is not followed by a parenthesis: a function-like
 * macro F stays out.) */
#define LOOM_SELF(f) (*__extension__ ({ \
	__typeof__(&(f)) loom__p = &(f); __asm__("" : "+r"(loom__p)); loom__p; }))

/* Hooks in slow copies and loop twins, which run only while a filter or an
 * update needs them: a plain call, smaller than a check and a call. */
#define LOOM_SLOW_SLOT(id) loom__slot(id)
#define LOOM_SLOW_SLOT_D(id) LOOM__DECL_HOOK(loom__s##id, loom__slot(id))
#define LOOM_SLOW_COND_BREAK(id) loom__cond_break(id)
#define LOOM_SLOW_COND_BREAK_D(id) LOOM__DECL_HOOK(loom__c##id, loom__cond_break(id))
#define LOOM_SLOW_FUNCTION_ENTRY(brk, entry, falloff) \
	__attribute__((cleanup(loom__exit_call), unused)) loom_u32 loom__exit_id = (falloff); \
	LOOM_SLOW_COND_BREAK_D(brk); LOOM_SLOW_SLOT_D(entry)
/* The slow copy of a function with an entry switch.  While the filters'
 * ops in the function are only locks at its entry and unlocks at its exits
 * (`f <> self`: loom__slow is LOOM__WRAP), it takes the locks, calls the
 * function itself (SELF), whose switch lets this call through to its fast
 * body, and releases them: the cost of the mutex a programmer would have
 * written.  Otherwise, or if that changed meanwhile, it is the slow copy. */
#define LOOM_SLOW_FUNCTION_ENTRY_WRAP(brk, entry, falloff, fid, self) \
	__attribute__((unused)) const char loom__wrapped = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid] == LOOM__WRAP, 0) && loom__wrap(fid, entry)) { \
			__typeof__(self) loom__r = self; loom__unwrap(falloff); return loom__r; \
		} (char)0; }); \
	LOOM_SLOW_FUNCTION_ENTRY(brk, entry, falloff)
#define LOOM_SLOW_FUNCTION_ENTRY_WRAP_VOID(brk, entry, falloff, fid, self) \
	__attribute__((unused)) const char loom__wrapped = __extension__ ({ \
		if (__builtin_expect(loom__slow[fid] == LOOM__WRAP, 0) && loom__wrap(fid, entry)) { \
			self; loom__unwrap(falloff); return; \
		} (char)0; }); \
	LOOM_SLOW_FUNCTION_ENTRY(brk, entry, falloff)

/* Before a case label whose statement is a goto that a hook now precedes
 * (rewriter/plan.h, struct rw_fallthrough): gcc does not warn about falling
 * through into a label that a goto follows. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 7
#define LOOM_FALLTHROUGH __attribute__((__fallthrough__));
#else
#define LOOM_FALLTHROUGH
#endif

/* NAME__fast, a fast entry's unchecked body (docs/design.md), for a program
 * that links NAME but not the NAME__fast of NAME's file: that file is not
 * compiled, or it is in a shared library that does not export the new
 * name.  A weak definition that jumps to NAME, whose switch decides; one
 * copy per program (a comdat group), and a strong NAME__fast wins.  After
 * `extern __typeof__(NAME) NAME__fast;` in a file that calls NAME__fast
 * and does not define it: at file scope, or inside a header function's
 * slow copy, which a unit compiles only when it uses the function (a
 * toplevel one there would make every file including the header need
 * NAME).  Once per unit: the assembler skips it where an earlier one
 * defined NAME__fast (a copy of that slow copy, or the file's own). */
#if defined(__ELF__) && defined(__x86_64__)
#define LOOM__JUMP_TO(f) "jmp " #f "@PLT"
#elif defined(__ELF__) && defined(__aarch64__)
#define LOOM__JUMP_TO(f) "b " #f
#endif
#ifdef LOOM__JUMP_TO
#define LOOM_FAST_FALLBACK(f) __asm__( \
	".ifndef " #f "__fast\n\t" \
	".pushsection .text.loom_fallback." #f ",\"axG\",%progbits,loom_fallback." #f ",comdat\n\t" \
	".weak " #f "__fast\n\t.type " #f "__fast,%function\n" #f "__fast:\n\t" \
	LOOM__JUMP_TO(f) "\n\t.size " #f "__fast,.-" #f "__fast\n\t.popsection\n\t.endif");
#else
#define LOOM_FAST_FALLBACK(f)
#endif

/* Before a fast entry's definition, NAME__fast: hidden where the fallbacks
 * above exist, so that NAME's switch can inline its body under -fPIC too
 * (gcc inlines no default-visibility global there: another module may
 * replace it), and calls from the module's other files bind directly.  A
 * call from another module takes that module's fallback, then NAME's
 * switch.  Elsewhere no fallback would catch such a call: no attribute. */
#ifdef LOOM__JUMP_TO
#define LOOM_FAST_ENTRY __attribute__((__visibility__("hidden")))
#else
#define LOOM_FAST_ENTRY
#endif

/* Loop twins (docs/design.md): a fast loop's body starts by jumping into
 * its slow twin while the function must run slow; the twin's body starts by
 * jumping back once it need not.  LOOM_QUIET_PUSH/POP silence the warnings
 * the twin's copy of the body would repeat. */
#define LOOM_BACKEDGE(fid, n) \
	do { if (__builtin_expect(LOOM__SLOW_NOW(fid) == LOOM__SLOW, 0)) goto loom__twin_##n; } while (0)
/* A do loop's: `while ((COND) && LOOM_BACKEDGE_COND(fid, n));`, so that
 * the first pass does not jump (leaving a statement expression by goto is
 * allowed). */
#define LOOM_BACKEDGE_COND(fid, n) __extension__ ({ \
	if (__builtin_expect(LOOM__SLOW_NOW(fid) == LOOM__SLOW, 0)) goto loom__twin_##n; 1; })
#define LOOM_BACKEDGE_BACK(fid, n) \
	do { if (LOOM__SLOW_NOW(fid) != LOOM__SLOW) goto loom__fast_##n; } while (0)
/* Read on every pass: a plain load is hoisted out of a loop that makes no
 * call once the compiler has inlined what it called (a small function's
 * fast entry), and the thread would never see the flag.  The empty asm,
 * which may have changed the byte, runs on every pass and keeps the load
 * after it; unlike an atomic load the compare still reads memory itself
 * (fft: 0.5% fewer instructions). */
#define LOOM__SLOW_NOW(fid) __extension__ ({ __asm__ __volatile__("" : "+m"(loom__slow[fid])); loom__slow[fid]; })
#ifdef __clang__
#define LOOM_QUIET_PUSH \
	_Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Weverything\"")
#define LOOM_QUIET_POP _Pragma("clang diagnostic pop")
#else
/* gcc cannot ignore -Wall as a group: the warnings of -Wall -Wextra for C,
 * the common extra ones (-Wshadow, -Wconversion, -Wpedantic, ...),
 * and -Wpragmas for those an older gcc does not know. */
#define LOOM_QUIET_PUSH \
	_Pragma("GCC diagnostic push") \
	_Pragma("GCC diagnostic ignored \"-Wpragmas\"") \
	LOOM__QUIET("-Wunused-variable") LOOM__QUIET("-Wunused-function") LOOM__QUIET("-Wunused-but-set-variable") \
	LOOM__QUIET("-Wunused-value") LOOM__QUIET("-Wunused-label") LOOM__QUIET("-Wsign-compare") \
	LOOM__QUIET("-Wmaybe-uninitialized") LOOM__QUIET("-Wuninitialized") LOOM__QUIET("-Wparentheses") \
	LOOM__QUIET("-Wempty-body") LOOM__QUIET("-Wimplicit-fallthrough") LOOM__QUIET("-Wtype-limits") \
	LOOM__QUIET("-Wmisleading-indentation") LOOM__QUIET("-Wformat") LOOM__QUIET("-Wformat-extra-args") \
	LOOM__QUIET("-Wformat-zero-length") LOOM__QUIET("-Wformat-overflow") LOOM__QUIET("-Wformat-truncation") \
	LOOM__QUIET("-Wpointer-sign") LOOM__QUIET("-Wsequence-point") LOOM__QUIET("-Wswitch") \
	LOOM__QUIET("-Wchar-subscripts") LOOM__QUIET("-Waddress") LOOM__QUIET("-Wbool-compare") \
	LOOM__QUIET("-Wbool-operation") LOOM__QUIET("-Wint-in-bool-context") LOOM__QUIET("-Wlogical-not-parentheses") \
	LOOM__QUIET("-Wtautological-compare") LOOM__QUIET("-Wstringop-overflow") LOOM__QUIET("-Wstringop-truncation") \
	LOOM__QUIET("-Wrestrict") LOOM__QUIET("-Wnonnull") LOOM__QUIET("-Wdangling-pointer") \
	LOOM__QUIET("-Wenum-compare") LOOM__QUIET("-Wenum-conversion") LOOM__QUIET("-Wshift-overflow") \
	LOOM__QUIET("-Wshift-negative-value") LOOM__QUIET("-Wsizeof-pointer-div") LOOM__QUIET("-Wsizeof-pointer-memaccess") \
	LOOM__QUIET("-Wmemset-transposed-args") LOOM__QUIET("-Wmissing-braces") LOOM__QUIET("-Wmissing-field-initializers") \
	LOOM__QUIET("-Wclobbered") LOOM__QUIET("-Wdangling-else") LOOM__QUIET("-Wmultistatement-macros") LOOM__QUIET("-Warray-bounds") \
	LOOM__QUIET("-Wcast-function-type") LOOM__QUIET("-Wignored-qualifiers") LOOM__QUIET("-Wunused-local-typedefs") \
	LOOM__QUIET("-Wdeclaration-after-statement") LOOM__QUIET("-Wjump-misses-init") \
	LOOM__QUIET("-Wunused-parameter") LOOM__QUIET("-Wattributes") LOOM__QUIET("-Wshadow") \
	LOOM__QUIET("-Wconversion") LOOM__QUIET("-Wsign-conversion") LOOM__QUIET("-Wfloat-conversion") \
	LOOM__QUIET("-Wcast-qual") LOOM__QUIET("-Wcast-align") LOOM__QUIET("-Wfloat-equal") \
	LOOM__QUIET("-Wdouble-promotion") LOOM__QUIET("-Wnull-dereference") LOOM__QUIET("-Wduplicated-cond") \
	LOOM__QUIET("-Wduplicated-branches") LOOM__QUIET("-Wlogical-op") LOOM__QUIET("-Wswitch-enum") \
	LOOM__QUIET("-Wswitch-default") LOOM__QUIET("-Wstrict-overflow") LOOM__QUIET("-Wvla") \
	LOOM__QUIET("-Walloca") LOOM__QUIET("-Wformat-nonliteral") LOOM__QUIET("-Wformat-security") \
	LOOM__QUIET("-Wformat-signedness") LOOM__QUIET("-Wold-style-definition") LOOM__QUIET("-Wstrict-prototypes") \
	LOOM__QUIET("-Wpedantic") LOOM__QUIET("-Wpointer-arith") LOOM__QUIET("-Wbad-function-cast") \
	LOOM__QUIET("-Wunused-result") LOOM__QUIET("-Wdeprecated-declarations") LOOM__QUIET("-Wcomment") \
	LOOM__QUIET("-Wmultichar") LOOM__QUIET("-Woverflow") LOOM__QUIET("-Wdiv-by-zero") \
	LOOM__QUIET("-Wint-conversion") LOOM__QUIET("-Wincompatible-pointer-types") \
	LOOM__QUIET("-Wdiscarded-qualifiers") LOOM__QUIET("-Wreturn-type") LOOM__QUIET("-Wimplicit-int") \
	LOOM__QUIET("-Wimplicit-function-declaration") LOOM__QUIET("-Wunsuffixed-float-constants") \
	LOOM__QUIET("-Wtraditional-conversion") LOOM__QUIET("-Wc90-c99-compat") LOOM__QUIET("-Wc99-c11-compat") \
	LOOM__QUIET("-Wlong-long") LOOM__QUIET("-Wanalyzer-too-complex") LOOM__QUIET("-Wsuggest-attribute=noreturn") \
	LOOM__QUIET("-Wsuggest-attribute=format") LOOM__QUIET("-Wsuggest-attribute=pure") \
	LOOM__QUIET("-Wsuggest-attribute=const") LOOM__QUIET("-Wsuggest-attribute=malloc") \
	LOOM__QUIET("-Wmissing-noreturn") LOOM__QUIET("-Wunreachable-code") LOOM__QUIET("-Winline") \
	LOOM__QUIET("-Wvector-operation-performance") LOOM__QUIET("-Wdisabled-optimization") \
	LOOM__QUIET("-Wreturn-local-addr") LOOM__QUIET("-Wfree-nonheap-object") LOOM__QUIET("-Wuse-after-free") \
	LOOM__QUIET("-Wstringop-overread") LOOM__QUIET("-Warray-parameter") LOOM__QUIET("-Wvla-parameter") \
	LOOM__QUIET("-Wzero-length-bounds") LOOM__QUIET("-Wmismatched-dealloc") LOOM__QUIET("-Winfinite-recursion") \
	LOOM__QUIET("-Waggressive-loop-optimizations") LOOM__QUIET("-Wnonnull-compare") \
	LOOM__QUIET("-Wsizeof-array-div") LOOM__QUIET("-Wsizeof-array-argument") LOOM__QUIET("-Wmemset-elt-size") \
	LOOM__QUIET("-Wint-to-pointer-cast") LOOM__QUIET("-Wpointer-to-int-cast") LOOM__QUIET("-Walloc-zero") \
	LOOM__QUIET("-Wbuiltin-declaration-mismatch") LOOM__QUIET("-Wredundant-decls") LOOM__QUIET("-Wnested-externs")
#define LOOM__QUIET(w) _Pragma(LOOM__STR(GCC diagnostic ignored w))
#define LOOM__STR(x) #x
#define LOOM_QUIET_POP _Pragma("GCC diagnostic pop")
#endif

/* Function entry: an exit guard whose cleanup runs the exit slot after the
 * return value is computed, the entry cond_break and the entry slot.
 * FALLOFF is the exit id used when control falls off the end. */
#define LOOM_FUNCTION_ENTRY(brk, entry, falloff) \
	__attribute__((cleanup(loom__exit_guard), unused)) loom_u32 loom__exit_id = (falloff); \
	LOOM_COND_BREAK_D(brk); LOOM_SLOT_D(entry)

/* Before a return statement: which exit slot the guard reports. */
#define LOOM_RETURN(exit) (loom__exit_id = (exit))

/* Around a statement that calls a blocking function: a thread parked in the
 * kernel at a safe site does not hold up an update, and waits for the update
 * to finish before it runs on.  One expression each for the start and the
 * end, so the statement, declaration and condition forms cost the same. */
#define LOOM__BLOCKING_BEGIN_EXPR(id) \
	((void)((__builtin_expect(!loom__self.tid, 0) ? loom__register() : (void)0), \
		__atomic_store_n(&loom__self.blocking, (id), __ATOMIC_SEQ_CST)))
#define LOOM__BLOCKING_END_EXPR(id) \
	((void)(__atomic_store_n(&loom__self.blocking, 0, __ATOMIC_SEQ_CST), \
		__builtin_expect((__atomic_load_n(&loom__active, __ATOMIC_SEQ_CST) & LOOM__UPDATING) \
		                 || __atomic_load_n(&loom__solo_tid, __ATOMIC_SEQ_CST), 0) \
			? loom__after_blocking(id) : (void)0))
#define LOOM_BLOCKING_BEGIN(id) do { LOOM__BLOCKING_BEGIN_EXPR(id); } while (0)
#define LOOM_BLOCKING_END(id) do { LOOM__BLOCKING_END_EXPR(id); } while (0)
#define LOOM_BLOCKING_BEGIN_D(id) LOOM__DECL_HOOK(loom__bb##id, LOOM__BLOCKING_BEGIN_EXPR(id))
#define LOOM_BLOCKING_END_D(id) LOOM__DECL_HOOK(loom__be##id, LOOM__BLOCKING_END_EXPR(id))

/* Around the condition of an if, while, do-while or for that calls a
 * blocking function (`while (fgets(...))`, the usual server loop):
 *
 *     while (LOOM_BLOCKING_COND(id), (COND) ? LOOM_BLOCKING_COND_END(id, 1)
 *                                          : LOOM_BLOCKING_COND_END(id, 0))
 *
 * A condition is only compared with 0, so its truth as 0 or 1 stands for it
 * whatever its type (pointer, floating, _Bool).  COND stays ordinary text,
 * not a macro argument (it may hold commas, span lines or use __LINE__), and
 * nothing here refers to a static function (a C99 inline definition may not). */
#define LOOM_BLOCKING_COND(id) LOOM__BLOCKING_BEGIN_EXPR(id)
#define LOOM_BLOCKING_COND_END(id, truth) (LOOM__BLOCKING_END_EXPR(id), (truth))

/* The implementation goes into every file that includes this header, except
 * those loom-rewrite marks LOOM_RT_CLIENT (files without main: the program's
 * main file compiles it once) unless loom-config.h says LOOM_RT_EVERYWHERE. */
#if !defined(LOOM_NO_IMPLEMENTATION) && (!defined(LOOM_RT_CLIENT) || LOOM_RT_EVERYWHERE)
/* ======================================================================
 * Implementation.  Private names are loom__*; all definitions are weak.
 * ====================================================================== */

#define LOOM__WEAK __attribute__((weak))
/* The control plane (channel, validation, install, evacuation) runs per
 * push, not per hook: compiled for size, it leaves the program's binary
 * 2 KB smaller. */
#define LOOM__CONTROL __attribute__((weak, cold))
#define LOOM__NULL ((void *)0)
/* The hooks' own path past loom__slot and loom__cond_break: static, so that
 * the compiler can inline it (it cannot inline a weak function). */
#define LOOM__INNER static

/* ---- libc, under private names (see WHY NO SYSTEM HEADERS) ---- */
typedef struct { __attribute__((aligned(16))) unsigned char b[64]; } loom__mutex_t;
typedef struct { __attribute__((aligned(16))) unsigned char b[64]; } loom__cond_t;
struct loom__timespec { long tv_sec, tv_nsec; };
struct loom__sockaddr_un { unsigned short family; char path[108]; };
struct loom__iovec { void *base; unsigned long len; };
struct loom__msghdr {
	void *name; unsigned namelen; struct loom__iovec *iov; unsigned long iovlen;
	void *control; unsigned long controllen; int flags;
};
struct loom__cmsghdr { unsigned long len; int level, type; };
struct loom__pollfd { int fd; short events, revents; };
struct loom__ucred { int pid; unsigned uid, gid; };
struct loom__statx {
	loom_u32 mask, blksize; loom_u64 attributes; loom_u32 nlink, uid, gid;
	loom_u16 mode; unsigned char rest[226];
};
struct loom__dirent64 { loom_u64 ino; long off; unsigned short reclen; unsigned char type; char name[]; };

extern void *loom__c_malloc(unsigned long) __asm__("malloc");
extern void *loom__c_calloc(unsigned long, unsigned long) __asm__("calloc");
extern void loom__c_free(void *) __asm__("free");
extern int *loom__c_errno(void) __asm__("__errno_location");
extern int loom__c_snprintf(char *, unsigned long, const char *, ...) __asm__("snprintf")
	__attribute__((format(printf, 3, 4)));
extern int loom__c_vsnprintf(char *, unsigned long, const char *, __builtin_va_list) __asm__("vsnprintf");
extern char *loom__c_getenv(const char *) __asm__("getenv");
extern int loom__c_getpid(void) __asm__("getpid");
extern int loom__c_gettid(void) __asm__("gettid");
extern unsigned loom__c_geteuid(void) __asm__("geteuid");
extern int loom__c_clock_gettime(int, struct loom__timespec *) __asm__("clock_gettime");
extern int loom__c_mutex_init(loom__mutex_t *, const void *) __asm__("pthread_mutex_init");
extern int loom__c_mutex_lock(loom__mutex_t *) __asm__("pthread_mutex_lock");
extern int loom__c_mutex_unlock(loom__mutex_t *) __asm__("pthread_mutex_unlock");
extern int loom__c_cond_init(loom__cond_t *, const void *) __asm__("pthread_cond_init");
extern int loom__c_cond_wait(loom__cond_t *, loom__mutex_t *) __asm__("pthread_cond_wait");
extern int loom__c_cond_clockwait(loom__cond_t *, loom__mutex_t *, int, const struct loom__timespec *)
	__asm__("pthread_cond_clockwait");
extern int loom__c_cond_broadcast(loom__cond_t *) __asm__("pthread_cond_broadcast");
extern int loom__c_cond_signal(loom__cond_t *) __asm__("pthread_cond_signal");
extern int loom__c_pthread_create(unsigned long *, const void *, void *(*)(void *), void *)
	__asm__("pthread_create");
extern int loom__c_pthread_detach(unsigned long) __asm__("pthread_detach");
extern int loom__c_key_create(unsigned *, void (*)(void *)) __asm__("pthread_key_create");
extern int loom__c_setspecific(unsigned, const void *) __asm__("pthread_setspecific");
extern int loom__c_sigfillset(void *) __asm__("sigfillset");
extern int loom__c_sigmask(int, const void *, void *) __asm__("pthread_sigmask");
extern int loom__c_atfork(void (*)(void), void (*)(void), void (*)(void)) __asm__("pthread_atfork");
extern int loom__c_socket(int, int, int) __asm__("socket");
extern int loom__c_bind(int, const void *, unsigned) __asm__("bind");
extern int loom__c_listen(int, int) __asm__("listen");
extern int loom__c_accept4(int, void *, void *, int) __asm__("accept4");
extern int loom__c_getsockopt(int, int, int, void *, unsigned *) __asm__("getsockopt");
extern int loom__c_setsockopt(int, int, int, const void *, unsigned) __asm__("setsockopt");
extern long loom__c_recvmsg(int, struct loom__msghdr *, int) __asm__("recvmsg");
extern long loom__c_send(int, const void *, unsigned long, int) __asm__("send");
extern long loom__c_read(int, void *, unsigned long) __asm__("read");
extern long loom__c_write(int, const void *, unsigned long) __asm__("write");
extern int loom__c_close(int) __asm__("close");
extern int loom__c_open(const char *, int, ...) __asm__("open");
extern int loom__c_poll(struct loom__pollfd *, unsigned long, int) __asm__("poll");
extern int loom__c_eventfd(unsigned, int) __asm__("eventfd");
extern int loom__c_fcntl(int, int, ...) __asm__("fcntl");
extern long loom__c_lseek(int, long, int) __asm__("lseek");
extern void *loom__c_mmap(void *, unsigned long, int, int, int, long) __asm__("mmap");
extern int loom__c_munmap(void *, unsigned long) __asm__("munmap");
extern int loom__c_mkdir(const char *, unsigned) __asm__("mkdir");
extern int loom__c_chmod(const char *, unsigned) __asm__("chmod");
extern int loom__c_unlink(const char *) __asm__("unlink");
extern long loom__c_readlink(const char *, char *, unsigned long) __asm__("readlink");
extern int loom__c_statx(int, const char *, int, unsigned, struct loom__statx *) __asm__("statx");
extern long loom__c_getdents64(int, void *, unsigned long) __asm__("getdents64");
extern long loom__c_syscall(long, ...) __asm__("syscall");
extern int loom__c_prctl(int, ...) __asm__("prctl");

/* Linux generic ABI values (x86_64, aarch64, riscv64). */
#define LOOM__EINTR 4
#define LOOM__EAGAIN 11
#define LOOM__EEXIST 17
#define LOOM__ETIMEDOUT 110
#define LOOM__CLOCK_MONOTONIC 1
#define LOOM__AF_UNIX 1
#define LOOM__SOCK_STREAM 1
#define LOOM__SOCK_CLOEXEC 02000000
#define LOOM__SOL_SOCKET 1
#define LOOM__SO_PEERCRED 17
#define LOOM__SO_RCVTIMEO 20
#define LOOM__SO_SNDTIMEO 21
#define LOOM__SCM_RIGHTS 1
#define LOOM__MSG_NOSIGNAL 0x4000
#define LOOM__MSG_CTRUNC 0x8
#define LOOM__MSG_CMSG_CLOEXEC 0x40000000
#define LOOM__POLLIN 0x1
#define LOOM__POLLERR 0x8
#define LOOM__POLLHUP 0x10
#define LOOM__POLLNVAL 0x20
#define LOOM__O_RDONLY 0
#define LOOM__O_CLOEXEC 02000000
#define LOOM__EFD_CLOEXEC 02000000
#define LOOM__F_GET_SEALS 1034
#define LOOM__F_SEAL_SHRINK 2
#define LOOM__F_SEAL_GROW 4
#define LOOM__F_SEAL_WRITE 8
#define LOOM__PROT_READ 1
#define LOOM__MAP_PRIVATE 2
#define LOOM__SIG_SETMASK 2
#define LOOM__AT_FDCWD (-100)
#define LOOM__AT_SYMLINK_NOFOLLOW 0x100
#define LOOM__STATX_BASIC 0x7ffu
#define LOOM__S_IFMT 0170000
#define LOOM__S_IFDIR 0040000

/* ---- process-wide state (one copy per program: weak) ---- */

/* LOOM__FILTERS | LOOM__UPDATING; read by every hook. */
LOOM__WEAK int loom__active;
LOOM__WEAK int loom__solo_tid;
LOOM__WEAK __thread struct loom__thread loom__self __attribute__((tls_model("initial-exec")));
LOOM__WEAK const char loom__manifest_id[LOOM_ID_LEN + 1] = LOOM_MANIFEST_ID;
LOOM__WEAK const char loom__manifest_path[] = LOOM_MANIFEST_PATH;
LOOM__WEAK const loom_u32 loom__nhooks = LOOM_NHOOKS;
/* Written by the engine only: set whole when an update starts, and
 * recomputed (loom__set_ops_at) when it ends. */
LOOM__WEAK __attribute__((visibility("hidden"))) unsigned char loom__ops_at[LOOM_NHOOKS + 1];
LOOM__WEAK const loom_u32 loom__nfuncs = LOOM_NFUNCS;
LOOM__WEAK __attribute__((visibility("hidden"))) unsigned char loom__slow[LOOM_NFUNCS + 1];

/* A filter's mutual-exclusion lock is its OWNER word, taken with a
 * compare-and-swap (the cost of the mutex a programmer would have written),
 * DEPTH for re-entry; waiters sleep on C under M.  The unilateral lock
 * (loom__rt.solo) and the semaphores hold M to change their state. */
struct __attribute__((aligned(64))) loom__lock {
	/* What a region's entry and exit touch, in one cache line (the
	 * struct is line-aligned). */
	int owner;       /* tid, 0 when free; only the holder writes its own tid */
	loom_u32 depth;
	/* Written by the holder (or under M), read by `loom ls` without M. */
	loom_u64 hits, waits, wait_ns;
	int solo;          /* unilateral: its holder runs alone */
	int sem;           /* a semaphore (order ops) */
	loom__mutex_t m;
	loom__cond_t c;
	/* A semaphore's state: */
	loom_u32 serial;   /* unique per semaphore installed */
	loom_u64 count;    /* posts not consumed yet */
	loom_u32 nwaiting; /* threads waiting (loom__sem_wait, loom__acquire) */
	int gone;          /* its filter was removed: waiters leave */
};

struct loom__op {
	loom_u16 kind;
	struct loom__lock *lock;
	loom_u32 region; /* process-wide region key (ranges); how many (WAIT) */
};

struct loom__filter {
	loom_u32 id;
	char *text;
	loom_u32 nlocks;
	struct loom__lock *locks; /* in LOCKS_MEM */
	void *locks_mem;
	loom_u32 region_base;
	struct loom_image_op *ops;
	loom_u32 nops;
	loom_u32 *danger;
	loom_u32 ndanger;
	loom_u32 *fns;
	loom_u32 nfns;
	struct loom__filter *next;
};

/* Ops by hook, in CSR form: ops[start[h] .. start[h+1]).  Replaced whole at
 * each install, while every thread is evacuated, so hooks read it without
 * locks. */
struct loom__table {
	loom_u32 *start;
	struct loom__op *ops;
};

struct loom__rt {
	int started, pid, engine_tid, listen_fd, wake_fd;
	unsigned tls_key;
	loom__mutex_t lock;      /* registry, filters, evacuation state */
	loom__cond_t engine_cv;  /* a thread parked or changed state */
	loom__cond_t resume_cv;  /* an evacuation ended */
	loom_u64 generation;     /* bumped at the end of every evacuation */
	loom_u64 unparks;        /* bumped when an evacuation lets its parked threads go on */
	struct loom__thread *threads;
	struct loom__filter *filters;
	struct loom__table *table;
	unsigned char *armed;    /* per hook: safe during the current evacuation */
	const struct loom__filter *removing; /* its locks do not count as safe waits */
	loom_u32 next_filter_id, next_region, next_serial;
	/* Held (reentrantly) by the thread inside a unilateral region; the
	 * others wait for it at their hooks. */
	struct loom__lock solo;
	int force_slow;          /* LOOM_FORCE_SLOW: every function runs its slow copy */
	char sock_path[108];
};
LOOM__WEAK struct loom__rt loom__rt;

/* ---- small helpers ---- */

LOOM__WEAK loom_u64 loom__now_ns(void)
{
	struct loom__timespec ts;

	loom__c_clock_gettime(LOOM__CLOCK_MONOTONIC, &ts);
	return (loom_u64)ts.tv_sec * 1000000000u + (loom_u64)ts.tv_nsec;
}

/* Waits on C, M held, until it is signalled or CLOCK_MONOTONIC reaches
 * UNTIL_NS. */
LOOM__INNER void loom__cond_wait_until(loom__cond_t *c, loom__mutex_t *m, loom_u64 until_ns)
{
	struct loom__timespec ts = { (long)(until_ns / 1000000000u), (long)(until_ns % 1000000000u) };

	loom__c_cond_clockwait(c, m, LOOM__CLOCK_MONOTONIC, &ts);
}

LOOM__WEAK void loom__lock_rt(void) { loom__c_mutex_lock(&loom__rt.lock); }
LOOM__WEAK void loom__unlock_rt(void) { loom__c_mutex_unlock(&loom__rt.lock); }

LOOM__CONTROL void loom__warn(const char *what)
{
	char buf[300];
	int n = loom__c_snprintf(buf, sizeof buf, "loom[%d]: %s\n", loom__c_getpid(), what);

	if (n > 0)
		(void)!loom__c_write(2, buf, (unsigned long)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
}

/* ---- thread registry ---- */

LOOM__CONTROL void loom__thread_gone(void *p)
{
	struct loom__thread *t = (struct loom__thread *)p;

	loom__lock_rt();
	if (t->prev)
		t->prev->next = t->next;
	else if (loom__rt.threads == t)
		loom__rt.threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = t->prev = LOOM__NULL;
	t->tid = 0;
	loom__c_cond_signal(&loom__rt.engine_cv);
	loom__unlock_rt();
}

LOOM__WEAK void loom__init(void);

LOOM__WEAK void loom__register(void)
{
	struct loom__thread *t = &loom__self;

	loom__init();
	if (t->tid)
		return;
	loom__lock_rt();
	t->tid = loom__c_gettid();
	t->prev = LOOM__NULL;
	t->next = loom__rt.threads;
	if (t->next)
		t->next->prev = t;
	loom__rt.threads = t;
	loom__unlock_rt();
	/* Deregister when the thread exits. */
	loom__c_setspecific(loom__rt.tls_key, t);
}

/* Parks the calling thread until the current evacuation ends or lets the
 * parked threads go on, if the hook it stands at is safe for it.  Called
 * with the runtime lock held.  1 if it parked. */
LOOM__INNER int loom__park_locked(struct loom__thread *t, loom_u32 id)
{
	loom_u64 gen = loom__rt.generation, unparks = loom__rt.unparks;

	if (!(__atomic_load_n(&loom__active, __ATOMIC_SEQ_CST) & LOOM__UPDATING)
	    || !loom__rt.armed || id > loom__nhooks || !loom__rt.armed[id] || t->released)
		return 0;
	t->parked = 1;
	t->last_hook = id;
	loom__c_cond_signal(&loom__rt.engine_cv);
	while (gen == loom__rt.generation && unparks == loom__rt.unparks)
		loom__c_cond_wait(&loom__rt.resume_cv, &loom__rt.lock);
	t->parked = 0;
	return 1;
}

LOOM__INNER int loom__park(struct loom__thread *t, loom_u32 id)
{
	int parked;

	/* No update, or this thread let go for a while: nothing to park for,
	 * and no lock to take.  (An update that starts just after this is met
	 * at the next pause point.) */
	if (!(__atomic_load_n(&loom__active, __ATOMIC_SEQ_CST) & LOOM__UPDATING)
	    || __atomic_load_n(&t->released, __ATOMIC_RELAXED))
		return 0;
	loom__lock_rt();
	parked = loom__park_locked(t, id);
	loom__unlock_rt();
	return parked;
}

/* Out of line: loom__slot and loom__cond_break stay a few loads. */
LOOM__INNER __attribute__((noinline)) void loom__hook(loom_u32 id, int pause);

/* Whether hook ID has anything to do: its byte of loom__ops_at (ops of an
 * installed filter, a pause during an update or while another thread runs
 * alone: the engine sets every byte for those), or this thread's
 * registration.  Most hooks of a slow copy have none, and return here,
 * before the thread's state is touched. */
static __inline__ __attribute__((always_inline)) int loom__hook_needed(loom_u32 id)
{
	return (id <= loom__nhooks && __atomic_load_n(&loom__ops_at[id], __ATOMIC_RELAXED))
	       || !loom__self.tid; /* registers at its first hook, as the registry needs */
}

LOOM__WEAK void loom__cond_break(loom_u32 id)
{
	if (loom__hook_needed(id))
		loom__hook(id, 1);
}

/* After a blocking call, during an evacuation: park at the blocking site if
 * it is safe (a blocking site carries no ops). */
LOOM__WEAK void loom__after_blocking(loom_u32 id)
{
	loom__hook(id, 1);
}

/* ---- filter operations ---- */

/* T waits for lock L at HOOK (a filter's lock or semaphore, or the
 * unilateral lock): it counts as parked at HOOK meanwhile, unless that
 * hook is unsafe (see loom__all_evacuated). */
LOOM__INNER void loom__begin_wait(struct loom__thread *t, const struct loom__lock *l, loom_u32 hook)
{
	/* The engine reads BLOCKING first (loom__thread_state): the lock is
	 * there when it looks. */
	__atomic_store_n(&t->wait_lock, (const void *)l, __ATOMIC_RELAXED);
	__atomic_store_n(&t->blocking, hook, __ATOMIC_SEQ_CST);
}

/* T has stopped waiting (if it waited at all): during an evacuation it
 * parks at HOOK before it goes on. */
LOOM__INNER void loom__end_wait(struct loom__thread *t, loom_u32 hook)
{
	if (__atomic_load_n(&t->blocking, __ATOMIC_RELAXED)) {
		/* Not blocked any more, then the check for an update: the
		 * engine sets UPDATING, then reads BLOCKING. */
		__atomic_store_n(&t->blocking, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&t->wait_lock, LOOM__NULL, __ATOMIC_RELAXED);
		if (__atomic_load_n(&loom__active, __ATOMIC_SEQ_CST) & LOOM__UPDATING)
			loom__park(t, hook);
	}
}

/* Every other registered thread is stopped: paused at a hook, waiting
 * for a lock, or in a blocking call (it pauses when the call returns). */
LOOM__INNER int loom__others_stopped(const struct loom__thread *self)
{
	const struct loom__thread *t;
	int all = 1;

	loom__lock_rt();
	for (t = loom__rt.threads; t && all; t = t->next)
		all = t == self || t->tid == loom__rt.engine_tid || t->parked
		      || __atomic_load_n(&t->blocking, __ATOMIC_SEQ_CST);
	loom__unlock_rt();
	return all;
}

/* T has just taken the unilateral lock (its mutex held): wait until every
 * other thread has stopped.  Pausing threads broadcast on the lock's
 * condition; a thread entering a blocking call does not, hence the 1 ms
 * re-check. */
LOOM__INNER void loom__wait_alone(struct loom__thread *t)
{
	struct loom__lock *l = &loom__rt.solo;

	while (!loom__others_stopped(t))
		loom__cond_wait_until(&l->c, &l->m, loom__now_ns() + 1000000u);
}

/* Adds D to counter P, which one thread at a time writes and `loom ls`
 * reads without a lock. */
LOOM__INNER void loom__count(loom_u64 *p, loom_u64 d)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

/* The unilateral lock: held (reentrantly) by the thread that runs alone;
 * its holder then waits until every other thread has stopped. */
LOOM__INNER void loom__acquire_solo(struct loom__thread *t, loom_u32 hook)
{
	struct loom__lock *l = &loom__rt.solo;

	loom__c_mutex_lock(&l->m);
	if (l->owner == t->tid) {
		l->depth++;
		loom__c_mutex_unlock(&l->m);
		return;
	}
	if (l->owner) {
		loom__begin_wait(t, l, hook);
		while (l->owner)
			loom__c_cond_wait(&l->c, &l->m);
	}
	__atomic_store_n(&l->owner, t->tid, __ATOMIC_RELEASE);
	l->depth = 1;
	loom__count(&l->hits, 1);
	__atomic_store_n(&loom__solo_tid, t->tid, __ATOMIC_SEQ_CST);
	loom__wait_alone(t);
	loom__c_mutex_unlock(&l->m);
}

LOOM__INNER void loom__release_solo(struct loom__thread *t)
{
	struct loom__lock *l = &loom__rt.solo;

	loom__c_mutex_lock(&l->m);
	if (l->owner == t->tid && --l->depth == 0) {
		__atomic_store_n(&l->owner, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&loom__solo_tid, 0, __ATOMIC_SEQ_CST);
		/* The paused threads all go on. */
		loom__c_cond_broadcast(&l->c);
	}
	loom__c_mutex_unlock(&l->m);
}

/* Takes L's owner word for TID if it is free. */
LOOM__INNER int loom__try_own(struct loom__lock *l, int tid)
{
	int free_ = 0;

	return __atomic_compare_exchange_n(&l->owner, &free_, tid, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/* A short spin for L before sleeping, while no other thread sleeps on it:
 * the holder of a lock around a short region, running on another CPU, is
 * about to release it, and a sleep and a wake-up cost microseconds each.
 * 1 when L is now TID's. */
LOOM__INNER int loom__spin_acquire(struct loom__lock *l, int tid)
{
	int i;

	/* Others asleep on it already: many threads, likely more than CPUs,
	 * and a spin would burn a CPU the holder may need. */
	for (i = 0; i < 100 && !__atomic_load_n(&l->nwaiting, __ATOMIC_RELAXED); i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		if (!__atomic_load_n(&l->owner, __ATOMIC_RELAXED) && loom__try_own(l, tid))
			return 1;
	}
	return 0;
}

/* Enters filter lock L at HOOK (reentrant).  Uncontended, one compare-and-
 * swap of the owner word, as cheap as a hand-written mutex; a thread that
 * has to wait sleeps on C under M, counting as parked at HOOK meanwhile.
 * With BACK_OUT, a wait gives up (returning 1, without the lock) when an
 * update starts: the caller is a wrapped call's entry, which can back out
 * to the function's entry cond_break and park there, instead of holding
 * the update up until every thread queued on the lock has had its turn
 * (see loom__interrupt_waits). */
LOOM__INNER int loom__acquire(struct loom__thread *t, struct loom__lock *l, loom_u32 hook, int back_out)
{
	int tid = t->tid, gave_up = 0;

	/* Only this thread stores its own tid there. */
	if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) == tid) {
		l->depth++;
		return 0;
	}
	if (!loom__try_own(l, tid) && !loom__spin_acquire(l, tid)) {
		loom_u64 start = loom__now_ns();

		loom__begin_wait(t, l, hook);
		loom__c_mutex_lock(&l->m);
		/* Announced before the owner word is tried again: a release
		 * that saw no waiter left the word free for this try. */
		__atomic_add_fetch(&l->nwaiting, 1, __ATOMIC_SEQ_CST);
		for (;;) {
			if (loom__try_own(l, tid))
				break;
			if (back_out && (__atomic_load_n(&loom__active, __ATOMIC_SEQ_CST) & LOOM__UPDATING)) {
				gave_up = 1;
				break;
			}
			loom__c_cond_wait(&l->c, &l->m);
		}
		__atomic_sub_fetch(&l->nwaiting, 1, __ATOMIC_SEQ_CST);
		if (!gave_up) {
			loom__count(&l->waits, 1);
			loom__count(&l->wait_ns, loom__now_ns() - start);
		}
		loom__c_mutex_unlock(&l->m);
		if (gave_up) {
			/* Not parked here: it parks where it backs out to. */
			__atomic_store_n(&t->blocking, 0, __ATOMIC_SEQ_CST);
			__atomic_store_n(&t->wait_lock, LOOM__NULL, __ATOMIC_RELAXED);
			return 1;
		}
	}
	l->depth = 1;
	loom__count(&l->hits, 1);
	/* After the filter's own lock: one order for every thread. */
	if (l->solo)
		loom__acquire_solo(t, hook);
	loom__end_wait(t, hook);
	return 0;
}

LOOM__INNER void loom__release(struct loom__thread *t, struct loom__lock *l)
{
	int solo = l->solo;

	/* A thread that does not hold the lock has nothing to release (it
	 * cannot happen for a filter installed by evacuation). */
	if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) != t->tid || --l->depth)
		return;
	/* Free, then look for waiters (see loom__acquire). */
	__atomic_store_n(&l->owner, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&l->nwaiting, __ATOMIC_SEQ_CST)) {
		loom__c_mutex_lock(&l->m);
		loom__c_cond_signal(&l->c);
		loom__c_mutex_unlock(&l->m);
	}
	if (solo)
		loom__release_solo(t);
}

/* Another thread is inside a unilateral region: wait at hook HOOK until it
 * has left, counting as parked there meanwhile. */
LOOM__INNER void loom__solo_pause(struct loom__thread *t, loom_u32 hook)
{
	struct loom__lock *l = &loom__rt.solo;
	int waited;

	/* Parked after the wait: another thread may have gone alone
	 * meanwhile, so look again. */
	do {
		waited = 0;
		loom__c_mutex_lock(&l->m);
		if (l->owner && l->owner != t->tid) {
			loom__begin_wait(t, l, hook);
			loom__c_cond_broadcast(&l->c); /* the one alone waits for this */
			while (l->owner && l->owner != t->tid)
				loom__c_cond_wait(&l->c, &l->m);
			/* Running again before the mutex goes: the next thread to
			 * run alone checks under it who is stopped, and must not
			 * count this one, which goes on. */
			__atomic_store_n(&t->blocking, 0, __ATOMIC_SEQ_CST);
			__atomic_store_n(&t->wait_lock, LOOM__NULL, __ATOMIC_SEQ_CST);
			waited = 1;
		}
		loom__c_mutex_unlock(&l->m);
	} while (waited && loom__park(t, hook));
}

/* b of a > b: waits until N instances of a are unconsumed and consumes
 * them.  Returns 0, or 1 when the filter went away meanwhile (then the lock
 * may be freed as soon as it is unlocked: the caller must not touch it, nor
 * anything else of the filter). */
LOOM__INNER int loom__sem_wait(struct loom__thread *t, struct loom__lock *l, loom_u32 n, loom_u32 hook)
{
	int gone;

	loom__c_mutex_lock(&l->m);
	if (l->count < n && !l->gone) {
		loom_u64 start = loom__now_ns();

		/* Waiting counts as parked at HOOK, as for a lock; see also
		 * loom__all_evacuated on removal. */
		loom__begin_wait(t, l, hook);
		l->nwaiting++;
		while (l->count < n && !l->gone)
			loom__c_cond_wait(&l->c, &l->m);
		l->nwaiting--;
		loom__count(&l->waits, 1);
		loom__count(&l->wait_ns, loom__now_ns() - start);
	}
	gone = l->gone;
	if (!gone) {
		l->count -= n;
		loom__count(&l->hits, 1);
	}
	/* The remover waits for the last waiter to leave. */
	if (gone && !l->nwaiting)
		loom__c_cond_broadcast(&l->c);
	loom__c_mutex_unlock(&l->m);
	loom__end_wait(t, hook);
	return gone;
}

LOOM__INNER void loom__sem_post(struct loom__lock *l)
{
	loom__c_mutex_lock(&l->m);
	l->count++;
	loom__c_cond_broadcast(&l->c);
	loom__c_mutex_unlock(&l->m);
}

/* Whether this thread marked L (and forgets it). */
LOOM__INNER int loom__unmark(struct loom__thread *t, const struct loom__lock *l)
{
	loom_u32 i;

	for (i = 0; i < t->nmarked; i++)
		if (t->marked[i] == (const void *)l && t->marked_serial[i] == l->serial) {
			t->nmarked--;
			t->marked[i] = t->marked[t->nmarked];
			t->marked_serial[i] = t->marked_serial[t->nmarked];
			return 1;
		}
	return 0;
}

LOOM__INNER void loom__mark(struct loom__thread *t, const struct loom__lock *l)
{
	loom__unmark(t, l);
	/* Full: forget the oldest (an event whose statement never ended
	 * normally, left by longjmp). */
	if (t->nmarked == sizeof t->marked / sizeof t->marked[0]) {
		t->nmarked--;
		__builtin_memmove(t->marked, t->marked + 1, t->nmarked * sizeof t->marked[0]);
		__builtin_memmove(t->marked_serial, t->marked_serial + 1, t->nmarked * sizeof t->marked_serial[0]);
	}
	t->marked[t->nmarked] = (const void *)l;
	t->marked_serial[t->nmarked++] = l->serial;
}

LOOM__INNER int loom__inside(struct loom__thread *t, loom_u32 region, int remove)
{
	loom_u32 i;
	for (i = 0; i < t->ninside; i++)
		if (t->inside[i] == region) {
			if (remove)
				t->inside[i] = t->inside[--t->ninside];
			return 1;
		}
	return 0;
}

/* Runs the ops installed at hook ID.  They are read from the table in
 * place: it is replaced only while every thread is parked or waiting, and
 * only lock and semaphore ops wait, after which the generation says whether
 * the rest may be read. */
LOOM__INNER void loom__run_ops(struct loom__thread *t, loom_u32 id)
{
	const struct loom__table *table = __atomic_load_n(&loom__rt.table, __ATOMIC_ACQUIRE);
	loom_u64 gen = __atomic_load_n(&loom__rt.generation, __ATOMIC_ACQUIRE);
	loom_u32 i, first, end;

	if (!table || id > loom__nhooks)
		return;
	first = table->start[id];
	end = table->start[id + 1];
	for (i = first; i < end; i++) {
		const struct loom__op *op;

		/* A wait let an update through: the table, and the locks of a
		 * removed filter, may be freed.  What is skipped is entering
		 * later filters, this once. */
		if (i != first && __atomic_load_n(&loom__rt.generation, __ATOMIC_ACQUIRE) != gen)
			return;
		op = &table->ops[i];
		switch (op->kind & ~LOOM_OP_SOLO) {
		case LOOM_OP_ENTER:
			loom__acquire(t, op->lock, id, 0);
			break;
		case LOOM_OP_LEAVE:
			loom__release(t, op->lock);
			break;
		case LOOM_OP_ENTER_RANGE:
			/* Passing the range's start again (a loop whose body is the
			 * range) is a new pass: let others in between. */
			if (loom__inside(t, op->region, 0)) {
				loom__release(t, op->lock);
				loom__acquire(t, op->lock, id, 0);
			} else if (t->ninside < sizeof t->inside / sizeof t->inside[0]) {
				t->inside[t->ninside++] = op->region;
				loom__acquire(t, op->lock, id, 0);
			}
			break;
		case LOOM_OP_LEAVE_RANGE:
			if (loom__inside(t, op->region, 1))
				loom__release(t, op->lock);
			break;
		case LOOM_OP_WAIT:
			/* Gone: the filter may be freed already. */
			if (loom__sem_wait(t, op->lock, op->region, id))
				return;
			break;
		case LOOM_OP_POST:
			loom__sem_post(op->lock);
			break;
		case LOOM_OP_MARK:
			loom__mark(t, op->lock);
			break;
		case LOOM_OP_POST_MARKED:
			if (loom__unmark(t, op->lock))
				loom__sem_post(op->lock);
			break;
		}
	}
}

/* A slot, or with PAUSE a cond_break: run the ops installed at ID, then
 * park there if an evacuation has armed it.  Hooks run by the runtime itself
 * (an interposed libc function, the engine thread) or by a signal handler
 * that interrupted it do nothing: they must not take the runtime's locks
 * again.
 *
 * A hook reached while this thread's blocking marker is set runs in a
 * signal handler that interrupted the blocking call (a marked statement
 * calls nothing instrumented; a system function's callback is the rare
 * other case): it runs its ops but neither parks nor pauses (the
 * interrupted frame may be anywhere, and parking would hold the handler
 * up), and the marker stays, since the call goes on when the handler
 * returns. */
LOOM__INNER void loom__hook(loom_u32 id, int pause)
{
	struct loom__thread *t = &loom__self;

	if (t->in_runtime)
		return;
	t->in_runtime++;
	if (!t->tid)
		loom__register();
	if (__atomic_load_n(&t->blocking, __ATOMIC_SEQ_CST)) {
		loom__run_ops(t, id);
		t->in_runtime--;
		return;
	}
	t->last_hook = id;
	if (__builtin_expect(__atomic_load_n(&loom__solo_tid, __ATOMIC_ACQUIRE) != 0, 0))
		loom__solo_pause(t, id);
	loom__run_ops(t, id);
	/* After a pause, a thread may have gone alone meanwhile. */
	if (pause && loom__park(t, id) && __atomic_load_n(&loom__solo_tid, __ATOMIC_ACQUIRE) != 0)
		loom__solo_pause(t, id);
	t->in_runtime--;
}

LOOM__WEAK void loom__slot(loom_u32 id)
{
	if (loom__hook_needed(id))
		loom__hook(id, 0);
}

/* A wrapped call's entry: takes the locks of hook ENTRY (only ENTER ops
 * are there, see LOOM_FN_WRAP).  Returns 1; or 0, holding none of them,
 * when an update was installed while it waited for one: the function's
 * switch or the ops may have changed, and the caller looks again; or -1,
 * holding none, when an update started while it waited: the caller backs
 * out to the slow copy, whose entry cond_break is where it parks.  (No
 * update could remove a filter whose lock it held: ENTRY is inside that
 * filter's dangerous region.) */
LOOM__INNER int loom__wrap_enter(struct loom__thread *t, loom_u32 entry)
{
	const struct loom__table *table = __atomic_load_n(&loom__rt.table, __ATOMIC_ACQUIRE);
	loom_u64 gen = __atomic_load_n(&loom__rt.generation, __ATOMIC_ACQUIRE);
	struct loom__lock *held[LOOM_OPS_PER_HOOK_MAX];
	loom_u32 i, n = 0, first, end;
	int same = 1;

	if (!table || entry > loom__nhooks)
		return 1;
	first = table->start[entry];
	end = table->start[entry + 1];
	for (i = first; i < end && same; i++) {
		struct loom__lock *l = table->ops[i].lock;

		if ((table->ops[i].kind & ~LOOM_OP_SOLO) != LOOM_OP_ENTER)
			continue;
		if (loom__acquire(t, l, entry, 1)) {
			same = -1;
			break;
		}
		held[n++] = l;
		same = __atomic_load_n(&loom__rt.generation, __ATOMIC_ACQUIRE) == gen;
	}
	if (same != 1)
		while (n)
			loom__release(t, held[--n]);
	return same;
}

/* LOOM_SLOW_FUNCTION_ENTRY_WRAP of function FID: 1 with the locks of entry
 * slot ENTRY taken and FID's switch letting calls through to its fast body
 * until loom__unwrap; 0 to run the slow copy, the function no longer being
 * wrapped. */
LOOM__WEAK int loom__wrap(loom_u32 fid, loom_u32 entry)
{
	struct loom__thread *t = &loom__self;
	int entered = 0;

	while (!entered) {
		if (__atomic_load_n(&loom__slow[fid], __ATOMIC_RELAXED) != LOOM__WRAP)
			return 0;
		/* As loom__hook does for a slot, without its ops loop. */
		if (t->in_runtime)
			return 0;
		t->in_runtime++;
		if (!t->tid)
			loom__register();
		t->last_hook = entry;
		entered = loom__wrap_enter(t, entry);
		t->in_runtime--;
		if (entered < 0)
			return 0;
	}
	t->wrapping = fid + 1;
	return 1;
}

/* After a wrapped call: the ops of exit slot EXIT. */
LOOM__WEAK void loom__unwrap(loom_u32 exit)
{
	loom__self.wrapping = 0;
	loom__slot(exit);
}

/* ---- installing: tables and evacuation ---- */

LOOM__CONTROL void loom__free_table(struct loom__table *t)
{
	if (t) {
		loom__c_free(t->start);
		loom__c_free(t->ops);
		loom__c_free(t);
	}
}

LOOM__CONTROL void loom__free_filter(struct loom__filter *f)
{
	if (f) {
		loom__c_free(f->text);
		loom__c_free(f->locks_mem);
		loom__c_free(f->ops);
		loom__c_free(f->danger);
		loom__c_free(f->fns);
		loom__c_free(f);
	}
}

/* Builds the op table for FILTERS (leaves and posts before enters, marks and
 * waits at a hook, so that a range boundary releases one region before it
 * takes the next, and a statement that follows itself ends its last run
 * before it starts the next; enters in filter order, so every thread takes
 * locks in one order).  Returns NULL when
 * FILTERS is empty or on failure (*ERR set). */
LOOM__CONTROL struct loom__table *loom__build_table(struct loom__filter *filters, int *err)
{
	struct loom__filter *f;
	loom_u32 i;
	loom_u32 h;
	int pass;
	loom_u32 nh = loom__nhooks, total = 0, *count;
	struct loom__table *t;

	*err = 0;
	if (!filters)
		return LOOM__NULL;
	count = (loom_u32 *)loom__c_calloc(nh + 2, sizeof *count);
	t = (struct loom__table *)loom__c_calloc(1, sizeof *t);
	if (!count || !t)
		goto oom;
	for (f = filters; f; f = f->next)
		for (i = 0; i < f->nops; i++)
			if (++count[f->ops[i].hook] > LOOM_OPS_PER_HOOK_MAX) {
				*err = LOOM_E_LIMIT;
				goto fail;
			} else
				total++;
	t->start = (loom_u32 *)loom__c_calloc(nh + 2, sizeof *t->start);
	t->ops = (struct loom__op *)loom__c_calloc(total ? total : 1, sizeof *t->ops);
	if (!t->start || !t->ops)
		goto oom;
	for (h = 1; h <= nh + 1; h++)
		t->start[h] = t->start[h - 1] + count[h - 1];
	__builtin_memset(count, 0, (nh + 2) * sizeof *count);
	for (pass = 0; pass < 2; pass++) {
		/* pass 0: leaves (ranges then functions); pass 1: enters. */
		for (f = filters; f; f = f->next)
			for (i = 0; i < f->nops; i++) {
				const struct loom_image_op *o = &f->ops[i];
				unsigned kind = o->kind & ~LOOM_OP_SOLO;
				int leave = kind == LOOM_OP_LEAVE || kind == LOOM_OP_LEAVE_RANGE
				            || kind == LOOM_OP_POST || kind == LOOM_OP_POST_MARKED;
				struct loom__op *d;

				if (leave != (pass == 0))
					continue;
				d = &t->ops[t->start[o->hook] + count[o->hook]++];
				d->kind = o->kind;
				d->lock = &f->locks[o->lock];
				d->region = kind == LOOM_OP_ENTER_RANGE || kind == LOOM_OP_LEAVE_RANGE
				            ? f->region_base + o->region : o->region;
			}
	}
	loom__c_free(count);
	return t;
oom:
	*err = LOOM_E_LIMIT;
fail:
	loom__c_free(count);
	loom__free_table(t);
	return LOOM__NULL;
}

/* The lock of the filter being removed that T waits for, or NULL. */
LOOM__CONTROL const struct loom__lock *loom__removed_lock(const struct loom__thread *t)
{
	const struct loom__filter *f = loom__rt.removing;
	const struct loom__lock *l = (const struct loom__lock *)__atomic_load_n(&t->wait_lock, __ATOMIC_SEQ_CST);

	return f && l && l >= f->locks && l < f->locks + f->nlocks ? l : LOOM__NULL;
}

/* What keeps registered thread T from counting as evacuated (0: nothing),
 * and in *HOOK where it is. */
LOOM__CONTROL loom_u32 loom__thread_state(const struct loom__thread *t, loom_u32 *hook)
{
	/* BLOCKING first: a waiting thread stores the lock before it. */
	loom_u32 b = __atomic_load_n(&t->blocking, __ATOMIC_SEQ_CST);
	const struct loom__lock *removed = loom__removed_lock(t);

	*hook = 0;
	/* Waiting at a semaphore of the filter that goes away: the removal
	 * wakes it (loom__release_waiters).  Parked: it waits for the update. */
	if ((removed && removed->sem) || t->parked)
		return 0;
	*hook = b ? b : t->last_hook;
	if (!b || !loom__rt.armed[b])
		return b && t->wait_lock ? LOOM_THREAD_LOCKWAIT : b ? LOOM_THREAD_BLOCKING : LOOM_THREAD_RUNNING;
	/* Waiting for a lock of the filter that goes away: it would take a
	 * freed lock. */
	return removed ? LOOM_THREAD_LOCKWAIT : 0;
}

/* Is every thread but the engine evacuated?  Called with the lock held.
 * The registered threads are checked in memory first: while one of them is
 * not, that is the answer (without FULL, the usual case while threads
 * park).  Then /proc/self/task, for threads that never ran a hook.  With
 * FULL, REPORT gets every thread that is not (at most
 * LOOM_REPORT_MAX_THREADS). */
LOOM__CONTROL int loom__all_evacuated(struct loom_thread_report *report, loom_u32 *nreport, int full)
{
	long off;
	const char *p;
	char buf[4096];
	int fd, ok = 1;
	long n;
	const struct loom__thread *t;
	loom_u32 hook;

	*nreport = 0;
	for (t = loom__rt.threads; t && !full; t = t->next)
		if (t->tid != loom__rt.engine_tid && loom__thread_state(t, &hook))
			return 0;
	fd = loom__c_open("/proc/self/task", LOOM__O_RDONLY | LOOM__O_CLOEXEC);
	if (fd < 0)
		return 0;
	while ((n = loom__c_getdents64(fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < n;) {
			struct loom__dirent64 *d = (struct loom__dirent64 *)(void *)(buf + off);
			int tid = 0;
			loom_u32 state;

			off += d->reclen;
			for (p = d->name; *p >= '0' && *p <= '9'; p++)
				tid = tid * 10 + (*p - '0');
			if (!tid || tid == loom__rt.engine_tid)
				continue;
			for (t = loom__rt.threads; t && t->tid != tid; t = t->next)
				;
			hook = 0;
			state = t ? loom__thread_state(t, &hook) : LOOM_THREAD_RUNNING;
			if (state) {
				ok = 0;
				if (*nreport < LOOM_REPORT_MAX_THREADS)
					report[(*nreport)++] = (struct loom_thread_report){ (loom_u32)tid, state, hook };
			}
		}
	}
	loom__c_close(fd);
	return ok;
}

/* The fast path everywhere, except in the functions the installed filters
 * need slow, or wrapped if each filter there allows it.  Called with the
 * lock held, or in a forked child. */
LOOM__CONTROL void loom__set_switches(void)
{
	struct loom__filter *f;
	loom_u32 i;

	__builtin_memset(loom__slow, loom__rt.force_slow ? LOOM__SLOW : 0, loom__nfuncs + 1);
	for (f = loom__rt.filters; f; f = f->next)
		for (i = 0; i < f->nfns; i++) {
			loom_u32 fn = f->fns[i] & ~LOOM_FN_WRAP;

			if (!(f->fns[i] & LOOM_FN_WRAP))
				loom__slow[fn] = LOOM__SLOW;
			else if (!loom__slow[fn])
				loom__slow[fn] = LOOM__WRAP;
		}
}

/* loom__ops_at for table T (NULL: no filter): the hooks with ops, or all
 * of them while a unilateral filter is installed (every other thread pauses
 * at its next hook while one runs alone). */
LOOM__CONTROL void loom__set_ops_at(const struct loom__table *t)
{
	loom_u32 h, i, solo = 0;

	for (i = 0; t && i < t->start[loom__nhooks + 1] && !solo; i++)
		solo = t->ops[i].kind & LOOM_OP_SOLO;
	for (h = 0; h <= loom__nhooks; h++)
		loom__ops_at[h] = t && (solo || t->start[h + 1] > t->start[h]);
}

struct loom__reply {
	struct loom_reply r;
	char text[512];
	struct loom_thread_report threads[LOOM_REPORT_MAX_THREADS];
	int conn; /* where it goes */
	int sent; /* already sent (by the evacuation, before it resumed the threads) */
};

LOOM__CONTROL void loom__reply(int fd, struct loom__reply *rep);

/* An update has started: wake the threads waiting for filter locks, so
 * that those at a wrapped call's entry back out and park (loom__acquire);
 * the others wait again.  (Lock order: the runtime lock, then a filter
 * lock's M; nothing takes them the other way round.) */
LOOM__CONTROL void loom__interrupt_waits(void)
{
	struct loom__filter *f;
	loom_u32 i;

	for (f = loom__rt.filters; f; f = f->next)
		for (i = 0; i < f->nlocks; i++)
			if (!f->locks[i].sem && __atomic_load_n(&f->locks[i].nwaiting, __ATOMIC_SEQ_CST)) {
				loom__c_mutex_lock(&f->locks[i].m);
				loom__c_cond_broadcast(&f->locks[i].c);
				loom__c_mutex_unlock(&f->locks[i].m);
			}
}

/* How far an evacuation has come: in *STOPPED how many registered threads
 * are evacuated; returned, how often the locks the others wait for have
 * been taken (threads queued on a lock inside the dangerous region, taking
 * turns, make progress too).  Called with the lock held; no filter is
 * freed meanwhile, so a lock a thread waits for is there. */
LOOM__CONTROL loom_u64 loom__progress(loom_u32 *stopped)
{
	const struct loom__thread *t;
	loom_u64 hits = 0;
	loom_u32 hook;

	*stopped = 0;
	for (t = loom__rt.threads; t; t = t->next) {
		const struct loom__lock *l;

		if (t->tid == loom__rt.engine_tid)
			continue;
		if (!loom__thread_state(t, &hook)) {
			(*stopped)++;
			continue;
		}
		l = (const struct loom__lock *)__atomic_load_n(&t->wait_lock, __ATOMIC_RELAXED);
		if (l)
			hits += __atomic_load_n(&l->hits, __ATOMIC_RELAXED);
	}
	return hits;
}

/* Whether the kernel has thread TID of this process runnable: running, or
 * waiting for a CPU (state R in /proc/self/task/TID/stat). */
LOOM__CONTROL int loom__runnable(int tid)
{
	char buf[512];
	const char *p;
	long n;
	int fd;

	loom__c_snprintf(buf, sizeof buf, "/proc/self/task/%d/stat", tid);
	fd = loom__c_open(buf, LOOM__O_RDONLY | LOOM__O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = loom__c_read(fd, buf, sizeof buf - 1);
	loom__c_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "TID (COMM) S ...": the name may hold anything, ')' too. */
	for (p = buf + n; p > buf && p[-1] != ')'; p--)
		;
	return p > buf && p[0] == ' ' && p[1] == 'R';
}

/* Whether every registered thread that is not evacuated is asleep in the
 * kernel: then nothing it does can end the evacuation, and a parked thread
 * may hold what it waits for.  One that runs (or waits for a CPU) may
 * still get out by itself, from a long call of uninstrumented code, say.
 * Called with the lock held. */
LOOM__CONTROL int loom__stalled(void)
{
	const struct loom__thread *t;
	loom_u32 hook;

	for (t = loom__rt.threads; t; t = t->next)
		if (t->tid != loom__rt.engine_tid && loom__thread_state(t, &hook) && loom__runnable(t->tid))
			return 0;
	return 1;
}

/* Makes the hooks outside DANGER the places to park at.  Called with the
 * lock held. */
LOOM__CONTROL void loom__arm(const loom_u32 *danger, loom_u32 ndanger)
{
	loom_u32 i;

	__builtin_memset(loom__rt.armed, 1, loom__nhooks + 1);
	for (i = 0; i < ndanger; i++)
		loom__rt.armed[danger[i]] = 0;
}

/* The evacuation has stalled: a parked thread may hold what a thread still
 * inside the dangerous region waits for (a mutex of the program, a filter
 * lock), and nothing parks while it waits.  Lets the parked threads run on
 * for HOLD_NS, parking nowhere meanwhile.  Only those: a thread that was
 * not parked (asleep in a blocking call, say) still parks where it can,
 * or it might come back during the window and go straight into its next
 * long call.  Called with the lock held, which is let go meanwhile. */
LOOM__CONTROL void loom__unpark_for(loom_u64 hold_ns)
{
	struct loom__thread *t;
	loom_u64 until = loom__now_ns() + hold_ns;

	loom__rt.unparks++;
	for (t = loom__rt.threads; t; t = t->next)
		if (t->parked) {
			t->parked = 0;
			__atomic_store_n(&t->released, 1, __ATOMIC_RELAXED);
		}
	loom__c_cond_broadcast(&loom__rt.resume_cv);
	while (loom__now_ns() < until)
		loom__cond_wait_until(&loom__rt.engine_cv, &loom__rt.lock, until);
	for (t = loom__rt.threads; t; t = t->next)
		__atomic_store_n(&t->released, 0, __ATOMIC_RELAXED);
}

/* An evacuation in which no more threads have stopped, and no lock they
 * wait for has been taken, for this long, while those not stopped are all
 * asleep, has stalled (loom__unpark_for), and the parked threads then run
 * on for
 * LOOM__UNPARK_NS at first, twice as long at each further stall. */
#define LOOM__STALL_NS 4000000u
#define LOOM__UNPARK_NS 1000000u
#define LOOM__UNPARK_MAX_NS 64000000u

/* The evacuation algorithm: arm every hook outside DANGER, make every hook
 * take the slow path, wait until each thread is parked at an armed
 * cond_break or waits at an armed blocking site, then call INSTALL with all
 * threads stopped; give up after TIMEOUT_MS with nothing changed.  While no
 * more threads stop, those stopped run on for a while now and then (as the
 * paper's prototype retried): one may hold what one in the dangerous region
 * needs to get out.  Then OUTCOME(ARG, status, REP) says what happened in
 * REP, which is sent, and the threads resume.  Returns LOOM_OK,
 * LOOM_E_TIMEOUT (REP's threads filled) or INSTALL's error. */
LOOM__CONTROL int loom__evacuate(const loom_u32 *danger, loom_u32 ndanger, loom_u32 timeout_ms,
                              int (*install)(void *), void *arg,
                              void (*outcome)(void *, int, struct loom__reply *), struct loom__reply *rep)
{
	struct loom_thread_report *report = rep->threads;
	loom_u32 *nreport = &rep->r.nthreads;
	loom_u32 stopped = 0;
	struct loom__thread *t;
	loom_u64 hits = 0, now = loom__now_ns(), deadline = now + (loom_u64)timeout_ms * 1000000u;
	loom_u64 stall = now + LOOM__STALL_NS, unpark_ns = LOOM__UNPARK_NS;
	int status;

	loom__lock_rt();
	/* Every function takes its slow copy, where the cond_breaks are, and
	 * every hook calls the runtime. */
	__builtin_memset(loom__slow, LOOM__SLOW, loom__nfuncs + 1);
	__builtin_memset(loom__ops_at, 1, loom__nhooks + 1);
	loom__arm(danger, ndanger);
	__atomic_or_fetch(&loom__active, LOOM__UPDATING, __ATOMIC_SEQ_CST);
	loom__interrupt_waits();
	for (;;) {
		loom_u64 wake, h;
		loom_u32 n;

		if (loom__all_evacuated(report, nreport, 0)) {
			status = install(arg);
			break;
		}
		now = loom__now_ns();
		h = loom__progress(&n);
		if (n > stopped || h != hits) {
			stopped = n > stopped ? n : stopped;
			hits = h;
			stall = now + LOOM__STALL_NS;
		} else if (now >= stall) {
			/* Room for the threads to stop again after the unpark, so
			 * that a timeout reports where they stood, not that they
			 * were let go. */
			if (now + unpark_ns + 2 * LOOM__STALL_NS >= deadline) {
				stall = deadline;
			} else if (!loom__stalled()) {
				stall = now + LOOM__STALL_NS;
			} else {
				loom__unpark_for(unpark_ns);
				if (unpark_ns < LOOM__UNPARK_MAX_NS)
					unpark_ns *= 2;
				stopped = 0;
				now = loom__now_ns();
				stall = now + LOOM__STALL_NS;
				continue;
			}
		}
		if (now >= deadline) {
			/* Who held it up, all of them, for the report. */
			if (loom__all_evacuated(report, nreport, 1)) {
				status = install(arg);
				break;
			}
			status = LOOM_E_TIMEOUT;
			break;
		}
		/* Parking threads signal; a thread entering a blocking call or
		 * exiting does not, hence the short re-check period. */
		wake = now + 2000000u < deadline ? now + 2000000u : deadline;
		wake = wake < stall ? wake : stall;
		loom__cond_wait_until(&loom__rt.engine_cv, &loom__rt.lock, wake);
	}
	rep->r.in_force_ns = status == LOOM_OK ? loom__now_ns() : 0;
	/* The answer goes out before the threads resume: they compete with
	 * this thread for the CPUs, and the CLI waits for nothing else.  (A
	 * reply of a few hundred bytes on its own connection does not block.) */
	outcome(arg, status, rep);
	loom__reply(rep->conn, rep);
	rep->sent = 1;
	/* The generation first: a thread that stops waiting for a lock and
	 * finds no update in progress must know that the table it read from
	 * may be gone.  (The parked threads see it only once they have the
	 * runtime lock again.) */
	__atomic_add_fetch(&loom__rt.generation, 1, __ATOMIC_SEQ_CST);
	__builtin_memset(loom__rt.armed, 0, loom__nhooks + 1);
	loom__set_switches();
	loom__set_ops_at(loom__rt.table);
	__atomic_store_n(&loom__active, loom__rt.table ? LOOM__FILTERS : 0, __ATOMIC_SEQ_CST);
	/* A woken thread clears its own flag only once it runs again: clear
	 * them all now, so that the next evacuation cannot count a thread as
	 * parked at a hook that is no longer safe. */
	for (t = loom__rt.threads; t; t = t->next)
		t->parked = 0;
	loom__c_cond_broadcast(&loom__rt.resume_cv);
	loom__unlock_rt();
	return status;
}

/* INSTALL callbacks: run with every thread evacuated and the lock held. */
LOOM__CONTROL int loom__install_push(void *arg)
{
	struct loom__filter *f = (struct loom__filter *)arg, **tail = &loom__rt.filters;
	struct loom__table *old = loom__rt.table, *t;
	int err;

	while (*tail)
		tail = &(*tail)->next;
	*tail = f;
	t = loom__build_table(loom__rt.filters, &err);
	if (err) {
		*tail = LOOM__NULL;
		return err;
	}
	__atomic_store_n(&loom__rt.table, t, __ATOMIC_RELEASE);
	loom__free_table(old);
	return LOOM_OK;
}

LOOM__CONTROL int loom__install_pop(void *arg)
{
	struct loom__filter *f = (struct loom__filter *)arg, **p = &loom__rt.filters;
	struct loom__table *old = loom__rt.table, *t;
	int err;

	while (*p != f)
		p = &(*p)->next;
	*p = f->next;
	t = loom__build_table(loom__rt.filters, &err);
	if (err) {
		f->next = *p;
		*p = f;
		return err;
	}
	__atomic_store_n(&loom__rt.table, t, __ATOMIC_RELEASE);
	loom__free_table(old);
	return LOOM_OK;
}

/* ---- the update channel ---- */

LOOM__CONTROL int loom__send_all(int fd, const void *buf, unsigned long len)
{
	const char *p = (const char *)buf;

	while (len) {
		long w = loom__c_send(fd, p, len, LOOM__MSG_NOSIGNAL);

		if (w < 0 && *loom__c_errno() == LOOM__EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (unsigned long)w;
	}
	return 0;
}

LOOM__CONTROL int loom__send_msg(int fd, loom_u16 type, const void *a, loom_u32 alen,
                              const void *b, loom_u32 blen, const void *c, loom_u32 clen)
{
	struct loom_msg_header h = { LOOM_WIRE_MAGIC, LOOM_WIRE_VERSION, type, alen + blen + clen };

	return loom__send_all(fd, &h, sizeof h) < 0 || loom__send_all(fd, a, alen) < 0
	       || loom__send_all(fd, b, blen) < 0 || loom__send_all(fd, c, clen) < 0 ? -1 : 0;
}

LOOM__CONTROL void loom__reply(int fd, struct loom__reply *rep)
{
	rep->r.text_len = (loom_u32)__builtin_strlen(rep->text);
	loom__send_msg(fd, LOOM_MSG_REPLY, &rep->r, sizeof rep->r, rep->text, rep->r.text_len,
	               rep->threads, rep->r.nthreads * (loom_u32)sizeof rep->threads[0]);
}

/* Fills REP with an error; returns -1. */
LOOM__CONTROL __attribute__((format(printf, 3, 4)))
int loom__fail(struct loom__reply *rep, int code, const char *fmt, ...)
{
	__builtin_va_list ap;

	rep->r.status = code;
	__builtin_va_start(ap, fmt);
	loom__c_vsnprintf(rep->text, sizeof rep->text, fmt, ap);
	__builtin_va_end(ap);
	return -1;
}
#define LOOM__FAIL loom__fail

/* Checks every byte of an image of SIZE bytes against the program's
 * manifest: header, bounds, alignment, ids and op kinds.  Returns 0 or -1
 * with REP filled. */
LOOM__CONTROL int loom__validate_image(const unsigned char *base, loom_u64 size, struct loom__reply *rep)
{
	loom_u32 i;
	const struct loom_image *im = (const struct loom_image *)(const void *)base;
	const struct loom_image_op *ops;
	const loom_u32 *danger;

	if (size < sizeof *im || im->magic != LOOM_IMAGE_MAGIC)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "not a filter image");
	if (im->version != LOOM_IMAGE_VERSION)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "filter image version %u, this runtime reads %u",
		                  im->version, LOOM_IMAGE_VERSION);
	if (im->size != size)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "image size %u does not match its memfd (%llu bytes)",
		                  im->size, (unsigned long long)size);
	if (__builtin_memcmp(im->manifest_id, loom__manifest_id, LOOM_ID_LEN) || im->nhooks != loom__nhooks)
		return LOOM__FAIL(rep, LOOM_E_MANIFEST, "filter compiled against manifest %.16s, "
		                  "this program was built from manifest %s", im->manifest_id, loom__manifest_id);
	if (im->timeout_ms == 0 || im->timeout_ms > LOOM_TIMEOUT_MAX_MS)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "timeout %u ms out of range", im->timeout_ms);
	if (im->nlocks == 0 || im->nlocks > LOOM_IMAGE_MAX_LOCKS || im->nregions > LOOM_IMAGE_MAX_REGIONS)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad lock or region count");
	if (im->text_len == 0 || im->text_len > LOOM_IMAGE_MAX_TEXT || im->text_off > size
	    || im->text_len > size - im->text_off || __builtin_memchr(base + im->text_off, 0, im->text_len))
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad filter text");
	if (im->ops_off % 4 || im->ops_off > size || im->nops == 0
	    || im->nops > (size - im->ops_off) / sizeof *ops)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad op table");
	if (im->danger_off % 4 || im->danger_off > size
	    || im->ndanger > (size - im->danger_off) / sizeof *danger)
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad dangerous-hook table");
	if (im->fns_off % 4 || im->fns_off > size || im->nfns > (size - im->fns_off) / sizeof(loom_u32))
		return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad function table");
	ops = (const struct loom_image_op *)(const void *)(base + im->ops_off);
	danger = (const loom_u32 *)(const void *)(base + im->danger_off);
	for (i = 0; i < im->nops; i++) {
		unsigned kind = ops[i].kind & ~LOOM_OP_SOLO;
		int range = kind == LOOM_OP_ENTER_RANGE || kind == LOOM_OP_LEAVE_RANGE;
		int wait = kind == LOOM_OP_WAIT;

		if (ops[i].hook < 1 || ops[i].hook > loom__nhooks || ops[i].lock >= im->nlocks
		    || kind < LOOM_OP_ENTER || kind > LOOM_OP_POST_MARKED
		    || ((ops[i].kind & LOOM_OP_SOLO) && kind > LOOM_OP_LEAVE_RANGE)
		    || (range ? ops[i].region >= im->nregions
		        : wait ? ops[i].region < 1 || ops[i].region > LOOM_IMAGE_MAX_COUNT : ops[i].region != 0))
			return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad op %u", i);
	}
	/* A lock is a mutex, a unilateral one or a semaphore: one of them. */
	for (i = 0; i < im->nops; i++) {
		loom_u32 j;

		for (j = 0; j < i; j++)
			if (ops[j].lock == ops[i].lock && loom__lock_use(ops[j].kind) != loom__lock_use(ops[i].kind))
				return LOOM__FAIL(rep, LOOM_E_MALFORMED, "op %u uses lock %u in two ways (mutex, "
				                  "unilateral, semaphore)", i, ops[i].lock);
	}
	for (i = 0; i < im->ndanger; i++)
		if (danger[i] < 1 || danger[i] > loom__nhooks)
			return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad dangerous hook %u", i);
	for (i = 0; i < im->nfns; i++) {
		loom_u32 fn;

		__builtin_memcpy(&fn, base + im->fns_off + i * sizeof fn, sizeof fn);
		if ((fn & ~LOOM_FN_WRAP) >= loom__nfuncs)
			return LOOM__FAIL(rep, LOOM_E_MALFORMED, "bad function %u", i);
	}
	return 0;
}

/* What an op of KIND uses its lock as: 0 a mutex, 1 a unilateral one, 2 a
 * semaphore. */
LOOM__CONTROL int loom__lock_use(unsigned kind)
{
	return kind & LOOM_OP_SOLO ? 1 : kind >= LOOM_OP_WAIT ? 2 : 0;
}

/* Copies a validated image into a new filter (the memfd is unmapped after). */
LOOM__CONTROL struct loom__filter *loom__make_filter(const unsigned char *base)
{
	loom_u32 i;
	const struct loom_image *im = (const struct loom_image *)(const void *)base;
	struct loom__filter *f = (struct loom__filter *)loom__c_calloc(1, sizeof *f);

	if (!f)
		return LOOM__NULL;
	f->text = (char *)loom__c_calloc(im->text_len + 1, 1);
	/* Cache-line aligned, from calloc (a program may replace malloc,
	 * calloc and free only). */
	f->locks_mem = loom__c_calloc(im->nlocks + 1, sizeof *f->locks);
	if (f->locks_mem)
		f->locks = (struct loom__lock *)(((unsigned long)f->locks_mem + __alignof__(*f->locks) - 1)
		                                 & ~(unsigned long)(__alignof__(*f->locks) - 1));
	f->ops = (struct loom_image_op *)loom__c_calloc(im->nops, sizeof *f->ops);
	f->danger = (loom_u32 *)loom__c_calloc(im->ndanger ? im->ndanger : 1, sizeof *f->danger);
	f->fns = (loom_u32 *)loom__c_calloc(im->nfns ? im->nfns : 1, sizeof *f->fns);
	if (!f->text || !f->locks || !f->ops || !f->danger || !f->fns) {
		loom__free_filter(f);
		return LOOM__NULL;
	}
	__builtin_memcpy(f->text, base + im->text_off, im->text_len);
	__builtin_memcpy(f->ops, base + im->ops_off, im->nops * sizeof *f->ops);
	__builtin_memcpy(f->danger, base + im->danger_off, im->ndanger * sizeof *f->danger);
	__builtin_memcpy(f->fns, base + im->fns_off, im->nfns * sizeof *f->fns);
	f->nfns = im->nfns;
	f->nlocks = im->nlocks;
	f->nops = im->nops;
	f->ndanger = im->ndanger;
	for (i = 0; i < f->nlocks; i++) {
		loom__c_mutex_init(&f->locks[i].m, LOOM__NULL);
		loom__c_cond_init(&f->locks[i].c, LOOM__NULL);
	}
	for (i = 0; i < f->nops; i++) {
		struct loom__lock *l = &f->locks[f->ops[i].lock];

		if (loom__lock_use(f->ops[i].kind) == 2 && !l->sem) {
			l->sem = 1;
			l->serial = ++loom__rt.next_serial;
		}
		l->solo = loom__lock_use(f->ops[i].kind) == 1;
	}
	return f;
}

LOOM__CONTROL int loom__is_eventfd(int fd)
{
	char path[40], link[64];
	long n;

	loom__c_snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	n = loom__c_readlink(path, link, sizeof link - 1);
	if (n < 0)
		return 0;
	link[n] = 0;
	return !__builtin_strcmp(link, "anon_inode:[eventfd]");
}

/* What a push of filter ARG came to, in REP. */
LOOM__CONTROL void loom__push_outcome(void *arg, int status, struct loom__reply *rep)
{
	const struct loom__filter *f = (const struct loom__filter *)arg;

	rep->r.status = status;
	rep->r.filter_id = 0;
	if (status == LOOM_OK) {
		rep->r.filter_id = f->id;
		rep->r.nthreads = 0;
		loom__c_snprintf(rep->text, sizeof rep->text, "filter %u installed", f->id);
	} else {
		loom__c_snprintf(rep->text, sizeof rep->text, status == LOOM_E_TIMEOUT
		                 ? "evacuation timed out: threads stayed inside the filter's dangerous region; nothing installed"
		                 : "cannot install: too many operations at one hook");
	}
}

/* What the removal of filter ARG came to, in REP. */
LOOM__CONTROL void loom__pop_outcome(void *arg, int status, struct loom__reply *rep)
{
	const struct loom__filter *f = (const struct loom__filter *)arg;

	rep->r.status = status;
	rep->r.filter_id = f->id;
	if (status == LOOM_OK) {
		rep->r.nthreads = 0;
		loom__c_snprintf(rep->text, sizeof rep->text, "filter %u removed", f->id);
	} else {
		loom__c_snprintf(rep->text, sizeof rep->text,
		                 "evacuation timed out: threads stayed inside the filter's dangerous region; filter %u still installed",
		                 f->id);
	}
}

/* PUSH: the CLI passed [eventfd, sealed memfd].  Validate the image, wait for
 * the commit signal on the eventfd (EOF on the socket first means the CLI
 * died: change nothing), then evacuate and install. */
LOOM__CONTROL void loom__handle_push(int conn, const int *fds, int nfds, struct loom__reply *rep)
{
	int seals, efd, mfd, armed;
	long size;
	unsigned char *base;
	struct loom__filter *f;
	struct loom__pollfd pfd[2];
	loom_u64 one;
	loom_u32 timeout_ms;

	if (nfds != 2 || !loom__is_eventfd(fds[0])) {
		LOOM__FAIL(rep, LOOM_E_MALFORMED, "push needs an eventfd and a memfd");
		return;
	}
	efd = fds[0];
	mfd = fds[1];
	seals = loom__c_fcntl(mfd, LOOM__F_GET_SEALS);
	if (seals < 0 || (seals & (LOOM__F_SEAL_WRITE | LOOM__F_SEAL_SHRINK | LOOM__F_SEAL_GROW))
	                 != (LOOM__F_SEAL_WRITE | LOOM__F_SEAL_SHRINK | LOOM__F_SEAL_GROW)) {
		LOOM__FAIL(rep, LOOM_E_MALFORMED, "the filter image is not a sealed memfd");
		return;
	}
	size = loom__c_lseek(mfd, 0, 2);
	if (size <= 0 || size > (long)LOOM_IMAGE_MAX_SIZE) {
		LOOM__FAIL(rep, LOOM_E_MALFORMED, "filter image size %ld out of range", size);
		return;
	}
	base = (unsigned char *)loom__c_mmap(LOOM__NULL, (unsigned long)size, LOOM__PROT_READ,
	                                     LOOM__MAP_PRIVATE, mfd, 0);
	if (base == (unsigned char *)-1) {
		LOOM__FAIL(rep, LOOM_E_MALFORMED, "cannot map the filter image");
		return;
	}
	if (loom__validate_image(base, (loom_u64)size, rep) < 0) {
		loom__c_munmap(base, (unsigned long)size);
		return;
	}
	timeout_ms = ((const struct loom_image *)(const void *)base)->timeout_ms;
	f = loom__make_filter(base);
	loom__c_munmap(base, (unsigned long)size);
	/* The hooks' park marks, at the first push: a program that is never
	 * pushed to does not pay for the allocation.  Only this thread (the
	 * engine) sets them; the hooks read them under the lock. */
	if (!loom__rt.armed) {
		unsigned char *marks = (unsigned char *)loom__c_calloc(loom__nhooks + 1, 1);

		loom__lock_rt();
		loom__rt.armed = marks;
		loom__unlock_rt();
	}
	armed = loom__rt.armed != LOOM__NULL;
	if (!f || !armed) {
		if (f)
			loom__free_filter(f);
		LOOM__FAIL(rep, LOOM_E_LIMIT, "out of memory");
		return;
	}
	pfd[0] = (struct loom__pollfd){ efd, LOOM__POLLIN, 0 };
	pfd[1] = (struct loom__pollfd){ conn, LOOM__POLLIN, 0 };
	if (loom__c_poll(pfd, 2, 10000) <= 0 || !(pfd[0].revents & LOOM__POLLIN)
	    || loom__c_read(efd, &one, sizeof one) != (long)sizeof one) {
		loom__free_filter(f);
		LOOM__FAIL(rep, LOOM_E_ABORTED, "no commit signal: nothing installed");
		return;
	}
	loom__lock_rt();
	f->id = ++loom__rt.next_filter_id;
	f->region_base = loom__rt.next_region;
	loom__rt.next_region += LOOM_IMAGE_MAX_REGIONS;
	loom__unlock_rt();
	if (loom__evacuate(f->danger, f->ndanger, timeout_ms, loom__install_push, f, loom__push_outcome, rep)
	    != LOOM_OK)
		loom__free_filter(f);
}

/* F is no longer installed: its semaphores' waiters go on (without what
 * they waited for), and F may be freed once the last has left. */
LOOM__CONTROL void loom__release_waiters(struct loom__filter *f)
{
	loom_u32 i;

	for (i = 0; i < f->nlocks; i++) {
		struct loom__lock *l = &f->locks[i];

		if (!l->sem)
			continue;
		loom__c_mutex_lock(&l->m);
		l->gone = 1;
		loom__c_cond_broadcast(&l->c);
		while (l->nwaiting)
			loom__c_cond_wait(&l->c, &l->m);
		loom__c_mutex_unlock(&l->m);
	}
}

LOOM__CONTROL void loom__handle_pop(const struct loom_pop *pop, struct loom__reply *rep)
{
	struct loom__filter *f;
	int status;

	if (pop->timeout_ms == 0 || pop->timeout_ms > LOOM_TIMEOUT_MAX_MS) {
		LOOM__FAIL(rep, LOOM_E_MALFORMED, "timeout %u ms out of range", pop->timeout_ms);
		return;
	}
	loom__lock_rt();
	for (f = loom__rt.filters; f && f->id != pop->filter_id; f = f->next)
		;
	loom__rt.removing = f;
	loom__unlock_rt();
	if (!f) {
		LOOM__FAIL(rep, LOOM_E_NOFILTER, "no filter %u is installed", pop->filter_id);
		return;
	}
	status = loom__evacuate(f->danger, f->ndanger, pop->timeout_ms, loom__install_pop, f, loom__pop_outcome, rep);
	loom__lock_rt();
	loom__rt.removing = LOOM__NULL;
	loom__unlock_rt();
	if (status == LOOM_OK) {
		loom__release_waiters(f);
		loom__free_filter(f);
	}
}

LOOM__CONTROL void loom__handle_list(int conn)
{
	struct loom__filter *f;
	loom_u32 i;
	unsigned char *buf;
	loom_u32 len = 4, count = 0;

	loom__lock_rt();
	for (f = loom__rt.filters; f; f = f->next)
		len += (loom_u32)sizeof(struct loom_listing) + (loom_u32)__builtin_strlen(f->text);
	buf = (unsigned char *)loom__c_malloc(len);
	if (buf) {
		loom_u32 off = 4;

		for (f = loom__rt.filters; f; f = f->next, count++) {
			struct loom_listing l = { f->id, (loom_u32)__builtin_strlen(f->text), 0, 0, 0 };

			/* Not under the locks' mutexes: a filter's lock is held
			 * for as long as its region runs. */
			for (i = 0; i < f->nlocks; i++) {
				l.hits += __atomic_load_n(&f->locks[i].hits, __ATOMIC_RELAXED);
				l.waits += __atomic_load_n(&f->locks[i].waits, __ATOMIC_RELAXED);
				l.wait_ns += __atomic_load_n(&f->locks[i].wait_ns, __ATOMIC_RELAXED);
			}
			__builtin_memcpy(buf + off, &l, sizeof l);
			__builtin_memcpy(buf + off + sizeof l, f->text, l.text_len);
			off += (loom_u32)sizeof l + l.text_len;
		}
		__builtin_memcpy(buf, &count, 4);
	}
	loom__unlock_rt();
	if (buf)
		loom__send_msg(conn, LOOM_MSG_LISTING, buf, len, LOOM__NULL, 0, LOOM__NULL, 0);
	loom__c_free(buf);
}

/* Receives exactly LEN bytes (with ancillary fds on the first read). */
LOOM__CONTROL int loom__recv_all(int fd, void *buf, loom_u32 len, int *fds, int *nfds, int *bad_cmsg)
{
	int i;
	char *p = (char *)buf;
	union { struct loom__cmsghdr h; char b[64]; } control;

	while (len) {
		struct loom__iovec iov = { p, len };
		struct loom__msghdr msg = { LOOM__NULL, 0, &iov, 1, control.b, sizeof control.b, 0 };
		long r = loom__c_recvmsg(fd, &msg, LOOM__MSG_CMSG_CLOEXEC);

		if (r < 0 && *loom__c_errno() == LOOM__EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (msg.controllen >= sizeof(struct loom__cmsghdr)) {
			struct loom__cmsghdr *c = &control.h;
			unsigned long data = c->len > sizeof *c ? c->len - sizeof *c : 0;
			int n = (int)(data / sizeof(int));
			const int *in = (const int *)(const void *)(control.b + sizeof *c);

			if (c->level != LOOM__SOL_SOCKET || c->type != LOOM__SCM_RIGHTS || c->len > sizeof control.b)
				*bad_cmsg = 1;
			else
				for (i = 0; i < n; i++) {
					if (*nfds < 2)
						fds[(*nfds)++] = in[i];
					else {
						loom__c_close(in[i]);
						*bad_cmsg = 1;
					}
				}
		}
		if (msg.flags & LOOM__MSG_CTRUNC)
			*bad_cmsg = 1;
		p += r;
		len -= (loom_u32)r;
	}
	return 0;
}

LOOM__CONTROL void loom__serve(int conn)
{
	int i;
	struct loom__ucred cred;
	unsigned credlen = sizeof cred;
	struct loom__timespec tv = { 5, 0 };
	struct loom_msg_header h;
	struct loom__reply rep;
	unsigned char payload[64];
	int fds[2], nfds = 0, bad_cmsg = 0;
	unsigned euid = loom__c_geteuid();

	__builtin_memset(&rep, 0, sizeof rep);
	rep.conn = conn;
	loom__c_setsockopt(conn, LOOM__SOL_SOCKET, LOOM__SO_RCVTIMEO, &tv, sizeof tv);
	loom__c_setsockopt(conn, LOOM__SOL_SOCKET, LOOM__SO_SNDTIMEO, &tv, sizeof tv);
	if (loom__c_getsockopt(conn, LOOM__SOL_SOCKET, LOOM__SO_PEERCRED, &cred, &credlen) < 0
	    || (cred.uid != euid && cred.uid != 0)) {
		LOOM__FAIL(&rep, LOOM_E_DENIED, "permission denied: only uid %u or root may update process %d",
		           euid, loom__c_getpid());
		loom__reply(conn, &rep);
		return;
	}
	{
		struct loom_hello hello = { (loom_u32)loom__c_getpid(), loom__nhooks, { 0 },
		                            (loom_u32)__builtin_strlen(loom__manifest_path) };

		__builtin_memcpy(hello.manifest_id, loom__manifest_id, LOOM_ID_LEN);
		if (loom__send_msg(conn, LOOM_MSG_HELLO, &hello, sizeof hello, loom__manifest_path,
		                   hello.path_len, LOOM__NULL, 0) < 0)
			return;
	}
	if (loom__recv_all(conn, &h, sizeof h, fds, &nfds, &bad_cmsg) < 0)
		goto out;
	if (h.magic != LOOM_WIRE_MAGIC || h.version != LOOM_WIRE_VERSION) {
		LOOM__FAIL(&rep, LOOM_E_MALFORMED, "bad message header (magic %#x, version %u)", h.magic, h.version);
	} else if (h.length > sizeof payload) {
		LOOM__FAIL(&rep, LOOM_E_MALFORMED, "message of %u bytes is too long", h.length);
	} else if (h.length && loom__recv_all(conn, payload, h.length, fds, &nfds, &bad_cmsg) < 0) {
		goto out;
	} else if (bad_cmsg) {
		LOOM__FAIL(&rep, LOOM_E_MALFORMED, "bad ancillary data");
	} else if (h.type == LOOM_MSG_PUSH && h.length == 0) {
		loom__handle_push(conn, fds, nfds, &rep);
	} else if (nfds) {
		LOOM__FAIL(&rep, LOOM_E_MALFORMED, "unexpected file descriptors");
	} else if (h.type == LOOM_MSG_POP && h.length == sizeof(struct loom_pop)) {
		struct loom_pop pop;

		__builtin_memcpy(&pop, payload, sizeof pop);
		loom__handle_pop(&pop, &rep);
	} else if (h.type == LOOM_MSG_LIST && h.length == 0) {
		loom__handle_list(conn);
		goto out;
	} else {
		LOOM__FAIL(&rep, LOOM_E_MALFORMED, "unknown message type %u or bad length %u", h.type, h.length);
	}
	if (!rep.sent)
		loom__reply(conn, &rep);
out:
	for (i = 0; i < nfds; i++)
		loom__c_close(fds[i]);
}

#if defined(__x86_64__)
#define LOOM__SYS_SCHED_SETATTR 314
#define LOOM__SYS_SCHED_GETATTR 315
#elif defined(__aarch64__) || defined(__riscv)
#define LOOM__SYS_SCHED_SETATTR 274
#define LOOM__SYS_SCHED_GETATTR 275
#endif
#define LOOM__PR_SET_NAME 15
#define LOOM__SCHED_FLAG_RESET_ON_FORK 1u

/* struct sched_attr, its first version. */
struct loom__sched_attr {
	loom_u32 size, policy;
	loom_u64 flags;
	int nice;
	loom_u32 priority;
	loom_u64 runtime, deadline, period;
};

/* The calling thread (the engine) asks for a short time slice.  An update
 * waits first of all for the engine to get a CPU once it is woken, and a
 * program under a race is often one whose threads keep every CPU busy:
 * woken behind them with the default slice, the engine waited tens of
 * milliseconds.  Since Linux 6.12 (EEVDF) a normal thread may set its own
 * slice, unprivileged; a woken thread with a short one runs ahead of those
 * with longer ones, with no larger share of the CPU.  Only for the normal
 * policy (the others have no slice, or no wake-up preemption), keeping
 * the nice value and reset-on-fork; an older kernel takes the value and
 * ignores it. */
LOOM__CONTROL void loom__short_slice(void)
{
#ifdef LOOM__SYS_SCHED_SETATTR
	struct loom__sched_attr a;

	__builtin_memset(&a, 0, sizeof a);
	if (loom__c_syscall(LOOM__SYS_SCHED_GETATTR, 0, &a, (unsigned)sizeof a, 0) == 0 && a.policy == 0) {
		a.size = sizeof a;
		a.flags &= LOOM__SCHED_FLAG_RESET_ON_FORK;
		a.runtime = 100000; /* ns: the kernel's minimum */
		(void)loom__c_syscall(LOOM__SYS_SCHED_SETATTR, 0, &a, 0);
	}
#endif
}

LOOM__CONTROL void *loom__engine(void *arg)
{
	(void)arg;
	loom__self.in_runtime = 1; /* never runs hooks, even via interposed libc */
	loom__rt.engine_tid = loom__c_gettid();
	/* Where `top -H` and gdb list threads. */
	(void)loom__c_prctl(LOOM__PR_SET_NAME, "loom-engine", 0L, 0L, 0L);
	loom__short_slice();
	for (;;) {
		struct loom__pollfd pfd[2] = { { loom__rt.listen_fd, LOOM__POLLIN, 0 },
		                               { loom__rt.wake_fd, LOOM__POLLIN, 0 } };
		int conn;

		if (loom__c_poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[1].revents)
			return LOOM__NULL; /* asked to stop */
		if (pfd[0].revents & LOOM__POLLNVAL) {
			/* The program closed our socket (a daemon closing every fd):
			 * no channel any more, rather than a spinning thread. */
			loom__warn("update channel closed by the program");
			return LOOM__NULL;
		}
		conn = loom__c_accept4(loom__rt.listen_fd, LOOM__NULL, LOOM__NULL, LOOM__SOCK_CLOEXEC);
		if (conn < 0) {
			/* Out of descriptors: wait a little instead of spinning. */
			struct loom__pollfd none = { -1, 0, 0 };

			if (*loom__c_errno() != LOOM__EINTR && *loom__c_errno() != LOOM__EAGAIN)
				loom__c_poll(&none, 1, 50);
			continue;
		}
		loom__serve(conn);
		loom__c_close(conn);
	}
}

/* The socket lives in $XDG_RUNTIME_DIR/loom or /tmp/loom-UID, which must be
 * a directory of ours that nobody else can enter.  Writes its path to DIR
 * (SIZE bytes) and returns 0; -1 if it is not such a directory, -2 if the
 * path is too long for a socket's. */
LOOM__CONTROL int loom__private_dir(char *dir, unsigned long size)
{
	const char *xdg = loom__c_getenv("XDG_RUNTIME_DIR");
	unsigned euid = loom__c_geteuid();
	struct loom__statx st;

	int n;

	if (xdg && xdg[0] == '/')
		n = loom__c_snprintf(dir, size, "%s/loom", xdg);
	else
		n = loom__c_snprintf(dir, size, "/tmp/loom-%u", euid);
	if (n < 0)
		return -1;
	if ((unsigned long)n >= size)
		return -2;
	if (loom__c_mkdir(dir, 0700) < 0 && *loom__c_errno() != LOOM__EEXIST)
		return -1;
	if (loom__c_statx(LOOM__AT_FDCWD, dir, LOOM__AT_SYMLINK_NOFOLLOW, LOOM__STATX_BASIC, &st) < 0
	    || (st.mode & LOOM__S_IFMT) != LOOM__S_IFDIR || st.uid != euid || (st.mode & 077))
		return -1;
	return 0;
}

LOOM__CONTROL void loom__start_channel(void)
{
	struct loom__sockaddr_un addr;
	char dir[sizeof addr.path - 16], msg[300];
	unsigned long mask[16];
	unsigned long old[16];
	unsigned long thread;
	int fd, status;

	loom__rt.pid = loom__c_getpid();
	status = loom__private_dir(dir, sizeof dir);
	if (status < 0) {
		if (status == -2)
			loom__c_snprintf(msg, sizeof msg, "no update channel: the directory %s... is too long for a socket's path",
			                 dir);
		else
			loom__c_snprintf(msg, sizeof msg, "no update channel: %s is not a private directory of uid %u",
			                 dir, loom__c_geteuid());
		loom__warn(msg);
		return;
	}
	__builtin_memset(&addr, 0, sizeof addr);
	addr.family = LOOM__AF_UNIX;
	loom__c_snprintf(addr.path, sizeof addr.path, "%s/%d.sock", dir, loom__rt.pid);
	fd = loom__c_socket(LOOM__AF_UNIX, LOOM__SOCK_STREAM | LOOM__SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	loom__c_unlink(addr.path); /* a stale socket of a dead process with our pid */
	if (loom__c_bind(fd, &addr, sizeof addr) < 0 || loom__c_listen(fd, 8) < 0) {
		loom__c_snprintf(msg, sizeof msg, "no update channel: cannot listen on %s", addr.path);
		loom__warn(msg);
		loom__c_close(fd);
		return;
	}
	loom__c_chmod(addr.path, 0600);
	__builtin_memcpy(loom__rt.sock_path, addr.path, sizeof addr.path);
	loom__rt.listen_fd = fd;
	loom__rt.wake_fd = loom__c_eventfd(0, LOOM__EFD_CLOEXEC);
	/* The engine must never take the program's signals. */
	loom__c_sigfillset(mask);
	loom__c_sigmask(LOOM__SIG_SETMASK, mask, old);
	if (loom__c_pthread_create(&thread, LOOM__NULL, loom__engine, LOOM__NULL) == 0)
		loom__c_pthread_detach(thread);
	loom__c_sigmask(LOOM__SIG_SETMASK, old, LOOM__NULL);
}

LOOM__CONTROL void loom__fork_prepare(void) { loom__lock_rt(); }
LOOM__CONTROL void loom__fork_parent(void) { loom__unlock_rt(); }

/* L in a forked child, whose one thread was OLD_TID and is TID: held by it
 * still, or by no one; no thread waits at it. */
LOOM__CONTROL void loom__fork_lock(struct loom__lock *l, int old_tid, int tid)
{
	loom__c_mutex_init(&l->m, LOOM__NULL);
	loom__c_cond_init(&l->c, LOOM__NULL);
	l->nwaiting = 0;
	if (l->owner && l->owner == old_tid) {
		l->owner = tid;
	} else if (l->owner) {
		l->owner = 0;
		l->depth = 0;
	}
}

/* The child has only the forking thread: rebuild the registry around it, free
 * filter locks held by threads that no longer exist, and open the child's own
 * channel.  Installed filters stay in force. */
LOOM__CONTROL void loom__fork_child(void)
{
	struct loom__filter *f;
	loom_u32 i;
	struct loom__thread *t = &loom__self;
	int old_tid = t->tid, tid = loom__c_gettid();

	loom__c_mutex_init(&loom__rt.lock, LOOM__NULL);
	loom__c_cond_init(&loom__rt.engine_cv, LOOM__NULL);
	loom__c_cond_init(&loom__rt.resume_cv, LOOM__NULL);
	loom__rt.threads = LOOM__NULL;
	if (old_tid) {
		t->tid = tid;
		t->next = t->prev = LOOM__NULL;
		loom__rt.threads = t;
	}
	loom__fork_lock(&loom__rt.solo, old_tid, tid);
	loom__solo_tid = loom__rt.solo.owner;
	for (f = loom__rt.filters; f; f = f->next)
		for (i = 0; i < f->nlocks; i++)
			loom__fork_lock(&f->locks[i], old_tid, tid);
	/* An evacuation in progress in the parent has no engine here to end it. */
	if (loom__rt.armed)
		__builtin_memset(loom__rt.armed, 0, loom__nhooks + 1);
	loom__set_switches();
	loom__set_ops_at(loom__rt.table);
	__atomic_store_n(&loom__active, loom__rt.table ? LOOM__FILTERS : 0, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&loom__rt.generation, 1, __ATOMIC_RELEASE);
	loom__rt.removing = LOOM__NULL;
	t->parked = 0;
	t->released = 0;
	t->blocking = 0;
	if (loom__rt.listen_fd >= 0)
		loom__c_close(loom__rt.listen_fd);
	if (loom__rt.wake_fd >= 0)
		loom__c_close(loom__rt.wake_fd);
	loom__rt.listen_fd = loom__rt.wake_fd = -1;
	loom__rt.sock_path[0] = 0;
	loom__start_channel();
}

LOOM__CONTROL void loom__init(void)
{
	if (__atomic_exchange_n(&loom__rt.started, 1, __ATOMIC_ACQ_REL))
		return;
	/* loom__rt's mutexes and condition variables need no init: all zero
	 * bytes is PTHREAD_MUTEX_INITIALIZER and PTHREAD_COND_INITIALIZER (glibc,
	 * musl), and a hook may run before this constructor. */
	loom__rt.listen_fd = loom__rt.wake_fd = -1;
	if (loom__c_key_create(&loom__rt.tls_key, loom__thread_gone) != 0) {
		loom__warn("no update channel: no thread-specific key left");
		return;
	}
	loom__c_atfork(loom__fork_prepare, loom__fork_parent, loom__fork_child);
	/* For testing a rewrite: the slow copies and loop twins everywhere. */
	if (loom__c_getenv("LOOM_FORCE_SLOW")) {
		loom__rt.force_slow = 1;
		loom__set_switches();
	}
	if (!loom__c_getenv("LOOM_DISABLE"))
		loom__start_channel();
}

LOOM__WEAK __attribute__((constructor)) void loom__ctor(void)
{
	loom__init();
}

LOOM__WEAK __attribute__((destructor)) void loom__dtor(void)
{
	if (loom__rt.sock_path[0] && loom__rt.pid == loom__c_getpid()) {
		loom__c_unlink(loom__rt.sock_path);
		loom__rt.sock_path[0] = 0;
	}
}

#endif /* LOOM_NO_IMPLEMENTATION */
#endif /* LOOM_WIRE_ONLY */
#endif /* LOOM_H */
