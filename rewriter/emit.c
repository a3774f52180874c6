/* The inline emitter: hooks sit in the one copy of each function body.
 * Every insertion is on the line of the code it belongs to, and contains no
 * newline, so every original line keeps its number. */
#include "emit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct edit {
	unsigned off;
	bool close;
	int rank;
	unsigned seq;
	char *text;
};

struct edits {
	struct edit *e;
	size_t n, cap;
};

static void add(struct edits *ed, unsigned off, bool close, int rank, char *text)
{
	struct edit *e = LOOM_PUSH(ed->e, ed->n, ed->cap);

	*e = (struct edit){ off, close, rank, (unsigned)ed->n, text };
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

static void emit_point(struct edits *ed, const struct rw_point *pt, struct loom_manifest *m,
                       unsigned file, unsigned fn)
{
	struct loom_function *f = &m->functions[fn];
	const char *d = pt->decl ? "_D" : "";
	unsigned id, exit_id;

	switch (pt->kind) {
	case RW_SLOT:
		id = loom_manifest_add_slot(m, LOOM_KIND_STMT, file, pt->line, pt->column, fn);
		add(ed, pt->off, false, pt->rank, loom_xasprintf("LOOM_SLOT%s(%u); ", d, id));
		break;
	case RW_RETURN:
		id = loom_manifest_add_slot(m, LOOM_KIND_STMT, file, pt->line, pt->column, fn);
		exit_id = loom_manifest_add_slot(m, LOOM_KIND_EXIT, file, pt->line, pt->column, fn);
		*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = exit_id;
		add(ed, pt->off, false, pt->rank,
		    loom_xasprintf("LOOM_SLOT(%u); LOOM_RETURN(%u); ", id, exit_id));
		break;
	case RW_BREAK:
		id = loom_manifest_add_slot(m, LOOM_KIND_BREAK, file, pt->line, pt->column, fn);
		add(ed, pt->off, false, pt->rank, loom_xasprintf("LOOM_COND_BREAK%s(%u); ", d, id));
		break;
	case RW_BLOCKING:
		id = loom_manifest_add_slot(m, LOOM_KIND_BLOCKING, file, pt->line, pt->column, fn);
		m->slots[id - 1].callee = loom_xstrdup(pt->callee);
		add(ed, pt->off, false, pt->rank, loom_xasprintf("LOOM_BLOCKING_BEGIN%s(%u); ", d, id));
		add(ed, pt->end_off, true, pt->rank, loom_xasprintf(" LOOM_BLOCKING_END%s(%u);", d, id));
		break;
	}
}

char *rw_emit(const struct rw_plan *plan, const char *text, size_t len, const char *include,
              struct loom_manifest *m, unsigned file, size_t *outlen)
{
	struct edits ed = { 0 };
	size_t p = 0, out_len, out_cap;
	char *out;
	unsigned base_fn = (unsigned)m->nfunctions;

	/* Ids in walk order, function by function: entry break, entry slot and
	 * fall-off exit first, then the body's hooks. */
	for (size_t fi = 0, pi = 0; fi < plan->nfuncs; fi++) {
		const struct rw_func *rf = &plan->funcs[fi];
		struct loom_function *f = LOOM_PUSH(m->functions, m->nfunctions, m->functions_cap);
		unsigned fn = (unsigned)(m->nfunctions - 1), falloff;

		memset(f, 0, sizeof *f);
		f->name = loom_xstrdup(rf->name);
		f->file = file;
		f->line = rf->line;
		f->end_line = rf->end_line;
		f->is_static = rf->is_static;
		for (size_t c = 0; c < rf->ncalls; c++) {
			struct loom_call *call = LOOM_PUSH(f->calls, f->ncalls, f->calls_cap);

			call->callee = rf->calls[c].callee ? loom_xstrdup(rf->calls[c].callee) : NULL;
			call->line = rf->calls[c].line;
			call->column = rf->calls[c].column;
		}
		f->brk = loom_manifest_add_slot(m, LOOM_KIND_BREAK, file, rf->line, rf->column, fn);
		f->entry = loom_manifest_add_slot(m, LOOM_KIND_ENTRY, file, rf->line, rf->column, fn);
		falloff = loom_manifest_add_slot(m, LOOM_KIND_EXIT, file, rf->end_line, rf->end_column, fn);
		*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = falloff;
		add(&ed, rf->body_open, false, INT_MIN,
		    loom_xasprintf("LOOM_FUNCTION_ENTRY(%u, %u, %u); ", f->brk, f->entry, falloff));
		for (; pi < plan->npoints && plan->points[pi].func == fi; pi++)
			emit_point(&ed, &plan->points[pi], m, file, fn);
	}
	for (size_t i = 0; i < plan->nwraps; i++) {
		add(&ed, plan->wraps[i].open, false, plan->wraps[i].rank, loom_xstrdup("{ "));
		add(&ed, plan->wraps[i].close, true, plan->wraps[i].rank, loom_xstrdup(" }"));
	}
	for (size_t i = 0; i < plan->nskips; i++) {
		struct loom_skip *s = LOOM_PUSH(m->skips, m->nskips, m->skips_cap);

		*s = (struct loom_skip){ file, plan->skips[i].line, plan->skips[i].column,
		                         base_fn + plan->skips[i].func };
	}
	qsort(ed.e, ed.n, sizeof *ed.e, cmp_edit);

	out_cap = len + strlen(include) + 64;
	for (size_t i = 0; i < ed.n; i++)
		out_cap += strlen(ed.e[i].text);
	out = loom_xmalloc(out_cap + 1);
	out_len = (size_t)snprintf(out, out_cap, "#include \"%s\"\n#line 1\n", include);
	for (size_t i = 0; i <= ed.n; i++) {
		size_t upto = i < ed.n ? ed.e[i].off : len, n;

		if (upto > len)
			upto = len;
		n = upto > p ? upto - p : 0;
		memcpy(out + out_len, text + p, n);
		out_len += n;
		p += n;
		if (i < ed.n) {
			n = strlen(ed.e[i].text);
			memcpy(out + out_len, ed.e[i].text, n);
			out_len += n;
			free(ed.e[i].text);
		}
	}
	out[out_len] = '\0';
	free(ed.e);
	*outlen = out_len;
	return out;
}
