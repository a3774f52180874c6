/* The walk: from libclang's AST of one C file to an rw_plan (rewriter/plan.h).
 *
 * Which statements get what:
 *   - every statement of a function body gets a slot before it (after its
 *     labels: a slot before `case 1:` would be unreachable code);
 *   - a return statement's slot also says which exit it is;
 *   - a loop body starts with a cond_break;
 *   - an unbraced if/else/loop/switch body gets braces;
 *   - an expression or declaration statement, or the condition of an if
 *     or a loop, that calls a blocking function (rewriter/blocking.c) gets
 *     blocking markers around it.
 * Nothing is inserted strictly inside a macro expansion: a statement that
 * starts at an expansion gets its slot before it and is not descended into;
 * one that starts inside an expansion is recorded as skipped. */
#include "walk.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "cursors.h"
#include "util.h"

struct range {
	unsigned start, end;
	CXCursor expansion;     /* the macro expansion */
};

/* No node: where break goes outside a loop or switch, and so on. */
#define NO_NODE (UINT_MAX - 2)

struct label {
	unsigned off;  /* of the label statement */
	unsigned node; /* its join point */
};

struct call_at {
	unsigned off;  /* where the call starts */
	size_t index;  /* in the function's calls */
};

/* Where a token is spelled (spelled_at). */
struct spelled {
	CXFile file;
	unsigned off;
};

/* A set of places, hashed by offset (a file's functions have thousands of
 * direct calls, and every function reference is looked up). */
struct spelled_set {
	struct spelled *v;
	size_t n, cap;
	uint32_t *slots; /* index in V + 1; 0 empty */
	size_t mask;
};

struct walk;

/* A pass over TEXT[FROM, TO) that sees C text and directives the way a
 * compile taking every group would: comments are passed over, a literal
 * ends at its line's end at the latest (an apostrophe in an `#if 0` block is
 * no literal), and a directive's own text (`#error can't`) is no C. */
struct text_scan {
	const struct walk *w;
	unsigned i, to;
	bool line_start;
	bool directives; /* only directives: C text and literals passed over */
};

struct walk {
	CXTranslationUnit tu;
	CXFile file;
	bool find_pure;         /* rw_walk's FIND_PURE */
	const struct rw_source *tree; /* the unit's files of the tree (rw_walk's SRC) */
	size_t ntree;
	const char *text;
	size_t len;
	struct rw_plan *plan;
	unsigned func;          /* current function */
	struct range *macros;   /* expansion ranges in the main file, sorted */
	size_t nmacros, macros_cap;
	struct spelled_set callees; /* where direct callee references are spelled */
	/* The current function's calls by offset, and its statement
	 * expressions (the only statements inside expressions). */
	struct call_at *calls;
	size_t ncalls, calls_cap;
	CXCursor *stmt_exprs;
	size_t nstmt_exprs, stmt_exprs_cap;
	/* Control flow (struct rw_edge): CUR holds the nodes the next hook
	 * follows; BRK and CONT where break and continue go; SW the innermost
	 * switch's dispatch. */
	unsigned *cur;
	size_t ncur, cur_cap;
	unsigned brk, cont, sw;
	bool sw_default;
	unsigned indirect;      /* where computed gotos go */
	/* The expansion that opened the block being walked, which the text
	 * after it continues (see hook_body); NULL if none. */
	const struct range *open_macro;
	/* The case label hook_stmt is under, when a case label comes earlier
	 * in the same list (so control may fall into it): its offset, else
	 * UINT_MAX. */
	unsigned case_label;
	/* Where the text before the statement hook_stmt is under starts, when
	 * it is in a list (where the statement before it ends, or after the
	 * list's '{'): see dangling.  UINT_MAX for a body. */
	unsigned list_from;
	/* Where the statement after the list statement being walked starts
	 * (UINT_MAX: none, or not in this file): see hook_body. */
	unsigned next_start;
	unsigned prev_end;      /* end of the last top-level declaration walked */
	struct label *labels;
	size_t nlabels, labels_cap;
	/* The conditional groups open in the current function's body at
	 * OPEN_GROUPS.SC's end (groups_open_at). */
	struct {
		bool valid;
		unsigned func;
		struct text_scan sc;
		unsigned *at;       /* their #if lines, outermost first */
		size_t n, cap;
	} open_groups;
	/* Callees known to return or not (brief_call), by clang_hashCursor:
	 * finding out spells the callee's type and visits its declaration's
	 * children, thousands of instructions at every call otherwise. */
	struct callee_fact *facts;
	size_t nfacts, facts_cap;
	uint32_t *fact_slots;   /* index in FACTS + 1; 0 empty */
	size_t facts_mask;
};

struct callee_fact {
	CXCursor fn;
	bool noreturn;
};

/* ---- locations ---- */

/* Where a token is spelled: a direct callee and a function's address
 * passed to it share their expansion location when a macro writes the
 * call, not their spelling. */
static struct spelled spelled_at(CXCursor c)
{
	struct spelled s;

	clang_getSpellingLocation(clang_getCursorLocation(c), &s.file, NULL, NULL, &s.off);
	return s;
}

static size_t spelled_hash(unsigned off)
{
	return (size_t)((off * 0x9e3779b97f4a7c15u) >> 32);
}

static void spelled_slot(struct spelled_set *set, uint32_t i)
{
	size_t k = spelled_hash(set->v[i].off) & set->mask;

	while (set->slots[k])
		k = (k + 1) & set->mask;
	set->slots[k] = i + 1;
}

static void spelled_add(struct spelled_set *set, struct spelled s)
{
	*LOOM_PUSH(set->v, set->n, set->cap) = s;
	if (2 * set->n > set->mask) {
		size_t size = set->mask ? 2 * (set->mask + 1) : 64;

		free(set->slots);
		set->slots = loom_xcalloc(size, sizeof *set->slots);
		set->mask = size - 1;
		for (uint32_t i = 0; i < set->n; i++)
			spelled_slot(set, i);
	} else {
		spelled_slot(set, (uint32_t)(set->n - 1));
	}
}

/* Whether reference C is spelled at one of SET's places. */
static bool is_callee(const struct spelled_set *set, CXCursor c)
{
	struct spelled at = spelled_at(c);

	for (size_t k = spelled_hash(at.off) & set->mask; set->n && set->slots[k]; k = (k + 1) & set->mask) {
		const struct spelled *s = &set->v[set->slots[k] - 1];

		if (s->off == at.off
		    && (s->file == at.file || (s->file && at.file && clang_File_isEqual(s->file, at.file))))
			return true;
	}
	return false;
}

static unsigned offset_of(CXSourceLocation loc, unsigned *line, unsigned *column)
{
	unsigned off;

	clang_getExpansionLocation(loc, NULL, line, column, &off);
	return off;
}

/* Where a line directive above LINE, the line where AT expands, puts it:
 * the presumed line minus LINE into F->line_delta, and the presumed file
 * name into F->line_file if the directive renamed the file.  (From AT
 * itself: clang_getLocationForOffset looks through the file's macro
 * arguments, tens of thousands of instructions a call.) */
static void presumed_place(const struct walk *w, CXSourceLocation at, unsigned line, struct rw_func *f)
{
	CXString pname, fname;
	unsigned pline, pcolumn;

	clang_getPresumedLocation(at, &pname, &pline, &pcolumn);
	fname = clang_getFileName(w->file);
	f->line_delta = (int)pline - (int)line;
	if (clang_getCString(pname) && clang_getCString(fname)
	    && strcmp(clang_getCString(pname), clang_getCString(fname)))
		f->line_file = loom_xstrdup(clang_getCString(pname));
	clang_disposeString(pname);
	clang_disposeString(fname);
}

static unsigned start_of(CXCursor c, unsigned *line, unsigned *column)
{
	return offset_of(clang_getRangeStart(rw_cursor_extent(c)), line, column);
}

/* Is C's text in the file being walked?  A statement may come from a file
 * #included inside a function body (bfd's stab-syms.c includes stab.def in
 * a switch): its offsets are that file's, and nothing can be inserted. */
static bool from_here(const struct walk *w, CXCursor c)
{
	CXFile file;

	clang_getExpansionLocation(clang_getRangeStart(rw_cursor_extent(c)), &file, NULL, NULL, NULL);
	return file && clang_File_isEqual(file, w->file);
}

static unsigned end_of(CXCursor c)
{
	return offset_of(clang_getRangeEnd(rw_cursor_extent(c)), NULL, NULL);
}

/* The expansion range strictly containing OFF, or the one starting at OFF. */
static const struct range *macro_at(const struct walk *w, unsigned off, bool strictly)
{
	size_t lo = 0, hi = w->nmacros;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->macros[mid].start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges do not nest at top level: only the last one starting at or
	 * before OFF can contain it. */
	if (lo == 0)
		return NULL;
	{
		const struct range *r = &w->macros[lo - 1];

		if (strictly ? r->start < off && off < r->end : r->start == off)
			return r;
	}
	return NULL;
}

/* The expansion range with start <= OFF <= end, if any. */
static const struct range *macro_touching(const struct walk *w, unsigned off)
{
	const struct range *r = macro_at(w, off, false);

	if (r || (r = macro_at(w, off, true)))
		return r;
	/* OFF just past an invocation: the last range starting before it. */
	for (size_t lo = 0, hi = w->nmacros; lo < hi;) {
		size_t mid = (lo + hi) / 2;

		if (w->macros[mid].start < off)
			lo = mid + 1;
		else
			hi = mid;
		if (lo == hi && lo > 0 && w->macros[lo - 1].end == off)
			return &w->macros[lo - 1];
	}
	return NULL;
}

static bool is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The first offset at or after OFF that is not blank: white space, a
 * comment or an escaped line break. */
static unsigned skip_blank(const struct walk *w, unsigned off)
{
	const char *s = w->text;
	size_t i = off;

	while (i < w->len) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v')
			i++;
		else if (s[i] == '\\' && i + 1 < w->len && (s[i + 1] == '\n' || s[i + 1] == '\r'))
			i += 2;
		else if (s[i] == '/' && i + 1 < w->len && s[i + 1] == '*') {
			const char *close = strstr(s + i + 2, "*/");

			i = close ? (size_t)(close - s) + 2 : w->len;
		} else if (s[i] == '/' && i + 1 < w->len && s[i + 1] == '/') {
			while (i < w->len && s[i] != '\n')
				i++;
		} else
			break;
	}
	return (unsigned)i;
}

/* Offset just after the '(' that follows the keyword WORD at OFF, or
 * UINT_MAX when the text there is not WORD and '(' (a macro wrote them). */
static unsigned after_keyword_paren(const struct walk *w, unsigned off, const char *word)
{
	size_t n = strlen(word);

	if (off == UINT_MAX || off + n >= w->len || memcmp(w->text + off, word, n)
	    || is_ident_char(w->text[off + n]))
		return UINT_MAX;
	off = skip_blank(w, off + (unsigned)n);
	return off < w->len && w->text[off] == '(' ? off + 1 : UINT_MAX;
}

/* In a directive's line: the identifier after the spaces and tabs from I
 * on (before TO); *END is just past it, the start itself if there is none. */
static unsigned line_word(const struct walk *w, unsigned i, unsigned to, unsigned *end)
{
	while (i < to && (w->text[i] == ' ' || w->text[i] == '\t'))
		i++;
	for (*end = i; *end < to && is_ident_char(w->text[*end]); (*end)++)
		;
	return i;
}


enum scan_item {
	SCAN_END,
	SCAN_CODE,      /* a character of C text, outside literals */
	SCAN_LITERAL,   /* a string or character literal */
	SCAN_IF,        /* #if, #ifdef, #ifndef */
	SCAN_ELSE,      /* #else, #elif, #elifdef, #elifndef */
	SCAN_ENDIF,
	SCAN_DIRECTIVE, /* any other */
};

static struct text_scan text_scan(const struct walk *w, unsigned from, unsigned to)
{
	unsigned i = from < w->len ? from : (unsigned)w->len;

	/* At a line's start if only blanks come before FROM on its line. */
	while (i && (w->text[i - 1] == ' ' || w->text[i - 1] == '\t'))
		i--;
	return (struct text_scan){ w, from, to < w->len ? to : (unsigned)w->len, !i || w->text[i - 1] == '\n', false };
}

/* The same pass, returning directives only (and SCAN_END): for the scans
 * that look for conditional groups, which would otherwise return to their
 * caller at every character of a function. */
static struct text_scan directive_scan(const struct walk *w, unsigned from, unsigned to)
{
	struct text_scan sc = text_scan(w, from, to);

	sc.directives = true;
	return sc;
}

/* The next item of SC, with *AT the offset of its character (of the '#' for
 * a directive, of the opening quote for a literal). */
static enum scan_item scan_next(struct text_scan *sc, unsigned *at)
{
	/* Past a line's first C text, what a directive scan must stop at. */
	static const bool stop[256] = { ['\n'] = true, ['/'] = true, ['"'] = true, ['\''] = true };
	const char *s = sc->w->text;
	unsigned i = sc->i, to = sc->to;

	for (; i < to; i++) {
		char ch;

		if (sc->directives && !sc->line_start)
			while (i < to && !stop[(unsigned char)s[i]])
				i++;
		if (i >= to)
			break;
		ch = s[i];
		if (ch == '\n') {
			sc->line_start = true;
		} else if (ch == '/' && i + 1 < to && s[i + 1] == '/') {
			while (i + 1 < to && s[i + 1] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < to && s[i + 1] == '*') {
			for (i += 2; i + 1 < to && !(s[i] == '*' && s[i + 1] == '/'); i++)
				;
			i++;
		} else if (ch == '#' && sc->line_start) {
			unsigned k, j = line_word(sc->w, i + 1, to, &k);
			enum scan_item item = SCAN_DIRECTIVE;

			if ((k - j == 2 && !memcmp(s + j, "if", 2)) || (k - j == 5 && !memcmp(s + j, "ifdef", 5))
			    || (k - j == 6 && !memcmp(s + j, "ifndef", 6)))
				item = SCAN_IF;
			else if (k - j == 5 && !memcmp(s + j, "endif", 5))
				item = SCAN_ENDIF;
			else if ((k - j == 4 && !memcmp(s + j, "else", 4)) || (k - j >= 4 && !memcmp(s + j, "elif", 4)))
				item = SCAN_ELSE;
			while (k < to && !(s[k] == '\n' && s[k - 1] != '\\'))
				k++;
			*at = i;
			sc->i = k;
			sc->line_start = false;
			return item;
		} else if (ch == '"' || ch == '\'') {
			unsigned open = i;

			for (i++; i < to && s[i] != ch && s[i] != '\n'; i++)
				if (s[i] == '\\')
					i++;
			sc->i = i < to && s[i] == ch ? i + 1 : i;
			sc->line_start = false;
			if (sc->directives) {
				i = sc->i - 1;
				continue;
			}
			*at = open;
			return SCAN_LITERAL;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\f' && ch != '\v'
		           && !(ch == '\\' && i + 1 < to && s[i + 1] == '\n')) {
			sc->line_start = false;
			if (sc->directives)
				continue;
			*at = i;
			sc->i = i + 1;
			return SCAN_CODE;
		}
	}
	sc->i = to;
	return SCAN_END;
}

/* Offset just after the ';' that ends the statement whose tokens end at
 * FROM: skips comments, literals, directives and anything nested in
 * brackets. */
static unsigned after_semicolon(const struct walk *w, unsigned from)
{
	struct text_scan sc = text_scan(w, from, (unsigned)w->len);
	unsigned at;
	int depth = 0;

	for (enum scan_item item; (item = scan_next(&sc, &at)) != SCAN_END;) {
		char ch = w->text[at];

		if (item != SCAN_CODE)
			continue;
		if (ch == '(' || ch == '[' || ch == '{')
			depth++;
		else if (ch == ')' || ch == ']' || ch == '}')
			depth--;
		else if (ch == ';' && depth <= 0)
			return at + 1;
	}
	return (unsigned)w->len;
}

/* ---- children ---- */

struct kids {
	CXCursor c[8];
	unsigned n;
};

static enum CXChildVisitResult collect_kid(CXCursor c, CXCursor parent, CXClientData data)
{
	struct kids *k = data;

	(void)parent;
	if (k->n < 8)
		k->c[k->n] = c;
	k->n++;
	return CXChildVisit_Continue;
}

/* All of a cursor's children (collect_cursor). */
struct cursors {
	CXCursor *c;
	size_t n, cap;
};

static enum CXChildVisitResult collect_cursor(CXCursor c, CXCursor parent, CXClientData data)
{
	struct cursors *list = data;

	(void)parent;
	*LOOM_PUSH(list->c, list->n, list->cap) = c;
	return CXChildVisit_Continue;
}

static struct kids kids_of(CXCursor c)
{
	struct kids k = { .n = 0 };

	rw_visit_children(c, collect_kid, &k);
	if (k.n > 8)
		k.n = 8;
	return k;
}

static bool is_label(enum CXCursorKind k)
{
	return k == CXCursor_LabelStmt || k == CXCursor_CaseStmt || k == CXCursor_DefaultStmt;
}

/* END, the end of a macro invocation, or just after the ';' written right
 * after it.  Whether that ';' ends the statement or is an empty statement
 * of its own depends on the macro's definition (`#define STEP x -= 3;`,
 * `#define SELECT_RELOC(x, h) { ... }`: then it is one), and a header, or
 * a C file another includes, is compiled under other definitions than the
 * parse saw (coff-tic30.c's SELECT_RELOC is an expression): the statement
 * takes the ';' in either case.  (The empty statement gets no hook:
 * hook_stmt.) */
static unsigned with_semicolon(const struct walk *w, unsigned end)
{
	unsigned i = skip_blank(w, end);

	return i < w->len && w->text[i] == ';' ? i + 1 : end;
}

/* Offset just after a statement that ends with ';' (declarations, null,
 * expression, jump, do-while and asm statements).  A null statement's and a
 * declaration's extents include the ';'; the others stop before it.  When
 * the statement's last token comes from a macro, the expansion may or may
 * not include the ';': with_semicolon. */
static unsigned end_with_semicolon(const struct walk *w, CXCursor c)
{
	unsigned e = end_of(c), s = start_of(c, NULL, NULL);
	const struct range *m;

	if (e < s)
		e = s;
	m = macro_touching(w, e);
	if (m)
		return with_semicolon(w, m->end);
	if (e > 0 && e <= w->len && w->text[e - 1] == ';')
		return e;
	/* Its ';' written by a macro (`s += f(n) SEMI`, `#define SEMI ;`). */
	m = macro_at(w, skip_blank(w, e), false);
	if (m)
		return with_semicolon(w, m->end);
	return after_semicolon(w, e);
}

/* Is the text from FROM (a then-branch's end) to AT (its else-branch) the
 * word `else`, with blanks and comments around it? */
static bool else_spelled(const struct walk *w, unsigned from, unsigned at)
{
	unsigned i = skip_blank(w, from);

	return i + 4 <= w->len && !memcmp(w->text + i, "else", 4) && (i + 4 == w->len || !is_ident_char(w->text[i + 4]))
	       && skip_blank(w, i + 4) == at;
}

/* Does a statement of kind K end with its last sub-statement? */
static bool ends_with_child(enum CXCursorKind k)
{
	switch (k) {
	case CXCursor_IfStmt:
	case CXCursor_WhileStmt:
	case CXCursor_ForStmt:
	case CXCursor_SwitchStmt:
	case CXCursor_LabelStmt:
	case CXCursor_CaseStmt:
	case CXCursor_DefaultStmt:
		return true;
	default:
		return false;
	}
}

/* Offset just after a statement, including its ';'. */
static unsigned stmt_end(const struct walk *w, CXCursor c)
{
	struct kids k;

	if (ends_with_child(clang_getCursorKind(c))) {
		k = kids_of(c);
		return k.n ? stmt_end(w, k.c[k.n - 1]) : end_of(c);
	}
	switch (clang_getCursorKind(c)) {
	case CXCursor_CompoundStmt: {
		/* A block a macro writes (SELECT_RELOC): with_semicolon. */
		const struct range *m = macro_at(w, start_of(c, NULL, NULL), false);

		return m && end_of(c) <= m->end ? with_semicolon(w, m->end) : end_of(c);
	}
	default:
		return end_with_semicolon(w, c);
	}
}

/* ---- calls ---- */

/* Where an expression is, for a function's address taken in it: only one
 * passed to a function that is not the tree's may be called there and
 * then (qsort, pthread_once).  Elsewhere (stored, returned, passed to the
 * tree's own function) it is called through a pointer, where the calls of
 * its type find it (docs/design.md, "Calls through pointers"). */
enum arg_of {
	ARG_OF_NONE,     /* in no call's arguments */
	ARG_OF_LATER,    /* of a system function that runs it later or in
	                  * another thread (pthread_create, atexit) */
	ARG_OF_SYSTEM,   /* of another system function */
	ARG_OF_FUNCTION, /* of another named function (call_scan.passed_to) */
	ARG_OF_POINTER,  /* of a call through a pointer */
};

struct call_scan {
	struct walk *w;
	const char *blocking; /* first blocking callee found */
	bool other;           /* a call that may run instrumented code */
	bool record;          /* add calls to the current function */
	enum arg_of arg_of;   /* in the arguments of the innermost call */
	const char *passed_to; /* ARG_OF_FUNCTION: its name */
};

/* System functions that keep a function whose address they get, to run it
 * in a new thread, at exit, at a fork, at a thread's end or on a signal,
 * not in the caller's frame. */
static bool runs_later(const char *name)
{
	static const char *const names[] = {
		"pthread_create", "thrd_create", "atexit", "at_quick_exit", "on_exit", "pthread_atfork",
		"pthread_key_create", "tss_create", "signal", "sigset", "bsd_signal", "sysv_signal",
	};

	for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* Is function declaration FN in a system header, or a compiler builtin
 * (__builtin_expect, behind likely())?  Unlike the tree's own functions,
 * such a function runs no instrumented code of its own. */
static bool system_function(CXCursor fn)
{
	CXString name;
	bool builtin;

	if (clang_Cursor_isNull(fn) || clang_getCursorKind(fn) != CXCursor_FunctionDecl)
		return false;
	if (clang_Location_isInSystemHeader(clang_getCursorLocation(fn)))
		return true;
	/* libclang places a builtin's implicit declaration at its first use:
	 * known by its reserved prefix. */
	name = clang_getCursorSpelling(fn);
	builtin = !strncmp(clang_getCString(name), "__builtin_", 10) || loom_is_atomic_builtin(clang_getCString(name));
	clang_disposeString(name);
	return builtin;
}

static enum CXChildVisitResult first_expression(CXCursor c, CXCursor parent, CXClientData data)
{
	(void)parent;
	if (!clang_isExpression(clang_getCursorKind(c)))
		return CXChildVisit_Continue;
	*(CXCursor *)data = c;
	return CXChildVisit_Break;
}

/* The last: a cast's operand comes after the expressions of its type
 * (`(__typeof__(x))y`, a variable-length array's bound), and so does
 * va_arg's va_list. */
static enum CXChildVisitResult last_expression(CXCursor c, CXCursor parent, CXClientData data)
{
	(void)parent;
	if (clang_isExpression(clang_getCursorKind(c)))
		*(CXCursor *)data = c;
	return CXChildVisit_Continue;
}

/* The reference to the function that CALL names (its callee expression,
 * through parentheses and implicit conversions), or CALL itself. */
static CXCursor callee_ref(CXCursor call)
{
	CXCursor e = clang_getNullCursor();

	rw_visit_children(call, first_expression, &e);
	while (!clang_Cursor_isNull(e)
	       && (clang_getCursorKind(e) == CXCursor_UnexposedExpr || clang_getCursorKind(e) == CXCursor_ParenExpr)) {
		CXCursor inner = clang_getNullCursor();

		rw_visit_children(e, first_expression, &inner);
		e = inner;
	}
	return !clang_Cursor_isNull(e) && clang_getCursorKind(e) == CXCursor_DeclRefExpr ? e : call;
}

static char *callee_name(CXCursor call)
{
	CXCursor ref = clang_getCursorReferenced(call);
	CXString s;
	char *name;

	if (clang_Cursor_isNull(ref) || clang_getCursorKind(ref) != CXCursor_FunctionDecl)
		return NULL;
	s = clang_getCursorSpelling(ref);
	name = loom_xstrdup(clang_getCString(s));
	clang_disposeString(s);
	return name;
}

/* What a value of some type can hold of a function's address. */
struct carried {
	enum { CARRIES_NOTHING, CARRIES_OPAQUE, CARRIES_FUNCTION } what;
	unsigned depth; /* pointers above the function type: 2 or more can
	                 * write a function pointer, not only read one */
	CXType fn;      /* CARRIES_FUNCTION: the function type, canonical */
};

static const struct carried opaque_value = { CARRIES_OPAQUE, 0, { 0 } };

/* The size of a data pointer of the target, in bytes (rw_walk sets it
 * for the unit being walked; units are walked one at a time per thread). */
static _Thread_local long long pointer_size = 8;

/* Per builtin type kind, whether it holds an address (see holds_address):
 * 0 not asked yet, else 1 or -1.  Set per unit as pointer_size is. */
static _Thread_local signed char address_sized[CXType_LastBuiltin + 1];

static bool integer_type(CXType t)
{
	switch (t.kind) {
	case CXType_Int: case CXType_UInt: case CXType_Long: case CXType_ULong: case CXType_LongLong:
	case CXType_ULongLong: case CXType_Int128: case CXType_UInt128:
		return true;
	default:
		return false;
	}
}

/* Is T, a canonical integer type (integer_type: a builtin kind), as wide
 * as a data pointer? */
static bool holds_address(CXType t)
{
	if (!address_sized[t.kind])
		address_sized[t.kind] = clang_Type_getSizeOf(t) >= pointer_size ? 1 : -1;
	return address_sized[t.kind] > 0;
}

/* A pointer to a function, to a pointer to one, and so on (an array
 * counts as the pointer it decays to); or an opaque carrier: a pointer to
 * anything else, or an integer that can hold an address (which
 * (uintptr_t)f or a cast back from it goes through). */
static struct carried carried_by(CXType t)
{
	struct carried c = { CARRIES_NOTHING, 0, { 0 } };

	/* A builtin type is its own canonical type, qualifiers aside; most
	 * operands of conversions have one (integer promotions, arithmetic). */
	if (t.kind >= CXType_FirstBuiltin && t.kind <= CXType_LastBuiltin) {
		if (integer_type(t) && holds_address(t))
			c.what = CARRIES_OPAQUE;
		return c;
	}
	t = clang_getCanonicalType(t);
	for (;;) {
		if (t.kind == CXType_Atomic) { /* _Atomic(T) holds what T does */
			t = clang_getCanonicalType(clang_Type_getValueType(t));
			continue;
		}
		if (t.kind == CXType_Pointer)
			t = clang_getCanonicalType(clang_getPointeeType(t));
		else if (t.kind == CXType_ConstantArray || t.kind == CXType_IncompleteArray)
			t = clang_getCanonicalType(clang_getArrayElementType(t)); /* as it decays */
		else
			break;
		c.depth++;
	}
	if (t.kind == CXType_FunctionProto || t.kind == CXType_FunctionNoProto) {
		c.what = CARRIES_FUNCTION;
		c.fn = t;
	} else if (c.depth || (integer_type(t) && holds_address(t))) {
		c.what = CARRIES_OPAQUE;
	}
	return c;
}

static char *carried_spelling(const struct carried *c)
{
	CXString s;
	char *res;

	if (c->what != CARRIES_FUNCTION)
		return loom_xstrdup(LOOM_OPAQUE_TYPE);
	s = clang_getTypeSpelling(c->fn);
	res = loom_xstrdup(clang_getCString(s));
	clang_disposeString(s);
	return res;
}

/* The canonical spelling of function type T, seen through pointers (so
 * that a call through `int (*)(void *)` and one through a typedef of it read
 * the same), or NULL if T is no function type. */
static char *function_type(CXType t)
{
	struct carried c = carried_by(t);

	return c.what == CARRIES_FUNCTION ? carried_spelling(&c) : NULL;
}

static enum CXChildVisitResult first_child(CXCursor c, CXCursor parent, CXClientData data)
{
	(void)parent;
	*(CXCursor *)data = c;
	return CXChildVisit_Break;
}

/* The function type an indirect call C calls through: its callee
 * expression's (the call's first child). */
static char *called_type(CXCursor c)
{
	CXCursor callee = clang_getNullCursor();

	rw_visit_children(c, first_child, &callee);
	return clang_Cursor_isNull(callee) ? NULL : function_type(clang_getCursorType(callee));
}

/* Where the declaration D that a call names is: its offset in this file,
 * 0 in another file of the tree (a header included above the call),
 * UINT_MAX when it is in a file outside the tree (a library's header: a
 * program of the tree may link the library's definition instead of the
 * tree's), not at file scope (a block-scope `extern` ends with its block),
 * or names a static function. */
static unsigned declaration_at(const struct walk *w, CXCursor d)
{
	CXFile file;
	unsigned off;

	if (clang_getCursorKind(clang_getCursorLexicalParent(d)) != CXCursor_TranslationUnit
	    || clang_getCursorLinkage(d) != CXLinkage_External)
		return UINT_MAX;
	clang_getExpansionLocation(clang_getCursorLocation(d), &file, NULL, NULL, &off);
	if (file && clang_File_isEqual(file, w->file))
		return off;
	for (size_t i = 0; file && i < w->ntree; i++)
		if (clang_File_isEqual(file, w->tree[i].file))
			return 0;
	return UINT_MAX;
}

/* declaration_at for the declaration D a call names, or for D's first
 * declaration when that one is in this file and D is in another. */
static unsigned visible_declaration(const struct walk *w, CXCursor d)
{
	unsigned off = declaration_at(w, d), first;

	/* libclang names the unit's latest declaration, which may be further
	 * down in another file (the definition in the C file that includes
	 * this header: Open vSwitch's cmap.c for cmap.h's cmap_remove, which
	 * calls cmap_replace); the first one may be this file's. */
	if (off == 0 && (first = declaration_at(w, clang_getCanonicalCursor(d))) != UINT_MAX && first != 0)
		off = first;
	return off;
}

/* The tree function named NAME that D defines, walked already in this unit
 * (in any of its files), or NULL. */
static const struct rw_func *walked_function(const struct walk *w, CXCursor d, const char *name)
{
	CXCursor def = clang_getCursorDefinition(d);
	CXFile file;

	if (clang_Cursor_isNull(def))
		return NULL;
	clang_getExpansionLocation(clang_getCursorLocation(def), &file, NULL, NULL, NULL);
	for (size_t i = 0; file && i < w->ntree; i++)
		if (clang_File_isEqual(file, w->tree[i].file)) {
			const struct rw_plan *p = w->tree[i].plan;

			for (size_t f = 0; f < p->nfuncs; f++)
				if (!strcmp(p->funcs[f].name, name))
					return &p->funcs[f];
			return NULL;
		}
	return NULL;
}

/* Is function D (named NAME), which a call in W's current function names,
 * defined in another file of the tree and walked already, so that its
 * definition, and its slow copy's declaration just before it, come before
 * the caller in the unit?  (The walk goes in the unit's order, and a static
 * function's name is one function in a unit.) */
static bool defined_above(const struct walk *w, CXCursor d, const char *name)
{
	const struct rw_func *f = walked_function(w, d, name);

	return f && !(f >= w->plan->funcs && f < w->plan->funcs + w->plan->nfuncs);
}

/* Whether expression E names a function (f, &f, (T)f), whose reference
 * records it: scan_calls, find_address_taken. */
static bool names_function(CXCursor e)
{
	for (;;) {
		enum CXCursorKind k = clang_getCursorKind(e);
		CXCursor inner = clang_getNullCursor();

		if (k == CXCursor_DeclRefExpr)
			return clang_getCursorKind(clang_getCursorReferenced(e)) == CXCursor_FunctionDecl;
		if (k != CXCursor_UnexposedExpr && k != CXCursor_ParenExpr && k != CXCursor_CStyleCastExpr
		    && k != CXCursor_UnaryOperator)
			return false;
		rw_visit_children(e, last_expression, &inner);
		if (clang_Cursor_isNull(inner))
			return false;
		e = inner;
	}
}

/* A function pointer that call C passes on as a value (a variable, a
 * parameter, a table's member; a function's name is its reference's to
 * record) may be called by the callee: count it as a call through a
 * pointer of its type there, naming the callee when it is not a system
 * function (PASSED_TO), whose own calls say what it does with it if the
 * tree has it. */
static void note_passed_pointers(struct walk *w, CXCursor c, const char *passed_to)
{
	struct rw_func *f = &w->plan->funcs[w->func];
	int n = clang_Cursor_getNumArguments(c);

	for (int i = 0; i < n; i++) {
		CXCursor a = clang_Cursor_getArgument(c, (unsigned)i);
		struct carried p = carried_by(clang_getCursorType(a));
		struct rw_call *call;
		unsigned line, column;

		if (p.what != CARRIES_FUNCTION || names_function(a))
			continue;
		call = LOOM_PUSH(f->calls, f->ncalls, f->calls_cap);
		start_of(a, &line, &column);
		*call = (struct rw_call){ .callee = NULL, .line = line, .column = column,
		                          .off = offset_of(clang_getCursorLocation(a), NULL, NULL), .name_off = UINT_MAX,
		                          .decl_off = UINT_MAX, .point = SIZE_MAX, .type = carried_spelling(&p),
		                          .passed_to = passed_to ? loom_xstrdup(passed_to) : NULL };
	}
}

/* Whether expression E is an integer constant, and its value into *VALUE
 * (may be NULL).  A sizeof or _Alignof is one when its operand is not
 * evaluated (one of a variable-length array is, and is no constant). */
static bool integer_constant(CXCursor e, long long *value)
{
	CXEvalResult v = clang_Cursor_Evaluate(e);
	bool constant = v && (clang_EvalResult_getKind(v) == CXEval_Int);

	if (constant && value)
		*value = clang_EvalResult_getAsLongLong(v);
	if (v)
		clang_EvalResult_dispose(v);
	return constant;
}

/* Sets *(bool *)DATA if C is C11's _Noreturn or C23's [[noreturn]]
 * (libclang exposes neither attribute: by its first token). */
static enum CXChildVisitResult noreturn_attr(CXCursor c, CXCursor parent, CXClientData data)
{
	CXToken *tokens = NULL;
	unsigned n = 0;
	CXTranslationUnit tu = clang_Cursor_getTranslationUnit(c);

	(void)parent;
	if (clang_getCursorKind(c) != CXCursor_UnexposedAttr)
		return CXChildVisit_Continue;
	clang_tokenize(tu, clang_getCursorExtent(c), &tokens, &n);
	if (!n) {
		/* A macro wrote it (<stdnoreturn.h>'s noreturn): where it is
		 * spelled. */
		CXFile file;
		unsigned off;

		clang_getSpellingLocation(clang_getCursorLocation(c), &file, NULL, NULL, &off);
		if (file)
			clang_tokenize(tu, clang_getRange(clang_getLocationForOffset(tu, file, off),
			                                  clang_getLocationForOffset(tu, file, off + 1)), &tokens, &n);
	}
	if (n) {
		CXString t = clang_getTokenSpelling(tu, tokens[0]);
		const char *s = clang_getCString(t);

		*(bool *)data |= !strcmp(s, "_Noreturn") || !strcmp(s, "noreturn") || !strcmp(s, "__noreturn__");
		clang_disposeString(t);
	}
	clang_disposeTokens(tu, tokens, n);
	return CXChildVisit_Continue;
}

/* Does function type TYPE say noreturn (GNU's attribute, on any
 * declaration: libclang spells it in the type)? */
static bool noreturn_type(CXType type)
{
	CXString spelling = clang_getTypeSpelling(type);
	bool noreturn = strstr(clang_getCString(spelling), "__attribute__((noreturn))") != NULL;

	clang_disposeString(spelling);
	return noreturn;
}

/* Is FN, a function declaration, one that does not return? */
static bool declared_noreturn(CXCursor fn)
{
	bool noreturn;

	if (clang_Cursor_isNull(fn) || clang_getCursorKind(fn) != CXCursor_FunctionDecl)
		return false;
	noreturn = noreturn_type(clang_getCursorType(fn));
	if (!noreturn)
		clang_visitChildren(fn, noreturn_attr, &noreturn);
	return noreturn;
}

/* declared_noreturn(FN), each FN once per walk. */
static bool known_noreturn(struct walk *w, CXCursor fn)
{
	size_t k;

	if (clang_Cursor_isNull(fn) || clang_getCursorKind(fn) != CXCursor_FunctionDecl)
		return false;
	for (k = w->facts_mask ? clang_hashCursor(fn) & w->facts_mask : 0; w->facts_mask && w->fact_slots[k];
	     k = (k + 1) & w->facts_mask)
		if (clang_equalCursors(w->facts[w->fact_slots[k] - 1].fn, fn))
			return w->facts[w->fact_slots[k] - 1].noreturn;
	*LOOM_PUSH(w->facts, w->nfacts, w->facts_cap) = (struct callee_fact){ fn, declared_noreturn(fn) };
	if (2 * w->nfacts > w->facts_mask) {
		w->facts_mask = w->facts_mask ? 2 * w->facts_mask + 1 : 63;
		free(w->fact_slots);
		w->fact_slots = loom_xcalloc(w->facts_mask + 1, sizeof *w->fact_slots);
		for (size_t i = 0; i < w->nfacts; i++) {
			for (k = clang_hashCursor(w->facts[i].fn) & w->facts_mask; w->fact_slots[k]; k = (k + 1) & w->facts_mask)
				;
			w->fact_slots[k] = (uint32_t)i + 1;
		}
	} else {
		for (k = clang_hashCursor(fn) & w->facts_mask; w->fact_slots[k]; k = (k + 1) & w->facts_mask)
			;
		w->fact_slots[k] = (uint32_t)w->nfacts;
	}
	return w->facts[w->nfacts - 1].noreturn;
}

/* Is call C one of a library function that cannot keep a thread
 * (loom_is_brief), declared in a system header, or of a function that
 * does not return (abort, exit, the tree's own fatal-error functions): a
 * thread it keeps never comes back to the loop that made the call, whose
 * twin would serve it no more (Open vSwitch's OVS_NOT_REACHED in
 * mf_are_prereqs_ok__ gave check_tries' loop a twin)? */
static bool brief_call(struct walk *w, CXCursor c)
{
	CXCursor fn = clang_getCursorReferenced(c);
	CXString name;
	bool brief;

	if (known_noreturn(w, fn))
		return true;
	if (!system_function(fn))
		return false;
	name = clang_getCursorSpelling(fn);
	brief = loom_is_brief(clang_getCString(name));
	clang_disposeString(name);
	return brief;
}

static enum CXChildVisitResult scan_calls(CXCursor c, CXCursor parent, CXClientData data)
{
	struct call_scan *cs = data;
	struct walk *w = cs->w;
	enum CXCursorKind k = clang_getCursorKind(c);

	(void)parent;
	if (k == CXCursor_UnaryExpr && integer_constant(c, NULL))
		return CXChildVisit_Continue; /* sizeof, _Alignof: the operand is not evaluated */
	if (k == CXCursor_CallExpr) {
		char *name = callee_name(c);
		unsigned line, column;
		bool system = system_function(clang_getCursorReferenced(c));
		struct call_scan args = *cs;
		/* The callee's own reference, when recording a named call. */
		CXCursor ref = cs->record && name ? callee_ref(c) : c;

		if (name && !cs->blocking)
			cs->blocking = loom_blocking_canonical(name);
		if (!name || (!loom_is_blocking(name) && !system))
			cs->other = true;
		/* Its arguments (and callee expression) are scanned apart, as
		 * arguments of this call. */
		args.arg_of = !name ? ARG_OF_POINTER : !system ? ARG_OF_FUNCTION : runs_later(name) ? ARG_OF_LATER
		              : ARG_OF_SYSTEM;
		args.passed_to = args.arg_of == ARG_OF_FUNCTION ? name : NULL;
		if (cs->record) {
			struct rw_func *f = &w->plan->funcs[w->func];
			struct rw_call *call = LOOM_PUSH(f->calls, f->ncalls, f->calls_cap);
			unsigned off = start_of(c, &line, &column);

			*call = (struct rw_call){ .callee = name, .line = line, .column = column,
			                          .off = off, .name_off = UINT_MAX,
			                          .decl_off = UINT_MAX, .point = SIZE_MAX, .type = name ? NULL : called_type(c),
			                          .brief = brief_call(w, c) };
			if (!from_here(w, c)) {
				/* In a file #included in the body: somewhere in
				 * the function, at no statement of it. */
				call->off = UINT_MAX;
				call->line = f->line;
				call->column = f->column;
			} else if (name) {
				unsigned at = offset_of(clang_getCursorLocation(c), NULL, NULL);
				size_t n = strlen(name);

				spelled_add(&w->callees, spelled_at(ref));
				/* Spelled right here, not produced by a macro. */
				if (at + n <= w->len && !memcmp(w->text + at, name, n)
				    && !macro_at(w, at, true) && !macro_at(w, at, false))
					call->name_off = at;
				else /* macro_names decides */
					call->macro_name = true;
				call->decl_off = visible_declaration(w, clang_getCursorReferenced(c));
				call->defined_above = defined_above(w, clang_getCursorReferenced(c), name);
			}
		}
		if (cs->record && args.arg_of != ARG_OF_LATER)
			note_passed_pointers(w, c, args.passed_to);
		if (cs->record && name && clang_getCursorType(ref).kind == CXType_FunctionNoProto) {
			struct rw_plan *unit = w->tree[0].plan;

			*LOOM_PUSH(unit->unprototyped, unit->nunprototyped, unit->unprototyped_cap) = loom_xstrdup(name);
		}
		args.blocking = cs->blocking;
		args.other = cs->other;
		rw_visit_children(c, scan_calls, &args);
		cs->blocking = args.blocking;
		cs->other = args.other;
		if (!cs->record)
			free(name); /* else the call owns it */
		return CXChildVisit_Continue;
	} else if (k == CXCursor_StmtExpr && cs->record) {
		*LOOM_PUSH(w->stmt_exprs, w->nstmt_exprs, w->stmt_exprs_cap) = c;
	} else if (k == CXCursor_ReturnStmt || k == CXCursor_GotoStmt
	           || k == CXCursor_IndirectGotoStmt
	           || k == CXCursor_BreakStmt
	           || k == CXCursor_ContinueStmt) {
		/* In an expression only a statement expression holds statements:
		 * jumping out of it would skip the blocking end marker.  (Its
		 * usual uses, like TEMP_FAILURE_RETRY, do not jump.) */
		cs->other = true;
	} else if (k == CXCursor_DeclRefExpr
	           && clang_getCursorKind(clang_getCursorReferenced(c)) == CXCursor_FunctionDecl) {
		/* A function's address passed here to a function outside the
		 * tree may be called by it (qsort, pthread_once): count it as
		 * an indirect call (enum arg_of).  (The function's recording
		 * scan has listed every direct callee before any blocking
		 * scan.) */
		unsigned at = offset_of(clang_getCursorLocation(c), NULL, NULL), line, column;
		bool callee = is_callee(&w->callees, c);

		if (!callee && !system_function(clang_getCursorReferenced(c)))
			cs->other = true;
		if (!callee && cs->record && cs->arg_of != ARG_OF_NONE && cs->arg_of != ARG_OF_LATER) {
			struct rw_func *f = &w->plan->funcs[w->func];
			struct rw_call *call = LOOM_PUSH(f->calls, f->ncalls, f->calls_cap);
			CXString taken = clang_getCursorSpelling(clang_getCursorReferenced(c));

			start_of(c, &line, &column);
			*call = (struct rw_call){ .callee = NULL, .line = line, .column = column,
			                          .off = at, .name_off = UINT_MAX, .decl_off = UINT_MAX, .point = SIZE_MAX,
			                          .type = function_type(clang_getCursorType(c)),
			                          .taken = loom_xstrdup(clang_getCString(taken)),
			                          .passed_to = cs->passed_to ? loom_xstrdup(cs->passed_to) : NULL };
			clang_disposeString(taken);
		}
	}
	return CXChildVisit_Recurse;
}

/* The blocking function statement (or condition) C calls, or NULL.  Only
 * one that calls nothing but blocking and system functions is marked: while
 * a thread counts as blocked at the marker it must not run instrumented code
 * (it could be inside a filter's region). */
static const char *blocking_callee(struct walk *w, CXCursor c)
{
	struct call_scan cs = { .w = w };

	if (clang_getCursorKind(c) == CXCursor_CallExpr) {
		char *name = callee_name(c);

		cs.blocking = name ? loom_blocking_canonical(name) : NULL;
		if (!name || (!cs.blocking && !system_function(clang_getCursorReferenced(c))))
			cs.other = true;
		free(name);
	}
	rw_visit_children(c, scan_calls, &cs);
	return cs.other ? NULL : cs.blocking;
}

/* ---- control flow ----
 *
 * Built as the hooks are added, in the order they run: every new hook
 * follows the nodes in CUR.  Branches and joins meet at join points (nodes
 * where no hook runs), which the emitter contracts away.  The edges may
 * say more than can happen (a loop whose condition is always true, a call
 * that does not return), never less.  A return the walk does not see (in a
 * macro's expansion or a statement expression) leaves through the fall-off
 * exit, whose id the exit guard still holds; in a function that calls
 * setjmp, any hook may be followed by a second return from it. */

static void edge(struct walk *w, unsigned from, unsigned to)
{
	struct rw_func *f = &w->plan->funcs[w->func];

	*LOOM_PUSH(f->edges, f->nedges, f->edges_cap) = (struct rw_edge){ from, to };
}

/* Control may go from the current nodes to NODE. */
static void flow_to(struct walk *w, unsigned node)
{
	if (node == NO_NODE)
		return;
	for (size_t i = 0; i < w->ncur; i++)
		edge(w, w->cur[i], node);
}

/* Control is at NODE alone (NO_NODE: nowhere, after a jump). */
static void flow_at(struct walk *w, unsigned node)
{
	w->ncur = 0;
	if (node != NO_NODE)
		*LOOM_PUSH(w->cur, w->ncur, w->cur_cap) = node;
}

/* Control may also be at NODE. */
static void flow_also(struct walk *w, unsigned node)
{
	if (node != NO_NODE)
		*LOOM_PUSH(w->cur, w->ncur, w->cur_cap) = node;
}

static unsigned join(struct walk *w)
{
	return RW_NODE_VIRTUAL | w->plan->funcs[w->func].nvirtual++;
}

/* The join point of the label statement at OFF. */
static unsigned label_node(struct walk *w, unsigned off)
{
	struct label *l;

	for (size_t i = 0; i < w->nlabels; i++)
		if (w->labels[i].off == off)
			return w->labels[i].node;
	l = LOOM_PUSH(w->labels, w->nlabels, w->labels_cap);
	l->off = off;
	l->node = join(w);
	return l->node;
}

/* Where computed gotos (and asm goto) go: a join point leading to every
 * label, made on first use. */
static unsigned indirect_node(struct walk *w)
{
	if (w->indirect == NO_NODE)
		w->indirect = join(w);
	return w->indirect;
}

/* Where goto statement C jumps: its label's node, or where computed gotos
 * go when libclang does not tell. */
static unsigned goto_target(struct walk *w, CXCursor c)
{
	CXCursor ref = clang_getNullCursor();

	rw_visit_children(c, first_child, &ref);
	if (!clang_Cursor_isNull(ref))
		ref = clang_getCursorReferenced(ref);
	if (clang_Cursor_isNull(ref) || clang_getCursorKind(ref) != CXCursor_LabelStmt)
		return indirect_node(w);
	return label_node(w, start_of(ref, NULL, NULL));
}

/* Jump statement C: control goes to its target and not on. */
static void flow_jump(struct walk *w, CXCursor c)
{
	switch (clang_getCursorKind(c)) {
	case CXCursor_BreakStmt:
		flow_to(w, w->brk);
		break;
	case CXCursor_ContinueStmt:
		flow_to(w, w->cont);
		break;
	case CXCursor_GotoStmt:
		flow_to(w, goto_target(w, c));
		break;
	case CXCursor_IndirectGotoStmt:
		flow_to(w, indirect_node(w));
		break;
	default: /* return: the exit hook before it has run */
		break;
	}
	flow_at(w, NO_NODE);
}

static bool is_jump(enum CXCursorKind k)
{
	return k == CXCursor_BreakStmt || k == CXCursor_ContinueStmt || k == CXCursor_GotoStmt
	       || k == CXCursor_IndirectGotoStmt || k == CXCursor_ReturnStmt;
}

static bool has_word(const struct walk *w, unsigned from, unsigned to, const char *word);
struct macro_list;
static bool directive_in(const struct walk *w, unsigned from, unsigned to, struct macro_list *macros);
static bool balanced(const struct walk *w, unsigned from, unsigned to);
static unsigned group_end(const struct walk *w, const struct rw_func *f);
static bool enclosing_groups(const struct walk *w, unsigned from, unsigned to, struct rw_func *f);
static bool dangling(struct walk *w, unsigned from, unsigned to);
static bool directive_at(const struct walk *w, unsigned off);

/* `asm goto` may jump to any label of the function (the labels it lists;
 * libclang does not give them), as a computed goto may. */
static void flow_asm(struct walk *w, CXCursor c)
{
	if (!has_word(w, start_of(c, NULL, NULL), end_of(c), "goto"))
		return;
	flow_to(w, indirect_node(w));
}

struct jump_scan {
	struct walk *w;
	int loops, switches; /* nested inside the code scanned */
};

/* The jumps and labels in code the walk does not enter (a macro's
 * expansion, a statement expression): control may leave it at a jump, and
 * enter it at a label, from where it runs on after the code. */
static enum CXChildVisitResult scan_jumps(CXCursor c, CXCursor parent, CXClientData data)
{
	struct jump_scan *js = data, in = *js;
	struct walk *w = js->w;
	enum CXCursorKind k = clang_getCursorKind(c);

	(void)parent;
	switch (k) {
	case CXCursor_ForStmt:
	case CXCursor_WhileStmt:
	case CXCursor_DoStmt:
	case CXCursor_SwitchStmt:
		in.loops += k != CXCursor_SwitchStmt;
		in.switches += k == CXCursor_SwitchStmt;
		rw_visit_children(c, scan_jumps, &in);
		return CXChildVisit_Continue;
	case CXCursor_BreakStmt:
		if (!js->loops && !js->switches)
			flow_to(w, w->brk);
		break;
	case CXCursor_ContinueStmt:
		if (!js->loops)
			flow_to(w, w->cont);
		break;
	case CXCursor_GotoStmt:
		flow_to(w, goto_target(w, c));
		break;
	case CXCursor_IndirectGotoStmt:
		flow_to(w, indirect_node(w));
		break;
	case CXCursor_ReturnStmt:
		flow_to(w, RW_NODE_FALLOFF);
		break;
	case CXCursor_GCCAsmStmt:
		flow_asm(w, c);
		break;
	case CXCursor_LabelStmt:
		flow_also(w, label_node(w, start_of(c, NULL, NULL)));
		break;
	case CXCursor_CaseStmt:
	case CXCursor_DefaultStmt:
		if (!js->switches) {
			flow_also(w, w->sw);
			w->sw_default |= k == CXCursor_DefaultStmt;
		}
		break;
	default:
		break;
	}
	return CXChildVisit_Recurse;
}

/* Statement C, not entered by the walk: its hidden jumps and labels, and
 * control stops after it if it is a jump itself. */
static void flow_hidden(struct walk *w, CXCursor c)
{
	struct jump_scan js = { w, 0, 0 };

	if (is_jump(clang_getCursorKind(c))) {
		flow_jump(w, c);
		return;
	}
	scan_jumps(c, clang_getNullCursor(), &js);
}

/* The statement expressions of the statement at [FROM, TO] that the walk
 * does not enter. */
static void flow_stmt_exprs(struct walk *w, unsigned from, unsigned to)
{
	unsigned done = 0;

	for (size_t i = 0; i < w->nstmt_exprs; i++) {
		unsigned off = start_of(w->stmt_exprs[i], NULL, NULL);

		if (off >= from && off <= to && off >= done) {
			struct jump_scan js = { w, 0, 0 };

			rw_visit_children(w->stmt_exprs[i], scan_jumps, &js);
			done = end_of(w->stmt_exprs[i]);
		}
	}
}

/* The value of loop condition C when it is an integer literal (while (1),
 * do ... while (0)), else -1. */
static int literal_truth(CXCursor c)
{
	CXEvalResult r;
	int v = -1;

	if (clang_getCursorKind(c) != CXCursor_IntegerLiteral)
		return -1;
	r = clang_Cursor_Evaluate(c);
	if (r && clang_EvalResult_getKind(r) == CXEval_Int)
		v = clang_EvalResult_getAsLongLong(r) != 0;
	if (r)
		clang_EvalResult_dispose(r);
	return v;
}

/* The index in w->calls (by offset) of the current function's first call
 * at or after FROM. */
static size_t first_call_from(const struct walk *w, unsigned from)
{
	size_t lo = 0, hi = w->ncalls;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->calls[mid].off < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The calls of the statement at [FROM, TO] are made by the statement whose
 * slot is POINT (statements inside it, walked later, take theirs back). */
static void own_calls(struct walk *w, unsigned from, unsigned to, size_t point)
{
	struct rw_func *f = &w->plan->funcs[w->func];

	for (size_t i = first_call_from(w, from); i < w->ncalls && w->calls[i].off <= to; i++)
		f->calls[w->calls[i].index].point = point;
}

/* Saved loop context: a loop's join points and the enclosing targets. */
struct loop_flow {
	unsigned head, exit, brk, cont;
};

/* Enters a loop: control reaches its head; break leaves it, continue goes
 * to CONT (NO_NODE: the head). */
static void loop_enter(struct walk *w, struct loop_flow *lf, unsigned cont)
{
	lf->brk = w->brk;
	lf->cont = w->cont;
	lf->head = join(w);
	lf->exit = join(w);
	flow_to(w, lf->head);
	flow_at(w, lf->head);
	w->brk = lf->exit;
	w->cont = cont == NO_NODE ? lf->head : cont;
}

/* Leaves a loop: control is where it is left. */
static void loop_leave(struct walk *w, const struct loop_flow *lf)
{
	w->brk = lf->brk;
	w->cont = lf->cont;
	flow_at(w, lf->exit);
}

/* ---- statements ---- */

static void walk_stmt(struct walk *w, CXCursor c, int depth);

static struct rw_point *add_point(struct walk *w, enum rw_point_kind kind, unsigned off,
                                  unsigned line, unsigned column, int rank, bool decl)
{
	struct rw_point *p = LOOM_PUSH(w->plan->points, w->plan->npoints, w->plan->points_cap);

	*p = (struct rw_point){ .kind = kind, .off = off, .line = line, .column = column,
	                        .rank = rank, .func = w->func, .decl = decl };
	flow_to(w, (unsigned)(w->plan->npoints - 1));
	flow_at(w, (unsigned)(w->plan->npoints - 1));
	return p;
}

static void add_skip(struct walk *w, unsigned line, unsigned column)
{
	struct rw_skip *s = LOOM_PUSH(w->plan->skips, w->plan->nskips, w->plan->skips_cap);

	*s = (struct rw_skip){ .line = line, .column = column, .func = w->func };
}

/* Blocking markers around COND, the condition of an if or a loop, when it
 * calls a blocking function (same rule as a statement: blocking_callee): a
 * thread waiting in `while (fgets(...))`, the usual server loop, must count
 * as paused as well.  OPEN is where the condition's text must start (after
 * blanks): after the header's '(', or after a for's first ';'; CLOSE is the
 * character that must follow it.  Anything else (a header written by a
 * macro, a condition that starts or ends inside an expansion) leaves it
 * unmarked.  A switch is left out: its value, not only its truth, counts,
 * and no expression can hand it on unchanged after the end marker. */
static void hook_cond(struct walk *w, CXCursor cond, unsigned open, char close, int depth)
{
	unsigned line, column, start, end, after;
	const struct range *m;
	const char *blocking;
	struct rw_point *p;

	if (open == UINT_MAX || clang_Cursor_isNull(cond) || !from_here(w, cond))
		return;
	start = start_of(cond, &line, &column);
	end = end_of(cond);
	/* A condition ending with a macro invocation: its expansion location
	 * may not be the invocation's end. */
	m = macro_touching(w, end);
	if (m && m->end > end && m->start >= start)
		end = m->end;
	after = skip_blank(w, end);
	if (skip_blank(w, open) != start || end <= start || after >= w->len || w->text[after] != close
	    || macro_at(w, start, true) || macro_at(w, end, true) || !balanced(w, start, end))
		return;
	blocking = blocking_callee(w, cond);
	if (!blocking)
		return;
	p = add_point(w, RW_BLOCKING_COND, start, line, column, 4 * depth + 3, false);
	p->end_off = end;
	p->callee = loom_xstrdup(blocking);
}

/* Statement C without a slot before it (or braces around it), recorded as
 * skipped; what an if, a switch or a loop holds is walked as usual.  SINGLE:
 * C must stay one statement (another compile of a conditional group's text
 * sees it as a body, see balanced and dangling; or a macro's statements
 * follow it), so a loop gets no twin, which would be a second statement
 * after it. */
static void walk_unhooked(struct walk *w, CXCursor c, int depth, unsigned line, unsigned column, bool single)
{
	size_t loop = w->plan->nloops;

	add_skip(w, line, column);
	switch (clang_getCursorKind(c)) {
	case CXCursor_WhileStmt:
	case CXCursor_DoStmt:
	case CXCursor_ForStmt:
		walk_stmt(w, c, depth);
		if (single && w->plan->nloops > loop && !w->plan->loops[loop].no_twin)
			w->plan->loops[loop].no_twin = "it must stay a single statement (a conditional group's "
			                               "text before or after it, or a macro's statements after it)";
		break;
	case CXCursor_CompoundStmt:
	case CXCursor_IfStmt:
	case CXCursor_SwitchStmt:
		walk_stmt(w, c, depth);
		break;
	default:
		flow_hidden(w, c);
	}
}

/* Is C a goto, or a block whose first statement is one (gcc's test for a
 * label that may be fallen into without a warning)? */
static bool starts_with_goto(CXCursor c)
{
	while (clang_getCursorKind(c) == CXCursor_CompoundStmt) {
		struct kids k = kids_of(c);

		if (!k.n)
			return false;
		c = k.c[0];
	}
	return clang_getCursorKind(c) == CXCursor_GotoStmt || clang_getCursorKind(c) == CXCursor_IndirectGotoStmt;
}

/* Is OFF right after a macro invocation (blanks between)? */
static bool after_macro(const struct walk *w, unsigned off)
{
	const struct range *m;

	while (off && (w->text[off - 1] == ' ' || w->text[off - 1] == '\t' || w->text[off - 1] == '\n'))
		off--;
	m = macro_touching(w, off);
	return m && m->end == off;
}

/* A statement in a list (a compound's child or a body): labels first, then
 * the slot, the blocking markers, and the statement's own insides.  Before a
 * declaration the hooks are declarations too, except right after a label
 * (where C before C23 wants a statement). */
static void hook_stmt(struct walk *w, CXCursor c, int depth, bool after_label)
{
	enum CXCursorKind kind = clang_getCursorKind(c);
	unsigned line, column, off = start_of(c, &line, &column);
	const struct range *m;
	unsigned case_label, from = w->list_from;
	bool covered, decl;

	w->list_from = UINT_MAX;
	if (!from_here(w, c)) {
		flow_hidden(w, c);
		return;
	}
	if (is_label(kind)) {
		/* label: stmt, case X: stmt, default: stmt: hook the stmt.
		 * Control also comes from the gotos or the switch. */
		struct kids k = kids_of(c);

		if (kind == CXCursor_LabelStmt) {
			unsigned node = label_node(w, off);

			flow_to(w, node);
			flow_at(w, node);
		} else {
			flow_also(w, w->sw);
			w->sw_default |= kind == CXCursor_DefaultStmt;
		}
		if (k.n) {
			w->list_from = from;
			hook_stmt(w, k.c[k.n - 1], depth, true);
		}
		return;
	}
	/* The ';' after a macro that carries its own or writes a block
	 * (`GET_RELOC;`): under another definition of the macro it ends the
	 * macro's statement (with_semicolon), and a hook before it would
	 * split that.  Empty, it needs none. */
	if (kind == CXCursor_NullStmt && after_macro(w, off))
		return;
	case_label = w->case_label;
	w->case_label = UINT_MAX;
	decl = kind == CXCursor_DeclStmt && !after_label;
	if (macro_at(w, off, true)
	    || (w->open_macro && off >= w->open_macro->start && off < w->open_macro->end)) {
		add_skip(w, line, column);
		flow_hidden(w, c);
		return;
	}
	if (from != UINT_MAX && dangling(w, from, off)) {
		walk_unhooked(w, c, depth, line, column, true);
		return;
	}
	/* A statement that is one macro invocation (plus its ';') gets its
	 * slot before the invocation; nothing inside it is touched. */
	m = macro_at(w, off, false);
	covered = m && end_of(c) <= m->end;
	add_point(w, kind == CXCursor_ReturnStmt ? RW_RETURN : RW_SLOT, off, line, column,
	          4 * depth + 2, decl);
	if (after_label && case_label != UINT_MAX && starts_with_goto(c))
		*LOOM_PUSH(w->plan->fallthroughs, w->plan->nfallthroughs, w->plan->fallthroughs_cap) =
			(struct rw_fallthrough){ case_label, w->func };
	own_calls(w, off, end_of(c), w->plan->npoints - 1);
	if (kind == CXCursor_DeclStmt || clang_isExpression(kind)) {
		const char *blocking = blocking_callee(w, c);

		/* Both markers, or neither (see balanced). */
		if (blocking && balanced(w, off, stmt_end(w, c))) {
			struct rw_point *p = add_point(w, RW_BLOCKING, off, line, column, 4 * depth + 3, decl);

			p->end_off = stmt_end(w, c);
			p->callee = loom_xstrdup(blocking);
		}
	} else if (covered) {
		add_skip(w, line, column); /* its sub-statements stay without hooks */
	}
	if (covered) {
		flow_hidden(w, c);
		return;
	}
	if (kind == CXCursor_DeclStmt || kind == CXCursor_ReturnStmt || clang_isExpression(kind))
		flow_stmt_exprs(w, off, end_of(c));
	walk_stmt(w, c, depth);
}

/* Could another compile of this text see statement C go on after END, where
 * braces around it would close?  Only an `else` continues a statement, that
 * of an if without one that ends it, and it would have to be in a group
 * that a directive right after END opens (bfd's coffcode.h: `else if (...
 * _BSS) bss_sec = current; #ifdef RS6000COFF_C else if (... _TDATA) ...`). */
static bool else_may_follow(const struct walk *w, CXCursor c, unsigned end)
{
	for (;;) {
		struct kids k = kids_of(c);

		if (clang_getCursorKind(c) == CXCursor_IfStmt && k.n < 3) {
			/* Past blanks and comments, a '#' can only begin a
			 * directive (even after a comment on its line). */
			unsigned i = skip_blank(w, end);

			return i < w->len && w->text[i] == '#';
		}
		if (!ends_with_child(clang_getCursorKind(c)) || !k.n)
			return false;
		c = k.c[k.n - 1];
	}
}

/* The body of an if/else/loop/switch: a compound is walked as it is; any
 * other statement is wrapped in braces first. */
static void hook_body(struct walk *w, CXCursor body, int depth, bool loop)
{
	unsigned line, column, off = start_of(body, &line, &column);
	const struct range *m = macro_at(w, off, false), *m2;
	/* LOOP: the loop add_loop has just recorded. */
	struct rw_loop *l = loop ? &w->plan->loops[w->plan->nloops - 1] : NULL;

	if (clang_getCursorKind(body) == CXCursor_CompoundStmt && !m) {
		if (loop && !macro_at(w, off, true)) {
			l->break_point = w->plan->npoints;
			add_point(w, RW_BREAK, off + 1, line, column + 1, 4 * depth + 1, true);
		}
		walk_stmt(w, body, depth);
		return;
	}
	if (!from_here(w, body)) {
		flow_hidden(w, body);
		return;
	}
	if (macro_at(w, off, true) || (m && loop && end_of(body) > m->end)) {
		add_skip(w, line, column);
		flow_hidden(w, body);
		return;
	}
	if (m && clang_getCursorKind(body) == CXCursor_CompoundStmt && end_of(body) > m->end) {
		/* A block a macro opens and the text after it continues
		 * (bfd's eval_symbol: BINARY_OP_HEAD (<<) ... BINARY_OP_TAIL):
		 * braced already.  The statements inside the macro get no
		 * hook, those after it do.  (A loop's gets none: its
		 * cond_break would have to go inside the macro.) */
		const struct range *outer = w->open_macro;

		w->open_macro = m;
		walk_stmt(w, body, depth);
		w->open_macro = outer;
		return;
	}
	if (!m && !loop) {
		/* A labelled body (`else <fall-through comment> case X: s;`, gas'
		 * parse_insn) is braced after its labels: a fall-through comment
		 * must stay right before the label for gcc to see it.  (Not a
		 * loop's: its cond_break must stay before the labels, where
		 * a jump to them does not pass.) */
		CXCursor inner = body;

		while (is_label(clang_getCursorKind(inner))) {
			struct kids k = kids_of(inner);

			if (!k.n)
				break;
			inner = k.c[k.n - 1];
		}
		if (!clang_equalCursors(inner, body) && from_here(w, inner)) {
			unsigned iline, icolumn, ioff = start_of(inner, &iline, &icolumn);

			if (!macro_at(w, ioff, false))
				off = ioff, line = iline, column = icolumn;
		}
	}
	{
		/* A body that is one macro invocation (even one expanding to
		 * { ... }) is wrapped whole, with the ';' after it (stmt_end). */
		unsigned close = stmt_end(w, body);
		struct rw_wrap *wr;

		if (!balanced(w, off, close) || else_may_follow(w, body, close)
		    || (w->next_start != UINT_MAX && (m2 = macro_touching(w, end_of(body)))
		        && w->next_start >= m2->start && w->next_start < m2->end)) {
			/* Braces across a conditional group's line (an `else if`
			 * link inside `#ifdef`): another compile would see one
			 * brace only, or an `else` after the closing one.  Or
			 * the body ends in a macro of two statements or more,
			 * whose next statement follows the whole statement
			 * (`#define TWO a++; b += 1`: `if (n) TWO;`, `if (x) if
			 * (y) TWO;`): braces would take the others in.  Nor can
			 * a loop's twin and back-edge check brace it. */
			if (loop)
				l->no_twin = "its body cannot be braced (a conditional group's line, or a macro "
				             "that writes more statements after it)";
			if (m) {
				add_skip(w, line, column);
				flow_hidden(w, body);
			} else {
				walk_unhooked(w, body, depth, line, column, true);
			}
			return;
		}
		wr = LOOM_PUSH(w->plan->wraps, w->plan->nwraps, w->plan->wraps_cap);
		*wr = (struct rw_wrap){ .open = off, .close = close, .rank = 4 * depth, .func = w->func };
	}
	if (loop) {
		l->break_point = w->plan->npoints;
		add_point(w, RW_BREAK, off, line, column, 4 * depth + 1, true);
	}
	hook_stmt(w, body, depth, false);
}

/* What a loop body holds that decides whether it can be copied. */
struct body_scan {
	struct walk *w;
	bool call, label, jump;
};

static enum CXChildVisitResult scan_body(CXCursor c, CXCursor parent, CXClientData data)
{
	struct body_scan *bs = data;
	enum CXCursorKind k = clang_getCursorKind(c);

	(void)parent;
	if (k == CXCursor_CallExpr && !brief_call(bs->w, c))
		bs->call = true;
	/* A copy would define them twice (labels are per function; case
	 * labels belong to an enclosing switch). */
	if (is_label(k) || k == CXCursor_AddrLabelExpr)
		bs->label = true;
	/* A jump out of a twin would skip the twin's exit hook. */
	if (k == CXCursor_GotoStmt || k == CXCursor_IndirectGotoStmt)
		bs->jump = true;
	return bs->label || bs->jump ? CXChildVisit_Break : CXChildVisit_Recurse;
}

/* ---- for loops with a fixed number of passes ---- */

/* A loop making at most this many passes by itself needs no twin. */
#define FIXED_PASSES_MAX 64

/* C without the implicit conversions and parentheses around it. */
static CXCursor bare_expr(CXCursor c)
{
	for (;;) {
		enum CXCursorKind k = clang_getCursorKind(c);
		struct kids kk;

		if (k != CXCursor_UnexposedExpr && k != CXCursor_ParenExpr)
			return c;
		kk = kids_of(c);
		if (kk.n != 1)
			return c;
		c = kk.c[0];
	}
}

static bool refers_to(CXCursor c, CXCursor var)
{
	c = bare_expr(c);
	return clang_getCursorKind(c) == CXCursor_DeclRefExpr
	       && clang_equalCursors(clang_getCursorReferenced(c), var);
}

/* The value of integer constant expression C, in *V. */
static bool int_constant(CXCursor c, long long *v)
{
	CXEvalResult r = clang_Cursor_Evaluate(c);
	bool ok = false;

	if (r && clang_EvalResult_getKind(r) == CXEval_Int) {
		if (!clang_EvalResult_isUnsignedInt(r)) {
			*v = clang_EvalResult_getAsLongLong(r);
			ok = true;
		} else if (clang_EvalResult_getAsUnsigned(r) <= (unsigned long long)LLONG_MAX) {
			*v = (long long)clang_EvalResult_getAsUnsigned(r);
			ok = true;
		}
	}
	if (r)
		clang_EvalResult_dispose(r);
	return ok;
}

/* The operator text between offsets FROM and TO (blanks skipped), in OP. */
static bool operator_between(const struct walk *w, unsigned from, unsigned to, char op[4])
{
	unsigned i = skip_blank(w, from), n = 0;

	while (i < to && i < w->len && n < 3 && strchr("<>=!+-", w->text[i]))
		op[n++] = w->text[i++];
	op[n] = '\0';
	return n && skip_blank(w, i) >= to;
}

/* The range of integer type T, when it is one this analysis knows (for
 * unsigned long long, only up to LLONG_MAX: stricter, and enough). */
static bool int_range(CXType t, long long *lo, long long *hi)
{
	long long size = clang_Type_getSizeOf(t);
	bool is_signed;

	switch (clang_getCanonicalType(t).kind) {
	case CXType_Char_S: case CXType_SChar: case CXType_Short: case CXType_Int: case CXType_Long:
	case CXType_LongLong:
		is_signed = true;
		break;
	case CXType_Char_U: case CXType_UChar: case CXType_UShort: case CXType_UInt: case CXType_ULong:
	case CXType_ULongLong:
		is_signed = false;
		break;
	default:
		return false;
	}
	if (size < 1 || size > 8)
		return false;
	if (size == 8) {
		*lo = is_signed ? LLONG_MIN : 0;
		*hi = LLONG_MAX;
	} else {
		*lo = is_signed ? -(1LL << (8 * size - 1)) : 0;
		*hi = is_signed ? (1LL << (8 * size - 1)) - 1 : (1LL << (8 * size)) - 1;
	}
	return true;
}

struct var_use {
	CXCursor var;
	bool written; /* assigned, incremented, address taken: anything but read */
};

/* Is PARENT the implicit conversion that reads expression C?  A read of an
 * integer is an implicit conversion of the reference, which spans what the
 * reference does (libclang shows other expressions as unexposed too:
 * __builtin_choose_expr can be written through, an atomic operation reads
 * through a pointer). */
static bool implicit_read(CXCursor parent, CXCursor c)
{
	return clang_getCursorKind(parent) == CXCursor_UnexposedExpr
	       && clang_equalRanges(rw_cursor_extent(parent), rw_cursor_extent(c));
}

static enum CXChildVisitResult find_writes(CXCursor c, CXCursor parent, CXClientData data)
{
	struct var_use *u = data;

	/* Any parent but a read may write it or take its address. */
	if (clang_getCursorKind(c) == CXCursor_DeclRefExpr && clang_equalCursors(clang_getCursorReferenced(c), u->var)
	    && !implicit_read(parent, c))
		u->written = true;
	return u->written ? CXChildVisit_Break : CXChildVisit_Recurse;
}

struct var_escape {
	const struct walk *w;
	CXCursor var;
	bool escapes;
};

static enum CXChildVisitResult find_escapes(CXCursor c, CXCursor parent, CXClientData data)
{
	struct var_escape *e = data;
	enum CXCursorKind pk = clang_getCursorKind(parent);
	struct kids pkids;
	char op[4];

	if (clang_getCursorKind(c) != CXCursor_DeclRefExpr || !clang_equalCursors(clang_getCursorReferenced(c), e->var))
		return CXChildVisit_Recurse;
	/* A read, an assignment to it, ++ or --: anything else (&v, an asm
	 * operand, sizeof) may let a callee write it. */
	if (implicit_read(parent, c))
		return CXChildVisit_Continue;
	if (pk == CXCursor_BinaryOperator || pk == CXCursor_CompoundAssignOperator) {
		pkids = kids_of(parent);
		/* Compared by extent: a cursor the tree copied and the one a
		 * visit from another cursor yields need not be equal. */
		if (pkids.n == 2 && clang_equalRanges(rw_cursor_extent(pkids.c[0]), rw_cursor_extent(c))
		    && operator_between(e->w, end_of(c), start_of(pkids.c[1], NULL, NULL), op)
		    && op[strlen(op) - 1] == '=' && strcmp(op, "==") && strcmp(op, "<=") && strcmp(op, ">=")
		    && strcmp(op, "!="))
			return CXChildVisit_Continue;
	} else if (pk == CXCursor_UnaryOperator) {
		unsigned from = start_of(parent, NULL, NULL), to = end_of(parent);
		unsigned vs = start_of(c, NULL, NULL), ve = end_of(c);

		if ((vs == from ? operator_between(e->w, ve, to, op) : operator_between(e->w, from, vs, op))
		    && (!strcmp(op, "++") || !strcmp(op, "--")))
			return CXChildVisit_Continue;
	}
	e->escapes = true;
	return CXChildVisit_Break;
}

/* The counter of a for loop whose init is the expression INIT, `v = A`:
 * VAR gets v and *A_EXPR gets A when v is a non-volatile automatic
 * variable of the function, which only assigns it, increments it and reads
 * it: no callee can write it then (not through &v, not recursively as a
 * static).  Open vSwitch's cmap.c: `int i; ... for (i = 0; i < CMAP_K; i++)`. */
static bool assigned_counter(const struct walk *w, CXCursor init, CXCursor *var, CXCursor *a_expr)
{
	struct kids asg;
	char op[4];
	CXCursor v, fn;
	struct var_escape e;

	if (clang_getCursorKind(init) != CXCursor_BinaryOperator)
		return false;
	asg = kids_of(init);
	if (asg.n != 2 || clang_getCursorKind(asg.c[0]) != CXCursor_DeclRefExpr
	    || !operator_between(w, end_of(asg.c[0]), start_of(asg.c[1], NULL, NULL), op) || strcmp(op, "="))
		return false;
	v = clang_getCursorReferenced(asg.c[0]);
	fn = clang_getCursorSemanticParent(v);
	if (clang_getCursorKind(v) != CXCursor_VarDecl || clang_Cursor_getStorageClass(v) != CX_SC_None
	    || clang_getCursorKind(fn) != CXCursor_FunctionDecl || clang_isVolatileQualifiedType(clang_getCursorType(v)))
		return false;
	e = (struct var_escape){ w, v, false };
	rw_visit_children(fn, find_escapes, &e);
	if (e.escapes)
		return false;
	*var = v;
	*a_expr = asg.c[1];
	return true;
}

/* Whether for statement K (children init, cond, inc, body; the condition
 * is child COND) makes a fixed number of passes, at most FIXED_PASSES_MAX:
 * `for (T v = A; v < B; v++)`, or <=, or counting down with > or >= and
 * --, or += 1 / -= 1, with A and B integer constants in T's range, and v
 * only read in the body; or `for (v = A; ...)` the same way, with v a
 * local that nothing else can write (assigned_counter).  Such a loop
 * cannot run long by itself: whatever runs long in it is a call, and the
 * callee has its own switch and loops. */
static bool fixed_passes(const struct walk *w, const struct kids *k, size_t cond)
{
	struct kids decl, cmp, inc;
	CXCursor var, bound, init;
	long long a, b, lo, hi, clo, chi, passes;
	char op[4], step[4];
	bool up;
	struct var_use use;

	if (k->n != 4 || cond != 1)
		return false;
	if (clang_getCursorKind(k->c[0]) == CXCursor_DeclStmt) {
		struct kids vk;

		decl = kids_of(k->c[0]);
		if (decl.n != 1 || clang_getCursorKind(decl.c[0]) != CXCursor_VarDecl)
			return false;
		var = decl.c[0];
		/* The initializer is the last child, after the name (a child
		 * before it belongs to the type: __typeof__(0) v has none). */
		vk = kids_of(var);
		if (!vk.n || start_of(vk.c[vk.n - 1], NULL, NULL) <= offset_of(clang_getCursorLocation(var), NULL, NULL))
			return false;
		init = vk.c[vk.n - 1];
	} else if (!assigned_counter(w, k->c[0], &var, &init)) {
		return false;
	}
	if (!int_range(clang_getCursorType(var), &lo, &hi) || !int_constant(init, &a))
		return false;
	/* v OP B */
	if (clang_getCursorKind(k->c[1]) != CXCursor_BinaryOperator)
		return false;
	cmp = kids_of(k->c[1]);
	if (cmp.n != 2 || !refers_to(cmp.c[0], var)
	    || !operator_between(w, end_of(cmp.c[0]), start_of(cmp.c[1], NULL, NULL), op))
		return false;
	bound = cmp.c[1];
	if (!int_constant(bound, &b) || b < lo || b > hi)
		return false;
	/* Compared as numbers: in a signed type, or in an unsigned one when v
	 * is unsigned too (int v >= 0u converts v, and never ends). */
	if (!int_range(clang_getCursorType(cmp.c[0]), &clo, &chi) || (clo == 0 && lo < 0))
		return false;
	/* v++, ++v, v--, --v, v += 1, v -= 1 */
	inc = kids_of(k->c[2]);
	if (inc.n < 1 || !refers_to(inc.c[0], var))
		return false;
	if (clang_getCursorKind(k->c[2]) == CXCursor_UnaryOperator && inc.n == 1) {
		unsigned from = start_of(k->c[2], NULL, NULL), to = end_of(k->c[2]);
		unsigned vs = start_of(inc.c[0], NULL, NULL), ve = end_of(inc.c[0]);

		if (!(vs == from ? operator_between(w, ve, to, step) : operator_between(w, from, vs, step)))
			return false;
	} else if (clang_getCursorKind(k->c[2]) == CXCursor_CompoundAssignOperator && inc.n == 2) {
		long long one;

		if (!operator_between(w, end_of(inc.c[0]), start_of(inc.c[1], NULL, NULL), step)
		    || !int_constant(inc.c[1], &one) || one != 1)
			return false;
		step[1] = step[0]; /* "+=" counts as "++" */
		step[2] = '\0';
	} else {
		return false;
	}
	if (!strcmp(step, "++"))
		up = true;
	else if (!strcmp(step, "--"))
		up = false;
	else
		return false;
	/* Passes, and v never leaving T's range on the way (v <= max of T
	 * would never end). */
	{
		/* The distance without overflow (LLONG_MIN .. LLONG_MAX). */
		long long from = up ? a : b, to = up ? b : a;
		bool inclusive = !strcmp(op, up ? "<=" : ">=");

		if (strcmp(op, up ? "<" : ">") && !inclusive)
			return false;
		if (inclusive && (up ? b == hi : b == lo))
			return false;
		if (to < from)
			passes = 0;
		else if (__builtin_sub_overflow(to, from, &passes) || passes + inclusive > FIXED_PASSES_MAX)
			return false;
	}
	/* v only read anywhere else in the loop: the body, the bound, the
	 * initializer and the step (&v in any of them could reach a write). */
	use = (struct var_use){ var, false };
	rw_visit_children(k->c[3], find_writes, &use);
	rw_visit_children(bound, find_writes, &use);
	rw_visit_children(init, find_writes, &use);
	if (inc.n == 2)
		rw_visit_children(inc.c[1], find_writes, &use);
	return !use.written;
}

/* Records loop C (body BODY, for-init declaration *INIT or NULL, left at
 * join point EXIT_NODE); FOR_KIDS, the children of a for statement whose
 * condition is child COND, or NULL; ENDLESS, it has no condition or a
 * constant true one (rw_loop.endless). */
static void add_loop(struct walk *w, CXCursor c, CXCursor body, int depth, const CXCursor *init,
                     unsigned exit_node, const struct kids *for_kids, size_t cond, bool endless)
{
	struct rw_loop *l = LOOM_PUSH(w->plan->loops, w->plan->nloops, w->plan->loops_cap);
	struct body_scan bs = { w, false, false, false };
	unsigned end;

	memset(l, 0, sizeof *l);
	l->func = w->func;
	l->depth = depth;
	l->is_do = clang_getCursorKind(c) == CXCursor_DoStmt;
	l->endless = endless;
	l->start = start_of(c, &l->line, NULL);
	l->body_start = start_of(body, NULL, NULL);
	l->break_point = SIZE_MAX; /* hook_body adds it, if it can */
	l->exit_node = exit_node;
	l->body_end = stmt_end(w, body);
	l->end = end = stmt_end(w, c);
	offset_of(clang_getRangeEnd(rw_cursor_extent(c)), &l->end_line, NULL);
	l->init_start = l->init_end = UINT_MAX;
	if (init) {
		l->init_start = start_of(*init, NULL, NULL);
		l->init_end = stmt_end(w, *init);
	}
	rw_visit_children(body, scan_body, &bs);
	if (clang_getCursorKind(body) == CXCursor_CallExpr && !brief_call(w, body))
		bs.call = true;
	l->calls = bs.call;
	if (!bs.call)
		l->no_twin = "no call in its body but brief library ones: it cannot run long";
	else if (bs.label)
		l->no_twin = "labels in its body";
	else if (bs.jump)
		l->no_twin = "a goto in its body";
	else if (macro_at(w, l->start, true) || macro_at(w, l->start, false) || macro_at(w, l->body_start, true)
	         || macro_at(w, end, true)
	         || (init && (macro_at(w, l->init_start, true) || macro_at(w, l->init_start, false))))
		l->no_twin = "it comes from a macro";
	else if (init && memchr(w->text + l->init_start, '\n', l->init_end - l->init_start))
		l->no_twin = "its for-declaration spans lines";
	else if (directive_in(w, l->start, end, NULL))
		l->no_twin = "a #define or #undef in it: the macros differ where its twin would start";
	else if (!balanced(w, l->start, end))
		l->no_twin = "it starts or ends inside a conditional (#if) group: a copy would split the group";
	else if (for_kids && (l->fixed = fixed_passes(w, for_kids, cond)))
		l->no_twin = "a fixed number of passes: it cannot run long by itself";
	/* The line the loop's last character is on: where the text after it
	 * continues. */
	{
		unsigned line = l->line;

		for (unsigned i = l->start; i < end && i < w->len; i++)
			line += w->text[i] == '\n';
		l->end_line = line;
	}
}

/* Which of the children K of for statement C is its condition (SIZE_MAX:
 * none, or its header is not plain text), and in *AT the offset after the
 * ';' the condition follows; *ENDLESS is set when the header plainly has no
 * condition.  libclang lists only the parts present, so the header's text
 * tells which is which. */
static size_t for_condition(const struct walk *w, CXCursor c, const struct kids *k, unsigned *at,
                            bool *endless)
{
	unsigned off = after_keyword_paren(w, start_of(c, NULL, NULL), "for");
	size_t i = 0;

	if (off == UINT_MAX || k->n < 1 || k->n > 4)
		return SIZE_MAX;
	off = skip_blank(w, off);
	if (off < w->len && w->text[off] != ';') {
		/* The init: a declaration ends after its ';', an expression
		 * before it. */
		if (k->n < 2 || start_of(k->c[0], NULL, NULL) != off)
			return SIZE_MAX;
		if (clang_getCursorKind(k->c[0]) == CXCursor_DeclStmt) {
			off = stmt_end(w, k->c[0]);
			if (off == 0 || w->text[off - 1] != ';')
				return SIZE_MAX;
			off--;
		} else {
			off = skip_blank(w, end_of(k->c[0]));
		}
		i = 1;
	}
	if (off >= w->len || w->text[off] != ';')
		return SIZE_MAX;
	*at = off + 1;
	off = skip_blank(w, off + 1);
	if (off < w->len && w->text[off] == ';') {
		*endless = true;
		return SIZE_MAX;
	}
	if (i >= k->n - 1)
		return SIZE_MAX;
	return start_of(k->c[i], NULL, NULL) == off ? i : SIZE_MAX;
}

struct list_visit {
	struct walk *w;
	int depth;
	bool seen_case; /* a case or default label came earlier in the list */
	unsigned prev_end; /* where the statements before end (stmt_end) */
	unsigned prev_start; /* where the statement before starts (UINT_MAX: none) */
};

/* Does the statement in [FROM, TO) call strncpy or stpncpy?  gcc's
 * -Wstringop-truncation looks at the statement right after such a call for
 * the store that ends the string (`strncpy(b, s, 16); b[15] = '\0';`); a
 * hook between the two, inline in a function that has no slow copy (bluez's
 * DBG macro declares a static), made gcc warn where the original does not. */
static bool calls_strncpy(const struct walk *w, unsigned from, unsigned to)
{
	const struct rw_func *f = &w->plan->funcs[w->func];

	for (size_t i = from == UINT_MAX ? w->ncalls : first_call_from(w, from); i < w->ncalls && w->calls[i].off < to;
	     i++) {
		const char *callee = f->calls[w->calls[i].index].callee;

		if (callee && (!strcmp(callee, "strncpy") || !strcmp(callee, "stpncpy") || !strcmp(callee, "__builtin_strncpy")))
			return true;
	}
	return false;
}

static enum CXChildVisitResult hook_list_child(CXCursor c, CXCursor parent, CXClientData data)
{
	struct list_visit *lv = data;
	enum CXCursorKind kind = clang_getCursorKind(c);
	bool is_case = kind == CXCursor_CaseStmt || kind == CXCursor_DefaultStmt;
	unsigned off = is_case && lv->seen_case ? start_of(c, NULL, NULL) : UINT_MAX;
	unsigned start, end, line, column;
	bool here;

	(void)parent;
	/* Not before a label a macro writes (`break; case x:`): the
	 * attribute would land before the macro's break. */
	lv->w->case_label = off != UINT_MAX && !macro_at(lv->w, off, false) ? off : UINT_MAX;
	/* (Offsets of statements from a file #included in the body are that
	 * file's.) */
	here = from_here(lv->w, c);
	start = start_of(c, &line, &column);
	if (here && start < lv->prev_end && kind != CXCursor_NullStmt) {
		/* It starts before the statement before it ends: one macro
		 * expansion holds the end of that and the start of this (a
		 * second statement of the macro, or arc-got.h's `bfd_vma
		 * offset = ADD_SYMBOL_REF_SEC_AND_RELOC (...);`, whose
		 * expansion ends the declaration and then opens a block).  No
		 * hook can go between them. */
		add_skip(lv->w, line, column);
		flow_hidden(lv->w, c);
	} else if (here && !is_label(kind) && calls_strncpy(lv->w, lv->prev_start, lv->prev_end)) {
		walk_unhooked(lv->w, c, lv->depth, line, column, false);
	} else {
		lv->w->list_from = lv->prev_end;
		hook_stmt(lv->w, c, lv->depth, false);
	}
	lv->prev_start = here ? start : UINT_MAX;
	end = here ? stmt_end(lv->w, c) : 0;
	lv->prev_end = end > lv->prev_end ? end : lv->prev_end;
	lv->w->case_label = UINT_MAX;
	lv->seen_case |= is_case;
	return CXChildVisit_Continue;
}

/* One rule per statement kind that has statements inside it, or that
 * jumps. */
static void walk_stmt(struct walk *w, CXCursor c, int depth)
{
	enum CXCursorKind kind = clang_getCursorKind(c);
	struct loop_flow lf;
	struct kids k;

	switch (kind) {
	case CXCursor_CompoundStmt: {
		/* { stmt... }: every child is a statement in a list.  The text
		 * before the first starts after the '{'. */
		struct list_visit lv = { w, depth + 1, false, from_here(w, c) ? start_of(c, NULL, NULL) : 0, UINT_MAX };
		struct cursors list = { 0 };
		unsigned next_start = w->next_start;

		rw_visit_children(c, collect_cursor, &list);
		for (size_t i = 0; i < list.n; i++) {
			w->next_start = i + 1 < list.n && from_here(w, list.c[i + 1])
			                        ? start_of(list.c[i + 1], NULL, NULL) : UINT_MAX;
			hook_list_child(list.c[i], c, &lv);
		}
		w->next_start = next_start;
		free(list.c);
		break;
	}
	case CXCursor_IfStmt:
		/* if (cond) then [else else]: children cond, then, else. */
		k = kids_of(c);
		if (k.n >= 2) {
			unsigned split = join(w), after = join(w);

			hook_cond(w, k.c[0], after_keyword_paren(w, start_of(c, NULL, NULL), "if"), ')', depth);
			flow_to(w, split);
			flow_at(w, split);
			hook_body(w, k.c[1], depth + 1, false);
			flow_to(w, after);
			flow_at(w, split);
			/* An `else` a macro writes (`#define OPT(n, v) else if
			 * (g (n)) ...`, binutils' objcopy.c) is inside the
			 * expansion: braces around the else-branch would take it
			 * in.  Such a branch stays as it is. */
			if (k.n >= 3 && else_spelled(w, stmt_end(w, k.c[1]), start_of(k.c[2], NULL, NULL)))
				hook_body(w, k.c[2], depth + 1, false);
			else if (k.n >= 3)
				flow_hidden(w, k.c[2]);
			flow_to(w, after);
			flow_at(w, after);
		}
		break;
	case CXCursor_WhileStmt:
		/* while (cond) body: children cond, body. */
		k = kids_of(c);
		if (k.n) {
			bool endless = k.n >= 2 && literal_truth(k.c[0]) == 1;

			loop_enter(w, &lf, NO_NODE);
			if (k.n >= 2)
				hook_cond(w, k.c[0], after_keyword_paren(w, start_of(c, NULL, NULL), "while"), ')', depth);
			if (!endless)
				flow_to(w, lf.exit);
			add_loop(w, c, k.c[k.n - 1], depth, NULL, lf.exit, NULL, 0, endless);
			hook_body(w, k.c[k.n - 1], depth + 1, true);
			flow_to(w, lf.head);
			loop_leave(w, &lf);
		}
		break;
	case CXCursor_ForStmt:
		/* for (init; cond; inc) body: body is last, the others only when
		 * present.  The init runs before the head; the increment (no
		 * hook) between the body and the head. */
		k = kids_of(c);
		if (k.n) {
			unsigned cond_at;
			bool endless = false;
			size_t cond = for_condition(w, c, &k, &cond_at, &endless);

			loop_enter(w, &lf, NO_NODE);
			if (cond != SIZE_MAX)
				hook_cond(w, k.c[cond], cond_at, ';', depth);
			endless = endless || (cond != SIZE_MAX && literal_truth(k.c[cond]) == 1);
			if (!endless)
				flow_to(w, lf.exit);
			add_loop(w, c, k.c[k.n - 1], depth,
			         clang_getCursorKind(k.c[0]) == CXCursor_DeclStmt ? &k.c[0] : NULL, lf.exit, &k, cond, endless);
			hook_body(w, k.c[k.n - 1], depth + 1, true);
			flow_to(w, lf.head);
			loop_leave(w, &lf);
		}
		break;
	case CXCursor_DoStmt:
		/* do body while (cond);: children body, cond.  Continue goes to
		 * the condition. */
		k = kids_of(c);
		if (k.n) {
			unsigned test = join(w);
			int truth = k.n >= 2 ? literal_truth(k.c[1]) : -1;

			loop_enter(w, &lf, test);
			add_loop(w, c, k.c[0], depth, NULL, lf.exit, NULL, 0, truth == 1);
			hook_body(w, k.c[0], depth + 1, true);
			flow_to(w, test);
			flow_at(w, test);
			if (k.n >= 2)
				hook_cond(w, k.c[1], after_keyword_paren(w, skip_blank(w, stmt_end(w, k.c[0])), "while"),
				          ')', depth);
			if (truth != 0)
				flow_to(w, lf.head);
			if (truth != 1)
				flow_to(w, lf.exit);
			loop_leave(w, &lf);
		}
		break;
	case CXCursor_SwitchStmt:
		/* switch (cond) body: case labels live in the body's list; control
		 * enters the body only through them. */
		k = kids_of(c);
		if (k.n) {
			unsigned sw = w->sw, brk = w->brk, dispatch = join(w), after = join(w);
			bool deflt = w->sw_default;

			flow_to(w, dispatch);
			flow_at(w, NO_NODE);
			w->sw = dispatch;
			w->brk = after;
			w->sw_default = false;
			hook_body(w, k.c[k.n - 1], depth + 1, false);
			flow_to(w, after);
			if (!w->sw_default)
				edge(w, dispatch, after);
			w->sw = sw;
			w->brk = brk;
			w->sw_default = deflt;
			flow_at(w, after);
		}
		break;
	case CXCursor_GCCAsmStmt:
		flow_asm(w, c);
		break;
	default:
		/* Expressions, declarations: no statements inside that a filter
		 * can name (statement expressions are left alone). */
		if (is_jump(kind))
			flow_jump(w, c);
		break;
	}
}

/* ---- functions and the translation unit ---- */

static enum CXChildVisitResult find_body(CXCursor c, CXCursor parent, CXClientData data)
{
	(void)parent;
	if (clang_getCursorKind(c) == CXCursor_CompoundStmt)
		*(CXCursor *)data = c;
	return CXChildVisit_Continue;
}

struct fn_scan {
	const struct walk *w;
	bool statics;        /* a static local: two copies would be two objects */
	bool name_in_macro;  /* __func__ or the like produced by a macro (assert) */
	struct rw_func *f;   /* its va_starts and hoists, found here */
	bool statics_fixed;  /* a static local that cannot move (hoistable) */
	/* The references to static locals: where the variable is declared,
	 * where the reference is, and whether its name is spelled there. */
	struct static_ref {
		unsigned decl, at;
		bool spelled;
	} *refd;
	size_t nrefd, refd_cap;
	unsigned *hoisted_at; /* where the hoisted ones are declared (their names) */
	size_t nhoisted_at, hoisted_at_cap;
	/* A va_start that its slow copy cannot spell LOOM_VA_START (one a
	 * macro writes, like libiberty's VA_OPEN: it would start F__slow's
	 * own list), or __builtin_va_arg_pack. */
	bool va_unspelled;
};

static bool has_word(const struct walk *w, unsigned from, unsigned to, const char *word);

static enum CXChildVisitResult count_vars(CXCursor c, CXCursor parent, CXClientData data)
{
	(void)parent;
	*(int *)data += clang_getCursorKind(c) == CXCursor_VarDecl;
	return CXChildVisit_Continue;
}

/* What the declaration of a static local refers to (hoistable). */
struct decl_refs {
	const struct fn_scan *bs;
	CXCursor var;
	unsigned from, to;   /* the declaration, which moves as a whole */
	bool local;          /* something declared in the function, or a tag or
	                      * enumeration it defines */
};

/* Is the struct or union C unnamed? */
static bool unnamed_tag(CXCursor c)
{
	CXString s = clang_getCursorSpelling(c);
	const char *name = clang_getCString(s);
	/* clang spells an unnamed one "struct (unnamed at ...)". */
	bool unnamed = !name || !*name || strstr(name, "(unnamed") || strstr(name, "(anonymous");

	clang_disposeString(s);
	return unnamed;
}

static enum CXChildVisitResult scan_decl_refs(CXCursor c, CXCursor parent, CXClientData data)
{
	struct decl_refs *dr = data;
	const struct rw_func *f = dr->bs->f;
	enum CXCursorKind k = clang_getCursorKind(c);
	CXCursor ref = clang_getCursorReferenced(c);

	(void)parent;
	/* At file scope a tag would be visible to the whole file, an
	 * enumeration constant too. */
	if ((k == CXCursor_StructDecl || k == CXCursor_UnionDecl) && !unnamed_tag(c))
		dr->local = true;
	/* A label's address (`&&l`) has no meaning outside the function.  A
	 * call (in `sizeof` or __builtin_constant_p) would carry the copies'
	 * edits. */
	if (k == CXCursor_EnumDecl || k == CXCursor_AddrLabelExpr || k == CXCursor_LabelRef || k == CXCursor_CallExpr)
		dr->local = true;
	/* The function's name, as a macro may write it (`#define HERE
	 * __func__`): in C only a predefined identifier is a string of const
	 * chars.  Outside the function it would be empty. */
	if (k == CXCursor_StringLiteral
	    && clang_isConstQualifiedType(clang_getArrayElementType(clang_getCursorType(c))))
		dr->local = true;
	if ((clang_isReference(k) || clang_isExpression(k)) && !clang_Cursor_isNull(ref)
	    && !clang_equalCursors(ref, dr->var) && from_here(dr->bs->w, ref)) {
		unsigned at = offset_of(clang_getCursorLocation(ref), NULL, NULL);
		enum CXCursorKind rk = clang_getCursorKind(ref);
		/* What the declaration defines moves with it, but a tag it
		 * names first (`static struct s *p;` declares a struct s of
		 * the block) would become the file's struct s. */
		bool hoisted = at >= dr->from && at < dr->to
		               && !((rk == CXCursor_StructDecl || rk == CXCursor_UnionDecl) && !unnamed_tag(ref));

		for (size_t i = 0; i < dr->bs->nhoisted_at && !hoisted; i++)
			hoisted = dr->bs->hoisted_at[i] == at;
		if (at >= f->decl_start && at < f->body_end && !hoisted)
			dr->local = true;
	}
	return dr->local ? CXChildVisit_Break : CXChildVisit_Recurse;
}

/* Can the static local VAR, declared by DECL, move to file scope, just
 * above its function (under `#line`: emit.c), as the same text?  Then
 * both copies of the function name the one object.  Only a declaration of
 * VAR alone, spelled in the unit's C file outside macros and conditional
 * groups of the body, that refers to nothing the function declares (but
 * statics that move before it), introduces no named tag, makes no call and
 * does not use __func__.  (Its name must also be declared nowhere else in
 * the unit but in functions above this one: moves_alone.)  If so, it goes
 * into the function's hoists. */
static bool hoistable(struct fn_scan *bs, CXCursor var, CXCursor decl)
{
	const struct walk *w = bs->w;
	struct rw_func *f = bs->f;
	struct decl_refs dr = { bs, var, 0, 0, false };
	unsigned from, to, at, line;
	CXString name;
	size_t n;
	int children = 0;

	/* Not in a header: the other units that include it would need the
	 * same check of their declarations. */
	if (clang_getCursorKind(decl) != CXCursor_DeclStmt || !from_here(w, decl)
	    || !clang_File_isEqual(w->file, w->tree[0].file))
		return false;
	rw_visit_children(decl, count_vars, &children);
	from = start_of(decl, &line, NULL);
	to = end_of(decl);
	at = offset_of(clang_getCursorLocation(var), NULL, NULL);
	if (children != 1 || from >= to || to > w->len || w->text[to - 1] != ';' || at < from || at >= to
	    || macro_at(w, from, true) || macro_at(w, to - 1, true) || macro_at(w, to - 1, false)
	    || macro_at(w, at, true) || macro_at(w, at, false) || !balanced(w, f->body_open, from))
		return false;
	for (unsigned i = from; i < to; i++)
		if (directive_at(w, i))
			return false;
	if (has_word(w, from, to, "__func__") || has_word(w, from, to, "__FUNCTION__")
	    || has_word(w, from, to, "__PRETTY_FUNCTION__") || has_word(w, from, to, "__builtin_FUNCTION"))
		return false;
	name = clang_getCursorSpelling(var);
	n = strlen(clang_getCString(name));
	if (!n || at + n > to || memcmp(w->text + at, clang_getCString(name), n)) {
		clang_disposeString(name);
		return false;
	}
	dr.from = from;
	dr.to = to;
	rw_visit_children(decl, scan_decl_refs, &dr);
	if (dr.local) {
		clang_disposeString(name);
		return false;
	}
	*LOOM_PUSH(f->hoists, f->nhoists, f->hoists_cap) =
		(struct rw_hoist){ .from = from, .to = to, .line = line, .name = loom_xstrdup(clang_getCString(name)),
		                   .name_at = at };
	*LOOM_PUSH(bs->hoisted_at, bs->nhoisted_at, bs->hoisted_at_cap) = at;
	clang_disposeString(name);
	return true;
}

/* Is the call C a va_start whose name is spelled in the walked text, as
 * `va_start (` or `__builtin_va_start (`?  Then its offset goes into
 * BS->f->va_starts; one spelled otherwise sets BS->va_unspelled. */
static void scan_va_call(struct fn_scan *bs, CXCursor c)
{
	CXString s = clang_getCursorSpelling(c);
	const char *name = clang_getCString(s);
	const struct walk *w = bs->w;

	if (name && (strstr(name, "va_start") || strstr(name, "va_arg_pack"))) {
		unsigned at = start_of(c, NULL, NULL), i = at;
		bool spelled = false;

		if (!strcmp(name, "__builtin_va_start") && from_here(w, c) && at < w->len) {
			while (i < w->len && is_ident_char(w->text[i]))
				i++;
			spelled = (i - at == 8 && !memcmp(w->text + at, "va_start", 8))
			          || (i - at == 18 && !memcmp(w->text + at, "__builtin_va_start", 18));
			while (i < w->len && (w->text[i] == ' ' || w->text[i] == '\t'))
				i++;
			spelled = spelled && i < w->len && w->text[i] == '(' && (!at || !is_ident_char(w->text[at - 1]));
		}
		if (spelled)
			*LOOM_PUSH(bs->f->va_starts, bs->f->nva_starts, bs->f->va_starts_cap) = at;
		else
			bs->va_unspelled = true;
	}
	clang_disposeString(s);
}

/* Where libclang places each cursor of a body: a name there is accounted
 * for (renamable).  Only for the functions with statics to rename: an
 * offset costs libclang a search of its source locations. */
static enum CXChildVisitResult collect_cursor_at(CXCursor c, CXCursor parent, CXClientData data)
{
	struct rw_func *f = data;

	(void)parent;
	*LOOM_PUSH(f->cursor_at, f->ncursor_at, f->cursor_at_cap) = offset_of(clang_getCursorLocation(c), NULL, NULL);
	return CXChildVisit_Recurse;
}

static enum CXChildVisitResult scan_fn(CXCursor c, CXCursor parent, CXClientData data)
{
	struct fn_scan *bs = data;
	enum CXCursorKind k = clang_getCursorKind(c);

	(void)parent;
	if (k == CXCursor_VarDecl && clang_Cursor_getStorageClass(c) == CX_SC_Static) {
		bs->statics = true;
		if (!bs->statics_fixed && !hoistable(bs, c, parent))
			bs->statics_fixed = true;
	}
	if (k == CXCursor_DeclRefExpr) {
		CXCursor ref = clang_getCursorReferenced(c);

		if (clang_getCursorKind(ref) == CXCursor_VarDecl && clang_Cursor_getStorageClass(ref) == CX_SC_Static) {
			struct static_ref *r = LOOM_PUSH(bs->refd, bs->nrefd, bs->refd_cap);
			CXString name = clang_getCursorSpelling(ref);
			size_t n = strlen(clang_getCString(name));

			r->decl = offset_of(clang_getCursorLocation(ref), NULL, NULL);
			r->at = offset_of(clang_getCursorLocation(c), NULL, NULL);
			/* Its name, right here (a rename can edit it). */
			r->spelled = from_here(bs->w, c) && r->at + n <= bs->w->len
			             && !memcmp(bs->w->text + r->at, clang_getCString(name), n)
			             && (r->at + n == bs->w->len || !is_ident_char(bs->w->text[r->at + n]))
			             && !macro_at(bs->w, r->at, true) && !macro_at(bs->w, r->at, false);
			clang_disposeString(name);
		}
	}
	if (k == CXCursor_CallExpr)
		scan_va_call(bs, c);
	/* In C only a predefined identifier is a string of const chars;
	 * one a macro writes cannot be made to name the function again. */
	if (k == CXCursor_StringLiteral
	    && clang_isConstQualifiedType(clang_getArrayElementType(clang_getCursorType(c)))
	    && macro_at(bs->w, offset_of(clang_getCursorLocation(c), NULL, NULL), false))
		bs->name_in_macro = true;
	return CXChildVisit_Recurse;
}

/* Does WORD stand as a whole identifier in TEXT[FROM, TO)? */
static bool has_word(const struct walk *w, unsigned from, unsigned to, const char *word)
{
	size_t n = strlen(word);

	for (unsigned i = from; i + n <= to; i++)
		if (!memcmp(w->text + i, word, n) && (i == from || !is_ident_char(w->text[i - 1]))
		    && (i + n == to || !is_ident_char(w->text[i + n])))
			return true;
	return false;
}

/* Does one of the N WORDS stand as a whole identifier in TEXT[FROM, TO)? */
static bool has_any_word(const struct walk *w, unsigned from, unsigned to, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (has_word(w, from, to, words[i]))
			return true;
	return false;
}

/* Does S occur anywhere in TEXT[FROM, TO), even inside a word? */
static bool text_has(const struct walk *w, unsigned from, unsigned to, const char *s)
{
	return from < to && memmem(w->text + from, to - from, s, strlen(s)) != NULL;
}

/* WORD in F's declaration, outside its name and parameter list: in the
 * specifiers and attributes before the name, or in attributes after the
 * parameters. */
static bool prefix_has(const struct walk *w, const struct rw_func *f, unsigned open, const char *word)
{
	unsigned i = f->name_off + f->name_len;
	int depth = 0;

	if (has_word(w, f->decl_start, f->name_off, word))
		return true;
	while (i < open && w->text[i] != '(')
		i++;
	for (; i < open; i++) {
		depth += w->text[i] == '(';
		depth -= w->text[i] == ')';
		if (depth == 0 && w->text[i] == ')')
			break;
	}
	return i < open && has_word(w, i, open, word);
}

/* Is OFF the '#' of a preprocessor line (only blanks before it on its
 * line)? */
static bool directive_at(const struct walk *w, unsigned off)
{
	unsigned i = off;

	if (off >= w->len || w->text[off] != '#')
		return false;
	while (i && (w->text[i - 1] == ' ' || w->text[i - 1] == '\t'))
		i--;
	return !i || w->text[i - 1] == '\n';
}

/* The names a body's #define and #undef lines name (directive_in). */
struct macro_list {
	char **names;
	size_t n, cap;
};

/* Do the conditional directives in [FROM, TO) make whole groups: each #if,
 * #ifdef or #ifndef there ends there with its #endif, and no #elif, #else
 * or #endif there belongs to a group that starts outside?  Text copied, or
 * wrapped in braces, across a line of a group that is not whole is only in
 * part the text another compile sees: a header included under other
 * macros (bfd's coffcode.h, an `else if` link inside `#ifdef _COMMENT`),
 * or a function whose opening brace is in one branch (its copy would
 * repeat the `#else`). */
static bool balanced(const struct walk *w, unsigned from, unsigned to)
{
	struct text_scan sc = directive_scan(w, from, to);
	enum scan_item item;
	unsigned at;
	int depth = 0;

	if (from >= sc.to || !memchr(w->text + from, '#', sc.to - from))
		return true;
	while ((item = scan_next(&sc, &at)) != SCAN_END) {
		if (item == SCAN_IF)
			depth++;
		else if ((item == SCAN_ENDIF && depth-- == 0) || (item == SCAN_ELSE && depth == 0))
			return false;
	}
	return depth == 0;
}

/* Each call of the function being walked (w->calls, in text order) is
 * in_group unless the text from OPEN, where its body opens, to the call is
 * balanced (see balanced): in one pass over the body, not one from OPEN per
 * call (a long function with a directive in it took a quarter of a whole
 * rewrite). */
static void calls_in_group(const struct walk *w, struct rw_func *f, unsigned open, unsigned close)
{
	struct text_scan sc = directive_scan(w, open, close);
	enum scan_item item = SCAN_CODE;
	unsigned at = open;
	size_t next = 0;
	int depth = 0;
	bool broken = false; /* an #else or #endif of a group opened before OPEN */

	if (open >= sc.to || !memchr(w->text + open, '#', sc.to - open))
		return;
	while (next < w->ncalls) {
		if (item != SCAN_END) {
			item = scan_next(&sc, &at);
			if (item != SCAN_IF && item != SCAN_ENDIF && item != SCAN_ELSE && item != SCAN_END)
				continue;
		}
		/* The calls before this directive see the state before it. */
		for (; next < w->ncalls && (item == SCAN_END || w->calls[next].off <= at); next++)
			if (w->calls[next].off != UINT_MAX)
				f->calls[w->calls[next].index].in_group = broken || depth != 0;
		if (item == SCAN_IF)
			depth++;
		else if ((item == SCAN_ENDIF && depth-- == 0) || (item == SCAN_ELSE && depth == 0))
			broken = true;
	}
}

/* In a header, F's prototype (ending at FROM) may stand outside conditional
 * groups that hold its definition (at TO): Open vSwitch's dp-packet.h
 * declares its accessors first and defines them under `#ifdef DPDK_NETDEV
 * ... #else ... #endif`.  F__slow's declaration after the prototype then
 * goes under copies of those groups' directives down to the definition's
 * branch, so that a unit that takes another branch does not declare it
 * (gcc warns about a static function declared and never defined, whatever
 * the pragmas say); the calls between go to F__slow only if F has no
 * switch, that is, if every unit sees F's definition as this one does
 * (main.c find_switchless).  Sets F->proto_groups and F->proto_nested
 * (NULL and 0 when [FROM, TO) is balanced).  False if a directive there
 * ends or turns a group begun before FROM, or, when groups are to be
 * copied, is no conditional (a #define there could change what the copied
 * conditions say). */
static bool enclosing_groups(const struct walk *w, unsigned from, unsigned to, struct rw_func *f)
{
	struct text_scan sc = directive_scan(w, from, to);
	enum scan_item item;
	unsigned at;
	char **open = NULL; /* per open group, its directives so far */
	size_t depth = 0, cap = 0;
	bool ok = true, other = false;

	while (ok && (item = scan_next(&sc, &at)) != SCAN_END) {
		char *line = item == SCAN_IF || item == SCAN_ELSE ? loom_xasprintf("%.*s", (int)(sc.i - at), w->text + at) : NULL;

		if (item == SCAN_IF) {
			*LOOM_PUSH(open, depth, cap) = line;
		} else if (item == SCAN_ELSE && depth) {
			char *both = loom_xasprintf("%s\n%s", open[depth - 1], line);

			free(open[depth - 1]);
			free(line);
			open[depth - 1] = both;
		} else if (item == SCAN_ENDIF && depth) {
			free(open[--depth]);
		} else if (item == SCAN_DIRECTIVE) {
			other = true;
		} else if (item != SCAN_CODE && item != SCAN_LITERAL) {
			free(line);
			ok = false;
		}
	}
	ok = ok && (!depth || !other);
	for (size_t i = 0; ok && i < depth; i++) {
		char *more = f->proto_groups ? loom_xasprintf("%s\n%s", f->proto_groups, open[i]) : loom_xstrdup(open[i]);

		free(f->proto_groups);
		f->proto_groups = more;
	}
	f->proto_nested = ok ? (unsigned)depth : 0;
	for (size_t i = 0; i < depth; i++)
		free(open[i]);
	free(open);
	return ok;
}

/* In a header, where the innermost conditional group that holds F's
 * definition ends: just after its #endif line (the file's end if that is
 * its last line), or 0 if the definition is in no group but one that ends
 * the file, a group begins or ends inside it, or a #line follows it in the
 * group (rw_func.group_end). */
static unsigned group_end(const struct walk *w, const struct rw_func *f)
{
	struct text_scan sc;
	enum scan_item item;
	unsigned at;
	int depth = 0;

	if (!balanced(w, f->decl_start, f->body_end))
		return 0;
	sc = directive_scan(w, f->body_end, (unsigned)w->len);
	while ((item = scan_next(&sc, &at)) != SCAN_END) {
		unsigned k, j = line_word(w, at + 1, (unsigned)w->len, &k);

		if (item == SCAN_IF)
			depth++;
		else if (item == SCAN_ENDIF && depth-- == 0) {
			unsigned end = sc.i < w->len ? sc.i + 1 : sc.i;

			/* The group that ends the file: its include guard,
			 * which every unit takes (one that does not sees no
			 * function of it). */
			sc = text_scan(w, end, (unsigned)w->len);
			return scan_next(&sc, &at) == SCAN_END ? 0 : end;
		}
		else if (item == SCAN_DIRECTIVE && k - j == 4 && !memcmp(w->text + j, "line", 4))
			return 0;
	}
	return 0;
}

/* How many conditional groups are open at FROM in the current function's
 * body (scanned from its start): their #if lines are w->open_groups.at[0
 * .. n).  The walk asks at statement boundaries, mostly in text order, so
 * the scan goes on from where the last one stopped when FROM is not before
 * it (a function of thousands of statements in groups was quadratic). */
static size_t groups_open_at(struct walk *w, unsigned from)
{
	enum scan_item item;
	unsigned at;

	if (!w->open_groups.valid || w->open_groups.func != w->func || from < w->open_groups.sc.to) {
		w->open_groups.valid = true;
		w->open_groups.func = w->func;
		w->open_groups.n = 0;
		w->open_groups.sc = directive_scan(w, w->plan->funcs[w->func].body_open, from);
	}
	w->open_groups.sc.to = from < w->len ? from : (unsigned)w->len;
	while ((item = scan_next(&w->open_groups.sc, &at)) != SCAN_END) {
		if (item == SCAN_IF)
			*LOOM_PUSH(w->open_groups.at, w->open_groups.n, w->open_groups.cap) = at;
		else if (item == SCAN_ENDIF && w->open_groups.n)
			w->open_groups.n--;
	}
	return w->open_groups.n;
}

/* Where the outermost conditional group that [FROM, TO) turns to another
 * branch or ends, but that began before FROM, begins (in the current
 * function's body); FROM if there is none. */
static unsigned group_begun_before(struct walk *w, unsigned from, unsigned to)
{
	struct text_scan sc = directive_scan(w, from, to);
	enum scan_item item;
	unsigned at;
	size_t n;
	int depth = 0, outer = 0;

	while ((item = scan_next(&sc, &at)) != SCAN_END) {
		/* At DEPTH 0 an #else or #endif is the innermost open group's,
		 * at -1 the next one's, and so on. */
		if ((item == SCAN_ELSE || item == SCAN_ENDIF) && depth <= 0 && 1 - depth > outer)
			outer = 1 - depth;
		if (item == SCAN_IF)
			depth++;
		else if (item == SCAN_ENDIF)
			depth--;
	}
	if (!outer)
		return from;
	n = groups_open_at(w, from);
	return n >= (size_t)outer ? w->open_groups.at[n - (size_t)outer] : (n ? w->open_groups.at[0] : from);
}

/* Could another compile see the statement at TO as part of something that
 * text in a conditional group before it begins: the body of an `if (c)`, an
 * `else`, a `do` or a loop, or the rest of a declaration (`#ifdef W
 * unsigned #endif int u;`)?  Then nothing may go before it: under those
 * macros a slot would be the body and the statement would run always.
 * The text between FROM (where the statement before it ends, or its block
 * opens) and TO is looked at, and the branches of a group that ends there
 * but began before FROM (`#ifdef W if (use) #else n++; #endif`): the text
 * of every branch must end a statement (`;` or `}`), open a block, or end
 * a label (`:`). */
static bool dangling(struct walk *w, unsigned from, unsigned to)
{
	struct text_scan sc;
	enum scan_item item;
	unsigned at, last = UINT_MAX;
	bool grouped = false;

	if (from >= to || to > w->len || !memchr(w->text + from, '#', to - from))
		return false;
	sc = text_scan(w, group_begun_before(w, from, to), to);
	do {
		item = scan_next(&sc, &at);
		if (item == SCAN_CODE || item == SCAN_LITERAL) {
			last = at;
			continue;
		}
		if (item == SCAN_DIRECTIVE)
			continue;
		grouped |= item != SCAN_END;
		if (last != UINT_MAX && grouped && !strchr(";{}:", w->text[last]))
			return true;
		last = UINT_MAX;
	} while (item != SCAN_END);
	return false;
}

/* Is there a preprocessor directive in [FROM, TO) that a copy of the text
 * placed further down would not repeat faithfully?  Conditionals and
 * pragmas mean the same there; an #include may be guarded, a line
 * directive renames the file.  A #define or #undef changes what the text
 * after it means (bfd's group_sections undefines a macro it uses): with
 * MACROS, their names are added there instead (the copy puts those macros
 * back first: macro_resets); without, they count too. */
static bool directive_in(const struct walk *w, unsigned from, unsigned to, struct macro_list *macros)
{
	static const char *const same[] = {
		"if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif", "pragma",
	};

	to = to < w->len ? to : (unsigned)w->len;
	for (unsigned i = from; i < to; i++) {
		const char *hash = memchr(w->text + i, '#', to - i);
		unsigned j, k, a, b;
		bool fine = false;

		if (!hash)
			break;
		i = (unsigned)(hash - w->text);
		if (!directive_at(w, i))
			continue;
		j = line_word(w, i + 1, to, &k);
		if (k == j)
			continue; /* the null directive */
		for (size_t n = 0; n < sizeof same / sizeof same[0] && !fine; n++)
			fine = strlen(same[n]) == k - j && !memcmp(w->text + j, same[n], k - j);
		if (fine)
			continue;
		if (!macros || !((k - j == 6 && !memcmp(w->text + j, "define", 6))
		                 || (k - j == 5 && !memcmp(w->text + j, "undef", 5))))
			return true;
		a = line_word(w, k, to, &b);
		if (b == a)
			return true;
		*LOOM_PUSH(macros->names, macros->n, macros->cap) = loom_xasprintf("%.*s", (int)(b - a), w->text + a);
	}
	return false;
}

/* Definitions of the macros named in a macro_list, as the unit has them. */
struct macro_defs {
	const struct walk *w;
	const struct macro_list *names;
	unsigned before;        /* the function's start */
	unsigned *last, *end;   /* per name: the last definition in this file
	                         * before BEFORE (offset + 1, 0 if none), its end */
	bool elsewhere;         /* one is defined in another file */
};

static enum CXChildVisitResult find_macro_defs(CXCursor c, CXCursor parent, CXClientData data)
{
	struct macro_defs *d = data;
	CXString s;
	const char *name;

	(void)parent;
	if (clang_getCursorKind(c) != CXCursor_MacroDefinition)
		return CXChildVisit_Continue;
	s = clang_getCursorSpelling(c);
	name = clang_getCString(s);
	for (size_t i = 0; i < d->names->n; i++) {
		CXFile file;
		unsigned off;

		if (strcmp(d->names->names[i], name))
			continue;
		clang_getExpansionLocation(clang_getCursorLocation(c), &file, NULL, NULL, &off);
		if (!file || !clang_File_isEqual(file, d->w->file))
			d->elsewhere = true;
		else if (off < d->before && off + 1 > d->last[i]) {
			d->last[i] = off + 1;
			d->end[i] = end_of(c);
		}
	}
	clang_disposeString(s);
	return CXChildVisit_Continue;
}

/* Is there an `#undef NAME` line in [FROM, TO) that the preprocessor
 * ran (not in a skipped conditional branch)? */
static bool undef_between(const struct walk *w, unsigned from, unsigned to, const char *name)
{
	CXSourceRangeList *skipped = clang_getSkippedRanges(w->tu, w->file);
	size_t n = strlen(name);
	bool found = false;

	to = to < w->len ? to : (unsigned)w->len;
	for (unsigned i = from; i < to && !found; i++) {
		unsigned j, k;
		bool live = true;

		if (!directive_at(w, i))
			continue;
		j = line_word(w, i + 1, to, &k);
		if (k - j != 5 || memcmp(w->text + j, "undef", 5))
			continue;
		j = line_word(w, k, to, &k);
		if (k - j != n || memcmp(w->text + j, name, n))
			continue;
		for (unsigned r = 0; skipped && r < skipped->count && live; r++)
			live = !(offset_of(clang_getRangeStart(skipped->ranges[r]), NULL, NULL) <= i
			         && i < offset_of(clang_getRangeEnd(skipped->ranges[r]), NULL, NULL));
		found = live;
	}
	if (skipped)
		clang_disposeSourceRangeList(skipped);
	return found;
}

/* The directives that put the macros F's body defines or undefines (ML)
 * back as they are where F starts: `#undef NAME`, then the definition in
 * force there, if any.  NULL if that cannot be known, because a macro is
 * also defined in another file (an #undef there is not in the
 * preprocessing record), or if F's declaration names one (the copy's
 * forward declaration and F's fast entry would read it otherwise). */
static char *macro_resets(const struct walk *w, const struct rw_func *f, const struct macro_list *ml)
{
	struct macro_defs d = { w, ml, f->decl_start, loom_xcalloc(ml->n + 1, sizeof *d.last),
	                        loom_xcalloc(ml->n + 1, sizeof *d.end), false };
	char *out = loom_xstrdup(""), *s;
	bool ok = true;

	for (size_t i = 0; i < ml->n && ok; i++)
		ok = !has_word(w, f->decl_start, f->body_open, ml->names[i]);
	if (ok)
		rw_visit_children(clang_getTranslationUnitCursor(w->tu), find_macro_defs, &d);
	ok = ok && !d.elsewhere;
	for (size_t i = 0; i < ml->n && ok; i++) {
		bool defined = d.last[i] && d.end[i] <= w->len
		               && !undef_between(w, d.end[i], f->decl_start, ml->names[i]), again = false;

		for (size_t j = 0; j < i && !again; j++)
			again = !strcmp(ml->names[j], ml->names[i]);
		if (again)
			continue;

		s = defined ? loom_xasprintf("%s#undef %s\n#define %.*s\n", out, ml->names[i],
		                             (int)(d.end[i] - (d.last[i] - 1)), w->text + d.last[i] - 1)
		            : loom_xasprintf("%s#undef %s\n", out, ml->names[i]);
		free(out);
		out = s;
	}
	free(d.last);
	free(d.end);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

/* Where WORD starts if W's text just before OFF (past blanks) ends with
 * it, else UINT_MAX. */
static unsigned word_before(const struct walk *w, unsigned off, const char *word)
{
	size_t n = strlen(word);

	while (off && (w->text[off - 1] == ' ' || w->text[off - 1] == '\t' || w->text[off - 1] == '\n'
	               || w->text[off - 1] == '\r'))
		off--;
	if (off < n || memcmp(w->text + off - n, word, n) || (off > n && is_ident_char(w->text[off - n - 1])))
		return UINT_MAX;
	return off - (unsigned)n;
}

/* Could text in [FROM, TO), between the previous declaration and a
 * function, belong to the function's declaration?  Yes if, past blanks,
 * comments and preprocessor lines, its last character does not end a
 * declaration (';' or '}') or open a C++ linkage block (`extern "C" {`,
 * under the `#ifdef __cplusplus` of most library headers: Open vSwitch's
 * hash.h before hash_rot): perhaps under a conditional the parse did not
 * take (bfd's coff-sh.c: `#ifdef COFF_WITH_PE static #endif bool f (...)`,
 * included by pe-sh.c), and a forward declaration inserted at the
 * function's start would then be in its middle.  (A whole function under
 * an #ifdef the parse skipped ends with '}'.) */
static bool text_between(const struct walk *w, unsigned from, unsigned to)
{
	char last = ';';
	unsigned last_at = 0;

	for (unsigned i = skip_blank(w, from); i < to && i < w->len; i = skip_blank(w, i)) {
		if (directive_at(w, i))
			while (i < w->len && (w->text[i] != '\n' || w->text[i - 1] == '\\'))
				i++;
		else
			last = w->text[last_at = i++];
	}
	if (last == '{') {
		unsigned c = word_before(w, last_at, "\"C\"");

		if (c != UINT_MAX)
			return word_before(w, c, "extern") == UINT_MAX;
	}
	return last != ';' && last != '}';
}

/* The offset just after the ';' that ends DECL, a file-scope declaration
 * of one function in the walked file, if nothing but blanks and comments
 * come between (not `int f(void), g(void);`) and no macro writes any of it;
 * else UINT_MAX. */
static unsigned prototype_end(const struct walk *w, CXCursor decl)
{
	unsigned start = start_of(decl, NULL, NULL), end = end_of(decl), i = end;

	if (start >= end || end > w->len || macro_at(w, start, false) || macro_at(w, start, true)
	    || macro_at(w, end - 1, true))
		return UINT_MAX;
	while (i < w->len) {
		if (w->text[i] == ' ' || w->text[i] == '\t' || w->text[i] == '\n' || w->text[i] == '\r')
			i++;
		else if (w->text[i] == '/' && i + 1 < w->len && w->text[i + 1] == '*') {
			const char *close = memmem(w->text + i + 2, w->len - i - 2, "*/", 2);

			if (!close)
				return UINT_MAX;
			i = (unsigned)(close - w->text) + 2;
		} else if (w->text[i] == '/' && i + 1 < w->len && w->text[i + 1] == '/') {
			const char *nl = memchr(w->text + i, '\n', w->len - i);

			i = nl ? (unsigned)(nl - w->text) : w->len;
		} else {
			break;
		}
	}
	return i < w->len && w->text[i] == ';' && !macro_at(w, i, false) ? i + 1 : UINT_MAX;
}

/* Attributes a slow copy must not have: it would run, or be found, in the
 * function's place. */
static const char *const uncopyable[] = {
	"constructor", "destructor", "alias", "naked", "ifunc", "weak",
	"__constructor__", "__destructor__", "__weak__", "__alias__", "__naked__", "__ifunc__",
};

/* Is FN, whose body opens at OPEN, declared naked, in its definition or in
 * an earlier declaration of the walked file? */
static bool naked(const struct walk *w, CXCursor fn, unsigned open)
{
	static const char *const words[] = { "naked", "__naked__" };
	CXCursor first = clang_getCanonicalCursor(fn);
	unsigned from = start_of(fn, NULL, NULL), to;

	if (from < open && has_any_word(w, from, open, words, 2))
		return true;
	if (clang_equalCursors(first, fn) || !from_here(w, first))
		return false;
	from = start_of(first, NULL, NULL);
	to = end_of(first);
	return from < to && to <= w->len && has_any_word(w, from, to, words, 2);
}

static bool prefix_has_any(const struct walk *w, const struct rw_func *f, unsigned open,
                           const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_has(w, f, open, words[i]))
			return true;
	return false;
}

/* Does the body scanned into BS refer to each static local that it would
 * move (an unused one moved would be warned about as a file's)?  Each
 * hoist's references go into it, for a rename. */
static bool all_referenced(const struct fn_scan *bs)
{
	bool all = true;

	for (size_t h = 0; h < bs->nhoisted_at; h++) {
		struct rw_hoist *ho = &bs->f->hoists[h];
		bool found = false;

		ho->spelled = true;
		for (size_t i = 0; i < bs->nrefd; i++)
			if (bs->refd[i].decl == bs->hoisted_at[h]) {
				size_t k = 0;

				found = true;
				ho->spelled = ho->spelled && bs->refd[i].spelled;
				/* libclang visits `__typeof__(x) a, b;`'s x once
				 * per declarator: one reference, renamed once. */
				while (k < ho->nrefs && ho->refs[k] != bs->refd[i].at)
					k++;
				if (k < ho->nrefs)
					continue;
				ho->refs = loom_xrealloc(ho->refs, (ho->nrefs + 1) * sizeof *ho->refs);
				ho->refs[ho->nrefs++] = bs->refd[i].at;
			}
		all = all && found;
	}
	return all;
}

/* Why the variadic function FN, with NARGS named parameters, scanned into
 * BS, cannot be outlined, or NULL.  Its switch starts a va_list after the
 * last named parameter, which must be one va_start allows. */
static const char *variadic_reason(CXCursor fn, int nargs, const struct fn_scan *bs)
{
	CXCursor last;
	CXType type;

	if (nargs < 1)
		return "variadic without a named parameter";
	if (bs->va_unspelled)
		return "variadic, with a va_start a macro writes (or __builtin_va_arg_pack)";
	/* always_inline: a function that starts a va_list cannot be inlined. */
	if (clang_Cursor_isFunctionInlined(fn))
		return "variadic and inline";
	last = clang_Cursor_getArgument(fn, (unsigned)nargs - 1);
	if (clang_Cursor_getStorageClass(last) == CX_SC_Register)
		return "variadic, its last named parameter register";
	type = clang_getCanonicalType(clang_getCursorType(last));
	/* A packed enumeration promotes as its integer type does. */
	if (type.kind == CXType_Enum)
		type = clang_getCanonicalType(clang_getEnumDeclIntegerType(clang_getTypeDeclaration(type)));
	switch (type.kind) {
	case CXType_Bool: case CXType_Char_U: case CXType_UChar: case CXType_UShort:
	case CXType_Char_S: case CXType_SChar: case CXType_Short: case CXType_Float:
	case CXType_Half: case CXType_Float16: case CXType_BFloat16:
		/* va_start after a parameter that promotes is undefined. */
		return "variadic, its last named parameter of a type that promotes";
	default:
		return NULL;
	}
}

/* Is F's name spelled at its offset, outside macros? */
static bool spelled_name(const struct walk *w, const struct rw_func *f, unsigned open)
{
	size_t n = strlen(f->name);

	return f->name_off + n <= open && !memcmp(w->text + f->name_off, f->name, n)
	       && !macro_at(w, f->name_off, true) && !macro_at(w, f->name_off, false);
}

/* Is F's name written by a macro invocation that is all of the name (bfd's
 * `NAME(aout,swap_exec_header_in)`, elfcode.h's `elf_swap_symbol_in`): it
 * starts at the name, the parameter list follows it, and words before it
 * spell a type (a macro that wrote `int f` too would leave the copy's
 * declaration without one)?  Then it sets F's name_len and name_macro (its
 * copies spell the slow copy's name through the invocation). */
static bool name_by_macro(const struct walk *w, CXCursor fn, struct rw_func *f, unsigned open)
{
	static const char *const specifiers[] = {
		"static", "extern", "inline", "__inline", "__inline__", "const", "volatile", "__extension__",
		"_Noreturn", "register", "auto", "_Thread_local", "__thread",
	};
	const struct range *r = macro_at(w, f->name_off, false);
	unsigned i;
	bool type = false;

	if (!r || macro_at(w, f->name_off, true) || r->end > open || f->decl_start >= f->name_off
	    || !(isalpha((unsigned char)w->text[f->name_off]) || w->text[f->name_off] == '_'))
		return false;
	for (i = r->end; i < open && isspace((unsigned char)w->text[i]); i++)
		;
	if (i >= open || w->text[i] != '(')
		return false;
	for (i = f->decl_start; i < f->name_off && !type;) {
		unsigned start = i;
		bool special = false;

		if (!is_ident_char(w->text[i]) || isdigit((unsigned char)w->text[i])) {
			i++;
			continue;
		}
		while (i < f->name_off && is_ident_char(w->text[i]))
			i++;
		if ((i - start == 13 && !memcmp(w->text + start, "__attribute__", 13))
		    || (i - start == 11 && !memcmp(w->text + start, "__attribute", 11))) {
			int depth = 0;

			/* Words inside an attribute are not a type. */
			while (i < f->name_off && isspace((unsigned char)w->text[i]))
				i++;
			do {
				depth += w->text[i] == '(';
				depth -= w->text[i] == ')';
				i++;
			} while (i < f->name_off && depth > 0);
			continue;
		}
		for (size_t k = 0; k < sizeof specifiers / sizeof *specifiers && !special; k++)
			special = strlen(specifiers[k]) == i - start && !memcmp(w->text + start, specifiers[k], i - start);
		type = !special;
	}
	if (!type)
		return false;
	/* Each unit names the slow copy as it expands the invocation
	 * (LOOM_CAT): a header is compiled under other macros in other
	 * units, and so is a C file that the build copies with sed (bfd's
	 * peXXigen.c) or that another includes.  The expansion must be the
	 * name alone, so not the name as an argument the macro may wrap in
	 * more (`#define PUBLIC(n) __attribute__((...)) n`); a pasted one is
	 * spelled in scratch space. */
	{
		CXFile file;
		unsigned at;

		clang_getSpellingLocation(clang_getCursorLocation(fn), &file, NULL, NULL, &at);
		if (file && clang_File_isEqual(file, w->file) && at >= f->name_off && at < r->end)
			return false;
	}
	f->name_len = r->end - f->name_off;
	f->name_macro = true;
	return true;
}

/* ---- pure functions ---- */

/* Functions outside the tree that touch no memory but their arguments'
 * values (and the compiler's builtins that do the same, found without
 * their `__builtin_` prefix): glibc's byte swaps behind ntohl. */
static const char *const pure_calls[] = {
	"__bswap_16", "__bswap_32", "__bswap_64", "__uint16_identity", "__uint32_identity", "__uint64_identity",
	"abs", "bswap128", "bswap16", "bswap32", "bswap64", "clrsb", "clrsbl", "clrsbll", "clz", "clzl", "clzll",
	"constant_p", "ctz", "ctzl", "ctzll", "expect", "expect_with_probability", "ffs", "ffsl", "ffsll",
	"htonl", "htons", "labs", "llabs", "ntohl", "ntohs", "parity", "parityl", "parityll", "popcount",
	"popcountl", "popcountll", "unreachable",
};

struct pure_scan {
	const struct walk *w;
	bool impure;
};

/* Is D a variable of a function's own, one per call (not static, extern or
 * thread-local)? */
static bool automatic_local(CXCursor d)
{
	enum CX_StorageClass sc = clang_Cursor_getStorageClass(d);

	return clang_getCursorKind(d) == CXCursor_VarDecl
	       && clang_getCursorKind(clang_getCursorSemanticParent(d)) == CXCursor_FunctionDecl
	       && (sc == CX_SC_None || sc == CX_SC_Auto || sc == CX_SC_Register) && clang_getCursorTLSKind(d) == CXTLS_None;
}

static enum CXChildVisitResult scan_pure(CXCursor c, CXCursor parent, CXClientData data);

/* Whether call C is to a pure function: one of pure_calls outside the
 * tree, or a tree function above found pure. */
static bool pure_call(const struct walk *w, CXCursor c)
{
	CXCursor fn = clang_getCursorReferenced(c);
	CXString s;
	const char *name;
	const struct rw_func *f;
	bool pure;

	if (clang_getCursorKind(fn) != CXCursor_FunctionDecl)
		return false; /* through a pointer */
	s = clang_getCursorSpelling(fn);
	name = clang_getCString(s);
	if (system_function(fn)) {
		const char *bare = strncmp(name, "__builtin_", 10) ? name : name + 10;

		pure = false;
		for (size_t i = 0; i < sizeof pure_calls / sizeof *pure_calls && !pure; i++)
			pure = !strcmp(pure_calls[i], bare);
	} else
		pure = (f = walked_function(w, fn, name)) && f->pure;
	clang_disposeString(s);
	return pure;
}

static enum CXChildVisitResult scan_pure(CXCursor c, CXCursor parent, CXClientData data)
{
	struct pure_scan *ps = data;
	enum CXCursorKind k = clang_getCursorKind(c);

	(void)parent;
	switch (k) {
	case CXCursor_UnaryExpr:
		/* sizeof, _Alignof: the operand is not evaluated. */
		return integer_constant(c, NULL) ? CXChildVisit_Continue : CXChildVisit_Recurse;
	case CXCursor_DeclRefExpr: {
		CXCursor d = clang_getCursorReferenced(c);
		enum CXCursorKind dk = clang_getCursorKind(d);

		/* Its parameters, its automatic locals, enumeration constants:
		 * not a global, a static, a function's address. */
		if (dk == CXCursor_EnumConstantDecl || dk == CXCursor_ParmDecl || automatic_local(d))
			return CXChildVisit_Continue;
		break;
	}
	case CXCursor_CallExpr: {
		int n = clang_Cursor_getNumArguments(c);

		if (n < 0 || !pure_call(ps->w, c))
			break;
		/* The arguments only: the callee's reference is no address. */
		for (int i = 0; i < n && !ps->impure; i++) {
			CXCursor a = clang_Cursor_getArgument(c, (unsigned)i);

			if (scan_pure(a, c, ps) == CXChildVisit_Recurse)
				rw_visit_children(a, scan_pure, ps);
		}
		return ps->impure ? CXChildVisit_Break : CXChildVisit_Continue;
	}
	case CXCursor_UnaryOperator:
		if (clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_Deref)
			break;
		return CXChildVisit_Recurse;
	case CXCursor_MemberRefExpr: {
		/* p->m reads memory; s.m of a local does not. */
		struct kids kk = kids_of(c);

		if (kk.n == 1 && clang_getCanonicalType(clang_getCursorType(kk.c[0])).kind != CXType_Pointer)
			return CXChildVisit_Recurse;
		break;
	}
	case CXCursor_UnexposedExpr: {
		/* Anything but an implicit conversion may be an atomic
		 * operation on a pointer. */
		struct kids kk = kids_of(c);

		if (kk.n == 1 && implicit_read(c, kk.c[0]))
			return CXChildVisit_Recurse;
		break;
	}
	case CXCursor_VarDecl:
		if (automatic_local(c))
			return CXChildVisit_Recurse;
		break;
	case CXCursor_ArraySubscriptExpr: case CXCursor_GCCAsmStmt: case CXCursor_MSAsmStmt:
	case CXCursor_UnexposedStmt: case CXCursor_UnexposedDecl: case CXCursor_IndirectGotoStmt:
	case CXCursor_AddrLabelExpr:
		break;
	default:
		return CXChildVisit_Recurse;
	}
	ps->impure = true;
	return CXChildVisit_Break;
}

/* Does the function walked as F (its body BODY) touch no memory but its
 * own parameters and automatic locals, and call only functions that do the
 * same (tree functions above it found pure, byte swaps, bit-counting
 * builtins)?  No pointer is dereferenced (no `*`, `->`, `[]`, no atomic
 * operation), no global or static is named, no function's address taken,
 * no asm.  Such a function cannot take part in a race: what it does no
 * other thread can see.  Not main, not variadic. */
static bool pure_function(const struct walk *w, CXCursor body, const struct rw_func *f)
{
	struct pure_scan ps = { w, false };

	if (f->variadic || !strcmp(f->name, "main"))
		return false;
	rw_visit_children(body, scan_pure, &ps);
	return !ps.impure;
}


/* Does every cursor named NAME, or referring to something so named, refer
 * to the static declared at DECL_AT (or declare it)?  Then `#define NAME
 * RENAME` around the function renames nothing else there, also what
 * macros write: no member, label, tag, type, parameter, function or other
 * variable of that name (rw_hoist.only_it). */
struct static_uses {
	const struct walk *w;
	const char *name;
	unsigned decl_at;
	bool ok;
};

static bool spelled_as(CXCursor c, const char *name)
{
	CXString s = clang_getCursorSpelling(c);
	bool same = clang_getCString(s) && !strcmp(clang_getCString(s), name);

	clang_disposeString(s);
	return same;
}

static enum CXChildVisitResult only_refers(CXCursor c, CXCursor parent, CXClientData data)
{
	struct static_uses *u = data;
	CXCursor ref = clang_getCursorReferenced(c);

	(void)parent;
	/* A reference's own spelling may be more (a TypeRef's `struct hmap`,
	 * Open vSwitch's `static struct hmap hmap`): what it refers to is
	 * named as declared. */
	if (spelled_as(c, u->name) || (!clang_Cursor_isNull(ref) && spelled_as(ref, u->name)))
		u->ok = !clang_Cursor_isNull(ref) && clang_getCursorKind(ref) == CXCursor_VarDecl && from_here(u->w, ref)
		        && offset_of(clang_getCursorLocation(ref), NULL, NULL) == u->decl_at;
	return u->ok ? CXChildVisit_Recurse : CXChildVisit_Break;
}

/* Is FN, a definition with external linkage that says inline, an
 * external definition all the same, which may use static functions (its
 * slow copy)?  When its first declaration does not say inline (a header's
 * prototype: Open vSwitch's dp_netdev_pmd_lookup_dpcls), in C99 and in
 * GNU89 alike, if the definition spells `inline` itself (F__slow's
 * declaration drops it) and says no `extern` (`extern inline` differs
 * between the two).  libclang reports a declaration after the definition
 * as inline too: such a function stays an inline definition here. */
static bool external_inline(const struct walk *w, CXCursor fn, const struct rw_func *f)
{
	return !clang_Cursor_isFunctionInlined(clang_getCanonicalCursor(fn))
	       && clang_Cursor_getStorageClass(fn) != CX_SC_Extern
	       && (has_word(w, f->decl_start, f->name_off, "inline") || has_word(w, f->decl_start, f->name_off, "__inline")
	           || has_word(w, f->decl_start, f->name_off, "__inline__"));
}

/* Facts the hybrid emitter needs to outline a slow copy of FN, and the
 * reason it cannot when it cannot. */
static void outline_facts(struct walk *w, CXCursor fn, CXCursor body, struct rw_func *f)
{
	CXType type = clang_getCursorType(fn);
	unsigned open = f->body_open - 1;
	struct fn_scan bs = { .w = w, .f = f };
	const char *why_inline;
	int nargs = clang_Cursor_getNumArguments(fn);
	size_t n = strlen(f->name);

	f->decl_start = start_of(fn, NULL, NULL);
	f->name_off = offset_of(clang_getCursorLocation(fn), NULL, NULL);
	f->name_len = (unsigned)n;
	if (!spelled_name(w, f, open))
		name_by_macro(w, fn, f, open);
	{
		CXCursor first = clang_getCanonicalCursor(fn);

		f->declared_above = !clang_equalCursors(first, fn)
		                    && clang_getCursorKind(clang_getCursorLexicalParent(first)) == CXCursor_TranslationUnit;
		bool here = f->declared_above && from_here(w, first);
		bool here_is_header = !clang_File_isEqual(w->file, w->tree[0].file);

		f->proto_end = here ? prototype_end(w, first) : UINT_MAX;
		/* An attribute that must not be copied may stand on the
		 * prototype alone (`static void f(void) __attribute__((constructor));`). */
		if (here) {
			unsigned from = start_of(first, NULL, NULL), to = end_of(first);

			if (from < to && to <= w->len && has_any_word(w, from, to, uncopyable, sizeof uncopyable / sizeof *uncopyable))
				f->inline_reason = "an attribute that must not be copied";
		}
		if (f->proto_end != UINT_MAX) {
			f->proto_start = start_of(first, NULL, NULL);
			f->proto_name = offset_of(clang_getCursorLocation(first), NULL, NULL);
			f->proto_close = end_of(first);
			/* A comma before the name: a later declarator of a
			 * declaration that declares more (`int g(int), f(int);`).
			 * F__slow's copy of the text must not take what names,
			 * places or registers a symbol (constructor, weak, an asm
			 * label, section...: any attribute), define a tag again,
			 * or flatten a directive onto its line. */
			if (f->proto_name < f->proto_start || f->proto_name + n > f->proto_close
			    || memcmp(w->text + f->proto_name, f->name, n)
			    || memchr(w->text + f->proto_start, ',', f->proto_name - f->proto_start)
			    || text_has(w, f->proto_start, f->proto_close, "__attribute")
			    || text_has(w, f->proto_start, f->proto_close, "__declspec")
			    || text_has(w, f->proto_start, f->proto_close, "asm")
			    || text_has(w, f->proto_start, f->proto_close, "[[")
			    || memchr(w->text + f->proto_start, '#', f->proto_close - f->proto_start)
			    || memchr(w->text + f->proto_start, '{', f->proto_close - f->proto_start)
			    /* In another #if group than the definition: the calls
			     * between them may be compiled without it (balanced).
			     * In a header, a group that holds the definition too
			     * will do (enclosing_groups). */
			    || (here_is_header ? !enclosing_groups(w, f->proto_close, f->decl_start, f)
			                       : !balanced(w, f->proto_close, f->decl_start)))
				f->proto_end = UINT_MAX;
			f->proto_static = has_word(w, f->proto_start, f->proto_name, "static");
		}
	}
	/* Through typedefs: `typedef void V; V f(void)` returns nothing either. */
	f->returns_void = clang_getCanonicalType(clang_getResultType(type)).kind == CXType_Void;
	/* K&R: parameter declarations between ')' and '{' (a prototype seen
	 * earlier makes libclang report a prototyped type). */
	f->no_prototype = type.kind == CXType_FunctionNoProto
	                  || (f->name_off < open && memchr(w->text + f->name_off, ';', open - f->name_off));
	/* The attribute may be on an earlier declaration (bfd's _bfd_abort, in
	 * libbfd.h): libclang spells it in the type. */
	f->noreturn = prefix_has(w, f, open, "noreturn") || prefix_has(w, f, open, "_Noreturn")
	              || prefix_has(w, f, open, "__noreturn__") || noreturn_type(type);
	rw_visit_children(body, scan_fn, &bs);
	f->name_in_macro = bs.name_in_macro;
	for (int i = 0; i < nargs; i++) {
		CXString s = clang_getCursorSpelling(clang_Cursor_getArgument(fn, (unsigned)i));
		struct carried p = carried_by(clang_getCursorType(clang_Cursor_getArgument(fn, (unsigned)i)));

		/* What a call without prototype passes (opaque) this reads as
		 * a function pointer: main.c's record_taken. */
		if (p.what == CARRIES_FUNCTION) {
			struct rw_plan *unit = w->tree[0].plan;

			*LOOM_PUSH(unit->fp_params, unit->nfp_params, unit->fp_params_cap) =
				(struct rw_taken){ loom_xstrdup(f->name), carried_spelling(&p) };
		}
		f->params = loom_xrealloc(f->params, (f->nparams + 1) * sizeof *f->params);
		f->params[f->nparams++] = loom_xstrdup(clang_getCString(s));
		clang_disposeString(s);
		if (!f->params[f->nparams - 1][0])
			f->inline_reason = "an unnamed parameter";
	}
	f->variadic = clang_isFunctionTypeVariadic(type);
	if (f->variadic && (why_inline = variadic_reason(fn, nargs, &bs)))
		f->inline_reason = why_inline;
	else if (bs.statics && (bs.statics_fixed || !all_referenced(&bs)))
		f->inline_reason = "static local variables";
	else if (f->decl_start > f->name_off || macro_at(w, f->decl_start, true)
	         || (!f->name_macro && !spelled_name(w, f, open)))
		f->inline_reason = "its name or declaration comes from a macro";
	else if (prefix_has_any(w, f, open, uncopyable, sizeof uncopyable / sizeof *uncopyable))
		f->inline_reason = "an attribute that must not be copied";
	else if (memchr(w->text + f->decl_start, '{', f->name_off - f->decl_start))
		f->inline_reason = "a type defined in its return type";
	else if (!f->is_static && clang_Cursor_isFunctionInlined(fn) && !external_inline(w, fn, f))
		/* Spelled or written by a macro (binutils' cgen basic-ops.h:
		 * `#define SEMOPS_INLINE extern inline`). */
		f->inline_reason = "a C99 or extern inline definition (it may not use a static function)";
	else if (clang_Cursor_getStorageClass(fn) == CX_SC_Extern && !has_word(w, f->decl_start, f->name_off, "extern"))
		/* F__slow's declaration copies the words before the name,
		 * and says static: it can drop a spelled extern only. */
		f->inline_reason = "a macro writes extern in its declaration";
	else
		for (unsigned i = f->decl_start; i < open && !f->inline_reason; i++)
			if (w->text[i] == '#' && (i == 0 || w->text[i - 1] == '\n'))
				f->inline_reason = "a preprocessor directive inside its declaration";
	free(bs.refd);
	if (f->nhoists)
		rw_visit_children(body, collect_cursor_at, f);
	free(bs.hoisted_at);
	if (!f->inline_reason && text_between(w, w->prev_end, f->decl_start))
		f->inline_reason = "text before its declaration that may belong to it";
	/* A K&R definition after a prototype has the prototype's type, which
	 * F__slow must have too, or its callers would pass arguments
	 * unconverted (an int for a double): from its copy of that prototype,
	 * or else as `__typeof__(F)`, when F's first declaration is at file
	 * scope (zlib's, in zlib.h, written with its OF() macro). */
	/* Declarations below it are checked when the whole unit is seen
	 * (drop_knr_redeclared). */
	f->knr_redeclared_check = f->no_prototype;
	if (!f->inline_reason && f->no_prototype && type.kind == CXType_FunctionProto && f->proto_end == UINT_MAX) {
		CXCursor first = clang_getCanonicalCursor(fn);

		if (clang_equalCursors(first, fn))
			; /* no declaration above: F__slow is declared `()` as F is */
		else if (clang_getCursorKind(clang_getCursorLexicalParent(first)) == CXCursor_TranslationUnit)
			f->slow_typeof = true;
		else
			f->inline_reason = "a K&R definition whose prototype is not at file scope";
	}
	for (size_t h = 0; h < f->nhoists && !f->inline_reason; h++)
		if (!f->hoists[h].spelled) {
			struct static_uses u = { w, f->hoists[h].name, f->hoists[h].name_at, true };

			rw_visit_children(fn, only_refers, &u);
			f->hoists[h].only_it = u.ok;
		}
}

/* Functions that return a second time when longjmp (or setcontext) goes
 * back to them. */
static bool returns_twice(const char *name)
{
	static const char *const names[] = {
		"setjmp", "_setjmp", "__builtin_setjmp", "sigsetjmp", "__sigsetjmp", "getcontext",
	};

	for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* After any hook of F, a longjmp may make a setjmp of F return again: the
 * statement that called it then runs on from where its slot led. */
static void flow_setjmp(struct walk *w, struct rw_func *f)
{
	unsigned again = NO_NODE;
	size_t first = w->plan->npoints, n = f->nedges;

	for (size_t i = w->plan->npoints; i > 0 && w->plan->points[i - 1].func == w->func; i--)
		first = i - 1;
	for (size_t c = 0; c < f->ncalls; c++) {
		size_t point = f->calls[c].point;

		if (!returns_twice(f->calls[c].callee) || point == SIZE_MAX)
			continue;
		if (again == NO_NODE)
			again = join(w);
		for (size_t e = 0; e < n; e++)
			if (f->edges[e].from == point)
				edge(w, again, f->edges[e].to);
	}
	if (again == NO_NODE)
		return;
	edge(w, RW_NODE_ENTRY, again);
	for (size_t p = first; p < w->plan->npoints; p++)
		edge(w, (unsigned)p, again);
}

static int cmp_call_at(const void *a, const void *b)
{
	const struct call_at *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* How a body uses the names of its macro-written callees (macro_names). */
struct name_uses {
	const char *name;
	unsigned calls, refs; /* calls of the function NAME, references to it */
	bool other;           /* NAME spelled as anything else */
};

struct body_uses {
	struct name_uses *u;
	size_t n, cap;
	/* The answers for declarations already met, by declaration: a body
	 * names its variables over and over, and a cursor's spelling is a
	 * string libclang allocates. */
	struct {
		const void *decl;
		struct name_uses *hit;
	} seen[64];
};

static struct name_uses *uses_of(struct body_uses *b, CXCursor c)
{
	bool decl = clang_isDeclaration(clang_getCursorKind(c)) && c.data[0];
	size_t at = ((uintptr_t)c.data[0] >> 4) % (sizeof b->seen / sizeof *b->seen);
	CXString s;
	const char *name;
	struct name_uses *hit = NULL;

	if (decl && b->seen[at].decl == c.data[0])
		return b->seen[at].hit;
	s = clang_getCursorSpelling(c);
	name = clang_getCString(s);
	for (size_t i = 0; i < b->n && !hit; i++)
		if (!strcmp(b->u[i].name, name))
			hit = &b->u[i];
	clang_disposeString(s);
	if (decl) {
		b->seen[at].decl = c.data[0];
		b->seen[at].hit = hit;
	}
	return hit;
}

static enum CXChildVisitResult count_uses(CXCursor c, CXCursor parent, CXClientData data)
{
	struct body_uses *b = data;
	enum CXCursorKind k = clang_getCursorKind(c);
	bool refers = k == CXCursor_CallExpr || k == CXCursor_DeclRefExpr || k == CXCursor_MemberRefExpr
	              || k == CXCursor_MemberRef || k == CXCursor_TypeRef || k == CXCursor_LabelRef;
	/* Looked up only where it is used: most cursors refer to nothing. */
	CXCursor ref = refers ? clang_getCursorReferenced(c) : clang_getNullCursor();
	bool function = refers && clang_getCursorKind(ref) == CXCursor_FunctionDecl;
	struct name_uses *u;

	(void)parent;
	if ((k == CXCursor_CallExpr && function) || k == CXCursor_DeclRefExpr) {
		if (!(u = uses_of(b, ref)))
			;
		else if (k == CXCursor_CallExpr)
			u->calls++;
		else if (function)
			u->refs++;
		else
			u->other = true;
	} else if (clang_isDeclaration(k) || k == CXCursor_LabelStmt) {
		if ((u = uses_of(b, c)))
			u->other = true;
	} else if (k == CXCursor_MemberRefExpr || k == CXCursor_MemberRef || k == CXCursor_TypeRef
	           || k == CXCursor_LabelRef) {
		if (!clang_Cursor_isNull(ref) && (u = uses_of(b, ref)))
			u->other = true;
	}
	return CXChildVisit_Recurse;
}

/* The calls of function F (with body BODY) whose callee's name a macro
 * writes keep rw_call.macro_name only where `#define NAME NAME__slow`
 * around F's copies renames those calls and nothing else: NAME is not F
 * (its slow copy calls F itself), and in the body every token NAME is the
 * callee of a call, not a member, tag, label, variable or the function's
 * address.  (That NAME is no macro is rw_walk's to check.)  One visit of
 * the body for all the names. */
static void macro_names(struct rw_func *f, CXCursor body)
{
	struct body_uses b = { 0 };

	for (size_t i = 0; i < f->ncalls; i++) {
		bool seen = false;

		for (size_t j = 0; f->calls[i].macro_name && j < b.n && !seen; j++)
			seen = !strcmp(b.u[j].name, f->calls[i].callee);
		if (f->calls[i].macro_name && !seen)
			*LOOM_PUSH(b.u, b.n, b.cap) = (struct name_uses){ f->calls[i].callee, 0, 0, false };
	}
	if (!b.n)
		return;
	rw_visit_children(body, count_uses, &b);
	for (size_t i = 0; i < f->ncalls; i++) {
		struct name_uses *u = NULL;

		for (size_t j = 0; f->calls[i].macro_name && j < b.n && !u; j++)
			if (!strcmp(b.u[j].name, f->calls[i].callee))
				u = &b.u[j];
		if (u && (u->other || u->refs != u->calls || !strcmp(u->name, f->name)))
			f->calls[i].macro_name = false;
	}
	free(b.u);
}

/* What helper_calls needs: brief_call's walk, and the helper. */
struct helper_scan {
	struct walk *w;
	struct rw_helper *h;
};

static enum CXChildVisitResult helper_calls(CXCursor c, CXCursor parent, CXClientData data)
{
	struct helper_scan *hs = data;
	struct rw_helper *h = hs->h;

	(void)parent;
	if (clang_getCursorKind(c) == CXCursor_CallExpr && !brief_call(hs->w, c))
		*LOOM_PUSH(h->callees, h->ncallees, h->callees_cap) = callee_name(c);
	return CXChildVisit_Recurse;
}

/* Records static function FN, whose BODY a macro writes, as a helper
 * (struct rw_helper). */
static void macro_helper(struct walk *w, CXCursor fn, CXCursor body)
{
	struct rw_helper *h = LOOM_PUSH(w->plan->helpers, w->plan->nhelpers, w->plan->helpers_cap);
	CXString name = clang_getCursorSpelling(fn);
	struct helper_scan hs = { w, h };

	*h = (struct rw_helper){ .name = loom_xstrdup(clang_getCString(name)) };
	clang_disposeString(name);
	rw_visit_children(body, helper_calls, &hs);
}

static void walk_function(struct walk *w, CXCursor fn)
{
	CXCursor body = clang_getNullCursor();
	struct rw_func *f;
	unsigned line, column, end_line, end_column, open, close;
	CXString name;
	struct call_scan cs = { .w = w, .record = true };

	rw_visit_children(fn, find_body, &body);
	if (clang_Cursor_isNull(body))
		return;
	open = start_of(body, NULL, NULL);
	close = end_of(body);
	/* A body that comes out of a macro cannot be edited; a naked
	 * function's (only asm) must not be: no C may run there. */
	if (macro_at(w, open, true) || macro_at(w, open, false)) {
		if (clang_Cursor_getStorageClass(fn) == CX_SC_Static)
			macro_helper(w, fn, body);
		return;
	}
	if (open >= w->len || w->text[open] != '{' || close == 0 || w->text[close - 1] != '}' || naked(w, fn, open))
		return;
	/* Braces in different branches of a conditional (`#ifdef X int f(long
	 * x) { #else int f(int x) { #endif`): no hook there and no copy
	 * could be made the same under every macro; left as it is. */
	if (!balanced(w, open, close))
		return;
	/* The same text defined again: a template header included twice
	 * under other macros (`#define FNAME sum_int #include "tmpl.h"`).
	 * Its hooks are written once and serve every definition, as for a
	 * header that other files include under other macros. */
	for (size_t i = 0; i < w->plan->nfuncs; i++)
		if (w->plan->funcs[i].body_open == open + 1)
			return;
	offset_of(clang_getRangeEnd(rw_cursor_extent(body)), &end_line, &end_column);
	start_of(fn, &line, &column);
	f = LOOM_PUSH(w->plan->funcs, w->plan->nfuncs, w->plan->funcs_cap);
	memset(f, 0, sizeof *f);
	name = clang_getCursorSpelling(fn);
	f->name = loom_xstrdup(clang_getCString(name));
	clang_disposeString(name);
	f->is_static = clang_Cursor_getStorageClass(fn) == CX_SC_Static;
	f->line = line;
	f->column = column;
	f->end_line = end_line;
	f->end_column = end_column > 1 ? end_column - 1 : 1;
	f->body_open = open + 1;
	f->body_end = close;
	start_of(body, &f->body_line, NULL);
	outline_facts(w, fn, body, f);
	f->pure = w->find_pure && pure_function(w, body, f);
	/* Its copies follow it (see directive_in; a copy under `#line` cannot
	 * say the file name the compiler was given, either). */
	{
		struct macro_list ml = { 0 };

		if (!f->inline_reason && directive_in(w, open, close, &ml))
			f->inline_reason = "an #include, line or other directive inside it";
		else if (!f->inline_reason && ml.n && !(f->macro_resets = macro_resets(w, f, &ml)))
			f->inline_reason = "a #define or #undef inside it of a macro also defined in another "
			                   "file or named in its declaration";
		/* A static moved above the function would not see them. */
		else if (!f->inline_reason && ml.n && f->nhoists)
			f->inline_reason = "static local variables";
		for (size_t i = 0; i < ml.n; i++)
			free(ml.names[i]);
		free(ml.names);
	}
	presumed_place(w, clang_getRangeStart(rw_cursor_extent(fn)), line, f);
	if (!clang_File_isEqual(w->file, w->tree[0].file) && !f->line_delta && !f->line_file)
		f->group_end = group_end(w, f);
	w->func = (unsigned)(w->plan->nfuncs - 1);
	w->nstmt_exprs = 0;
	rw_visit_children(body, scan_calls, &cs);
	macro_names(&w->plan->funcs[w->func], body);
	w->ncalls = 0;
	for (size_t i = 0; i < f->ncalls; i++)
		*LOOM_PUSH(w->calls, w->ncalls, w->calls_cap) = (struct call_at){ f->calls[i].off, i };
	loom_sort(w->calls, w->ncalls, sizeof *w->calls, cmp_call_at);
	calls_in_group(w, f, open, close);
	w->brk = w->cont = w->sw = w->indirect = NO_NODE;
	w->sw_default = false;
	w->nlabels = 0;
	flow_at(w, RW_NODE_ENTRY);
	walk_stmt(w, body, 0);
	flow_to(w, RW_NODE_FALLOFF);
	/* A computed goto may go to any label (whose address is taken). */
	for (size_t i = 0; w->indirect != NO_NODE && i < w->nlabels; i++)
		edge(w, w->indirect, w->labels[i].node);
	f = &w->plan->funcs[w->func];
	flow_setjmp(w, f);
	for (size_t i = 0; i < f->ncalls; i++)
		if (f->calls[i].point != SIZE_MAX)
			w->plan->points[f->calls[i].point].call = true;
}

/* The walks of one translation unit, one per source file of the tree it
 * uses: the C file, then the tree's headers it includes. */
struct walks {
	struct walk *w;
	const struct rw_source *src;
	size_t n;
	/* The names of the static locals that would move to file scope and
	 * of the K&R definitions (gather_hoisted), sorted, unique, and the
	 * unit's declarations of those names (drop_unhoistable,
	 * drop_knr_redeclared). */
	char **hoisted;
	size_t nhoisted, hoisted_cap;
	struct name_decl {
		size_t name;        /* index in hoisted */
		const struct walk *w; /* the tree's file it is in, or NULL */
		unsigned off;       /* where, in that file */
		bool outer;         /* at file scope, or with linkage (extern,
		                     * a function) */
		bool file_scope;    /* outside every function */
	} *decls;
	size_t ndecls, decls_cap;
};

/* The walk of the file LOC expands in (NULL: not a file of the tree), and
 * LOC's offset there. */
static struct walk *walk_at(struct walks *ws, CXSourceLocation loc, unsigned *off)
{
	CXFile file;

	clang_getExpansionLocation(loc, &file, NULL, NULL, off);
	for (size_t i = 0; file && i < ws->n; i++)
		if (clang_File_isEqual(file, ws->src[i].file))
			return &ws->w[i];
	return NULL;
}

/* Records that NAME's address is taken as function type TYPE (NULL:
 * unknown; TYPE is then freed). */
static void add_address_taken(struct walks *ws, const char *name, char *type)
{
	/* The program's property: recorded with the C file. */
	struct rw_plan *plan = ws->w[0].plan;

	*LOOM_PUSH(plan->address_taken, plan->naddress_taken, plan->address_taken_cap) =
		(struct rw_taken){ loom_xstrdup(name), type };
}

/* ---- function pointers that change type ----
 *
 * A call through a pointer may reach a function whose address was taken
 * as the call's type, or as a type that some conversion in the program
 * turns into it (docs/design.md).  Found while the whole unit is visited
 * for taken addresses, system headers included: a conversion in a macro
 * or an inline function of a library counts as well. */

/* Whether expression E is a null pointer constant (0, (void *)0, NULL),
 * which becomes a function pointer of any type without carrying one. */
static bool null_constant(CXCursor e)
{
	for (;;) {
		enum CXCursorKind k = clang_getCursorKind(e);
		CXCursor child = clang_getNullCursor();

		if (k == CXCursor_IntegerLiteral) {
			long long v;

			return integer_constant(e, &v) && v == 0;
		}
		if (k != CXCursor_UnexposedExpr && k != CXCursor_CStyleCastExpr && k != CXCursor_ParenExpr)
			return false;
		rw_visit_children(e, last_expression, &child);
		/* Of the unexposed expressions only an implicit conversion,
		 * which spans its operand (not __builtin_choose_expr, ?:). */
		if (clang_Cursor_isNull(child)
		    || (k == CXCursor_UnexposedExpr
		        && !clang_equalRanges(rw_cursor_extent(e), rw_cursor_extent(child))))
			return false;
		e = child;
	}
}

static void add_conversion(struct walks *ws, const char *from, const char *to)
{
	struct rw_plan *plan = ws->w[0].plan;

	*LOOM_PUSH(plan->conversions, plan->nconversions, plan->conversions_cap) =
		(struct loom_conversion){ loom_xstrdup(from), loom_xstrdup(to) };
}

/* Records that a value carried as FROM (expression E, or a null cursor)
 * becomes one carried as TO. */
static void note_conversion(struct walks *ws, struct carried from, struct carried to, CXCursor e)
{
	char *f, *t;

	if (from.what == CARRIES_NOTHING || to.what == CARRIES_NOTHING
	    || (from.what == CARRIES_OPAQUE && to.what == CARRIES_OPAQUE)
	    || (from.what == CARRIES_FUNCTION && to.what == CARRIES_FUNCTION && clang_equalTypes(from.fn, to.fn))
	    || (from.what == CARRIES_OPAQUE && null_constant(e)))
		return;
	f = carried_spelling(&from);
	t = carried_spelling(&to);
	if (strcmp(f, t)) {
		add_conversion(ws, f, t);
		/* Through a pointer to a function pointer, one may be stored as
		 * well as read: (void **)&fp, memcpy(&fp, ...). */
		if ((from.what == CARRIES_FUNCTION && from.depth >= 2) || (to.what == CARRIES_FUNCTION && to.depth >= 2))
			add_conversion(ws, t, f);
	}
	free(f);
	free(t);
}

/* Arguments of call C that its callee's prototype does not type (after
 * `...`, or all of them without a prototype) become whatever the callee
 * reads them as (va_arg, which reads an opaque va_list, counts as a
 * conversion from opaque). */
static void note_untyped_arguments(struct walks *ws, CXCursor c)
{
	CXCursor callee = clang_getNullCursor();
	struct carried fn;
	int fixed, n;

	rw_visit_children(c, first_child, &callee);
	if (clang_Cursor_isNull(callee))
		return;
	fn = carried_by(clang_getCursorType(callee));
	if (fn.what != CARRIES_FUNCTION)
		return;
	fixed = clang_getNumArgTypes(fn.fn);
	if (fixed >= 0 && !clang_isFunctionTypeVariadic(fn.fn))
		return;
	n = clang_Cursor_getNumArguments(c);
	for (int i = fixed < 0 ? 0 : fixed; i < n; i++) {
		CXCursor a = clang_Cursor_getArgument(c, (unsigned)i);

		note_conversion(ws, carried_by(clang_getCursorType(a)), opaque_value, a);
	}
}

/* A function pointer held in a union member, directly or in a structure
 * or array held there by value, may be read as any other member (or
 * written through one): both ways with opaque. */
struct held {
	struct walks *ws;
	int depth;
};

static void note_held(struct walks *ws, CXType t, int depth);

static enum CXVisitorResult held_field(CXCursor field, CXClientData data)
{
	struct held *h = data;

	note_held(h->ws, clang_getCursorType(field), h->depth + 1);
	return CXVisit_Continue;
}

static void note_held(struct walks *ws, CXType t, int depth)
{
	struct carried held;

	t = clang_getCanonicalType(t);
	while (t.kind == CXType_ConstantArray || t.kind == CXType_IncompleteArray || t.kind == CXType_Atomic)
		t = clang_getCanonicalType(t.kind == CXType_Atomic ? clang_Type_getValueType(t)
		                                                   : clang_getArrayElementType(t));
	if (t.kind == CXType_Record) {
		struct held h = { ws, depth };

		if (depth < 8) /* a structure holds no copy of itself; deep nests are rare */
			clang_Type_visitFields(t, held_field, &h);
		return;
	}
	held = carried_by(t);
	if (held.what == CARRIES_FUNCTION) {
		note_conversion(ws, held, opaque_value, clang_getNullCursor());
		note_conversion(ws, opaque_value, held, clang_getNullCursor());
	}
}

/* Notes the conversion of expression E into its parent P, a cast: an
 * implicit conversion is an unexposed expression, and so are others, whose
 * every expression child counts (va_arg's va_list, and any expression of
 * the type read, which then converts nothing). */
static void note_operand(struct walks *ws, CXCursor p, CXCursor e)
{
	CXType type = clang_getCursorType(p), from_type = clang_getCursorType(e);
	struct carried to;

	/* Most are reads of a variable (lvalue to rvalue): the same type,
	 * which is cheap to tell, unlike what it carries. */
	if (clang_equalTypes(type, from_type))
		return;
	to = carried_by(type);
	if (to.what != CARRIES_NOTHING)
		note_conversion(ws, carried_by(from_type), to, e);
}

/* Notes the conversions of function pointers that cursor C makes (but
 * those of casts, note_operand). */
static void note_conversions(struct walks *ws, CXCursor c)
{
	enum CXCursorKind k = clang_getCursorKind(c);

	if (k == CXCursor_CallExpr) {
		note_untyped_arguments(ws, c);
	} else if (k == CXCursor_FieldDecl
	           && clang_getCursorKind(clang_getCursorSemanticParent(c)) == CXCursor_UnionDecl) {
		note_held(ws, clang_getCursorType(c), 0);
	}
}

/* `cleanup(F)` and `alias("F")` in attribute A call F, or make another
 * name call it, with no reference to F in the AST. */
static void attribute_callee(struct walks *ws, CXCursor a)
{
	CXToken *t;
	unsigned n;

	clang_tokenize(ws->w[0].tu, rw_cursor_extent(a), &t, &n);
	for (unsigned i = 0; i + 2 < n; i++) {
		CXString s = clang_getTokenSpelling(ws->w[0].tu, t[i]);
		const char *word = clang_getCString(s);
		bool cleanup = !strcmp(word, "cleanup") || !strcmp(word, "__cleanup__");
		bool alias = !strcmp(word, "alias") || !strcmp(word, "__alias__");

		clang_disposeString(s);
		if ((cleanup && clang_getTokenKind(t[i + 2]) == CXToken_Identifier)
		    || (alias && clang_getTokenKind(t[i + 2]) == CXToken_Literal)) {
			const char *name;
			size_t len;

			s = clang_getTokenSpelling(ws->w[0].tu, t[i + 2]);
			name = clang_getCString(s);
			len = strlen(name);
			if (cleanup) {
				add_address_taken(ws, name, NULL);
			} else if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
				char *target = loom_xasprintf("%.*s", (int)(len - 2), name + 1);

				add_address_taken(ws, target, NULL);
				free(target);
			}
			clang_disposeString(s);
			break;
		}
	}
	clang_disposeTokens(ws->w[0].tu, t, n);
}

/* Function references that are not the callee of a call take the
 * function's address (a function pointer may call it); so do references
 * from code the tree does not hold (an inline function of a header outside
 * it, which is not instrumented, runs the fast function) and cleanup and
 * alias attributes. */
/* Sorts the *N strings at NAMES and drops repeats (the strings are not
 * theirs: nothing is freed). */
static void sort_unique(char **names, size_t *n)
{
	size_t out = 0;

	loom_sort(names, *n, sizeof *names, loom_cmp_str);
	for (size_t i = 0; i < *n; i++)
		if (!out || strcmp(names[i], names[out - 1]))
			names[out++] = names[i];
	*n = out;
}

/* Notes declaration C (whose parent is PARENT) if it is named like a
 * static local that would move to file scope (struct walks, hoisted). */
static void note_declaration(struct walks *ws, CXCursor c, CXCursor parent)
{
	CXString s = clang_getCursorSpelling(c);
	const char *name = clang_getCString(s);
	char **hit = name ? loom_bsearch(&name, ws->hoisted, ws->nhoisted, sizeof *ws->hoisted, loom_cmp_str) : NULL;

	if (hit) {
		struct name_decl *d = LOOM_PUSH(ws->decls, ws->ndecls, ws->decls_cap);

		d->name = (size_t)(hit - ws->hoisted);
		d->w = walk_at(ws, clang_getCursorLocation(c), &d->off);
		d->file_scope = clang_getCursorKind(parent) == CXCursor_TranslationUnit;
		d->outer = d->file_scope || clang_getCursorKind(c) == CXCursor_FunctionDecl
		           || clang_Cursor_getStorageClass(c) == CX_SC_Extern;
	}
	clang_disposeString(s);
}

/* The names of the static locals that would move, and of the K&R
 * definitions whose F__slow's type depends on what declares them, for
 * find_address_taken to note their declarations in the whole unit. */
static void gather_hoisted(struct walks *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		for (size_t f = 0; f < ws->w[i].plan->nfuncs; f++) {
			struct rw_func *rf = &ws->w[i].plan->funcs[f];

			for (size_t h = 0; h < rf->nhoists; h++)
				*LOOM_PUSH(ws->hoisted, ws->nhoisted, ws->hoisted_cap) = rf->hoists[h].name;
			if (rf->knr_redeclared_check && !rf->inline_reason)
				*LOOM_PUSH(ws->hoisted, ws->nhoisted, ws->hoisted_cap) = rf->name;
		}
	sort_unique(ws->hoisted, &ws->nhoisted);
}

/* Can the static local H of function RF (in W's file) move to file scope,
 * above RF?  Not if another declaration of its name is at file scope or has
 * linkage (it would clash with it or, a tentative definition, become it; a
 * block-scope `extern` above makes a later file-scope `static` an error),
 * or is in a function at or after RF's start (it would hide the moved one
 * there, be warned about as hiding it (-Wshadow), or, in RF, take the uses
 * the static had).  A local of a function above RF cannot see it. */
static bool moves_alone(const struct walks *ws, const struct walk *w, const struct rw_func *rf,
                        const struct rw_hoist *h)
{
	const char *name = h->name;
	char **hit = loom_bsearch(&name, ws->hoisted, ws->nhoisted, sizeof *ws->hoisted, loom_cmp_str);

	if (!hit)
		return false;
	for (size_t i = 0; i < ws->ndecls; i++) {
		const struct name_decl *d = &ws->decls[i];

		if (d->name != (size_t)(hit - ws->hoisted))
			continue;
		if (d->w == w && d->off >= h->from && d->off < h->to)
			continue; /* its own */
		if (d->outer || d->w != w || d->off >= rf->decl_start)
			return false;
	}
	return true;
}

/* Is OFF one of V's N offsets? */
static bool has_offset(const unsigned *v, size_t n, unsigned off)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == off)
			return true;
	return false;
}

/* Does W's text spell NAME, as a whole identifier, at OFF? */
static bool spells_at(const struct walk *w, unsigned off, const char *name, size_t n)
{
	return off + n <= w->len && !memcmp(w->text + off, name, n) && !(off && is_ident_char(w->text[off - 1]))
	       && !(off + n < w->len && is_ident_char(w->text[off + n]));
}

/* Can every reference to hoist H of function FI (in W's file) be renamed
 * where it is spelled?  Not one in a for-declaration, which a loop twin's
 * block takes as it is written (emit.c hoisted_init).  And the body's code
 * must spell the name nowhere but where libclang places a cursor (a
 * reference or declaration of it or of another variable, a member, a
 * label): not where libclang gave no reference (an attribute's argument,
 * a directive's text), which a rename would leave to another declaration.
 * Comments and literals hold no reference, and are skipped (readelf's
 * target_specific_reloc_handling has a string with its static's name).
 * BY_MACRO: renamed by `#define NAME RENAME` around the function and its
 * copies instead (rw_hoist.by_macro), which also renames what macro
 * arguments spell (a stringified or pasted argument is not expanded, so
 * stays as it was), given rw_hoist.only_it: then the name may also be
 * spelled inside a macro invocation, and in a for-declaration. */
static bool renamable(const struct walk *w, const struct rw_plan *plan, size_t fi, const struct rw_hoist *h,
                      bool by_macro)
{
	const struct rw_func *f = &plan->funcs[fi];
	size_t n = strlen(h->name);
	struct text_scan sc;
	unsigned at;

	if (!h->spelled && !by_macro)
		return false;
	for (size_t l = 0; l < plan->nloops && !by_macro; l++)
		for (size_t r = 0; r < h->nrefs && plan->loops[l].func == fi; r++)
			if (h->refs[r] >= plan->loops[l].init_start && h->refs[r] < plan->loops[l].init_end)
				return false;
	sc = text_scan(w, f->body_open, f->body_end);
	for (enum scan_item item; (item = scan_next(&sc, &at)) != SCAN_END;) {
		if (item == SCAN_CODE) {
			if (spells_at(w, at, h->name, n) && !has_offset(f->cursor_at, f->ncursor_at, at)
			    && !(by_macro && (macro_at(w, at, true) || macro_at(w, at, false))))
				return false;
		} else if (item != SCAN_LITERAL) {
			for (unsigned i = at; i < sc.i; i++) /* a directive */
				if (spells_at(w, i, h->name, n))
					return false;
		}
	}
	return true;
}

/* A K&R definition's F__slow is declared `()` when nothing declares F
 * above it, or `__typeof__(F)` (walk_functions): the calls of F__slow
 * below then convert their arguments as those of F would only if no
 * declaration of F comes later (a prototype below, or one in a block,
 * which the callers of F__slow would see for F alone).  Else F keeps its
 * hooks inline. */
static void drop_knr_redeclared(struct walks *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		for (size_t f = 0; f < ws->w[i].plan->nfuncs; f++) {
			struct rw_func *rf = &ws->w[i].plan->funcs[f];
			const char *name = rf->name;
			char **hit;

			if (!rf->knr_redeclared_check || rf->inline_reason
			    || !(hit = loom_bsearch(&name, ws->hoisted, ws->nhoisted, sizeof *ws->hoisted, loom_cmp_str)))
				continue;
			for (size_t k = 0; k < ws->ndecls && !rf->inline_reason; k++) {
				const struct name_decl *d = &ws->decls[k];

				if (d->name != (size_t)(hit - ws->hoisted) || (d->w == &ws->w[i] && d->off == rf->name_off))
					continue;
				if (!d->file_scope || (d->w == &ws->w[i] ? d->off > rf->decl_start : !rf->slow_typeof))
					rf->inline_reason = "a K&R definition declared again below it or in a block";
			}
		}
}

/* Names that must not be a macro's (macro-written callees,
 * rw_call.macro_name; statics renamed by #define, rw_hoist.by_macro),
 * sorted and unique, and which of them a macro of the unit is named. */
struct macro_callees {
	char **names;
	size_t n, cap;
	bool *macro;
};

static enum CXChildVisitResult find_macro_named(CXCursor c, CXCursor parent, CXClientData data)
{
	struct macro_callees *mc = data;

	(void)parent;
	if (clang_getCursorKind(c) == CXCursor_MacroDefinition) {
		CXString s = clang_getCursorSpelling(c);
		const char *name = clang_getCString(s);
		char **hit = loom_bsearch(&name, mc->names, mc->n, sizeof *mc->names, loom_cmp_str);

		if (hit)
			mc->macro[hit - mc->names] = true;
		clang_disposeString(s);
	}
	return CXChildVisit_Continue;
}

/* Sorts MC's names (which it does not own), drops repeats, and finds which
 * a macro of the unit is named (ROOT's top-level cursors; nothing to do
 * when there are no names). */
static void macros_named(CXCursor root, struct macro_callees *mc)
{
	if (!mc->n)
		return;
	sort_unique(mc->names, &mc->n);
	mc->macro = loom_xcalloc(mc->n, sizeof *mc->macro);
	rw_visit_children(root, find_macro_named, mc);
}

/* Is NAME one of MC's names that a macro is named (macros_named)? */
static bool is_macro(const struct macro_callees *mc, const char *name)
{
	char **hit = loom_bsearch(&name, mc->names, mc->n, sizeof *mc->names, loom_cmp_str);

	return hit && mc->macro[hit - mc->names];
}

/* Does another static local of RF than H have H's name?  (A #define
 * would rename both.) */
static bool named_twice(const struct rw_func *rf, const struct rw_hoist *h)
{
	for (size_t k = 0; k < rf->nhoists; k++)
		if (&rf->hoists[k] != h && !strcmp(rf->hoists[k].name, h->name))
			return true;
	return false;
}

/* Keeps the hooks of a function inline when a static local of it can
 * neither move as it is (moves_alone) nor renamed (renamable, as
 * NAME__F_LINE, which no one declares, where the text spells it or by
 * #define around the function): two copies would make two objects. */
static void drop_unhoistable(CXCursor root, struct walks *ws)
{
	struct macro_callees mc = { 0 };

	/* The names a rename by #define could take: none may be a macro. */
	for (size_t i = 0; i < ws->n; i++)
		for (size_t f = 0; f < ws->w[i].plan->nfuncs; f++)
			for (size_t h = 0; h < ws->w[i].plan->funcs[f].nhoists; h++)
				if (ws->w[i].plan->funcs[f].hoists[h].only_it)
					*LOOM_PUSH(mc.names, mc.n, mc.cap) = ws->w[i].plan->funcs[f].hoists[h].name;
	macros_named(root, &mc);
	for (size_t i = 0; i < ws->n; i++)
		for (size_t f = 0; f < ws->w[i].plan->nfuncs; f++) {
			struct rw_func *rf = &ws->w[i].plan->funcs[f];
			bool ok = true;

			for (size_t h = 0; h < rf->nhoists && ok; h++) {
				struct rw_hoist *ho = &rf->hoists[h];

				if (moves_alone(ws, &ws->w[i], rf, ho))
					continue;
				ok = renamable(&ws->w[i], ws->w[i].plan, f, ho, false);
				if (!ok && ho->only_it && !is_macro(&mc, ho->name) && !named_twice(rf, ho))
					ok = ho->by_macro = renamable(&ws->w[i], ws->w[i].plan, f, ho, true);
				if (ok)
					ho->rename = loom_xasprintf("%s__%s_%u", ho->name, rf->name, ho->line);
				/* Two of one name on one line would clash again. */
				for (size_t k = 0; k < h && ok; k++)
					ok = !rf->hoists[k].rename || strcmp(rf->hoists[k].rename, ho->rename);
			}
			if (!ok && !rf->inline_reason)
				rf->inline_reason = "static local variables";
		}
	free(mc.macro);
	free(mc.names);
	drop_knr_redeclared(ws);
	free(ws->hoisted);
	free(ws->decls);
}

static enum CXChildVisitResult find_address_taken(CXCursor c, CXCursor parent, CXClientData data)
{
	struct walks *ws = data;
	struct walk *w;
	CXCursor ref;
	unsigned off;
	enum CXCursorKind k = clang_getCursorKind(c), pk = clang_getCursorKind(parent);

	if ((pk == CXCursor_UnexposedExpr || pk == CXCursor_CStyleCastExpr) && clang_isExpression(k))
		note_operand(ws, parent, c);
	if (clang_isAttribute(k) && walk_at(ws, clang_getCursorLocation(c), &off)) {
		attribute_callee(ws, c);
		return CXChildVisit_Continue;
	}
	if (ws->nhoisted && (k == CXCursor_VarDecl || k == CXCursor_FunctionDecl || k == CXCursor_TypedefDecl
	                     || k == CXCursor_EnumConstantDecl
	                     || (k == CXCursor_ParmDecl && pk == CXCursor_FunctionDecl && clang_isCursorDefinition(parent))))
		note_declaration(ws, c, parent);
	if (k != CXCursor_DeclRefExpr) {
		note_conversions(ws, c);
		return CXChildVisit_Recurse;
	}
	ref = clang_getCursorReferenced(c);
	if (clang_getCursorKind(ref) == CXCursor_FunctionDecl && !walk_at(ws, clang_getCursorLocation(c), &off)
	    && walk_at(ws, clang_getCursorLocation(ref), &off)) {
		CXString s = clang_getCursorSpelling(ref);

		add_address_taken(ws, clang_getCString(s), NULL);
		clang_disposeString(s);
	} else if (clang_getCursorKind(ref) == CXCursor_FunctionDecl
	           && (w = walk_at(ws, clang_getCursorLocation(c), &off))) {
		CXString s;

		if (!is_callee(&w->callees, c)) {
			s = clang_getCursorSpelling(ref);
			add_address_taken(ws, clang_getCString(s), function_type(clang_getCursorType(c)));
			clang_disposeString(s);
		}
	}
	return CXChildVisit_Continue;
}

static enum CXChildVisitResult collect_macros(CXCursor c, CXCursor parent, CXClientData data)
{
	struct walks *ws = data;
	struct walk *w;
	unsigned off;

	(void)parent;
	if (clang_getCursorKind(c) == CXCursor_MacroExpansion
	    && (w = walk_at(ws, clang_getCursorLocation(c), &off))) {
		struct range *r = LOOM_PUSH(w->macros, w->nmacros, w->macros_cap);

		r->start = start_of(c, NULL, NULL);
		r->end = end_of(c);
		r->expansion = c;
	}
	return CXChildVisit_Continue;
}

static enum CXChildVisitResult walk_functions(CXCursor c, CXCursor parent, CXClientData data)
{
	struct walks *ws = data;
	struct walk *w;
	unsigned off;

	(void)parent;
	if (!clang_isDeclaration(clang_getCursorKind(c)) || !(w = walk_at(ws, clang_getCursorLocation(c), &off)))
		return CXChildVisit_Continue;
	if (clang_getCursorKind(c) == CXCursor_FunctionDecl && clang_isCursorDefinition(c))
		walk_function(w, c);
	off = end_of(c);
	if (off > w->prev_end && off <= w->len)
		w->prev_end = off;
	return CXChildVisit_Continue;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* `#define NAME NAME__slow` would also change a macro NAME, and its #undef
 * end it: calls whose callee a macro is named after keep the callee's
 * switch.  (Top-level cursors only, and only when some call needs it.) */
static void drop_macro_names(CXCursor root, struct walks *ws)
{
	struct macro_callees mc = { 0 };

	for (size_t i = 0; i < ws->n; i++)
		for (size_t f = 0; f < ws->w[i].plan->nfuncs; f++)
			for (size_t c = 0; c < ws->w[i].plan->funcs[f].ncalls; c++)
				if (ws->w[i].plan->funcs[f].calls[c].macro_name)
					*LOOM_PUSH(mc.names, mc.n, mc.cap) = ws->w[i].plan->funcs[f].calls[c].callee;
	macros_named(root, &mc);
	for (size_t i = 0; i < ws->n; i++)
		for (size_t f = 0; f < ws->w[i].plan->nfuncs; f++)
			for (size_t c = 0; c < ws->w[i].plan->funcs[f].ncalls; c++) {
				struct rw_call *call = &ws->w[i].plan->funcs[f].calls[c];

				if (call->macro_name && is_macro(&mc, call->callee))
					call->macro_name = false;
			}
	free(mc.macro);
	free(mc.names);
}

static int cmp_taken(const void *a, const void *b)
{
	const struct rw_taken *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c || (!x->type && !y->type))
		return c;
	return !x->type ? -1 : !y->type ? 1 : strcmp(x->type, y->type);
}

static void drop_taken(void *p)
{
	struct rw_taken *t = p;

	free(t->name);
	free(t->type);
}

void rw_taken_unique(struct rw_taken *t, size_t *n)
{
	loom_sort_unique(t, n, sizeof *t, cmp_taken, drop_taken);
}

/* For index_by_name's sort: the plan being indexed (one per thread). */
static _Thread_local const struct rw_plan *indexed;

static int cmp_by_name(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(indexed->funcs[x].name, indexed->funcs[y].name);

	return c ? c : (x > y) - (x < y);
}

static void index_by_name(struct rw_plan *plan)
{
	free(plan->by_name);
	plan->by_name = loom_xcalloc(plan->nfuncs + 1, sizeof *plan->by_name);
	for (size_t i = 0; i < plan->nfuncs; i++)
		plan->by_name[i] = i;
	indexed = plan;
	loom_sort(plan->by_name, plan->nfuncs, sizeof *plan->by_name, cmp_by_name);
	indexed = NULL;
}

const size_t *rw_plan_named(const struct rw_plan *plan, const char *name, size_t *n)
{
	size_t count = plan->nfuncs, lo = 0, hi = count, end;

	if (count && !plan->by_name) {
		fprintf(stderr, "loom-rewrite: internal error: a plan looked up by name before rw_walk indexed it\n");
		abort();
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(plan->funcs[plan->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < count && !strcmp(plan->funcs[plan->by_name[end]].name, name); end++)
		;
	*n = end - lo;
	return count ? plan->by_name + lo : NULL;
}

void rw_walk(CXTranslationUnit tu, const struct rw_source *src, size_t n, bool find_pure)
{
	struct walks ws = { .w = loom_xcalloc(n, sizeof *ws.w), .src = src, .n = n };
	CXCursor root = clang_getTranslationUnitCursor(tu);
	struct rw_plan *plan = src[0].plan;

	CXTargetInfo target = clang_getTranslationUnitTargetInfo(tu);

	if (target) {
		int bits = clang_TargetInfo_getPointerWidth(target);

		pointer_size = bits > 0 ? bits / 8 : 8;
		clang_TargetInfo_dispose(target);
	}
	memset(address_sized, 0, sizeof address_sized);
	for (size_t i = 0; i < n; i++)
		ws.w[i] = (struct walk){ .tu = tu, .file = src[i].file, .find_pure = find_pure, .tree = src, .ntree = n,
		                         .text = src[i].text, .len = src[i].len, .plan = src[i].plan,
		                         .case_label = UINT_MAX, .list_from = UINT_MAX, .next_start = UINT_MAX };
	rw_cursors_build(tu);
	/* All expansion ranges first: a function may use a macro whose
	 * expansion the preprocessing record lists after it. */
	rw_visit_children(root, collect_macros, &ws);
	for (size_t i = 0; i < n; i++)
		loom_sort(ws.w[i].macros, ws.w[i].nmacros, sizeof *ws.w[i].macros, cmp_range);
	rw_visit_children(root, walk_functions, &ws);
	drop_macro_names(root, &ws);
	gather_hoisted(&ws);
	rw_visit_children(root, find_address_taken, &ws);
	drop_unhoistable(root, &ws);
	rw_taken_unique(plan->address_taken, &plan->naddress_taken);
	loom_conversions_unique(plan->conversions, &plan->nconversions);
	rw_cursors_free();
	for (size_t i = 0; i < n; i++)
		index_by_name(src[i].plan);
	for (size_t i = 0; i < n; i++) {
		free(ws.w[i].macros);
		free(ws.w[i].callees.v);
		free(ws.w[i].callees.slots);
		free(ws.w[i].calls);
		free(ws.w[i].facts);
		free(ws.w[i].fact_slots);
		free(ws.w[i].open_groups.at);
		free(ws.w[i].stmt_exprs);
		free(ws.w[i].cur);
		free(ws.w[i].labels);
	}
	free(ws.w);
}

void rw_plan_free(struct rw_plan *plan)
{
	free(plan->by_name);
	for (size_t i = 0; i < plan->nfuncs; i++) {
		for (size_t j = 0; j < plan->funcs[i].ncalls; j++) {
			free(plan->funcs[i].calls[j].callee);
			free(plan->funcs[i].calls[j].type);
			free(plan->funcs[i].calls[j].taken);
			free(plan->funcs[i].calls[j].passed_to);
		}
		for (size_t j = 0; j < plan->funcs[i].nparams; j++)
			free(plan->funcs[i].params[j]);
		free(plan->funcs[i].params);
		free(plan->funcs[i].va_starts);
		for (size_t j = 0; j < plan->funcs[i].nhoists; j++) {
			free(plan->funcs[i].hoists[j].name);
			free(plan->funcs[i].hoists[j].refs);
			free(plan->funcs[i].hoists[j].rename);
		}
		free(plan->funcs[i].cursor_at);
		free(plan->funcs[i].hoists);
		free(plan->funcs[i].calls);
		free(plan->funcs[i].edges);
		free(plan->funcs[i].name);
		free(plan->funcs[i].line_file);
		free(plan->funcs[i].macro_resets);
		free(plan->funcs[i].proto_groups);
	}
	for (size_t i = 0; i < plan->npoints; i++)
		free(plan->points[i].callee);
	for (size_t i = 0; i < plan->naddress_taken; i++) {
		free(plan->address_taken[i].name);
		free(plan->address_taken[i].type);
	}
	for (size_t i = 0; i < plan->nconversions; i++) {
		free(plan->conversions[i].from);
		free(plan->conversions[i].to);
	}
	free(plan->conversions);
	for (size_t i = 0; i < plan->nfp_params; i++) {
		free(plan->fp_params[i].name);
		free(plan->fp_params[i].type);
	}
	free(plan->fp_params);
	for (size_t i = 0; i < plan->nunprototyped; i++)
		free(plan->unprototyped[i]);
	free(plan->unprototyped);
	free(plan->funcs);
	free(plan->points);
	free(plan->wraps);
	free(plan->skips);
	free(plan->loops);
	free(plan->fallthroughs);
	for (size_t i = 0; i < plan->nhelpers; i++) {
		for (size_t j = 0; j < plan->helpers[i].ncallees; j++)
			free(plan->helpers[i].callees[j]);
		free(plan->helpers[i].callees);
		free(plan->helpers[i].name);
	}
	free(plan->helpers);
	free(plan->address_taken);
}
