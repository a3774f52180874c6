#include "filter.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "indirect.h"

/* ======================================================================
 * Lexer
 * ====================================================================== */

enum tok_kind { T_END, T_WORD, T_NUMBER, T_EXCL, T_ORDER, T_LBRACE, T_RBRACE, T_COMMA, T_SEMI, T_STAR };

struct tok {
	enum tok_kind kind;
	const char *start;
	size_t len;
	struct loom_loc loc;
};

struct parser {
	const char *name, *p;
	struct loom_loc at;
	struct tok tok;
	struct loom_error *err;
};

static bool word_char(char c)
{
	return c && !isspace((unsigned char)c) && !strchr("<>{},;#*", c);
}

static void advance_char(struct parser *ps)
{
	if (*ps->p == '\n') {
		ps->at.line++;
		ps->at.column = 1;
	} else {
		ps->at.column++;
	}
	ps->p++;
}

static int next(struct parser *ps)
{
	struct tok *t = &ps->tok;

	for (;;) {
		while (isspace((unsigned char)*ps->p))
			advance_char(ps);
		if (*ps->p != '#')
			break;
		while (*ps->p && *ps->p != '\n')
			advance_char(ps);
	}
	t->start = ps->p;
	t->loc = ps->at;
	if (!*ps->p) {
		t->kind = T_END;
		t->len = 0;
		return 0;
	}
	if (ps->p[0] == '<' && ps->p[1] == '>') {
		t->kind = T_EXCL;
		advance_char(ps);
		advance_char(ps);
	} else if (strchr(">{},;*", *ps->p)) {
		t->kind = (enum tok_kind[]){ T_ORDER, T_LBRACE, T_RBRACE, T_COMMA, T_SEMI, T_STAR }
			[strchr(">{},;*", *ps->p) - ">{},;*"];
		advance_char(ps);
	} else if (word_char(*ps->p)) {
		bool digits = true;

		while (word_char(*ps->p)) {
			digits = digits && isdigit((unsigned char)*ps->p);
			advance_char(ps);
		}
		t->kind = digits ? T_NUMBER : T_WORD;
	} else {
		return loom_error_set(ps->err, ps->name, ps->at.line, ps->at.column,
		                      "unexpected character '%c'", *ps->p);
	}
	t->len = (size_t)(ps->p - t->start);
	return 0;
}

static int expected(struct parser *ps, const char *what)
{
	if (ps->tok.kind == T_END)
		return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
		                      "expected %s, found end of filter", what);
	return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
	                      "expected %s, found '%.*s'", what, (int)ps->tok.len, ps->tok.start);
}

/* ======================================================================
 * Parser: one function per grammar rule (docs/filters.md).
 * ====================================================================== */

static bool is_identifier(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Parses a decimal line number of N chars at S (1 .. 10^7). */
static int parse_line(struct parser *ps, const char *s, size_t n, struct loom_loc loc, unsigned *out)
{
	unsigned long v = 0;

	if (!n)
		return loom_error_set(ps->err, ps->name, loc.line, loc.column, "expected a line number");
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return loom_error_set(ps->err, ps->name, loc.line, loc.column + (unsigned)i,
			                      "expected a line number, found '%.*s'", (int)(n - i), s + i);
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 10000000)
			return loom_error_set(ps->err, ps->name, loc.line, loc.column, "line number too large");
	}
	if (!v)
		return loom_error_set(ps->err, ps->name, loc.line, loc.column, "line numbers start at 1");
	*out = (unsigned)v;
	return 0;
}

/* A count N in "{" N "}": how many times the event must have happened. */
static int parse_count(struct parser *ps, unsigned *out)
{
	unsigned long v = 0;

	for (size_t i = 0; i < ps->tok.len; i++) {
		v = v * 10 + (unsigned long)(ps->tok.start[i] - '0');
		if (v > 1000000)
			return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
			                      "count too large (at most 1000000)");
	}
	if (!v)
		return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
		                      "a count must be at least 1");
	*out = (unsigned)v;
	return 0;
}

/* event := FILE ":" LINE [ "{" N "}" ] | FUNCTION ":" ( "entry" | "exit" )
 * Called with a WORD containing ':' as the current token. */
static int parse_event(struct parser *ps, struct loom_event *ev)
{
	const char *w = ps->tok.start, *colon = memrchr(w, ':', ps->tok.len);
	size_t n = ps->tok.len, head = (size_t)(colon - w);
	const char *tail = colon + 1;
	size_t tail_len = n - head - 1;
	struct loom_loc tail_loc = { ps->tok.loc.line, ps->tok.loc.column + (unsigned)head + 1 };

	memset(ev, 0, sizeof *ev);
	ev->loc = ps->tok.loc;
	ev->count = 1;
	if (!head)
		return loom_error_set(ps->err, ps->name, ev->loc.line, ev->loc.column,
		                      "expected a file or function name before ':'");
	if ((tail_len == 5 && !memcmp(tail, "entry", 5)) || (tail_len == 4 && !memcmp(tail, "exit", 4))) {
		if (!is_identifier(w, head))
			return loom_error_set(ps->err, ps->name, ev->loc.line, ev->loc.column,
			                      "'%.*s' is not a function name", (int)head, w);
		ev->kind = tail_len == 5 ? LOOM_EV_ENTRY : LOOM_EV_EXIT;
		ev->function = strndup(w, head);
	} else {
		ev->kind = LOOM_EV_LINE;
		if (parse_line(ps, tail, tail_len, tail_loc, &ev->line) < 0)
			return -1;
		ev->file = strndup(w, head);
	}
	if (next(ps) < 0)
		return -1;
	if (ps->tok.kind == T_LBRACE && ev->kind == LOOM_EV_LINE) {
		if (next(ps) < 0)
			return -1;
		if (ps->tok.kind != T_NUMBER)
			return expected(ps, "a count after '{'");
		if (parse_count(ps, &ev->count) < 0)
			return -1;
		if (next(ps) < 0)
			return -1;
		if (ps->tok.kind != T_RBRACE)
			return expected(ps, "'}' to close the count");
		return next(ps);
	}
	return 0;
}

/* region := FUNCTION | "{" event "," event "}" | FILE ":" LINE "-" LINE
 * (FILE ":" LINE alone is the one-line region LINE-LINE.) */
static int parse_region(struct parser *ps, struct loom_region *r)
{
	memset(r, 0, sizeof *r);
	r->loc = ps->tok.loc;
	if (ps->tok.kind == T_LBRACE) {
		r->kind = LOOM_REGION_EVENTS;
		if (next(ps) < 0)
			return -1;
		if (ps->tok.kind != T_WORD || !memchr(ps->tok.start, ':', ps->tok.len))
			return expected(ps, "an event (FILE:LINE or FUNCTION:entry|exit)");
		if (parse_event(ps, &r->from) < 0)
			return -1;
		if (ps->tok.kind != T_COMMA)
			return expected(ps, "',' between the two events of a region");
		if (next(ps) < 0)
			return -1;
		if (ps->tok.kind != T_WORD || !memchr(ps->tok.start, ':', ps->tok.len))
			return expected(ps, "an event (FILE:LINE or FUNCTION:entry|exit)");
		if (parse_event(ps, &r->to) < 0)
			return -1;
		if (ps->tok.kind != T_RBRACE)
			return expected(ps, "'}' to end the region");
		return next(ps);
	}
	if (ps->tok.kind != T_WORD)
		return expected(ps, "a region (FUNCTION, FILE:LINE-LINE or {EVENT, EVENT})");
	{
		const char *w = ps->tok.start, *colon = memrchr(w, ':', ps->tok.len);
		size_t n = ps->tok.len;

		if (!colon) {
			if (!is_identifier(w, n))
				return loom_error_set(ps->err, ps->name, r->loc.line, r->loc.column,
				                      "'%.*s' is neither a function name nor FILE:LINE", (int)n, w);
			r->kind = LOOM_REGION_FUNCTION;
			r->function = strndup(w, n);
		} else {
			size_t head = (size_t)(colon - w), tail_len = n - head - 1;
			const char *dash = memchr(colon + 1, '-', tail_len);
			struct loom_loc a = { r->loc.line, r->loc.column + (unsigned)head + 1 };

			if (!head)
				return loom_error_set(ps->err, ps->name, r->loc.line, r->loc.column,
				                      "expected a file name before ':'");
			if ((tail_len == 5 && !memcmp(colon + 1, "entry", 5)) || (tail_len == 4 && !memcmp(colon + 1, "exit", 4)))
				return loom_error_set(ps->err, ps->name, r->loc.line, r->loc.column,
				                      "'%.*s' is an event, not a region: write {%.*s, ...} or use it in an order constraint",
				                      (int)n, w, (int)n, w);
			r->kind = LOOM_REGION_LINES;
			r->file = strndup(w, head);
			if (parse_line(ps, colon + 1, dash ? (size_t)(dash - colon - 1) : tail_len, a, &r->first) < 0)
				return -1;
			r->last = r->first;
			r->last_loc = a;
			if (dash) {
				struct loom_loc b = { a.line, a.column + (unsigned)(dash - colon) };

				r->last_loc = b;
				if (parse_line(ps, dash + 1, (size_t)(w + n - dash - 1), b, &r->last) < 0)
					return -1;
			}
		}
	}
	return next(ps);
}

/* Does an order constraint start here: an event word, an optional count in
 * braces, then '>'?  Decided on tokens alone, so that errors inside the
 * event are reported by whichever rule then parses it. */
static bool starts_order(const struct parser *ps)
{
	struct parser p = *ps;
	struct loom_error scratch = { 0 };

	p.err = &scratch;
	if (p.tok.kind != T_WORD || !memchr(p.tok.start, ':', p.tok.len) || next(&p) < 0)
		return false;
	if (p.tok.kind == T_LBRACE) {
		for (int i = 0; i < 3 && p.tok.kind != T_RBRACE && p.tok.kind != T_END; i++)
			if (next(&p) < 0)
				return false;
		if (p.tok.kind != T_RBRACE || next(&p) < 0)
			return false;
	}
	return p.tok.kind == T_ORDER;
}

/* constraint := region "<>" (region | "self" | "*") { "<>" region }
 *             | event ">" event { ">" event } */
static int parse_constraint(struct parser *ps, struct loom_filter *f)
{
	struct loom_constraint *c = LOOM_PUSH(f->constraints, f->nconstraints, f->constraints_cap);

	memset(c, 0, sizeof *c);
	c->loc = ps->tok.loc;
	if (starts_order(ps)) {
		c->kind = LOOM_ORDER;
		for (;;) {
			struct loom_event *e = LOOM_PUSH(c->events, c->nevents, c->events_cap);

			memset(e, 0, sizeof *e);
			if (ps->tok.kind != T_WORD || !memchr(ps->tok.start, ':', ps->tok.len))
				return expected(ps, "an event (FILE:LINE or FUNCTION:entry|exit)");
			if (parse_event(ps, e) < 0)
				return -1;
			if (ps->tok.kind != T_ORDER)
				break;
			if (next(ps) < 0)
				return -1;
		}
		return 0;
	}
	c->kind = LOOM_MUTEX;
	if (parse_region(ps, LOOM_PUSH(c->regions, c->nregions, c->regions_cap)) < 0)
		return -1;
	if (ps->tok.kind == T_ORDER)
		return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
		                      "'>' orders events (FILE:LINE or FUNCTION:entry|exit), not regions; "
		                      "use '<>' to exclude regions");
	if (ps->tok.kind != T_EXCL)
		return expected(ps, "'<>' (mutual exclusion) or '>' (execution order) after the region");
	while (ps->tok.kind == T_EXCL) {
		if (next(ps) < 0)
			return -1;
		if (ps->tok.kind == T_STAR) {
			if (c->nregions != 1)
				return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
				                      "'*' (runs alone) takes exactly one region");
			c->kind = LOOM_UNILATERAL;
			return next(ps);
		}
		if (ps->tok.kind == T_WORD && ps->tok.len == 4 && !memcmp(ps->tok.start, "self", 4)) {
			if (c->nregions != 1)
				return loom_error_set(ps->err, ps->name, ps->tok.loc.line, ps->tok.loc.column,
				                      "'self' takes exactly one region");
			return next(ps);
		}
		if (parse_region(ps, LOOM_PUSH(c->regions, c->nregions, c->regions_cap)) < 0)
			return -1;
	}
	return 0;
}

struct loom_filter *loom_filter_parse(const char *name, const char *text, struct loom_error *err)
{
	struct loom_filter *f = loom_xcalloc(1, sizeof *f);
	struct parser ps = { .name = name, .p = text, .at = { 1, 1 }, .err = err };

	f->name = loom_xstrdup(name);
	f->text = loom_xstrdup(text);
	if (strlen(text) > LOOM_IMAGE_MAX_TEXT) {
		/* The runtime keeps the text for `loom ls`, and no more. */
		while (ps.p < text + LOOM_IMAGE_MAX_TEXT)
			advance_char(&ps);
		loom_error_set(err, name, ps.at.line, ps.at.column, "filter too long: at most %u bytes",
		               LOOM_IMAGE_MAX_TEXT);
		goto fail;
	}
	if (next(&ps) < 0)
		goto fail;
	while (ps.tok.kind != T_END) {
		if (parse_constraint(&ps, f) < 0)
			goto fail;
		if (ps.tok.kind == T_SEMI && next(&ps) < 0)
			goto fail;
	}
	if (!f->nconstraints) {
		loom_error_set(err, name, ps.tok.loc.line, ps.tok.loc.column,
		               "empty filter: expected a constraint such as 'FUNCTION <> self'");
		goto fail;
	}
	return f;
fail:
	loom_filter_free(f);
	return NULL;
}

struct loom_filter *loom_filter_read(const char *path, struct loom_error *err)
{
	size_t len = 0;
	char *text;
	struct loom_filter *f;

	if (!strcmp(path, "-")) {
		size_t cap = 0;
		ssize_t n;

		text = NULL;
		n = getdelim(&text, &cap, '\0', stdin);
		len = n > 0 ? (size_t)n : 0;
		if (!text)
			text = loom_xstrdup("");
	} else {
		text = loom_read_file(path, &len);
	}
	if (!text) {
		loom_error_set(err, path, 0, 0, "cannot read filter: %s", strerror(errno));
		return NULL;
	}
	if (strlen(text) != len) {
		loom_error_set(err, path, 0, 0, "not a filter: the file contains NUL bytes");
		free(text);
		return NULL;
	}
	f = loom_filter_parse(path, text, err);
	free(text);
	return f;
}

static void free_event(struct loom_event *e)
{
	free(e->file);
	free(e->function);
}

void loom_filter_free(struct loom_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nconstraints; i++) {
		struct loom_constraint *c = &f->constraints[i];

		for (size_t j = 0; j < c->nregions; j++) {
			free(c->regions[j].function);
			free(c->regions[j].file);
			free_event(&c->regions[j].from);
			free_event(&c->regions[j].to);
		}
		for (size_t j = 0; j < c->nevents; j++)
			free_event(&c->events[j]);
		free(c->regions);
		free(c->events);
	}
	free(f->constraints);
	free(f->name);
	free(f->text);
	free(f);
}

/* ======================================================================
 * Resolution against the manifest
 * ====================================================================== */

struct resolver {
	const struct loom_filter *f;
	const struct loom_manifest *m;
	struct loom_error *err;
	struct loom_compiled *out;
	unsigned **fn_hooks;   /* per function: its hook ids */
	size_t *fn_nhooks, *fn_caps;
	unsigned char *in_danger; /* per hook */
	unsigned char *in_region; /* per hook: inside an exclusion region (for warnings) */
	bool exclusion;           /* compiling an exclusion region: mark in_region too */
	bool all_slow;            /* a unilateral region: every thread must meet hooks */
	/* For queue_callees: the functions by name, and what a call through
	 * a pointer may reach. */
	struct named { const char *name; unsigned fn; } *by_name;
	struct loom_indirect *indirect;
};

static int at(struct resolver *r, struct loom_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int at(struct resolver *r, struct loom_loc loc, const char *fmt, ...)
{
	char text[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return loom_error_set(r->err, r->f->name, loc.line, loc.column, "%s", text);
}

/* FILE may be any suffix of a manifest path that starts at a '/'. */
static int resolve_file(struct resolver *r, const char *file, struct loom_loc loc, unsigned *out)
{
	return loom_manifest_find_file(r->m, file, out, r->err, r->f->name, loc.line, loc.column);
}

/* A filter names pure function FN (loom_function.pure), written at LOC. */
static int pure_refused(struct resolver *r, struct loom_loc loc, unsigned fn)
{
	const struct loom_function *f = &r->m->functions[fn];

	return at(r, loc, "function '%s' (%s:%u) touches no memory but its own parameters and locals: no race "
	          "can involve it, and it runs without hooks; name the statements that call it instead",
	          f->name, r->m->files[f->file].path, f->line);
}

static int resolve_function(struct resolver *r, const char *name, struct loom_loc loc, unsigned *out)
{
	const struct loom_manifest *m = r->m;
	size_t found = 0, best = (size_t)-1;
	char near[300] = "";

	for (size_t i = 0; i < m->nfunctions; i++)
		if (!strcmp(m->functions[i].name, name) && found++ == 0)
			*out = (unsigned)i;
	if (found == 1 && m->functions[*out].pure)
		return pure_refused(r, loc, *out);
	if (found == 1)
		return 0;
	if (found > 1)
		return at(r, loc, "function '%s' is defined in %zu files (static); name it by FILE:LINE-LINE instead",
		          name, found);
	for (size_t i = 0; i < m->nfunctions; i++) {
		size_t d = loom_edit_distance(name, m->functions[i].name);

		if (d < best)
			best = d;
	}
	for (size_t i = 0; i < m->nfunctions && best <= strlen(name) / 2 + 1; i++)
		if (loom_edit_distance(name, m->functions[i].name) == best && strlen(near) < sizeof near - 80)
			snprintf(near + strlen(near), sizeof near - strlen(near), "%s'%s'", near[0] ? ", " : "",
			         m->functions[i].name);
	if (near[0])
		return at(r, loc, "unknown function '%s' (did you mean %s?)", name, near);
	return at(r, loc, "unknown function '%s': no function of that name was rewritten", name);
}

static void add_op(struct resolver *r, unsigned hook, enum loom_op_kind kind, unsigned lock, unsigned region)
{
	struct loom_image_op *op = LOOM_PUSH(r->out->ops, r->out->nops, r->out->ops_cap);

	*op = (struct loom_image_op){ hook, (loom_u16)kind, (loom_u16)lock, region };
}

static void danger_hook(struct resolver *r, unsigned id)
{
	r->in_danger[id] = 1;
	if (r->exclusion)
		r->in_region[id] = 1;
}

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->fn > y->fn) - (x->fn < y->fn);
}

/* Builds R's function indexes (by_name, indirect): a search of every
 * function per call made `loom check` of a line range in binutils' objdump
 * take 8 s. */
static void index_functions(struct resolver *r)
{
	const struct loom_manifest *m = r->m;

	r->by_name = loom_xcalloc(m->nfunctions + 1, sizeof *r->by_name);
	for (size_t g = 0; g < m->nfunctions; g++)
		r->by_name[g] = (struct named){ m->functions[g].name, (unsigned)g };
	loom_sort(r->by_name, m->nfunctions, sizeof *r->by_name, cmp_named);
	r->indirect = loom_indirect_new(m);
}

/* The index in R->by_name of the first function named NAME, or where it
 * would be. */
static size_t first_named(const struct resolver *r, const char *name)
{
	size_t lo = 0, hi = r->m->nfunctions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(r->by_name[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_named(const struct resolver *r, size_t i, const char *name)
{
	return i < r->m->nfunctions && !strcmp(r->by_name[i].name, name);
}

/* Whether call C, made by function CALLER, hands a function pointer to a
 * function of the tree (its passed_to), whose own calls through pointers
 * say where it goes: then C is no call.  By name: a function of another
 * file counts only if it is not static. */
static bool passed_into_tree(const struct resolver *r, unsigned caller, const struct loom_call *c)
{
	const char *name = c->passed_to;

	for (size_t i = name ? first_named(r, name) : r->m->nfunctions; is_named(r, i, name); i++) {
		const struct loom_function *g = &r->m->functions[r->by_name[i].fn];

		if (!g->is_static || g->file == r->m->functions[caller].file)
			return true;
	}
	return false;
}

/* Whether call C of function CALLER may reach function FN (by name, or
 * through a pointer). */
static bool call_reaches(const struct resolver *r, unsigned caller, const struct loom_call *c, unsigned fn)
{
	const char *name = loom_call_target(c);

	if (passed_into_tree(r, caller, c))
		return false;
	if (name)
		return !strcmp(name, r->m->functions[fn].name);
	return r->m->functions[fn].address_taken && loom_indirect_reaches(r->indirect, c->type, fn);
}

/* What a walk down the calls found: per function, whether it was reached,
 * and from where first (for loom_compiled_why). */
struct reach {
	unsigned *from;                /* the calling function + 1; 0: not reached */
	const struct loom_call **call; /* the call that reached it */
	unsigned *queue;
	size_t head, tail;
};

static void queue_one(struct reach *w, unsigned g, unsigned from, const struct loom_call *c)
{
	if (!w->from[g]) {
		w->from[g] = from + 1;
		w->call[g] = c;
		w->queue[w->tail++] = g;
	}
}

/* Queues every function that call C of function FROM may reach: by name (a
 * direct call, or a function's address passed to a function outside the
 * tree, which may call it), or for a call through a pointer those of its
 * type (cli/indirect.h). */
static void queue_callees(const struct resolver *r, unsigned from, const struct loom_call *c, struct reach *w)
{
	const char *name = loom_call_target(c);

	if (passed_into_tree(r, from, c))
		return;
	if (!name) {
		size_t n;
		const unsigned *fns = loom_indirect_targets(r->indirect, c->type, &n);

		for (size_t i = 0; i < n; i++)
			queue_one(w, fns[i], from, c);
		return;
	}
	for (size_t i = first_named(r, name); is_named(r, i, name); i++)
		queue_one(w, r->by_name[i].fn, from, c);
}

/* Every function that the calls of function FN flagged in PICK (one flag
 * per call) may reach, transitively; free with reach_free. */
static struct reach reachable_from(const struct resolver *r, unsigned fn, const unsigned char *pick)
{
	const struct loom_manifest *m = r->m;
	const struct loom_function *f = &m->functions[fn];
	struct reach w = { loom_xcalloc(m->nfunctions + 1, sizeof *w.from),
	                   loom_xcalloc(m->nfunctions + 1, sizeof *w.call),
	                   loom_xcalloc(m->nfunctions + 1, sizeof *w.queue), 0, 0 };

	for (size_t c = 0; c < f->ncalls; c++)
		if (pick[c])
			queue_callees(r, fn, &f->calls[c], &w);
	while (w.head < w.tail) {
		unsigned g = w.queue[w.head++];

		for (size_t c = 0; c < m->functions[g].ncalls; c++)
			queue_callees(r, g, &m->functions[g].calls[c], &w);
	}
	return w;
}

static void reach_free(struct reach *w)
{
	free(w->from);
	free(w->call);
	free(w->queue);
}

/* The same for FN's calls on lines FIRST..LAST or, with SLOT nonzero, only
 * those of the statement whose slot that is. */
static struct reach reachable(const struct resolver *r, unsigned fn, unsigned first, unsigned last, unsigned slot)
{
	const struct loom_function *f = &r->m->functions[fn];
	unsigned char *pick = loom_xcalloc(f->ncalls + 1, 1);
	struct reach w;

	for (size_t c = 0; c < f->ncalls; c++)
		pick[c] = slot ? f->calls[c].slot == slot : f->calls[c].line >= first && f->calls[c].line <= last;
	w = reachable_from(r, fn, pick);
	free(pick);
	return w;
}

/* Marks every hook of the functions W reached from FN's calls as
 * dangerous, noting why (FN's calls are dangerous as WHY says), and frees
 * W.  Returns whether FN itself was reached. */
static bool danger_functions(struct resolver *r, struct reach *w, unsigned fn, enum loom_why why)
{
	struct loom_compiled *out = r->out;
	bool self = w->from[fn];

	if (!out->root[fn])
		out->root[fn] = (unsigned char)why;
	for (size_t g = 0; g < r->m->nfunctions; g++) {
		if (!w->from[g])
			continue;
		if (!out->via[g] && !out->root[g]) {
			out->via[g] = w->call[g];
			out->via_fn[g] = w->from[g] - 1;
		}
		for (size_t h = 0; h < r->fn_nhooks[g]; h++)
			danger_hook(r, r->fn_hooks[g][h]);
	}
	reach_free(w);
	return self;
}

/* Marks the hooks of every function reachable from FN's calls on lines
 * FIRST..LAST as dangerous.  Returns whether FN itself is reachable. */
static bool danger_callees(struct resolver *r, unsigned fn, unsigned first, unsigned last)
{
	struct reach w = reachable(r, fn, first, last, 0);

	return danger_functions(r, &w, fn, LOOM_WHY_REGION);
}

/* Whether exit slot HOOK leaves its function (and not a loop twin, back to
 * the fast loop's continuation: a frame there did not run the entry). */
static bool leaves_function(const struct loom_manifest *m, unsigned hook)
{
	return m->slots[hook - 1].copy != LOOM_COPY_TWIN;
}

/* Region F (entry .. any exit). */
static void compile_function_region(struct resolver *r, unsigned fn, unsigned lock)
{
	const struct loom_function *f = &r->m->functions[fn];
	bool recursive = danger_callees(r, fn, 0, UINT_MAX);

	add_op(r, f->entry, LOOM_OP_ENTER, lock, 0);
	for (size_t i = 0; i < f->nexits; i++)
		if (leaves_function(r->m, f->exits[i]))
			add_op(r, f->exits[i], LOOM_OP_LEAVE, lock, 0);
	/* A thread paused at F's entry cond_break has not entered F yet. */
	for (size_t h = 0; h < r->fn_nhooks[fn]; h++)
		if (r->fn_hooks[fn][h] != f->brk || recursive)
			danger_hook(r, r->fn_hooks[fn][h]);
}

/* The slot of the first statement that starts on FILE:LINE (written at
 * LOC): 0 with *SLOT set, or -1 with an error that lists the nearest lines
 * where a statement starts. */
static int resolve_line(struct resolver *r, const char *path, unsigned line, struct loom_loc loc,
                        unsigned *slot)
{
	const struct loom_manifest *m = r->m;
	unsigned file = 0, start = 0, below = 0, above = 0;

	if (resolve_file(r, path, loc, &file) < 0)
		return -1;
	for (size_t i = 0; i < m->nslots; i++) {
		const struct loom_slot *s = &m->slots[i];

		if (s->file != file || !loom_kind_is_statement(s->kind))
			continue;
		if (s->line == line) {
			if (!start || s->column < m->slots[start - 1].column)
				start = s->id;
		} else if (s->line < line && s->line > below) {
			below = s->line;
		} else if (s->line > line && (!above || s->line < above)) {
			above = s->line;
		}
	}
	if (!start) {
		char near[64] = "";

		for (size_t i = 0; i < m->nfunctions; i++)
			if (m->functions[i].pure && m->functions[i].file == file && m->functions[i].line <= line
			    && line <= m->functions[i].end_line)
				return pure_refused(r, loc, (unsigned)i);
		if (below && above)
			snprintf(near, sizeof near, " (nearest: %u, %u)", below, above);
		else if (below || above)
			snprintf(near, sizeof near, " (nearest: %u)", below ? below : above);
		return at(r, loc, "no statement starts on %s:%u%s", m->files[file].path, line, near);
	}
	*slot = start;
	return 0;
}

static int compile_lines_region(struct resolver *r, const struct loom_region *rg, unsigned lock)
{
	const struct loom_manifest *m = r->m;
	unsigned file, fn, start;
	const struct loom_function *f;

	if (resolve_line(r, rg->file, rg->first, rg->loc, &start) < 0)
		return -1;
	file = m->slots[start - 1].file;
	fn = m->slots[start - 1].function;
	f = &m->functions[fn];
	if (rg->last < rg->first)
		return at(r, rg->last_loc, "the region's end (line %u) comes before its start (line %u)",
		          rg->last, rg->first);
	if (rg->last > f->end_line)
		return at(r, rg->last_loc, "the region %s:%u-%u leaves function '%s' (lines %u-%u)",
		          m->files[file].path, rg->first, rg->last, f->name, f->line, f->end_line);
	{
		/* A recursive call would leave the outer frame's range from the
		 * inner one (the runtime tracks ranges per thread, not per frame). */
		struct reach w = reachable(r, fn, 0, UINT_MAX, 0);
		bool recursive = w.from[fn];

		reach_free(&w);
		if (recursive)
			return at(r, rg->loc, "'%s' may call itself: line ranges in recursive functions are not "
			          "supported; use the function ('%s <> self') instead", f->name, f->name);
	}
	{
		unsigned region = r->out->nregions++;

		add_op(r, start, LOOM_OP_ENTER_RANGE, lock, region);
		/* Leaving: any statement or cond_break of F outside the lines, or
		 * any exit. */
		for (size_t h = 0; h < r->fn_nhooks[fn]; h++) {
			const struct loom_slot *s = &m->slots[r->fn_hooks[fn][h] - 1];
			bool outside = s->line < rg->first || s->line > rg->last;

			/* A loop's cond_break outside the lines is a back edge out. */
			if (((loom_kind_is_statement(s->kind) || loom_kind_is_break(s->kind)) && outside)
			    || s->kind == LOOM_KIND_EXIT)
				add_op(r, s->id, LOOM_OP_LEAVE_RANGE, lock, region);
			else if (!outside && s->kind != LOOM_KIND_EXIT)
				danger_hook(r, s->id);
		}
	}
	danger_callees(r, fn, rg->first, rg->last);
	return 0;
}

/* The hooks that run next after statement slot ID in its function: its
 * successors, seen through the statement's own blocking markers (a blocking
 * hook that follows it is part of it).  A malloc'd list, *N long. */
static unsigned *after_statement(const struct loom_manifest *m, unsigned id, size_t *n)
{
	const struct loom_function *f = &m->functions[m->slots[id - 1].function];
	unsigned *todo = loom_xcalloc(f->nedges + 1, sizeof *todo), *out = NULL;
	size_t ntodo = 0, cap = 0;
	unsigned char *seen = loom_xcalloc(m->nslots + 1, 1);

	*n = 0;
	todo[ntodo++] = id;
	seen[id] = 1;
	while (ntodo) {
		unsigned from = todo[--ntodo];
		size_t ne;
		const struct loom_edge *e = loom_function_edges_from(f, from, &ne);

		for (size_t i = 0; i < ne; i++) {
			unsigned to = e[i].to;

			if (seen[to])
				continue;
			seen[to] = 1;
			if (m->slots[to - 1].kind == LOOM_KIND_BLOCKING && from == id)
				todo[ntodo++] = to;
			else
				*LOOM_PUSH(out, *n, cap) = to;
		}
	}
	free(todo);
	free(seen);
	return out;
}

/* Appends to QUEUE the successors of hook FROM in function F that are not
 * in SEEN (nor, if END is not NULL, flagged there), marking them seen. */
static void queue_successors(const struct loom_function *f, unsigned from, unsigned char *seen,
                             const unsigned char *end, unsigned *queue, size_t *nqueue)
{
	size_t ne;
	const struct loom_edge *e = loom_function_edges_from(f, from, &ne);

	for (size_t i = 0; i < ne; i++)
		if (!seen[e[i].to] && !(end && end[e[i].to])) {
			seen[e[i].to] = 1;
			queue[(*nqueue)++] = e[i].to;
		}
}

/* Whether one of hooks TO may run after one of hooks FROM along the
 * control flow of their (one) function. */
static bool reaches(const struct loom_manifest *m, const unsigned *from, size_t nfrom, const unsigned *to,
                    size_t nto)
{
	const struct loom_function *f = &m->functions[m->slots[from[0] - 1].function];
	unsigned char *seen = loom_xcalloc(m->nslots + 1, 1);
	unsigned *todo = loom_xcalloc(m->nslots + nfrom + 1, sizeof *todo);
	size_t ntodo = 0;
	bool found = false;

	for (size_t i = 0; i < nfrom; i++)
		todo[ntodo++] = from[i];
	while (ntodo) {
		unsigned h = todo[--ntodo];

		queue_successors(f, h, seen, NULL, todo, &ntodo);
	}
	for (size_t i = 0; i < nto && !found; i++)
		found = seen[to[i]];
	free(seen);
	free(todo);
	return found;
}

/* Marks every hook of every function that statement slot ID calls, and its
 * blocking markers, as dangerous: a thread there is inside the statement. */
static void danger_statement(struct resolver *r, unsigned id)
{
	const struct loom_manifest *m = r->m;
	unsigned fn = m->slots[id - 1].function;
	size_t ne;
	const struct loom_edge *e = loom_function_edges_from(&m->functions[fn], id, &ne);

	struct reach w = reachable(r, fn, 0, 0, id);

	danger_functions(r, &w, fn, LOOM_WHY_FLOW);
	for (size_t i = 0; i < ne; i++)
		if (m->slots[e[i].to - 1].kind == LOOM_KIND_BLOCKING)
			danger_hook(r, e[i].to);
}

/* The hooks of event EV: a statement's slot, a function's entry slot, or
 * its exits.  Returns how many (*HOOKS malloc'd), or -1 with ERR set. */
static int resolve_event(struct resolver *r, const struct loom_event *ev, unsigned **hooks)
{
	const struct loom_function *f;
	unsigned fn;
	int n = 0;

	*hooks = NULL;
	if (ev->kind == LOOM_EV_LINE) {
		*hooks = loom_xcalloc(1, sizeof **hooks);
		return resolve_line(r, ev->file, ev->line, ev->loc, *hooks) < 0 ? -1 : 1;
	}
	if (resolve_function(r, ev->function, ev->loc, &fn) < 0)
		return -1;
	f = &r->m->functions[fn];
	if (ev->kind == LOOM_EV_ENTRY) {
		*hooks = loom_xcalloc(1, sizeof **hooks);
		(*hooks)[0] = f->entry;
		return 1;
	}
	*hooks = loom_xcalloc(f->nexits + 1, sizeof **hooks);
	for (size_t i = 0; i < f->nexits; i++)
		if (leaves_function(r->m, f->exits[i]))
			(*hooks)[n++] = f->exits[i];
	return n;
}

/* Order A > B, semaphore LOCK: B waits for A's count.  A happens when its
 * statement has run (posted at the hooks that follow it, if this thread
 * marked it at its slot), when its function is entered, or when it returns;
 * a thread inside A's statement when the filter comes would never post it,
 * so A's insides are its dangerous region. */
static int compile_order_pair(struct resolver *r, const struct loom_event *a, const struct loom_event *b,
                              unsigned lock)
{
	unsigned *ah = NULL, *bh = NULL;
	int na = resolve_event(r, a, &ah), nb = na < 0 ? -1 : resolve_event(r, b, &bh);

	if (na >= 0 && nb >= 0) {
		const struct loom_slot *sa = &r->m->slots[ah[0] - 1], *sb = &r->m->slots[bh[0] - 1];

		/* In one function, B before A on every path: a thread that runs
		 * both waits at B for an A that only it would run later. */
		if (sa->function == sb->function && !reaches(r->m, ah, (size_t)na, bh, (size_t)nb)
		    && reaches(r->m, bh, (size_t)nb, ah, (size_t)na))
			*LOOM_PUSH(r->out->warnings, r->out->nwarnings, r->out->warnings_cap) = loom_xasprintf(
				"%s:%u:%u: warning: in '%s' the second event (%s:%u) runs before the first (%s:%u) and "
				"never after it: a thread that runs both waits for itself", r->f->name, b->loc.line,
				b->loc.column, r->m->functions[sa->function].name, r->m->files[sb->file].path, sb->line,
				r->m->files[sa->file].path, sa->line);
		for (int i = 0; i < nb; i++)
			add_op(r, bh[i], LOOM_OP_WAIT, lock, a->count);
		if (a->kind == LOOM_EV_LINE) {
			size_t n;
			unsigned *next = after_statement(r->m, ah[0], &n);

			add_op(r, ah[0], LOOM_OP_MARK, lock, 0);
			for (size_t i = 0; i < n; i++)
				add_op(r, next[i], LOOM_OP_POST_MARKED, lock, 0);
			danger_statement(r, ah[0]);
			free(next);
		} else {
			for (int i = 0; i < na; i++)
				add_op(r, ah[i], LOOM_OP_POST, lock, 0);
		}
	}
	free(ah);
	free(bh);
	return na < 0 || nb < 0 ? -1 : 0;
}

static int compile_order(struct resolver *r, const struct loom_constraint *c, unsigned lock)
{
	const struct loom_event *last = &c->events[c->nevents - 1];

	if (last->count != 1)
		return at(r, last->loc, "{%u} counts the instances of an event that the next one waits for; "
		          "the last event of an order waits, so it takes no count", last->count);
	for (size_t i = 0; i + 1 < c->nevents; i++)
		if (compile_order_pair(r, &c->events[i], &c->events[i + 1], i ? r->out->nlocks++ : lock) < 0)
			return -1;
	return 0;
}

/* Marks as dangerous every hook a thread may reach from one of STARTS
 * before it reaches one of ENDS (DESIGN §5): along the control flow of a
 * function, into everything a call there may reach (all of it: the call
 * returns to where the walk goes on anyway), and, when the function
 * returns, on after every statement that calls it. */
static void danger_between(struct resolver *r, const unsigned *starts, size_t nstarts,
                           const unsigned *ends, size_t nends)
{
	const struct loom_manifest *m = r->m;
	unsigned char *end = loom_xcalloc(m->nslots + 1, 1), *seen = loom_xcalloc(m->nslots + 1, 1);
	unsigned char *returned = loom_xcalloc(m->nfunctions + 1, 1);
	unsigned *todo = loom_xcalloc(m->nslots + 1, sizeof *todo);
	size_t ntodo = 0;

	for (size_t i = 0; i < nends; i++)
		end[ends[i]] = 1;
	for (size_t i = 0; i < nstarts; i++)
		if (!seen[starts[i]]) {
			seen[starts[i]] = 1;
			todo[ntodo++] = starts[i];
		}
	while (ntodo) {
		unsigned h = todo[--ntodo];
		const struct loom_slot *s = &m->slots[h - 1];
		const struct loom_function *f = &m->functions[s->function];

		danger_hook(r, h);
		if (s->kind == LOOM_KIND_CALL)
			danger_statement(r, h);
		queue_successors(f, h, seen, end, todo, &ntodo);
		if (s->kind != LOOM_KIND_EXIT || s->copy == LOOM_COPY_TWIN || returned[s->function])
			continue;
		/* Out of F: on in every caller, after its call. */
		returned[s->function] = 1;
		for (size_t g = 0; g < m->nfunctions; g++) {
			const struct loom_function *caller = &m->functions[g];

			for (size_t c = 0; c < caller->ncalls; c++) {
				const struct loom_call *call = &caller->calls[c];

				if (call->slot && call_reaches(r, (unsigned)g, call, s->function))
					queue_successors(caller, call->slot, seen, end, todo, &ntodo);
			}
		}
	}
	free(end);
	free(seen);
	free(returned);
	free(todo);
}

/* Region {A, B}: from event A (inclusive) until event B is about to run
 * (a statement) or the function of B returns (FUNCTION:exit); per thread,
 * like a line range, so A and B may be in different functions. */
static int compile_events_region(struct resolver *r, const struct loom_region *rg, unsigned lock)
{
	unsigned *ah = NULL, *bh = NULL, region = r->out->nregions++;
	int na, nb = -1;

	if (rg->from.count != 1 || rg->to.count != 1)
		return at(r, rg->from.count != 1 ? rg->from.loc : rg->to.loc,
		          "a count {N} belongs to an event of an order ('>'), not of a region");
	na = resolve_event(r, &rg->from, &ah);
	if (na >= 0)
		nb = resolve_event(r, &rg->to, &bh);
	if (na >= 0 && nb >= 0) {
		const struct loom_slot *a = &r->m->slots[ah[0] - 1], *b = &r->m->slots[bh[0] - 1];

		if (a->function == b->function && !reaches(r->m, ah, (size_t)na, bh, (size_t)nb)) {
			nb = at(r, rg->to.loc, "the region's end (%s:%u) cannot follow its start (%s:%u) in '%s'",
			        r->m->files[b->file].path, b->line, r->m->files[a->file].path, a->line,
			        r->m->functions[a->function].name);
		} else {
			for (int i = 0; i < na; i++)
				add_op(r, ah[i], LOOM_OP_ENTER_RANGE, lock, region);
			for (int i = 0; i < nb; i++)
				add_op(r, bh[i], LOOM_OP_LEAVE_RANGE, lock, region);
			danger_between(r, ah, (size_t)na, bh, (size_t)nb);
		}
	}
	free(ah);
	free(bh);
	return na < 0 || nb < 0 ? -1 : 0;
}

/* Lines of function FN where its fast path skips what this filter needs:
 * its lock-taking ops, and calls to a function without entry switch that
 * must run slow (NEEDS), with their statements' slots, and a whole loop for
 * a call in its header (a hook on *LO..*HI marks each).  Returns false when
 * there are none. */
static bool skipped_lines(const struct resolver *r, size_t fn, const unsigned char *needs,
                          unsigned *lo, unsigned *hi)
{
	const struct loom_manifest *m = r->m;
	const struct loom_function *f = &m->functions[fn];

	*lo = UINT_MAX;
	*hi = 0;
	for (size_t i = 0; i < r->out->nops; i++) {
		const struct loom_slot *s = &m->slots[r->out->ops[i].hook - 1];
		int kind = r->out->ops[i].kind & ~LOOM_OP_SOLO;

		/* Skipping an order's post loses one event, as if it ran
		 * before the filter came: not a danger of its own. */
		if (s->function == fn && (kind == LOOM_OP_ENTER || kind == LOOM_OP_ENTER_RANGE || kind == LOOM_OP_WAIT)) {
			*lo = s->line < *lo ? s->line : *lo;
			*hi = s->line > *hi ? s->line : *hi;
		}
	}
	for (size_t c = 0; c < f->ncalls; c++)
		for (size_t g = 0; g < m->nfunctions && f->calls[c].callee; g++)
			if (needs[g] && loom_callers_switch(&m->functions[g])
			    && loom_call_may_reach(m, f->file, &f->calls[c], &m->functions[g])) {
				/* With its statement's slot, which may start a line
				 * higher; without one (in a macro), the whole function. */
				const struct loom_slot *s = loom_manifest_slot(m, f->calls[c].slot);
				unsigned first = s ? s->line : f->line, last = s ? f->calls[c].line : f->end_line;

				/* A loop's condition or increment: its slot runs once,
				 * the call on every pass. */
				for (size_t l = 0; s && l < f->nloops; l++)
					if (f->loops[l].line == s->line) {
						first = f->loops[l].line;
						last = f->loops[l].end_line > last ? f->loops[l].end_line : last;
					}
				*lo = first < *lo ? first : *lo;
				*lo = f->calls[c].line < *lo ? f->calls[c].line : *lo;
				*hi = last > *hi ? last : *hi;
			}
	return *lo != UINT_MAX;
}

/* Whether the ops at hooks A and B are the same, in the same order. */
static bool same_ops(const struct loom_compiled *c, unsigned a, unsigned b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < c->nops && c->ops[i].hook != a)
			i++;
		while (j < c->nops && c->ops[j].hook != b)
			j++;
		if (i == c->nops || j == c->nops)
			return i == c->nops && j == c->nops;
		if (c->ops[i].kind != c->ops[j].kind || c->ops[i].lock != c->ops[j].lock
		    || c->ops[i].region != c->ops[j].region)
			return false;
		i++;
		j++;
	}
}

/* Whether FN may run wrapped (LOOM_FN_WRAP): its fast body between taking
 * locks at its entry slot and releasing them at its exit.  That needs an
 * entry switch, and every op of the filter in FN a lock at the entry slot
 * or an unlock at an exit slot, the same at every exit: whole-function
 * mutual exclusion (the runtime undoes the locks of an entry that let an
 * update through, and takes the switch again).  A unilateral filter needs
 * every function's hooks. */
static bool wrappable(const struct resolver *r, size_t fn)
{
	const struct loom_manifest *m = r->m;
	const struct loom_function *f = &m->functions[fn];

	if (r->all_slow || !f->wraps || !f->nexits)
		return false;
	for (size_t i = 0; i < r->out->nops; i++) {
		unsigned hook = r->out->ops[i].hook;
		bool at_exit = false;

		if (m->slots[hook - 1].function != fn)
			continue;
		if (hook == f->entry) {
			if (r->out->ops[i].kind != LOOM_OP_ENTER)
				return false;
			continue;
		}
		for (size_t e = 0; e < f->nexits && !at_exit; e++)
			at_exit = f->exits[e] == hook && leaves_function(m, hook);
		if (!at_exit || r->out->ops[i].kind != LOOM_OP_LEAVE)
			return false;
	}
	for (size_t e = 1; e < f->nexits; e++)
		if (leaves_function(m, f->exits[e]) && !same_ops(r->out, f->exits[0], f->exits[e]))
			return false;
	return true;
}

/* Whether some path of F's edges leads from hook B, not through its edge to
 * SKIP (0: none), to hook TARGET (0: none) or to a hook on lines LO..HI. */
static bool path_to(const struct loom_manifest *m, const struct loom_function *f, unsigned b, unsigned skip,
                    unsigned target, unsigned lo, unsigned hi)
{
	unsigned char *seen = loom_xcalloc(m->nslots + 1, 1);
	unsigned *queue = loom_xcalloc(m->nslots + 1, sizeof *queue);
	size_t n = 0;
	bool found = false;

	seen[b] = seen[skip] = 1;
	queue_successors(f, b, seen, NULL, queue, &n);
	seen[skip] = 0;
	for (size_t i = 0; i < n; i++)
		queue_successors(f, queue[i], seen, NULL, queue, &n);
	for (size_t i = 0; i < n && !found; i++)
		found = queue[i] == target || (m->slots[queue[i] - 1].line >= lo && m->slots[queue[i] - 1].line <= hi);
	free(seen);
	free(queue);
	return found;
}

/* Whether a thread paused at hook B of F (a fast frame) passes a loop's
 * back-edge check before it reaches any of F's skipped lines LO..HI: B
 * leads only to the body or the exit of a loop whose twin holds all of them
 * (or to a line outside that loop), and to its exit too, so it is in the
 * loop's header or at the end of its body; or only to the check itself (the
 * end of a `for (;;)` body).  The next pass checks first, at the top of a
 * while or for body and in a do loop's condition.  And the way out never
 * comes back to the loop (a do loop's first pass is not checked; what
 * leads only into the body may precede one).  The case of a server blocked
 * in its request loop's condition, or at the end of its body. */
static bool enters_twin(const struct loom_manifest *m, const struct loom_function *f, unsigned b, unsigned lo,
                        unsigned hi)
{
	size_t n;
	const struct loom_edge *e = loom_function_edges_from(f, b, &n);

	for (size_t l = 0; l < f->nloops; l++) {
		const struct loom_loop *loop = &f->loops[l];
		bool exits = false, checks = false, inside = false;

		if (!loop->twin_exit || !loop->brk || !(loop->line < lo && hi < loop->end_line))
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct loom_slot *s = loom_manifest_slot(m, e[i].to);

			if (e[i].to == loop->twin_exit)
				exits = true;
			else if (e[i].to == loop->brk)
				checks = true;
			else if (!s || (s->line >= loop->line && s->line <= loop->end_line))
				inside = true;
		}
		/* Only the check may come next (the end of a `for (;;)` body):
		 * the twin; then out of it, never back. */
		if ((exits || checks) && !inside && !path_to(m, f, b, loop->brk, loop->brk, lo, hi)
		    && !path_to(m, f, loop->twin_exit, 0, loop->brk, lo, hi))
			return true;
	}
	return false;
}

/* Marks in LEADS (a flag per hook id, zero for F's hooks on entry) every
 * hook of F (function FN) from which a path of F's edges reaches, in none
 * or more steps, a hook on lines LO..HI: one walk back along F's edges. */
static void leads_to_lines(const struct resolver *r, unsigned fn, unsigned lo, unsigned hi, unsigned char *leads)
{
	const struct loom_manifest *m = r->m;
	const struct loom_function *f = &m->functions[fn];
	bool changed = true;

	for (size_t h = 0; h < r->fn_nhooks[fn]; h++) {
		unsigned id = r->fn_hooks[fn][h];

		leads[id] = m->slots[id - 1].line >= lo && m->slots[id - 1].line <= hi;
	}
	/* Edges are sorted by FROM; a loop's back edges make this take a few
	 * rounds, each linear in the edges. */
	while (changed) {
		changed = false;
		for (size_t e = f->nedges; e-- > 0;)
			if (leads[f->edges[e].to] && !leads[f->edges[e].from])
				leads[f->edges[e].from] = 1, changed = true;
	}
}

/* For a fast frame of function FN whose fast path skips lines LO..HI
 * (skipped_lines): marks as dangerous everything the calls of FN may reach
 * after which the frame can go on to a skipped line; a thread paused in
 * one would, after the install, run that line's fast code.  So: a call
 * without a statement slot (in a macro), one whose statement reaches into
 * LO..HI, and one whose statement leads to LO..HI (LEADS, from
 * leads_to_lines) other than through a twinned loop's back-edge check
 * (enters_twin).  A call from which no path comes back to a skipped line
 * (a server's poll() after its last use of the filtered function in this
 * pass, before the loop's check) is safe to be inside. */
static void danger_fast_callees(struct resolver *r, unsigned fn, unsigned lo, unsigned hi,
                                const unsigned char *leads)
{
	const struct loom_manifest *m = r->m;
	const struct loom_function *f = &m->functions[fn];
	unsigned char *pick = loom_xcalloc(f->ncalls + 1, 1);

	for (size_t c = 0; c < f->ncalls; c++) {
		const struct loom_slot *s = loom_manifest_slot(m, f->calls[c].slot);
		size_t ne;
		const struct loom_edge *e;
		bool leads_on = false;

		if (c && f->calls[c].slot && f->calls[c].slot == f->calls[c - 1].slot) {
			pick[c] = pick[c - 1]; /* the same statement */
			continue;
		}
		if (!s || (s->line <= hi && f->calls[c].line >= lo)) {
			pick[c] = 1;
			continue;
		}
		e = loom_function_edges_from(f, f->calls[c].slot, &ne);
		for (size_t i = 0; i < ne && !leads_on; i++)
			leads_on = leads[e[i].to];
		pick[c] = leads_on && !enters_twin(m, f, f->calls[c].slot, lo, hi);
	}
	struct reach w = reachable_from(r, fn, pick);

	danger_functions(r, &w, fn, LOOM_WHY_FAST_FRAME);
	free(pick);
}

/* Which functions must run slow for the filter: those with ops, and, for a
 * function without entry switch, its callers (loom_call_may_reach),
 * transitively.
 * Then, for fast frames: a function with a slow copy runs its ops only
 * there and in its loop twins; a thread paused while a fast frame of such a
 * function F is on its stack would, after the install, run the rest of that
 * frame without them.  So wherever F's fast path skips something (see
 * skipped_lines): what F calls before it may go on to skip it is unsafe
 * (danger_fast_callees), and so are F's blocking
 * sites from which a path leads there (unless enters_twin), and F's loop
 * cond_breaks, except that of a loop with a twin whose body holds all of it
 * (a thread paused there goes on in the twin, whose exit hook releases what
 * it took). */
enum { OWN_OPS = 1, CALLS_NEEDED = 2 }; /* why a function must run slow (bits) */

static void switch_and_fast_frames(struct resolver *r)
{
	const struct loom_manifest *m = r->m;
	unsigned char *needs = loom_xcalloc(m->nfunctions + 1, 1), *leads = loom_xcalloc(m->nslots + 1, 1);
	bool changed = true;

	for (size_t i = 0; i < r->out->nops; i++)
		needs[m->slots[r->out->ops[i].hook - 1].function] = OWN_OPS;
	while (changed) {
		changed = false;
		for (size_t g = 0; g < m->nfunctions; g++) {
			if (!needs[g] || !loom_callers_switch(&m->functions[g]))
				continue;
			for (size_t fn = 0; fn < m->nfunctions; fn++) {
				const struct loom_function *f = &m->functions[fn];

				/* With ops of its own too: it cannot run wrapped
				 * either, since its fast body calls G's. */
				for (size_t c = 0; c < f->ncalls && !(needs[fn] & CALLS_NEEDED); c++)
					if (loom_call_may_reach(m, f->file, &f->calls[c], &m->functions[g]))
						needs[fn] |= CALLS_NEEDED, changed = true;
			}
		}
	}
	for (size_t fn = 0; fn < m->nfunctions; fn++) {
		const struct loom_function *f = &m->functions[fn];
		unsigned lo, hi;

		if (needs[fn] || r->all_slow)
			*LOOM_PUSH(r->out->fns, r->out->nfns, r->out->fns_cap) =
				(unsigned)fn | (needs[fn] == OWN_OPS && wrappable(r, fn) ? LOOM_FN_WRAP : 0);
		if (!needs[fn] || !f->slow_copy || !skipped_lines(r, fn, needs, &lo, &hi))
			continue;
		leads_to_lines(r, (unsigned)fn, lo, hi, leads);
		danger_fast_callees(r, (unsigned)fn, lo, hi, leads);
		for (size_t h = 0; h < r->fn_nhooks[fn]; h++)
			if (m->slots[r->fn_hooks[fn][h] - 1].kind == LOOM_KIND_BLOCKING
			    && !enters_twin(m, f, r->fn_hooks[fn][h], lo, hi)
			    && path_to(m, f, r->fn_hooks[fn][h], 0, 0, lo, hi))
				danger_hook(r, r->fn_hooks[fn][h]);
		for (size_t l = 0; l < f->nloops; l++) {
			const struct loom_loop *loop = &f->loops[l];

			/* Strictly inside: the loop's first and last lines may hold
			 * its header and code before or after it. */
			if (loop->brk && !(loop->twin_exit && loop->line < lo && hi < loop->end_line))
				danger_hook(r, loop->brk);
		}
	}
	free(needs);
	free(leads);
}

/* Whether CALLEE waits for another thread to do something: inside an
 * exclusion region, that thread may need the region first (or, with ALONE,
 * be paused by a unilateral one while it holds what CALLEE waits for). */
static bool waits_for_others(const char *callee, bool alone)
{
	static const char *const waits[] = {
		"pthread_join", "thrd_join", "pthread_cond_wait", "pthread_cond_timedwait",
		"pthread_cond_clockwait", "sem_wait", "sem_timedwait", "sem_clockwait", "pthread_barrier_wait",
	};
	static const char *const locks[] = {
		"pthread_mutex_lock", "pthread_mutex_timedlock", "pthread_mutex_clocklock", "pthread_rwlock_rdlock",
		"pthread_rwlock_wrlock", "pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock",
		"pthread_rwlock_clockrdlock", "pthread_rwlock_clockwrlock",
	};

	for (size_t i = 0; callee && i < sizeof waits / sizeof *waits; i++)
		if (!strcmp(callee, waits[i]))
			return true;
	for (size_t i = 0; alone && callee && i < sizeof locks / sizeof *locks; i++)
		if (!strcmp(callee, locks[i]))
			return true;
	return false;
}

/* Warnings for filters that can hang the program: a blocking wait for
 * another thread inside one of its exclusion regions. */
static void hang_warnings(struct resolver *r)
{
	const struct loom_manifest *m = r->m;

	for (unsigned id = 1; id <= m->nslots; id++) {
		const struct loom_slot *s = &m->slots[id - 1];

		if (r->in_region[id] && s->kind == LOOM_KIND_BLOCKING && waits_for_others(s->callee, r->all_slow))
			*LOOM_PUSH(r->out->warnings, r->out->nwarnings, r->out->warnings_cap) = loom_xasprintf(
				"%s: warning: %s:%u: %s waits for another thread inside the filter's region: if that "
				"thread needs the region first%s, the program hangs", r->f->name, m->files[s->file].path,
				s->line, s->callee,
				r->all_slow ? " or is paused by '<> *' while it holds what is waited for" : "");
	}
}

/* The runtime takes at most LOOM_IMAGE_MAX_LOCKS locks and
 * LOOM_IMAGE_MAX_REGIONS line or event regions per filter (rt/loom.h); past
 * them a push would only be told the image is malformed.  Counts them as
 * loom_filter_compile hands them out.  Returns 0, or -1 with ERR at the
 * first constraint or region past a limit. */
static int check_limits(struct resolver *r)
{
	size_t locks = 0, regions = 0;

	for (size_t i = 0; i < r->f->nconstraints; i++) {
		const struct loom_constraint *c = &r->f->constraints[i];

		locks += c->kind == LOOM_ORDER ? c->nevents - 1 : 1;
		if (locks > LOOM_IMAGE_MAX_LOCKS)
			return at(r, c->loc, "too many constraints: a filter may use %u locks (one per constraint, "
			          "one per '>' of an order)", LOOM_IMAGE_MAX_LOCKS);
		for (size_t j = 0; j < c->nregions; j++)
			if (c->regions[j].kind != LOOM_REGION_FUNCTION && ++regions > LOOM_IMAGE_MAX_REGIONS)
				return at(r, c->regions[j].loc, "too many regions: a filter may have %u line or "
				          "event regions", LOOM_IMAGE_MAX_REGIONS);
	}
	return 0;
}

int loom_filter_compile(const struct loom_filter *flt, const struct loom_manifest *m,
                        struct loom_compiled *out, struct loom_error *err)
{
	struct resolver r = { .f = flt, .m = m, .err = err, .out = out };
	int ret = 0;

	memset(out, 0, sizeof *out);
	out->via = loom_xcalloc(m->nfunctions + 1, sizeof *out->via);
	out->via_fn = loom_xcalloc(m->nfunctions + 1, sizeof *out->via_fn);
	out->root = loom_xcalloc(m->nfunctions + 1, sizeof *out->root);
	r.fn_hooks = loom_xcalloc(m->nfunctions + 1, sizeof *r.fn_hooks);
	r.fn_nhooks = loom_xcalloc(m->nfunctions + 1, sizeof *r.fn_nhooks);
	r.fn_caps = loom_xcalloc(m->nfunctions + 1, sizeof *r.fn_caps);
	r.in_danger = loom_xcalloc(m->nslots + 1, 1);
	r.in_region = loom_xcalloc(m->nslots + 1, 1);
	index_functions(&r);
	for (size_t i = 0; i < m->nslots; i++) {
		unsigned fn = m->slots[i].function;

		*LOOM_PUSH(r.fn_hooks[fn], r.fn_nhooks[fn], r.fn_caps[fn]) = m->slots[i].id;
	}
	ret = check_limits(&r);
	for (size_t i = 0; i < flt->nconstraints && !ret; i++) {
		const struct loom_constraint *c = &flt->constraints[i];
		unsigned lock = out->nlocks++;

		if (c->kind == LOOM_ORDER) {
			ret = compile_order(&r, c, lock);
			continue;
		}
		size_t first_op = out->nops;

		r.exclusion = true;
		for (size_t j = 0; j < c->nregions && !ret; j++) {
			const struct loom_region *rg = &c->regions[j];
			unsigned fn = 0;

			if (rg->kind == LOOM_REGION_EVENTS)
				ret = compile_events_region(&r, rg, lock);
			else if (rg->kind == LOOM_REGION_FUNCTION)
				ret = resolve_function(&r, rg->function, rg->loc, &fn) < 0 ? -1
				      : (compile_function_region(&r, fn, lock), 0);
			else
				ret = compile_lines_region(&r, rg, lock);
		}
		r.exclusion = false;
		/* R <> *: R's lock makes its holder run alone; the others pause at
		 * their next hook, so every function must run its hooks. */
		if (c->kind == LOOM_UNILATERAL) {
			for (size_t k = first_op; k < out->nops; k++)
				out->ops[k].kind |= LOOM_OP_SOLO;
			r.all_slow = true;
		}
	}
	if (!ret)
		hang_warnings(&r);
	if (!ret)
		switch_and_fast_frames(&r);
	for (size_t id = 1; id <= m->nslots; id++)
		if (r.in_danger[id])
			*LOOM_PUSH(out->danger, out->ndanger, out->danger_cap) = (unsigned)id;

	for (size_t i = 0; i <= m->nfunctions; i++)
		free(r.fn_hooks[i]);
	free(r.fn_hooks);
	free(r.fn_nhooks);
	free(r.fn_caps);
	free(r.in_danger);
	free(r.in_region);
	free(r.by_name);
	loom_indirect_free(r.indirect);
	if (ret)
		loom_compiled_free(out);
	return ret ? -1 : 0;
}

char *loom_compiled_why(const struct loom_compiled *c, const struct loom_manifest *m, unsigned hook)
{
	static const char *const roots[] = {
		[LOOM_WHY_NONE] = "?",
		[LOOM_WHY_REGION] = "in the region",
		[LOOM_WHY_FLOW] = "on the region's way",
		[LOOM_WHY_FAST_FRAME] = "a fast frame that goes on to code that must run slow",
	};
	const struct loom_slot *s = loom_manifest_slot(m, hook);
	unsigned g, *chain;
	size_t n = 0;
	char *text;

	if (!s || !c->via || (!c->via[s->function] && !c->root[s->function]))
		return NULL;
	/* The links only lead to functions found earlier: no cycle, but
	 * never more steps than functions. */
	chain = loom_xcalloc(m->nfunctions + 1, sizeof *chain);
	for (g = s->function; c->via[g] && n < m->nfunctions; g = c->via_fn[g])
		chain[n++] = g;
	text = loom_xasprintf("%s (%s)", m->functions[g].name, roots[c->root[g] < 4 ? c->root[g] : 0]);
	while (n-- > 0) {
		const struct loom_call *call = c->via[chain[n]];
		const struct loom_function *caller = &m->functions[c->via_fn[chain[n]]];
		char *longer = loom_xasprintf("%s -> %s (called at %s:%u%s%s%s)", text, m->functions[chain[n]].name,
		                              m->files[caller->file].path, call->line,
		                              call->taken ? ", passed to a function outside the tree" : "",
		                              !call->callee && !call->taken ? ", through a pointer to " : "",
		                              !call->callee && !call->taken ? (call->type ? call->type : "any function")
		                                                             : "");

		free(text);
		text = longer;
	}
	free(chain);
	return text;
}

void loom_compiled_free(struct loom_compiled *c)
{
	for (size_t i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c->ops);
	free(c->danger);
	free(c->fns);
	free(c->via);
	free(c->via_fn);
	free(c->root);
	memset(c, 0, sizeof *c);
}

const char *loom_op_name(unsigned kind)
{
	static const char *const alone[] = {
		[LOOM_OP_ENTER] = "lock, run alone",
		[LOOM_OP_LEAVE] = "unlock, run alone",
		[LOOM_OP_ENTER_RANGE] = "lock (range), run alone",
		[LOOM_OP_LEAVE_RANGE] = "unlock (range), run alone",
	};
	static const char *const names[] = {
		[LOOM_OP_ENTER] = "lock",
		[LOOM_OP_LEAVE] = "unlock",
		[LOOM_OP_ENTER_RANGE] = "lock (range)",
		[LOOM_OP_LEAVE_RANGE] = "unlock (range)",
		[LOOM_OP_WAIT] = "wait",
		[LOOM_OP_POST] = "post",
		[LOOM_OP_MARK] = "mark",
		[LOOM_OP_POST_MARKED] = "post (marked)",
	};

	if (kind & LOOM_OP_SOLO) {
		kind &= ~LOOM_OP_SOLO;
		return kind < sizeof alone / sizeof alone[0] && alone[kind] ? alone[kind] : "?";
	}
	return kind < sizeof names / sizeof names[0] && names[kind] ? names[kind] : "?";
}

/* ======================================================================
 * The image
 * ====================================================================== */

int loom_image_memfd(const struct loom_filter *f, const struct loom_manifest *m,
                     const struct loom_compiled *c, unsigned timeout_ms)
{
	struct loom_image im = { 0 };
	size_t text_len = strlen(f->text), size;
	unsigned char *buf;
	int fd, e;

	im.magic = LOOM_IMAGE_MAGIC;
	im.version = LOOM_IMAGE_VERSION;
	im.nhooks = (loom_u32)m->nslots;
	memcpy(im.manifest_id, m->id, LOOM_ID_LEN);
	im.timeout_ms = timeout_ms;
	im.text_off = sizeof im;
	im.text_len = (loom_u32)text_len;
	im.nlocks = c->nlocks;
	im.nregions = c->nregions;
	im.ops_off = (loom_u32)((im.text_off + text_len + 3) & ~(size_t)3);
	im.nops = (loom_u32)c->nops;
	im.danger_off = im.ops_off + (loom_u32)(c->nops * sizeof *c->ops);
	im.ndanger = (loom_u32)c->ndanger;
	im.fns_off = im.danger_off + (loom_u32)(c->ndanger * sizeof(loom_u32));
	im.nfns = (loom_u32)c->nfns;
	size = im.fns_off + c->nfns * sizeof(loom_u32);
	im.size = (loom_u32)size;
	buf = loom_xcalloc(size, 1);
	memcpy(buf, &im, sizeof im);
	memcpy(buf + im.text_off, f->text, text_len);
	memcpy(buf + im.ops_off, c->ops, c->nops * sizeof *c->ops);
	for (size_t i = 0; i < c->ndanger; i++) {
		loom_u32 id = c->danger[i];

		memcpy(buf + im.danger_off + i * sizeof id, &id, sizeof id);
	}
	for (size_t i = 0; i < c->nfns; i++) {
		loom_u32 fn = c->fns[i];

		memcpy(buf + im.fns_off + i * sizeof fn, &fn, sizeof fn);
	}
	fd = memfd_create("loom-filter", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto fail;
	if (write(fd, buf, size) != (ssize_t)size
	    || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	free(buf);
	return fd;
fail:
	free(buf);
	return -1;
}
