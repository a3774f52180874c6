/* The hybrid emitter (docs/design.md, "Hybrid instrumentation").
 *
 * Fast path: each function keeps its original body on its original lines,
 * plus one hook, an entry switch that tail-calls F__slow while a filter
 * touches F or an update is in progress, and the blocking markers (a thread
 * blocked in the kernel must be seen as paused on either path).
 *
 * Slow copies: F__slow is F with every slot, cond_break and blocking marker,
 * calling the slow copies of the functions of the same file declared above
 * the call.  Each copy follows its function, under `#line`, so diagnostics,
 * debuggers and sanitizers name the original lines, and sees the macros
 * its function saw.  A forward declaration of F__slow sits on F's first
 * line, where every type F's signature uses is declared, and another after
 * F's prototype at file scope above it, if F has one in the file.
 *
 * A function that cannot be outlined (static locals, ...: see
 * outline_facts in walk.c) keeps its hooks inline in its one body.
 *
 * Every insertion into the original text is on the line of the code it
 * belongs to and contains no newline, so every original line keeps its
 * number. */
#include "emit.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct edit {
	unsigned off;
	bool close;
	int rank;
	unsigned seq;
	unsigned del;  /* original bytes replaced by TEXT */
	char *text;
	char *twin;    /* the text in a loop twin, if not TEXT */
	bool join;     /* a suffix of the identifier before it */
};

struct edits {
	struct edit *e;
	size_t n, cap;
};

struct text {
	char *s;
	size_t len, cap;
};

static void append(struct text *t, const char *s, size_t n)
{
	while (t->cap < t->len + n + 1)
		loom_grow((void **)&t->s, &t->cap, t->cap, 1);
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void add(struct edits *ed, unsigned off, bool close, int rank, char *text)
{
	struct edit *e = LOOM_PUSH(ed->e, ed->n, ed->cap);

	*e = (struct edit){ off, close, rank, (unsigned)ed->n, 0, text, NULL, false };
}

/* SUFFIX (owned) right after the identifier that ends at OFF: before any
 * other edit there, and joined to it. */
static void add_suffix(struct edits *ed, unsigned off, char *suffix)
{
	add(ed, off, true, INT_MAX, suffix);
	ed->e[ed->n - 1].join = true;
}

static void replace(struct edits *ed, unsigned off, unsigned del, char *text)
{
	add(ed, off, false, INT_MAX, text);
	ed->e[ed->n - 1].del = del;
}

/* At one offset: closings (inner first) before openings (outer first). */
static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->close != y->close)
		return x->close ? -1 : 1;
	if (x->rank != y->rank)
		return (x->rank < y->rank) == !x->close ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends TEXT[FROM, TO) with the (sorted) edits of ED that belong there:
 * those strictly inside, and at the ends only those of rank MIN_RANK or
 * more (what belongs to an enclosing statement stays out).  TWIN: use each
 * edit's twin text. */
static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void apply_range(struct text *out, const char *text, size_t from, size_t to,
                        const struct edits *ed, int min_rank, bool twin)
{
	size_t p = from;

	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *e = &ed->e[i];
		const char *t = twin && e->twin ? e->twin : e->text;

		if (e->off < from || e->off > to)
			continue;
		if ((e->off == from && (e->close || e->rank < min_rank))
		    || (e->off == to && (!e->close || e->rank < min_rank)))
			continue;
		/* Inside text an edit before it deleted. */
		if (e->off < p)
			continue;
		if (e->off > p) {
			append(out, text + p, e->off - p);
			p = e->off;
		}
		/* A hook right after an identifier or a number must not join
		 * it; the edits meant to join are the rename suffixes. */
		if (out->len && ident_char(out->s[out->len - 1]) && ident_char(t[0]) && !e->join && strcmp(t, "__slow")
		    && strcmp(t, "__fast") && strcmp(t, "__switch"))
			append(out, " ", 1);
		append(out, t, strlen(t));
		p += e->del;
	}
	if (to > p)
		append(out, text + p, to - p);
}

static void free_edits(struct edits *ed)
{
	for (size_t i = 0; i < ed->n; i++) {
		free(ed->e[i].text);
		free(ed->e[i].twin);
	}
	free(ed->e);
	memset(ed, 0, sizeof *ed);
}

/* Appends TEXT[FROM, TO) with all of ED's edits applied, and frees ED. */
static void apply(struct text *out, const char *text, size_t from, size_t to, struct edits *ed)
{
	loom_sort(ed->e, ed->n, sizeof *ed->e, cmp_edit);
	apply_range(out, text, from, to, ed, INT_MIN, false);
	free_edits(ed);
}

/* ---- tokens ---- */

/* Calls FN for every identifier in TEXT[FROM, TO), skipping comments and
 * literals. */
static void each_identifier(const char *text, size_t from, size_t to,
                            void (*fn)(void *, unsigned, unsigned), void *arg)
{
	size_t i = from;

	while (i < to) {
		char c = text[i];

		if (c == '/' && i + 1 < to && text[i + 1] == '/') {
			while (i < to && text[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < to && text[i + 1] == '*') {
			for (i += 2; i + 1 < to && !(text[i] == '*' && text[i + 1] == '/'); i++)
				;
			i += 2;
		} else if (c == '"' || c == '\'') {
			for (i++; i < to && text[i] != c; i++)
				if (text[i] == '\\')
					i++;
			i++;
		} else if (isalpha((unsigned char)c) || c == '_') {
			size_t start = i;

			while (i < to && ident_char(text[i]))
				i++;
			fn(arg, (unsigned)start, (unsigned)(i - start));
		} else if (isdigit((unsigned char)c)) {
			while (i < to && (ident_char(text[i]) || text[i] == '.'))
				i++;
		} else {
			i++;
		}
	}
}

struct ident_edit {
	const char *text;
	struct edits *ed;
	const char *name; /* the function's name */
	const char *func; /* what __func__ becomes, if not NAME quoted */
};

/* In the prefix of a slow copy's declaration: drop `extern` (it is static)
 * and `inline` (it is noinline). */
static void drop_extern(void *arg, unsigned off, unsigned len)
{
	struct ident_edit *ie = arg;
	static const char *const words[] = { "extern", "inline", "__inline", "__inline__" };

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (len == strlen(words[i]) && !memcmp(ie->text + off, words[i], len))
			replace(ie->ed, off, len, loom_xstrdup(""));
}

/* In a slow copy's body: __func__ and friends still name the function. */
static void keep_func_name(void *arg, unsigned off, unsigned len)
{
	struct ident_edit *ie = arg;
	static const char *const names[] = { "__func__", "__FUNCTION__", "__PRETTY_FUNCTION__" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (len == strlen(names[i]) && !memcmp(ie->text + off, names[i], len))
			replace(ie->ed, off, len, ie->func ? loom_xstrdup(ie->func) : loom_xasprintf("\"%s\"", ie->name));
}

/* TEXT[FROM, TO) on one line: comments and line breaks become spaces
 * (string and character literals are copied as they are). */
static void append_one_line(struct text *out, const char *text, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (text[i] == '"' || text[i] == '\'') {
			char quote = text[i];

			append(out, text + i, 1);
			for (i++; i < to && text[i] != quote && text[i] != '\n'; i++) {
				if (text[i] == '\\' && i + 1 < to && text[i + 1] == '\n') {
					i++; /* a spliced line */
					continue;
				}
				append(out, text + i, 1);
				if (text[i] == '\\' && i + 1 < to && text[i + 1] != '\n')
					append(out, text + ++i, 1);
			}
			if (i < to && text[i] == quote)
				append(out, text + i, 1);
		} else if (text[i] == '/' && i + 1 < to && text[i + 1] == '*') {
			for (i += 2; i + 1 < to && !(text[i] == '*' && text[i + 1] == '/'); i++)
				;
			i++;
			append(out, " ", 1);
		} else if (text[i] == '/' && i + 1 < to && text[i + 1] == '/') {
			while (i + 1 < to && text[i + 1] != '\n')
				i++;
		} else if (text[i] == '\\' && i + 1 < to && text[i + 1] == '\n') {
			i++;
		} else {
			append(out, text[i] == '\n' || text[i] == '\r' ? " " : text + i, 1);
		}
	}
}

/* F's slow copy's name: NAME__slow, or, for a name a macro invocation
 * writes (rw_func.name_macro), LOOM_CAT(invocation, __slow), which names
 * it in every unit as that unit expands the invocation (rt/loom.h). */
static void append_slow_name(struct text *out, const struct rw_func *f, const char *text)
{
	if (f->name_macro) {
		append(out, "LOOM_CAT(", 9);
		append_one_line(out, text, f->name_off, f->name_off + f->name_len);
		append(out, ", __slow)", 9);
	} else {
		append(out, f->name, strlen(f->name));
		append(out, "__slow", 6);
	}
}

/* `static RET NAME__slow(PARAMS);` for F, on one line, from the declaration
 * of F that spans [START, END) of TEXT with F's name at NAME (its definition
 * up to the body, or a prototype); with SLOW false, `RET NAME__fast(PARAMS);`
 * (see struct rw_fast_entry).  DEFINITION: from F's definition, with the
 * slow copy's attributes, and `()` for a K&R one (a prototype's own
 * parameters give a K&R F__slow the prototyped type F has), or
 * `__typeof__(F)` for one whose prototype cannot be copied (slow_typeof). */
static char *declaration_renamed(const struct rw_func *f, const char *text, unsigned start, unsigned name,
                                 unsigned end, bool slow, bool definition)
{
	bool spelled_static = definition ? f->is_static : f->proto_static;
	struct text out = { 0 };
	struct edits ed = { 0 };
	struct ident_edit ie = { text, &ed, f->name, NULL };
	struct text prefix = { 0 };
	size_t n = strlen(f->name);

	each_identifier(text, start, name, drop_extern, &ie);
	apply(&prefix, text, start, name, &ed);
	/* Outlined for good: a slow copy inlined into its fast function would
	 * change how the compiler inlines the fast path; cold, it is also
	 * optimised for size and kept away from the hot code. */
	/* Quiet: gcc warns about noinline beside an `inline` a macro spells
	 * (binutils' `static INLINE int fits_in_signed_byte (...)`). */
	append(&out, "LOOM_QUIET_PUSH ", 16);
	if (slow && definition && !memmem(text + start, end - start, "always_inline", 13))
		append(&out, "__attribute__((__noinline__, __cold__)) ", 40);
	if (slow && definition && f->slow_typeof) {
		/* F's type, from the prototype above; the K&R definition
		 * that follows is compatible with it, as F's is. */
		append(&out, "static __typeof__(", 18);
		if (f->name_macro)
			append(&out, text + f->name_off, f->name_len);
		else
			append(&out, f->name, n);
		append(&out, ") ", 2);
		append_slow_name(&out, f, text);
	} else {
		if (slow && !spelled_static)
			append(&out, "static ", 7);
		append_one_line(&out, prefix.s ? prefix.s : "", 0, prefix.len);
		if (definition && slow && f->name_macro) {
			append_slow_name(&out, f, text);
			n = f->name_len;
		} else {
			append(&out, f->name, n);
			append(&out, slow ? "__slow" : "__fast", 6);
		}
		if (f->no_prototype && definition)
			append(&out, "()", 2);
		else
			append_one_line(&out, text, name + (unsigned)n, end);
	}
	append(&out, "; LOOM_QUIET_POP ", 17);
	free(prefix.s);
	return out.s;
}

/* F__slow's or F__fast's declaration from F's definition, on its first line. */
static char *forward_declaration(const struct rw_func *f, const char *text, bool slow)
{
	return declaration_renamed(f, text, f->decl_start, f->name_off, f->body_open - 1, slow, true);
}

/* F called with its own parameters: F__slow(a, b) with SUFFIX "__slow" (as
 * append_slow_name spells it; TEXT is the file's), F__fast(a, b) with
 * "__fast", LOOM_SELF(F)(a, b) without (see rt/loom.h); a variadic F's
 * slow copy also gets the address of its switch's va_list,
 * F__slow(a, b, &loom__ap). */
static char *call_text(const struct rw_func *f, const char *suffix, const char *text)
{
	struct text out = { 0 };

	if (!suffix) {
		append(&out, f->name, strlen(f->name));
	} else if (!strcmp(suffix, "__slow")) {
		append_slow_name(&out, f, text);
	} else if (*suffix) {
		append(&out, f->name, strlen(f->name));
		append(&out, suffix, strlen(suffix));
	} else {
		append(&out, "LOOM_SELF(", 10);
		if (f->name_macro)
			append_one_line(&out, text, f->name_off, f->name_off + f->name_len);
		else
			append(&out, f->name, strlen(f->name));
		append(&out, ")", 1);
	}
	append(&out, "(", 1);
	for (size_t i = 0; i < f->nparams; i++) {
		if (i)
			append(&out, ", ", 2);
		append(&out, f->params[i], strlen(f->params[i]));
	}
	if (f->variadic && !strcmp(suffix, "__slow"))
		append(&out, ", &loom__ap", 11);
	append(&out, ")", 1);
	return out.s;
}

static bool param_named(const struct rw_func *f, const char *name)
{
	for (size_t i = 0; i < f->nparams; i++)
		if (!strcmp(f->params[i], name))
			return true;
	return false;
}

static bool address_taken_here(const struct rw_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->naddress_taken; i++)
		if (!strcmp(plan->address_taken[i].name, name))
			return true;
	return false;
}

/* Is NAME one of OPTS's slow callees where a call of it is spelled at
 * offset OFF (with OWN, one of the file's own functions)? */
static bool slow_callee(const struct rw_emit_opts *opts, const char *name, unsigned off, bool own)
{
	for (size_t i = 0; opts && i < opts->nslow_callees; i++)
		if (opts->slow_callees[i].after < off && !(own && opts->slow_callees[i].other_file)
		    && !strcmp(opts->slow_callees[i].name, name))
			return true;
	return false;
}

/* Where F__slow is first declared, for a function F of the file (outlined):
 * right after F's first declaration when that is a prototype at file scope
 * above the definition (rw_func.proto_end), else where the definition
 * starts.  In a header too (Open vSwitch's dp-packet.h declares its
 * accessors first and calls them above their definitions), where the
 * definition may also be in conditional groups begun after the prototype:
 * the declaration then goes under copies of their directives
 * (rw_func.proto_groups, walk.c enclosing_groups). */
static unsigned slow_declared_at(const struct rw_func *f)
{
	return f->proto_end < f->decl_start ? f->proto_end : f->decl_start;
}

/* A call of a function of the same file goes to its slow copy only below
 * F__slow's first declaration (slow_declared_at; a call further up calls
 * F, whose switch decides).  In a header, only its functions without switch
 * are renamed: the others switch, and in a file that sees the header
 * otherwise the first unit saw it a slow copy could be missing. */
bool rw_calls_slow_copy(const struct rw_plan *plan, const struct rw_func *caller, const struct rw_call *call,
                        const struct rw_emit_opts *opts)
{
	/* A name a macro writes is renamed around the caller's copies
	 * (rw_call.macro_name, macro_renames). */
	unsigned at = call->name_off != UINT_MAX ? call->name_off : call->macro_name ? call->off : UINT_MAX;

	const size_t *named;
	size_t n;

	if (!call->callee || at == UINT_MAX || caller->inline_reason)
		return false;
	named = rw_plan_named(plan, call->callee, &n);
	for (size_t k = 0; k < n; k++) {
		const struct rw_func *f = &plan->funcs[named[k]];

		if (!f->inline_reason)
			return rw_slow_callable(f) && slow_declared_at(f) < at
			       && (!opts || !opts->header || slow_callee(opts, call->callee, at, true));
	}
	return slow_callee(opts, call->callee, at, false);
}

bool rw_calls_switch_entry(const struct rw_plan *plan, const struct rw_func *caller, const struct rw_call *call,
                           const struct rw_emit_opts *opts)
{
	size_t n;

	if (!caller->inline_reason || !call->callee || opts->header || call->off == UINT_MAX
	    || (call->name_off == UINT_MAX && !call->macro_name))
		return false;
	rw_plan_named(plan, call->callee, &n);
	return !n && slow_callee(opts, call->callee, call->name_off != UINT_MAX ? call->name_off : call->off, false);
}

static int cmp_fast_entry(const void *a, const void *b)
{
	return strcmp(((const struct rw_fast_entry *)a)->name, ((const struct rw_fast_entry *)b)->name);
}

/* The index of NAME in OPTS's fast entries (sorted by name), or -1. */
static long fast_entry_index(const struct rw_emit_opts *opts, const char *name)
{
	const struct rw_fast_entry key = { name }, *e;

	if (!name)
		return -1;
	e = loom_bsearch(&key, opts->fast_entries, opts->nfast_entries, sizeof key, cmp_fast_entry);
	return e ? e - opts->fast_entries : -1;
}

/* Could CALL, in CALLER's fast body, go to its callee's unchecked
 * NAME__fast (struct rw_fast_entry), however it is spelled?  Only a direct
 * call by a function with a slow copy (the callers switch for the callee),
 * of the function with external linkage declared at file scope in the tree
 * above CALLER (where `extern __typeof__(NAME) NAME__fast;` can go; see
 * rw_call.decl_off, which also rules out a static function of the name);
 * in a header, declared in the header itself (every file that includes it
 * sees that declaration above the caller). */
static bool fast_entry_call(const struct rw_func *caller, const struct rw_call *call,
                            const struct rw_emit_opts *opts)
{
	return opts->hybrid && !caller->inline_reason && !call->in_group && call->decl_off != UINT_MAX
	       && !(call->decl_off && call->decl_off >= caller->decl_start) && (!opts->header || call->decl_off)
	       && fast_entry_index(opts, call->callee) >= 0;
}

/* Does CALL, in CALLER's fast body, go to NAME__fast (fast_entry_call)?  A
 * call spelled in the file is renamed; one whose name a macro writes goes
 * there by `#define NAME NAME__fast` around the fast body (macro_renames),
 * which renames every NAME there: only if every call of NAME the body
 * makes can. */
static bool calls_fast_entry(const struct rw_func *caller, const struct rw_call *call,
                             const struct rw_emit_opts *opts)
{
	if (!fast_entry_call(caller, call, opts))
		return false;
	if (call->name_off != UINT_MAX)
		return true;
	if (!call->macro_name)
		return false;
	for (size_t c = 0; c < caller->ncalls; c++) {
		const struct rw_call *other = &caller->calls[c];

		if (other->callee && !strcmp(other->callee, call->callee)
		    && !((other->name_off != UINT_MAX || other->macro_name) && fast_entry_call(caller, other, opts)))
			return false;
	}
	return true;
}

/* Per function of PLAN: is its name called somewhere in the file where the
 * call does not go to its slow copy (see rw_calls_slow_copy)?  Then it
 * needs its own switch.  Free the result. */
static bool *called_unrenamed(const struct rw_plan *plan, const struct rw_emit_opts *opts)
{
	bool *unrenamed = loom_xcalloc(plan->nfuncs + 1, sizeof *unrenamed);

	for (size_t i = 0; i < plan->nfuncs; i++)
		for (size_t c = 0; c < plan->funcs[i].ncalls; c++) {
			const struct rw_call *call = &plan->funcs[i].calls[c];
			const size_t *named;
			size_t n;

			if (!call->callee || rw_calls_slow_copy(plan, &plan->funcs[i], call, opts))
				continue;
			named = rw_plan_named(plan, call->callee, &n);
			for (size_t k = 0; k < n; k++)
				unrenamed[named[k]] = true;
		}
	return unrenamed;
}

/* What a file's functions share while they are emitted one by one. */
struct file_emit {
	struct edits fast;   /* the edits of the fast text, the original's */
	size_t pi;           /* the plan's next point */
	unsigned *point_ids; /* the ids given to the plan's points */
	char *declared;      /* per fast entry: NAME__fast declared already */
	bool *unrenamed;     /* see called_unrenamed */
};

/* ---- hooks ---- */

static unsigned emit_point(struct edits *ed, struct edits *fast, const struct rw_point *pt,
                           struct loom_manifest *m, unsigned file, unsigned fn)
{
	struct loom_function *f = &m->functions[fn];
	const char *d = pt->decl ? "_D" : "";
	/* In a slow copy hooks run only while needed: plain calls. */
	const char *slow = ed != fast ? "SLOW_" : "";
	enum loom_copy copy = f->slow_copy ? LOOM_COPY_SLOW : LOOM_COPY_INLINE;
	unsigned id = 0, exit_id;

	switch (pt->kind) {
	case RW_SLOT:
		id = loom_manifest_add_slot(m, pt->call ? LOOM_KIND_CALL : LOOM_KIND_STMT, file, pt->line,
		                            pt->column, fn);
		add(ed, pt->off, false, pt->rank, loom_xasprintf("LOOM_%sSLOT%s(%u); ", slow, d, id));
		/* A twin lives in the fast function: checked hooks there. */
		ed->e[ed->n - 1].twin = loom_xasprintf("LOOM_SLOT%s(%u); ", d, id);
		break;
	case RW_RETURN:
		/* The exit's id follows the slot's (record_edges counts on it). */
		id = loom_manifest_add_slot(m, pt->call ? LOOM_KIND_CALL : LOOM_KIND_STMT, file, pt->line,
		                            pt->column, fn);
		exit_id = loom_manifest_add_slot(m, LOOM_KIND_EXIT, file, pt->line, pt->column, fn);
		m->slots[exit_id - 1].copy = copy;
		*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = exit_id;
		add(ed, pt->off, false, pt->rank,
		    loom_xasprintf("LOOM_%sSLOT(%u); LOOM_RETURN(%u); ", slow, id, exit_id));
		/* A twin has no exit guard: its returns run the exit slot first. */
		ed->e[ed->n - 1].twin = loom_xasprintf("LOOM_SLOT(%u); LOOM_SLOT(%u); ", id, exit_id);
		break;
	case RW_BREAK:
		id = loom_manifest_add_slot(m, LOOM_KIND_BACKEDGE, file, pt->line, pt->column, fn);
		add(ed, pt->off, false, pt->rank, loom_xasprintf("LOOM_%sCOND_BREAK%s(%u); ", slow, d, id));
		ed->e[ed->n - 1].twin = loom_xasprintf("LOOM_COND_BREAK%s(%u); ", d, id);
		break;
	case RW_BLOCKING:
	case RW_BLOCKING_COND:
		id = loom_manifest_add_slot(m, LOOM_KIND_BLOCKING, file, pt->line, pt->column, fn);
		m->slots[id - 1].callee = loom_xstrdup(pt->callee);
		/* In both copies: a thread blocked in the fast path counts too.
		 * A condition `while (C)` becomes `while (begin, (C) ? end, 1 :
		 * end, 0)`: C stays where it was, so a loop twin's header copied
		 * from the slow copy's text carries the same markers. */
		for (struct edits *e = ed; e; e = e == fast ? NULL : fast) {
			if (pt->kind == RW_BLOCKING) {
				add(e, pt->off, false, pt->rank, loom_xasprintf("LOOM_BLOCKING_BEGIN%s(%u); ", d, id));
				add(e, pt->end_off, true, pt->rank, loom_xasprintf(" LOOM_BLOCKING_END%s(%u);", d, id));
			} else {
				add(e, pt->off, false, pt->rank, loom_xasprintf("LOOM_BLOCKING_COND(%u), (", id));
				add(e, pt->end_off, true, pt->rank,
				    loom_xasprintf(") ? LOOM_BLOCKING_COND_END(%u, 1) : LOOM_BLOCKING_COND_END(%u, 0)",
				                   id, id));
			}
		}
		if (fast != ed)
			copy = LOOM_COPY_BOTH;
		break;
	}
	m->slots[id - 1].copy = copy;
	return id;
}

/* The function named NAME that a call in PLAN's file reaches: one of
 * PLAN's, else one of the OTHERS' (the headers the file includes), with
 * *WHERE its plan; NULL if none (an external function, a library's).  If
 * a macro writes it (struct rw_helper), *HELPER is that instead. */
static const struct rw_func *callee_in_tree(const struct rw_plan *plan, const struct rw_plan *const *others,
                                            size_t nothers, const char *name, const struct rw_plan **where,
                                            const struct rw_helper **helper)
{
	*helper = NULL;
	for (size_t i = 0; i <= nothers; i++) {
		const struct rw_plan *p = i ? others[i - 1] : plan;
		size_t n;
		const size_t *named = rw_plan_named(p, name, &n);

		*where = p;
		if (n)
			return &p->funcs[named[0]];
		for (size_t h = 0; h < p->nhelpers; h++)
			if (!strcmp(p->helpers[h].name, name)) {
				*helper = &p->helpers[h];
				return NULL;
			}
	}
	return NULL;
}

/* What the calls of a file reach, for the twin analysis: the headers it
 * includes (OTHERS, as the file sees them) and the tree's external
 * functions that cannot run long (SHORTS, may be NULL). */
struct reach {
	const struct rw_plan *const *others;
	size_t nothers;
	const struct rw_shorts *shorts;
};

static bool loop_runs_long_at(const struct rw_plan *plan, const struct reach *r, const struct rw_loop *l, int depth);
static bool may_run_long(const struct rw_plan *plan, const struct reach *r, const char *name, int depth);

static bool is_short(const struct rw_shorts *shorts, const char *name)
{
	return shorts && loom_bsearch(&name, shorts->names, shorts->n, sizeof *shorts->names, loom_cmp_str);
}

/* Can function FI of PLAN run long: a loop of it that makes a call that
 * can (a loop without a call, or with a fixed number of passes, gets no
 * twin: it cannot keep a thread by itself), or a call it makes? */
static bool func_runs_long(const struct rw_plan *plan, const struct reach *r, size_t fi, int depth)
{
	const struct rw_func *f = &plan->funcs[fi];

	if (f->pure)
		return false;
	for (size_t l = 0; l < plan->nloops; l++)
		if (plan->loops[l].func == fi && plan->loops[l].calls && !plan->loops[l].fixed
		    && loop_runs_long_at(plan, r, &plan->loops[l], depth + 1))
			return true;
	for (size_t c = 0; c < f->ncalls; c++)
		if (!f->calls[c].brief && may_run_long(plan, r, f->calls[c].callee, depth + 1))
			return true;
	return false;
}

/* Can a call to NAME, in PLAN's file, run long?  Not if NAME is a static
 * function of this file or of a header it includes, written by a macro or
 * not, that cannot (func_runs_long), nor one of the tree's external
 * functions that cannot (main.c find_short_externals): the compiler likely
 * inlines the helpers, and a twin for every loop calling such a function
 * would put a check and jumps into the hottest loops (lu's daxpy per block
 * row, interp's B-tree descent, Open vSwitch's cmap buckets and the seqlock
 * retry loops around them, its trie lookups calling meta-flow.c's
 * mf_are_prereqs_ok).  DEPTH bounds recursion. */
static bool may_run_long(const struct rw_plan *plan, const struct reach *r, const char *name, int depth)
{
	const struct rw_plan *where;
	const struct rw_helper *h;
	const struct rw_func *f;

	if (!name || depth > 8)
		return true;
	f = callee_in_tree(plan, r->others, r->nothers, name, &where, &h);
	if (h) {
		for (size_t c = 0; c < h->ncallees; c++)
			if (may_run_long(where, r, h->callees[c], depth + 1))
				return true;
		return false;
	}
	if (f && f->pure)
		return false;
	if (!f || !f->is_static)
		return !is_short(r->shorts, name);
	return func_runs_long(where, r, (size_t)(f - where->funcs), depth);
}

/* Does loop L of PLAN make a call that may run long (then it gets a twin)?
 * In an endless loop (rw_loop.endless), one that reaches the tree's
 * external function does whatever that function does: the twin's check is
 * the only place where a thread that never leaves the loop meets a filter,
 * as the fast entries of the tree's callers do not switch (Open vSwitch's
 * worker loops; cli/tests/regions.py). */
static bool loop_runs_long_at(const struct rw_plan *plan, const struct reach *r, const struct rw_loop *l, int depth)
{
	const struct rw_func *f = &plan->funcs[l->func];
	const struct reach all = { r->others, r->nothers, NULL };

	if (l->endless)
		r = &all;

	/* Its condition's calls and its increment's too (`while (fgets(...))`),
	 * not its for-declaration's, made once. */
	for (size_t c = 0; c < f->ncalls; c++)
		if (f->calls[c].off >= l->start && f->calls[c].off < l->end && !f->calls[c].brief
		    && !(f->calls[c].off >= l->init_start && f->calls[c].off < l->init_end)
		    && may_run_long(plan, r, f->calls[c].callee, depth))
			return true;
	return false;
}

bool rw_runs_long(const struct rw_plan *plan, const struct rw_plan *const *others, size_t nothers, size_t fi,
                  const struct rw_shorts *shorts)
{
	return func_runs_long(plan, &(struct reach){ others, nothers, shorts }, fi, 0);
}

/* Does loop L get a slow twin (emit_twins)?  rw_settle_twins, which the
 * caller of rw_emit has called, has decided. */
static bool gets_twin(const struct rw_loop *l)
{
	return !l->no_twin;
}

void rw_settle_twins(struct rw_plan *plan, const struct rw_plan *const *others, size_t nothers,
                     const struct rw_shorts *shorts)
{
	const struct reach r = { others, nothers, shorts };

	for (size_t i = 0; i < plan->nloops; i++)
		if (!plan->loops[i].no_twin && !loop_runs_long_at(plan, &r, &plan->loops[i], 0))
			plan->loops[i].no_twin = "its calls cannot run long (static helpers and the tree's external "
			                         "functions that cannot, pure functions)";
}

/* Is OFF in the for-declaration of a loop of function FI that gets a
 * twin?  The fast path moves that declaration before the loop, into a
 * block shared with the twin (emit_twins), so an edit of the fast path
 * inside it goes with it rather than where the declaration was. */
static bool in_hoisted_init(const struct rw_plan *plan, size_t fi, unsigned off)
{
	for (size_t li = 0; li < plan->nloops; li++) {
		const struct rw_loop *l = &plan->loops[li];

		if (l->func == fi && l->init_start != UINT_MAX && off >= l->init_start && off < l->init_end
		    && gets_twin(l))
			return true;
	}
	return false;
}

/* Appends TEXT[FROM, TO) of function RF with the names of its renamed
 * static locals (rw_hoist.rename) renamed, where it declares or uses them. */
static void append_renamed(struct text *t, const char *text, const struct rw_func *rf, unsigned from, unsigned to)
{
	unsigned at = from;

	for (;;) {
		const struct rw_hoist *next = NULL;
		unsigned end = UINT_MAX;

		/* The next name to rename, in offset order. */
		for (size_t h = 0; h < rf->nhoists; h++) {
			const struct rw_hoist *ho = &rf->hoists[h];
			unsigned n = (unsigned)strlen(ho->name);

			for (size_t r = 0; ho->rename && !ho->by_macro && r <= ho->nrefs; r++) {
				unsigned p = (r < ho->nrefs ? ho->refs[r] : ho->name_at) + n;

				if (p > at && p <= to && p < end) {
					end = p;
					next = ho;
				}
			}
		}
		if (!next)
			break;
		append(t, text + at, end - at);
		append(t, next->rename + strlen(next->name), strlen(next->rename) - strlen(next->name));
		at = end;
	}
	append(t, text + at, to - at);
}

/* Records the loops of function FI (FN in M) with their cond_breaks. */
static void record_loops(const struct rw_plan *plan, size_t fi, struct loom_manifest *m,
                         unsigned fn, const unsigned *point_ids)
{
	for (size_t li = 0; li < plan->nloops; li++) {
		const struct rw_loop *l = &plan->loops[li];
		struct loom_function *f = &m->functions[fn];
		struct loom_loop *ml;

		if (l->func != fi)
			continue;
		ml = LOOM_PUSH(f->loops, f->nloops, f->loops_cap);
		ml->line = l->line;
		ml->end_line = l->end_line;
		ml->twin_exit = 0;
		ml->brk = l->break_point < plan->npoints && plan->points[l->break_point].kind == RW_BREAK
		          ? point_ids[l->break_point] : 0;
	}
}

/* The callees whose names macros write in a function's body that its
 * copies call slow (rw_call.macro_name): `#define NAME NAME__slow` opens
 * each copy (the slow copy, a loop twin) and `#undef NAME` closes it.
 * And those its fast body calls at their NAME__fast (calls_fast_entry):
 * `#define NAME NAME__fast` where the body opens; each copy opens with
 * `#undef NAME` (its calls switch), and a twin, inside the fast body,
 * closes with that #define again. */
struct renames {
	const char **names;
	size_t n, cap;
	const char **fast;
	size_t nfast, fast_cap;
	bool slow_copy;      /* the frames are the slow copy's, not a twin's */
	const char *resets;  /* the slow copy's: rw_func.macro_resets, first */
	const char *undefs;  /* the slow copy's: its statics renamed by #define
	                      * (rw_hoist.by_macro), last */
};

static bool listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static void macro_renames(const struct rw_plan *plan, const struct rw_func *rf, const struct rw_emit_opts *opts,
                          struct renames *r)
{
	for (size_t c = 0; c < rf->ncalls; c++) {
		const struct rw_call *call = &rf->calls[c];

		if (call->name_off != UINT_MAX)
			continue;
		if (rw_calls_slow_copy(plan, rf, call, opts) && !listed(r->names, r->n, call->callee))
			*LOOM_PUSH(r->names, r->n, r->cap) = call->callee;
		if (calls_fast_entry(rf, call, opts) && !listed(r->fast, r->nfast, call->callee))
			*LOOM_PUSH(r->fast, r->nfast, r->fast_cap) = call->callee;
	}
}

/* The physical line of TEXT that offset OFF is on (from 1). */
static unsigned line_at(const char *text, unsigned off)
{
	const char *p = text, *end = text + off;
	unsigned line = 1;

	/* memchr: a file's length per call (once per directive block). */
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

/* `#line` and a newline: the next line is F's physical line LINE as the
 * preprocessor numbers it there (a line directive above F may have moved
 * it, or renamed the file). */
static void append_line_directive(struct text *t, const struct rw_func *f, unsigned line)
{
	char *s = loom_xasprintf("#line %ld", (long)line + f->line_delta);

	append(t, s, strlen(s));
	free(s);
	if (f->line_file) {
		append(t, " \"", 2);
		for (const char *c = f->line_file; *c; c++) {
			if (*c == '"' || *c == '\\')
				append(t, "\\", 1);
			append(t, c, 1);
		}
		append(t, "\"", 1);
	}
	append(t, "\n", 1);
}

/* For each of the N NAMES, a line `#define NAME NAME<SUFFIX>`, or with
 * SUFFIX NULL `#undef NAME`. */
static void append_renames(struct text *t, const char *const *names, size_t n, const char *suffix)
{
	for (size_t i = 0; i < n; i++) {
		char *s = suffix ? loom_xasprintf("#define %s %s%s\n", names[i], names[i], suffix)
		                 : loom_xasprintf("#undef %s\n", names[i]);

		append(t, s, strlen(s));
		free(s);
	}
}

/* Adds T's directive lines at offset OFF of F's text (a closing edit if
 * CLOSING), then `#line` for OFF's physical line, so that the text there
 * keeps its number (none at the file's end).  Takes T's text. */
static void add_directives(struct edits *ed, const struct rw_func *f, const char *text, unsigned off, bool closing,
                           struct text *t)
{
	if (text[off])
		append_line_directive(t, f, line_at(text, off));
	add(ed, off, closing, INT_MIN, t->s);
}

/* Opens (CLOSING false) or closes a copy of F's text placed into the
 * original (a slow copy, a loop twin): quiet pragmas, so that the warnings
 * of the original are not given twice, and `#line` for F's physical line
 * LINE as the preprocessor numbers it there (a line directive above F may
 * have moved it, or renamed the file).  Before the `#line`, R's directives
 * (R may be NULL): the macro-written callees' #define (opening) or #undef
 * (closing), and, opening a slow copy, its macro resets.  Ends with a
 * newline. */
static void frame_copy(struct text *t, const struct rw_func *f, bool closing, unsigned line,
                       const struct renames *r)
{
	char *s = loom_xasprintf("\nLOOM_QUIET_%s\n", closing ? "POP" : "PUSH");

	append(t, s, strlen(s));
	free(s);
	if (r && !closing)
		append_renames(t, r->fast, r->nfast, NULL);
	if (r && r->resets && !closing)
		append(t, r->resets, strlen(r->resets));
	if (r)
		append_renames(t, r->names, r->n, closing ? NULL : "__slow");
	if (r && r->undefs && closing)
		append(t, r->undefs, strlen(r->undefs));
	if (r && closing && !r->slow_copy)
		append_renames(t, r->fast, r->nfast, "__fast");
	append_line_directive(t, f, line);
}

/* The condition of do loop L, `while (` COND `);` after its body, as
 * plain text: *OPEN just after the '(', *CLOSE at the ')'.  False if the
 * text is not that (a macro writes part of it, say). */
static bool do_condition(const char *text, const struct rw_loop *l, unsigned *open, unsigned *close)
{
	unsigned i = l->body_end, j = l->end;

	while (i < j && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i + 5 >= j || memcmp(text + i, "while", 5) || ident_char(text[i + 5]))
		return false;
	for (i += 5; i < j && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'); i++)
		;
	if (i >= j || text[i] != '(')
		return false;
	*open = i + 1;
	if (j == 0 || text[j - 1] != ';')
		return false;
	for (j--; j > *open && (text[j - 1] == ' ' || text[j - 1] == '\t' || text[j - 1] == '\n'
	                        || text[j - 1] == '\r'); j--)
		;
	if (j <= *open || text[j - 1] != ')')
		return false;
	*close = j - 1;
	return true;
}

/* "{ DECL " for loop L of function FI, whose for-declaration DECL the
 * fast path moves before the loop: with the calls in it that go to their
 * callee's NAME__fast renamed, as call_fast_entries does elsewhere. */
static char *hoisted_init(const struct rw_plan *plan, size_t fi, const struct rw_loop *l, const char *text,
                          const struct rw_emit_opts *opts)
{
	const struct rw_func *rf = &plan->funcs[fi];
	struct text t = { 0 };
	unsigned at = l->init_start;

	append(&t, "{ ", 2);
	for (;;) {
		const struct rw_call *next = NULL;

		/* The next call to rename, in offset order (`g()()` names g
		 * twice, at one offset). */
		for (size_t c = 0; c < rf->ncalls; c++) {
			const struct rw_call *call = &rf->calls[c];

			if (call->name_off != UINT_MAX && call->name_off >= at && call->name_off < l->init_end
			    && (!next || call->name_off < next->name_off) && calls_fast_entry(rf, call, opts))
				next = call;
		}
		if (!next)
			break;
		append(&t, text + at, next->name_off + strlen(next->callee) - at);
		append(&t, "__fast", 6);
		at = next->name_off + (unsigned)strlen(next->callee);
	}
	append(&t, text + at, l->init_end - at);
	append(&t, " ", 1);
	return t.s;
}

/* A slow twin for each loop of function FI that can run long: in the fast
 * path, right after the loop, under `#line`; the fast body jumps into it
 * while the function must run slow, and it jumps back when not.  SLOW holds
 * the slow copy's (sorted) edits, whose text the twin's body reuses. */
static void emit_twins(const struct rw_plan *plan, size_t fi, const char *text,
                       struct loom_manifest *m, unsigned file, unsigned fn, const struct rw_emit_opts *opts,
                       struct edits *fast, const struct edits *slow, const struct renames *r)
{
	size_t k = 0;

	for (size_t li = 0; li < plan->nloops; li++) {
		const struct rw_loop *l = &plan->loops[li];
		struct loom_function *f = &m->functions[fn];
		struct loom_loop *ml;
		bool hoist = l->init_start != UINT_MAX;
		int body_rank = 4 * (l->depth + 1);
		struct text t = { 0 };
		unsigned exit_id, cond_open, cond_close;
		char *s;

		if (l->func != fi)
			continue;
		ml = &f->loops[k++];
		if (!gets_twin(l))
			continue;
		exit_id = loom_manifest_add_slot(m, LOOM_KIND_EXIT, file, l->end_line, 1, fn);
		m->slots[exit_id - 1].copy = LOOM_COPY_TWIN;
		*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = exit_id;
		ml->twin_exit = exit_id;

		/* The fast loop: its own declarations hoisted into a block
		 * shared with the twin, and the back-edge check around its body. */
		if (hoist) {
			s = hoisted_init(plan, fi, l, text, opts);
			add(fast, l->start, false, 4 * l->depth + 1, s);
			replace(fast, l->init_start, l->init_end - l->init_start, loom_xstrdup(";"));
		}
		if (l->is_do && do_condition(text, l, &cond_open, &cond_close)) {
			/* A do loop's back edge is its condition: a check at the
			 * top of the body would run on the first pass too, where
			 * gcc then cannot see that the pass sets a variable
			 * (libiberty's d_unqualified_name: -Wmaybe-uninitialized). */
			add(fast, l->body_start, false, body_rank - 1, loom_xasprintf("{ loom__fast_%zu: ; ", li));
			add(fast, cond_open, false, 4 * l->depth, loom_xstrdup("("));
			add(fast, cond_close, true, 4 * l->depth,
			    loom_xasprintf(") && LOOM_BACKEDGE_COND(%u, %zu)", fn, li));
		} else {
			add(fast, l->body_start, false, body_rank - 1,
			    loom_xasprintf("{ loom__fast_%zu: LOOM_BACKEDGE(%u, %zu); ", li, fn, li));
		}
		add(fast, l->body_end, true, body_rank - 1, loom_xstrdup(" }"));

		/* The twin. */
		frame_copy(&t, &plan->funcs[fi], false, l->line, r);
		append(&t, "if (0) { ", 9);
		/* The header (and a do-while's condition) with the slow copy's
		 * renames: calls made there run slow too.  INT_MAX: none of the
		 * hooks at its ends belong to it. */
		if (l->is_do) {
			append(&t, "do ", 3);
		} else if (hoist) {
			apply_range(&t, text, l->start, l->init_start, slow, INT_MAX, true);
			append(&t, ";", 1);
			apply_range(&t, text, l->init_end, l->body_start, slow, INT_MAX, true);
		} else {
			apply_range(&t, text, l->start, l->body_start, slow, INT_MAX, true);
		}
		s = loom_xasprintf("{ loom__twin_%zu: LOOM_BACKEDGE_BACK(%u, %zu); ", li, fn, li);
		append(&t, s, strlen(s));
		free(s);
		apply_range(&t, text, l->body_start, l->body_end, slow, body_rank, true);
		append(&t, " }", 2);
		if (l->is_do)
			apply_range(&t, text, l->body_end, l->end, slow, INT_MAX, true);
		s = loom_xasprintf(" LOOM_SLOT(%u); }", exit_id);
		append(&t, s, strlen(s));
		free(s);
		frame_copy(&t, &plan->funcs[fi], true, l->end_line, r);
		if (hoist)
			append(&t, " }", 2);
		add(fast, l->end, true, 4 * l->depth + 2, t.s);
	}
}

static int cmp_edge(const void *a, const void *b)
{
	const struct loom_edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/* The walk's control flow of function FI (points P0..P1-1), in hook ids:
 * join points contracted away, the hooks the walk did not place added (the
 * entry cond_break before the entry slot, a return's exit after its slot),
 * and the loop twins' exits where their loops are left (a twin runs the
 * loop's hooks and leaves through its exit; after it the function runs on
 * as the slow copy would, or without hooks). */
static void record_edges(const struct rw_plan *plan, size_t fi, size_t p0, size_t p1,
                         const unsigned *point_ids, unsigned falloff, struct loom_function *f)
{
	const struct rw_func *rf = &plan->funcs[fi];
	size_t np = p1 - p0, nv = rf->nvirtual, n = np + nv + 2;
	size_t entry = np + nv, fall = entry + 1;
	size_t *first = loom_xcalloc(n + 1, sizeof *first), *succ = loom_xmalloc((rf->nedges + 1) * sizeof *succ);
	unsigned *ids = loom_xcalloc(n, sizeof *ids), *twin = loom_xcalloc(nv + 1, sizeof *twin);
	size_t *stack = loom_xmalloc((n + 1) * sizeof *stack), *seen = loom_xcalloc(n, sizeof *seen);
	size_t fill, k;

	/* Node numbers: points, then join points, then entry and fall-off. */
#define NODE(x) ((x) == RW_NODE_ENTRY ? entry : (x) == RW_NODE_FALLOFF ? fall \
                 : (x) & RW_NODE_VIRTUAL ? np + ((x) & ~RW_NODE_VIRTUAL) : (x) - p0)
	for (size_t e = 0; e < rf->nedges; e++)
		first[NODE(rf->edges[e].from) + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	{
		size_t *at = loom_xmalloc((n + 1) * sizeof *at);

		memcpy(at, first, (n + 1) * sizeof *at);
		for (size_t e = 0; e < rf->nedges; e++)
			succ[at[NODE(rf->edges[e].from)]++] = NODE(rf->edges[e].to);
		free(at);
	}
#undef NODE
	for (size_t i = 0; i < np; i++)
		ids[i] = point_ids[p0 + i];
	ids[entry] = f->entry;
	ids[fall] = falloff;
	for (size_t li = 0, k2 = 0; li < plan->nloops; li++)
		if (plan->loops[li].func == fi) {
			if (f->loops[k2].twin_exit)
				twin[plan->loops[li].exit_node & ~RW_NODE_VIRTUAL] = f->loops[k2].twin_exit;
			k2++;
		}
	*LOOM_PUSH(f->edges, f->nedges, f->edges_cap) = (struct loom_edge){ f->brk, f->entry };
	for (size_t i = 0; i < np; i++)
		if (plan->points[p0 + i].kind == RW_RETURN)
			*LOOM_PUSH(f->edges, f->nedges, f->edges_cap) = (struct loom_edge){ ids[i], ids[i] + 1 };
	/* From each hook (and each twin exit, from its loop's exit), through
	 * join points, to the hooks that may run next. */
	for (size_t src = 0; src < n + nv; src++) {
		unsigned from = src < n ? ids[src] : twin[src - n];
		size_t top = 0;

		if (!from || (src >= np && src < np + nv))
			continue;
		stack[top++] = src < n ? src : np + (src - n);
		for (; top; ) {
			size_t x = stack[--top];

			for (size_t e = first[x]; e < first[x + 1]; e++) {
				size_t y = succ[e];

				if (seen[y] == src + 1)
					continue;
				seen[y] = src + 1;
				if (ids[y]) {
					*LOOM_PUSH(f->edges, f->nedges, f->edges_cap) = (struct loom_edge){ from, ids[y] };
					continue;
				}
				if (y >= np && y < np + nv && twin[y - np])
					*LOOM_PUSH(f->edges, f->nedges, f->edges_cap)
						= (struct loom_edge){ from, twin[y - np] };
				stack[top++] = y;
			}
		}
	}
	loom_sort(f->edges, f->nedges, sizeof *f->edges, cmp_edge);
	for (fill = 0, k = 0; k < f->nedges; k++)
		if (!fill || cmp_edge(&f->edges[k], &f->edges[fill - 1]))
			f->edges[fill++] = f->edges[k];
	f->nedges = fill;
	free(first);
	free(succ);
	free(ids);
	free(twin);
	free(stack);
	free(seen);
}

struct name_at {
	unsigned off;
	size_t call;
};

static int cmp_name_at(const void *a, const void *b)
{
	const struct name_at *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->call < y->call ? -1 : x->call > y->call;
}

/* Per call of RF: whether an earlier call has the same spelled name
 * (rw_call.name_off), which a macro's several calls share; by sorting,
 * not by comparing each call with those before it (a function of
 * thousands of calls).  The caller frees the array. */
static bool *repeated_names(const struct rw_func *rf)
{
	bool *again = loom_xcalloc(rf->ncalls ? rf->ncalls : 1, sizeof *again);
	struct name_at *v = loom_xcalloc(rf->ncalls ? rf->ncalls : 1, sizeof *v);
	size_t n = 0;

	for (size_t c = 0; c < rf->ncalls; c++)
		if (rf->calls[c].name_off != UINT_MAX)
			v[n++] = (struct name_at){ rf->calls[c].name_off, c };
	loom_sort(v, n, sizeof *v, cmp_name_at);
	for (size_t i = 1; i < n; i++)
		again[v[i].call] = v[i].off == v[i - 1].off;
	free(v);
	return again;
}

/* Points the calls in function FI's fast body that calls_fast_entry
 * allows to their callee's NAME__fast, and declares NAME__fast above FI
 * when FI is the file's first function to need it (DECLARED: per fast
 * entry of OPTS, whether it is declared above), with its weak fallback
 * (rt/loom.h LOOM_FAST_FALLBACK) when the file does not define it. */
static void call_fast_entries(const struct rw_plan *plan, size_t fi, const struct rw_emit_opts *opts,
                              char *declared, struct edits *fast)
{
	const struct rw_func *rf = &plan->funcs[fi];
	bool *again = repeated_names(rf);

	for (size_t c = 0; c < rf->ncalls; c++) {
		const struct rw_call *call = &rf->calls[c];
		long k;

		if (again[c] || !calls_fast_entry(rf, call, opts))
			continue;
		/* A macro's call: macro_renames.  One in a for-declaration:
		 * hoisted_init. */
		if (call->name_off != UINT_MAX && !in_hoisted_init(plan, fi, call->name_off))
			add(fast, call->name_off + (unsigned)strlen(call->callee), false, INT_MIN, loom_xstrdup("__fast"));
		k = fast_entry_index(opts, call->callee);
		if (!declared[k]) {
			bool here = false;
			size_t n;
			const size_t *named = rw_plan_named(plan, call->callee, &n);

			for (size_t i = 0; i < n && !here; i++)
				here = !plan->funcs[named[i]].is_static;
			/* A header's fallback goes in the caller's slow copy
			 * (header_fallbacks).  Quiet: a file may declare it
			 * again below the header. */
			here = here || opts->header;
			add(fast, rf->decl_start, false, INT_MIN,
			    loom_xasprintf("LOOM_QUIET_PUSH extern __typeof__(%s) %s__fast;%s%s%s LOOM_QUIET_POP ",
			                   call->callee, call->callee, here ? "" : " LOOM_FAST_FALLBACK(",
			                   here ? "" : call->callee, here ? "" : ")"));
			declared[k] = 1;
		}
	}
	free(again);
}

/* The public entry of a function with a fast entry, after its slow copy:
 * its declaration as written, then the switch, then a call of NAME__fast. */
static void fast_entry_wrapper(struct text *t, const struct rw_func *rf, const struct loom_function *f,
                               unsigned fn, const char *text)
{
	char *slow = call_text(rf, "__slow", text), *body = call_text(rf, "__fast", text);
	char *s = loom_xasprintf(" LOOM_SWITCH%s%s(%u, %s); %s%s; }", f->wraps ? "_WRAPPED" : "",
	                         rf->returns_void ? "_VOID" : "", fn, slow, rf->returns_void ? "" : "return ", body);

	frame_copy(t, rf, false, rf->line, NULL);
	append(t, text + rf->decl_start, rf->body_open - rf->decl_start);
	append(t, s, strlen(s));
	frame_copy(t, rf, true, rf->end_line, NULL);
	free(s);
	free(slow);
	free(body);
}

/* In function FI, a C file's whose hooks stay inline, its calls that go to
 * their callee's F__switch (rw_calls_switch_entry): renamed where they are
 * spelled, or, when a macro writes one, by `#define F F__switch` where the
 * body opens and `#undef F` after it. */
static void call_switch_entries(const struct rw_plan *plan, size_t fi, const char *text,
                                const struct rw_emit_opts *opts, struct edits *fast)
{
	const struct rw_func *rf = &plan->funcs[fi];
	const char **defined = NULL;
	size_t ndefined = 0, cap = 0;
	bool *again;

	for (size_t c = 0; c < rf->ncalls; c++)
		if (rf->calls[c].name_off == UINT_MAX && rw_calls_switch_entry(plan, rf, &rf->calls[c], opts)
		    && !listed(defined, ndefined, rf->calls[c].callee))
			*LOOM_PUSH(defined, ndefined, cap) = rf->calls[c].callee;
	again = repeated_names(rf);
	for (size_t c = 0; c < rf->ncalls; c++) {
		const struct rw_call *call = &rf->calls[c];

		if (!again[c] && call->name_off != UINT_MAX && rw_calls_switch_entry(plan, rf, call, opts)
		    && !listed(defined, ndefined, call->callee))
			add(fast, call->name_off + (unsigned)strlen(call->callee), false, INT_MIN, loom_xstrdup("__switch"));
	}
	free(again);
	if (ndefined) {
		struct text open = { 0 }, close = { 0 };

		append(&open, "\n", 1);
		append_renames(&open, defined, ndefined, "__switch");
		add_directives(fast, rf, text, rf->body_open, false, &open);
		append(&close, "\n", 1);
		append_renames(&close, defined, ndefined, NULL);
		add_directives(fast, rf, text, rf->body_end, true, &close);
	}
	free(defined);
}

/* `#define __func__ "F"` and its friends, for a renamed copy of F whose
 * body has them written by a macro (rw_func.name_in_macro: assert), where
 * keep_func_name cannot reach.  Free the result. */
static char *func_name_macros(const struct rw_func *rf)
{
	return loom_xasprintf("\n#define __func__ \"%s\"\n#define __FUNCTION__ \"%s\"\n#define __PRETTY_FUNCTION__ \"%s\"",
	                      rf->name, rf->name, rf->name);
}

/* In a header, the weak fallbacks (rt/loom.h LOOM_FAST_FALLBACK) of the
 * NAME__fast that function FI's fast body calls, where its slow copy
 * opens: a unit compiles that only where it uses the function, so a file
 * that includes the header and does not need NAME links as before.  Not in
 * NAME's own file, which defines it (LOOM_OWN_FAST_NAME, rw_emit). */
static void header_fallbacks(const struct rw_plan *plan, size_t fi, const char *text,
                             const struct rw_emit_opts *opts, struct edits *slow)
{
	const struct rw_func *rf = &plan->funcs[fi];
	const char **names = NULL;
	size_t n = 0, cap = 0;
	struct text t = { 0 };

	for (size_t c = 0; c < rf->ncalls; c++)
		if (calls_fast_entry(rf, &rf->calls[c], opts) && !listed(names, n, rf->calls[c].callee))
			*LOOM_PUSH(names, n, cap) = rf->calls[c].callee;
	for (size_t i = 0; i < n; i++) {
		char *s = loom_xasprintf("\n#ifndef LOOM_OWN_FAST_%s\nLOOM_FAST_FALLBACK(%s)\n#endif", names[i], names[i]);

		append(&t, s, strlen(s));
		free(s);
	}
	if (n) {
		append(&t, "\n", 1);
		add_directives(slow, rf, text, rf->body_open, false, &t);
	}
	free(names);
}

/* After the slow copy of header function F without switch: F__switch, F's
 * switch and a call of F, for the calls that cannot switch for F
 * (rw_calls_switch_entry).  Static inline: where no file calls it, no code. */
static void switch_entry(struct text *t, const struct rw_func *rf, unsigned fn, const char *text)
{
	char *slow = call_text(rf, "__slow", text), *body = call_text(rf, NULL, text);
	char *s = loom_xasprintf("__switch%.*s LOOM_SWITCH%s(%u, %s); %s%s; }",
	                         (int)(rf->body_open - rf->name_off - rf->name_len), text + rf->name_off + rf->name_len,
	                         rf->returns_void ? "_VOID" : "", fn, slow, rf->returns_void ? "" : "return ", body);

	frame_copy(t, rf, false, rf->line, NULL);
	append(t, text + rf->decl_start, rf->name_off - rf->decl_start);
	append(t, rf->name, strlen(rf->name));
	append(t, s, strlen(s));
	frame_copy(t, rf, true, rf->end_line, NULL);
	free(s);
	free(slow);
	free(body);
}

/* Records function RF in M and emits its hooks: into FAST for an inline
 * function, else into a slow copy placed right after the function. */
static void emit_function(const struct rw_plan *plan, size_t fi, const char *text,
                          const struct rw_emit_opts *opts, struct loom_manifest *m,
                          unsigned file, struct file_emit *fe)
{
	struct edits *fast = &fe->fast;
	size_t *pi = &fe->pi;
	unsigned *point_ids = fe->point_ids;
	char *declared = fe->declared;
	const struct rw_func *rf = &plan->funcs[fi];
	struct loom_function *f = LOOM_PUSH(m->functions, m->nfunctions, m->functions_cap);
	unsigned fn = (unsigned)(m->nfunctions - 1), falloff;
	size_t p0;
	struct edits slow = { 0 };
	bool outline = opts->hybrid && !rf->inline_reason;
	struct edits *ed = outline ? &slow : fast;
	enum loom_copy copy = outline ? LOOM_COPY_SLOW : LOOM_COPY_INLINE;

	memset(f, 0, sizeof *f);
	f->name = loom_xstrdup(rf->name);
	f->file = file;
	if (opts->hybrid && rf->inline_reason)
		f->inline_reason = loom_xstrdup(rf->inline_reason);
	f->line = rf->line;
	f->end_line = rf->end_line;
	f->is_static = rf->is_static;
	f->slow_copy = outline;
	for (size_t c = 0; c < rf->ncalls; c++) {
		struct loom_call *call = LOOM_PUSH(f->calls, f->ncalls, f->calls_cap);

		call->callee = rf->calls[c].callee ? loom_xstrdup(rf->calls[c].callee) : NULL;
		call->type = rf->calls[c].type ? loom_xstrdup(rf->calls[c].type) : NULL;
		call->taken = rf->calls[c].taken ? loom_xstrdup(rf->calls[c].taken) : NULL;
		call->passed_to = rf->calls[c].passed_to ? loom_xstrdup(rf->calls[c].passed_to) : NULL;
		call->line = rf->calls[c].line;
		call->column = rf->calls[c].column;
	}
	/* Ids in walk order: entry break, entry slot, fall-off exit, body. */
	f->brk = loom_manifest_add_slot(m, LOOM_KIND_BREAK, file, rf->line, rf->column, fn);
	if (rf->pure) {
		/* No hook at all: its entry and exit have ids, as every
		 * function's, which nothing fires (the CLI refuses filters on
		 * it), and its statements none. */
		f->pure = true;
		f->slow_copy = false;
		free(f->inline_reason);
		f->inline_reason = NULL;
		f->entry = loom_manifest_add_slot(m, LOOM_KIND_ENTRY, file, rf->line, rf->column, fn);
		falloff = loom_manifest_add_slot(m, LOOM_KIND_EXIT, file, rf->end_line, rf->end_column, fn);
		m->slots[f->brk - 1].copy = m->slots[f->entry - 1].copy = m->slots[falloff - 1].copy = LOOM_COPY_INLINE;
		*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = falloff;
		for (size_t c = 0; c < rf->ncalls; c++)
			f->calls[c].slot = 0;
		while (*pi < plan->npoints && plan->points[*pi].func == fi)
			(*pi)++;
		return;
	}
	f->entry = loom_manifest_add_slot(m, LOOM_KIND_ENTRY, file, rf->line, rf->column, fn);
	falloff = loom_manifest_add_slot(m, LOOM_KIND_EXIT, file, rf->end_line, rf->end_column, fn);
	m->slots[f->brk - 1].copy = m->slots[f->entry - 1].copy = m->slots[falloff - 1].copy = copy;
	*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = falloff;
	/* A static function whose address is not taken needs no switch (its
	 * callers switch and call its slow copy): a check in a function the
	 * compiler inlines would be repeated at every inlined call.  In a
	 * header, only if every file including it does so (SLOW_CALLEES). */
	f->entry_switch = outline && (rf->variadic || !rf->is_static
	                              || (opts->header && !slow_callee(opts, rf->name, UINT_MAX, true))
	                              || address_taken_here(plan, rf->name) || fe->unrenamed[fi]);
	/* The slow copy can run wrapped (rt/loom.h): the entry slot's locks
	 * around a call of the function itself, whose switch lets that call
	 * through to its fast body.  Not in a header: the check in the switch
	 * made the compiler inline interp's small helpers less (10% more
	 * instructions).  Not in a static function whose address the program
	 * does not take (it keeps a switch for a caller without a slow copy):
	 * the compiler may inline it into every caller, and the call through
	 * a pointer would keep an out-of-line copy that the original does not
	 * have, which gcc then analyses on its own (bluez's avctp.c: a new
	 * -Wstringop-truncation in `uinput_create`, called once). */
	f->wraps = f->entry_switch && !opts->header && !rf->noreturn && !rf->variadic && !param_named(rf, rf->name)
	           && (!rf->is_static || address_taken_here(plan, rf->name));
	f->fast_entry = outline && rw_slow_callable(rf) && !rf->name_macro && !rf->is_static && !opts->header
	                && fast_entry_index(opts, rf->name) >= 0;
	if (f->wraps) {
		char *self_call = call_text(rf, "", text);

		add(ed, rf->body_open, false, INT_MIN,
		    loom_xasprintf("LOOM_SLOW_FUNCTION_ENTRY_WRAP%s(%u, %u, %u, %u, %s); ",
		                   rf->returns_void ? "_VOID" : "", f->brk, f->entry, falloff, fn, self_call));
		free(self_call);
	} else {
		add(ed, rf->body_open, false, INT_MIN,
		    loom_xasprintf("LOOM_%sFUNCTION_ENTRY(%u, %u, %u); ", outline ? "SLOW_" : "", f->brk, f->entry,
		                   falloff));
	}
	for (p0 = *pi; *pi < plan->npoints && plan->points[*pi].func == fi; (*pi)++)
		point_ids[*pi] = emit_point(ed, fast, &plan->points[*pi], m, file, fn);
	for (size_t c = 0; c < rf->ncalls; c++)
		f->calls[c].slot = rf->calls[c].point != SIZE_MAX ? point_ids[rf->calls[c].point] : 0;
	for (size_t i = 0; i < plan->nfallthroughs; i++)
		if (plan->fallthroughs[i].func == fi)
			add(ed, plan->fallthroughs[i].off, false, INT_MIN, loom_xstrdup("LOOM_FALLTHROUGH "));
	for (size_t i = 0; i < plan->nwraps; i++)
		if (plan->wraps[i].func == fi)
			for (struct edits *e = ed; e; e = e == fast ? NULL : fast) {
				add(e, plan->wraps[i].open, false, plan->wraps[i].rank, loom_xstrdup("{ "));
				add(e, plan->wraps[i].close, true, plan->wraps[i].rank, loom_xstrdup(" }"));
			}
	record_loops(plan, fi, m, fn, point_ids);
	if (!outline) {
		call_switch_entries(plan, fi, text, opts, fast);
		record_edges(plan, fi, p0, *pi, point_ids, falloff, f);
		return;
	}

	/* Its static locals, at file scope just above it (walk.c,
	 * hoistable): one object for both copies.  Those renamed by a macro
	 * are so from above them to the end of the slow copy (undefs). */
	struct text undefs = { 0 };

	for (size_t h = 0; h < rf->nhoists; h++)
		if (rf->hoists[h].by_macro) {
			char *s = loom_xasprintf("#undef %s\n", rf->hoists[h].name);

			add(fast, rf->decl_start, false, INT_MIN,
			    loom_xasprintf("\n#define %s %s", rf->hoists[h].name, rf->hoists[h].rename));
			append(&undefs, s, strlen(s));
			free(s);
		}
	for (size_t h = 0; h < rf->nhoists; h++) {
		const struct rw_hoist *ho = &rf->hoists[h];
		struct text t = { 0 }, gap = { 0 };

		/* Renamed: wherever the body names it (also in the moved
		 * declarations, append_renamed). */
		for (size_t r = 0; ho->rename && !ho->by_macro && r < ho->nrefs; r++)
			for (struct edits *e = &slow; e; e = e == fast ? NULL : fast)
				add_suffix(e, ho->refs[r] + (unsigned)strlen(ho->name),
				           loom_xstrdup(ho->rename + strlen(ho->name)));
		/* On its own lines (its __LINE__, its diagnostics), then F's
		 * first line again. */
		append(&t, "\n", 1);
		append_line_directive(&t, rf, ho->line);
		/* Used, but maybe only where it is not evaluated (`sizeof
		 * buf`), which clang warns about at file scope. */
		append(&t, "__attribute__((__unused__)) ", 28);
		append_renamed(&t, text, rf, ho->from, ho->to);
		append(&t, "\n", 1);
		append_line_directive(&t, rf, rf->line);
		add(fast, rf->decl_start, false, INT_MIN, t.s);
		/* Where it was, its line breaks stay. */
		for (unsigned i = ho->from; i < ho->to; i++)
			if (text[i] == '\n')
				append(&gap, "\n", 1);
		replace(fast, ho->from, ho->to - ho->from, loom_xstrdup(gap.s ? gap.s : ""));
		replace(&slow, ho->from, ho->to - ho->from, loom_xstrdup(gap.s ? gap.s : ""));
		free(gap.s);
	}
	/* The fast path: the forward declaration and the switch.  With a fast
	 * entry, the body is NAME__fast, without switch (its __func__ still
	 * names the function), and NAME is written after the slow copy. */
	add(fast, rf->decl_start, false, INT_MIN, forward_declaration(rf, text, true));
	/* A header function without switch, in a conditional group: for a
	 * unit that takes another branch, where its slow copy is not compiled,
	 * F__slow (and F__switch) is F after the group (rw_func.group_end), or after its
	 * declaration's copy of the groups when a prototype above them
	 * declares it (the calls between go to F__slow); where it is compiled,
	 * F__slow names itself from the copy, or that declaration, on. */
	bool falls_back = opts->header && !f->entry_switch && rf->group_end;
	char *fallback = falls_back ? loom_xasprintf("#ifndef %s__slow\n#define %s__slow %s\n#define %s__switch %s\n"
	                                             "#endif\n", rf->name, rf->name, rf->name, rf->name, rf->name)
	                            : NULL;
	char *self = falls_back ? loom_xasprintf("#define %s__slow %s__slow\n", rf->name, rf->name) : NULL;

	/* Calls between a prototype and the definition call F__slow too, so
	 * that F needs no switch when they are all its calls (top-down code). */
	if (slow_declared_at(rf) != rf->decl_start) {
		char *decl = declaration_renamed(rf, text, rf->proto_start, rf->proto_name, rf->proto_close, true, false);

		if (rf->proto_groups) {
			/* Under the groups that hold the definition, then the
			 * prototype's line again. */
			struct text t = { 0 };
			unsigned line = line_at(text, rf->proto_end);

			append(&t, "\n", 1);
			append(&t, rf->proto_groups, strlen(rf->proto_groups));
			append(&t, "\n", 1);
			append(&t, decl, strlen(decl));
			append(&t, "\n", 1);
			if (falls_back)
				append(&t, self, strlen(self));
			for (unsigned i = 0; i < rf->proto_nested; i++)
				append(&t, "#endif\n", 7);
			if (falls_back)
				append(&t, fallback, strlen(fallback));
			append_line_directive(&t, rf, line);
			add(fast, rf->proto_end, false, INT_MIN, t.s);
		} else {
			add(fast, rf->proto_end, false, INT_MIN, loom_xasprintf(" %s", decl));
		}
		free(decl);
	}
	if (f->fast_entry) {
		struct ident_edit ie = { text, fast, rf->name, NULL };
		long k = fast_entry_index(opts, rf->name);

		if (!declared[k])
			add(fast, rf->decl_start, false, INT_MIN, forward_declaration(rf, text, false));
		declared[k] = 1;
		add(fast, rf->name_off + (unsigned)strlen(rf->name), false, INT_MIN, loom_xstrdup("__fast"));
		each_identifier(text, rf->body_open, rf->body_end, keep_func_name, &ie);
		/* And where a macro writes it (assert): defined as the name
		 * down to the slow copy. */
		if (rf->name_in_macro) {
			struct text t = { 0 };
			char *s = func_name_macros(rf);

			append(&t, s, strlen(s));
			free(s);
			append(&t, "\n", 1);
			add_directives(fast, rf, text, rf->body_open, false, &t);
		}
	}
	call_fast_entries(plan, fi, opts, declared, fast);
	/* After the declarations above, right before F's own. */
	if (f->fast_entry)
		add(fast, rf->decl_start, false, INT_MIN, loom_xstrdup("LOOM_FAST_ENTRY "));
	if (opts->header)
		header_fallbacks(plan, fi, text, opts, &slow);
	if (f->entry_switch && !f->fast_entry) {
		char *call = call_text(rf, "__slow", text);

		const char *kind = rf->noreturn ? "_NORETURN" : rf->returns_void ? "_VOID" : "";

		if (rf->variadic)
			add(fast, rf->body_open, false, INT_MIN,
			    loom_xasprintf("LOOM_SWITCH_VARIADIC%s(%u, %s, %s); ", kind, fn,
			                   rf->params[rf->nparams - 1], call));
		else
			add(fast, rf->body_open, false, INT_MIN,
			    loom_xasprintf("LOOM_SWITCH%s%s(%u, %s); ", f->wraps ? "_WRAPPED" : "", kind, fn, call));
		free(call);
	}
	if (falls_back && !(rf->proto_groups && slow_declared_at(rf) != rf->decl_start)) {
		struct text t = { 0 };

		if (text[rf->group_end - 1] != '\n')
			append(&t, "\n", 1);
		append(&t, fallback, strlen(fallback));
		/* Closing, so that it also goes in at the file's end, and
		 * before what opens at the next line (a function calling
		 * F__slow). */
		add_directives(fast, rf, text, rf->group_end, true, &t);
		append(&undefs, self, strlen(self));
	}
	free(fallback);
	free(self);
	/* The slow copy: static, renamed, calling slow copies, still named F. */
	{
		struct text func = { 0 };
		struct ident_edit ie = { text, &slow, rf->name, NULL };
		struct renames renames = { 0 };
		size_t n = strlen(rf->name);

		if (!rf->is_static)
			add(&slow, rf->decl_start, false, INT_MIN, loom_xstrdup("static "));
		each_identifier(text, rf->decl_start, rf->name_off, drop_extern, &ie);
		if (rf->name_macro) {
			struct text t = { 0 };

			append_slow_name(&t, rf, text);
			replace(&slow, rf->name_off, rf->name_len, t.s);
		} else {
			add(&slow, rf->name_off + (unsigned)n, false, INT_MIN, loom_xstrdup("__slow"));
		}
		/* The name as this unit expands it. */
		if (rf->name_macro) {
			append(&func, "LOOM_STR(", 9);
			append_one_line(&func, text, rf->name_off, rf->name_off + rf->name_len);
			append(&func, ")", 1);
			ie.func = func.s;
		}
		each_identifier(text, rf->body_open, rf->body_end, keep_func_name, &ie);
		free(func.s);
		/* Its va_list is its switch's (a loop twin, in F, keeps F's). */
		for (size_t v = 0; v < rf->nva_starts; v++) {
			unsigned at = rf->va_starts[v], len = text[at] == 'v' ? 8 : 18;

			replace(&slow, at, len, loom_xstrdup("LOOM_VA_START"));
			slow.e[slow.n - 1].twin = loom_xasprintf("%.*s", (int)len, text + at);
		}
		/* `g()()` reports g for both calls: rename once. */
		bool *again = repeated_names(rf);

		for (size_t c = 0; c < rf->ncalls; c++) {
			const struct rw_call *call = &rf->calls[c];

			if (!again[c] && call->name_off != UINT_MAX && rw_calls_slow_copy(plan, rf, call, opts))
				add(&slow, call->name_off + (unsigned)strlen(call->callee), false, INT_MIN,
				    loom_xstrdup("__slow"));
		}
		free(again);
		/* Only main returns 0 when control falls off its end. */
		if (!strcmp(rf->name, "main") && !rf->returns_void)
			add(&slow, rf->body_end - 1, false, INT_MAX, loom_xstrdup("return 0; "));
		loom_sort(slow.e, slow.n, sizeof *slow.e, cmp_edit);
		macro_renames(plan, rf, opts, &renames);
		if (renames.nfast) {
			struct text t = { 0 };

			append(&t, "\n", 1);
			append_renames(&t, renames.fast, renames.nfast, "__fast");
			add_directives(fast, rf, text, rf->body_open, false, &t);
		}
		emit_twins(plan, fi, text, m, file, fn, opts, fast, &slow, &renames);
		record_edges(plan, fi, p0, *pi, point_ids, falloff, &m->functions[fn]);
		{
			/* Right after the function, where the macros the function
			 * saw are still defined as it saw them (at the end of the
			 * file a later #define could change the copy's meaning:
			 * bfd's elf32-arm.c includes elf32-target.h last), and in
			 * a header inside its include guard.  Its own line
			 * numbers, then the original's again, under quiet pragmas
			 * so that the fast path's warnings are not given twice.
			 * (A system-header linemarker would rename the file for
			 * __FILE__.) */
			struct text t = { 0 };

			/* __func__ that a macro writes (assert) names F in the
			 * slow copy too (F__fast's is defined above it). */
			if (rf->name_in_macro && !rf->name_macro) {
				static const char undef_names[] = "#undef __func__\n#undef __FUNCTION__\n#undef __PRETTY_FUNCTION__\n";
				char *s = func_name_macros(rf);

				if (!f->fast_entry)
					append(&t, s, strlen(s));
				free(s);
				append(&undefs, undef_names, sizeof undef_names - 1);
			}
			/* Its macros as they were where F starts (a twin has
			 * none: no twin for a loop with a #define or #undef). */
			renames.resets = rf->macro_resets;
			renames.undefs = undefs.s;
			renames.slow_copy = true;
			frame_copy(&t, rf, false, rf->line, &renames);
			apply(&t, text, rf->decl_start, rf->body_end, &slow);
			frame_copy(&t, rf, true, rf->end_line, &renames);
			if (f->fast_entry)
				fast_entry_wrapper(&t, rf, f, fn, text);
			if (opts->header && !f->entry_switch)
				switch_entry(&t, rf, fn, text);
			add(fast, rf->body_end, true, INT_MIN, t.s);
		}
		free(renames.names);
		free(renames.fast);
	}
	free(undefs.s);
}

char *rw_emit(const struct rw_plan *plan, const char *text, size_t len, const struct rw_emit_opts *opts,
              struct loom_manifest *m, unsigned file, size_t *outlen)
{
	struct file_emit fe = { .point_ids = loom_xcalloc(plan->npoints + 1, sizeof *fe.point_ids),
	                        .declared = loom_xcalloc(opts->nfast_entries + 1, 1),
	                        .unrenamed = called_unrenamed(plan, opts) };
	struct text out = { 0 };
	unsigned base_fn = (unsigned)m->nfunctions;
	char *prologue = loom_xasprintf("%s#include \"%s\"\n#line 1\n",
	                                opts->runtime_home ? "" : "#define LOOM_RT_CLIENT 1\n", opts->include);

	for (size_t fi = 0; fi < plan->nfuncs; fi++)
		emit_function(plan, fi, text, opts, m, file, &fe);
	free(fe.declared);
	free(fe.unrenamed);
	for (size_t i = 0; i < plan->nskips; i++) {
		struct loom_skip *s = LOOM_PUSH(m->skips, m->nskips, m->skips_cap);

		*s = (struct loom_skip){ file, plan->skips[i].line, plan->skips[i].column,
		                         base_fn + plan->skips[i].func };
	}
	/* The fast entries it defines: the headers' fallbacks stay out
	 * (header_fallbacks). */
	for (unsigned fn = base_fn; fn < m->nfunctions && !opts->header; fn++)
		if (m->functions[fn].fast_entry) {
			char *s = loom_xasprintf("#define LOOM_OWN_FAST_%s 1\n", m->functions[fn].name);

			append(&out, s, strlen(s));
			free(s);
		}
	append(&out, prologue, strlen(prologue));
	free(prologue);
	apply(&out, text, 0, len, &fe.fast);
	free(fe.point_ids);
	*outlen = out.len;
	return out.s;
}
