/* loom manifest stat|show|diff.  Manifests are read through the shared model
 * (lib/manifest.h) and filters resolved by cli/filter.h, so that what is
 * shown is what loom-rewrite wrote and what `loom push` would do with it. */
#include "manifest_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "manifest.h"
#include "util.h"

#define PROG "loom"

static struct loom_manifest *open_manifest(const char *arg, struct loom_error *err)
{
	return loom_manifest_open(arg, err);
}

static int fail(const struct loom_error *err, int status)
{
	loom_error_print(err, PROG);
	return status;
}

/* Source order within a file: line, column, then id (the order in which
 * the rewriter made hooks at one place, e.g. a cond_break before its entry). */
static int cmp_position(const void *pa, const void *pb)
{
	const struct loom_slot *a = *(const struct loom_slot *const *)pa;
	const struct loom_slot *b = *(const struct loom_slot *const *)pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->column != b->column)
		return a->column < b->column ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Source order within each function, functions in manifest order. */
static int cmp_function_position(const void *pa, const void *pb)
{
	const struct loom_slot *a = *(const struct loom_slot *const *)pa;
	const struct loom_slot *b = *(const struct loom_slot *const *)pb;

	if (a->function != b->function)
		return a->function < b->function ? -1 : 1;
	return cmp_position(pa, pb);
}

/* ======================================================================
 * stat
 * ====================================================================== */

enum {
	C_SLOTS,
	C_KIND,
	C_COPY = C_KIND + LOOM_KIND_COUNT,
	C_FUNCTIONS = C_COPY + LOOM_COPY_COUNT,
	C_SLOW_COPY, C_SWITCH, C_FAST_ENTRY, C_STATIC, C_ADDRESS, C_LOOPS, C_TWINS, C_SKIPPED,
	C_COUNT
};

struct column {
	const char *head;
	int index;
};

/* One row per file and a total row; the file names left-aligned, every
 * number right-aligned under its heading. */
static void print_table(const struct loom_manifest *m, const size_t (*counts)[C_COUNT],
                        const struct column *cols, size_t ncols)
{
	int wname = (int)strlen("FILE"), w[C_COUNT];

	for (size_t r = 0; r <= m->nfiles; r++) {
		int n = (int)strlen(r < m->nfiles ? m->files[r].path : "total");

		wname = n > wname ? n : wname;
	}
	for (size_t c = 0; c < ncols; c++) {
		w[c] = (int)strlen(cols[c].head);
		for (size_t r = 0; r <= m->nfiles; r++) {
			int n = snprintf(NULL, 0, "%zu", counts[r][cols[c].index]);

			w[c] = n > w[c] ? n : w[c];
		}
	}
	printf("%-*s", wname, "FILE");
	for (size_t c = 0; c < ncols; c++)
		printf("  %*s", w[c], cols[c].head);
	putchar('\n');
	for (size_t r = 0; r <= m->nfiles; r++) {
		printf("%-*s", wname, r < m->nfiles ? m->files[r].path : "total");
		for (size_t c = 0; c < ncols; c++)
			printf("  %*zu", w[c], counts[r][cols[c].index]);
		putchar('\n');
	}
}
/* Why the functions without slow copy keep their hooks inline (manifest
 * functions[].inline_reason), most frequent first: what the bare program
 * pays for on its fast path. */
struct reason {
	const char *why;
	size_t n;
};

/* By count, most first, then by text. */
static int cmp_reason(const void *a, const void *b)
{
	const struct reason *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->why, y->why);
}

static void print_inline_reasons(const struct loom_manifest *m)
{
	struct reason *r = loom_xcalloc(m->nfunctions + 1, sizeof *r);
	size_t nr = 0, total = 0;

	for (size_t i = 0; i < m->nfunctions; i++) {
		const char *why = m->functions[i].inline_reason;
		size_t k = 0;

		if (!why)
			continue;
		while (k < nr && strcmp(r[k].why, why))
			k++;
		if (k == nr)
			r[nr++] = (struct reason){ why, 0 };
		r[k].n++;
		total++;
	}
	loom_sort(r, nr, sizeof *r, cmp_reason);
	if (total)
		printf("\n%zu function%s without slow copy (hooks inline on the fast path), why:\n", total,
		       total == 1 ? "" : "s");
	for (size_t k = 0; k < nr; k++)
		printf("%8zu  %s\n", r[k].n, r[k].why);
	free(r);
}


static int cmd_stat(const char *arg)
{
	static const struct column slot_cols[] = {
		{ "SLOTS", C_SLOTS },
		{ "ENTRY", C_KIND + LOOM_KIND_ENTRY }, { "STMT", C_KIND + LOOM_KIND_STMT },
		{ "CALL", C_KIND + LOOM_KIND_CALL }, { "EXIT", C_KIND + LOOM_KIND_EXIT },
		{ "BREAK", C_KIND + LOOM_KIND_BREAK }, { "BACKEDGE", C_KIND + LOOM_KIND_BACKEDGE },
		{ "BLOCKING", C_KIND + LOOM_KIND_BLOCKING },
		{ "SLOW", C_COPY + LOOM_COPY_SLOW }, { "BOTH", C_COPY + LOOM_COPY_BOTH },
		{ "INLINE", C_COPY + LOOM_COPY_INLINE }, { "TWIN", C_COPY + LOOM_COPY_TWIN },
	};
	static const struct column fn_cols[] = {
		{ "FUNCTIONS", C_FUNCTIONS }, { "SLOW_COPY", C_SLOW_COPY },
		{ "ENTRY_SWITCH", C_SWITCH }, { "FAST_ENTRY", C_FAST_ENTRY }, { "STATIC", C_STATIC },
		{ "ADDRESS_TAKEN", C_ADDRESS }, { "LOOPS", C_LOOPS }, { "TWINS", C_TWINS },
		{ "MACRO_SKIPPED", C_SKIPPED },
	};
	struct loom_error err = { 0 };
	struct loom_manifest *m = open_manifest(arg, &err);
	size_t (*counts)[C_COUNT], *total, copied = 0;

	if (!m)
		return fail(&err, 1);
	counts = loom_xcalloc(m->nfiles + 1, sizeof *counts);
	total = counts[m->nfiles];
	for (size_t i = 0; i < m->nslots; i++) {
		const struct loom_slot *s = &m->slots[i];

		counts[s->file][C_SLOTS]++;
		counts[s->file][C_KIND + s->kind]++;
		counts[s->file][C_COPY + s->copy]++;
	}
	for (size_t i = 0; i < m->nfunctions; i++) {
		const struct loom_function *f = &m->functions[i];
		size_t *c = counts[f->file];

		c[C_FUNCTIONS]++;
		c[C_SLOW_COPY] += f->slow_copy;
		c[C_SWITCH] += f->entry_switch;
		c[C_FAST_ENTRY] += f->fast_entry;
		c[C_STATIC] += f->is_static;
		c[C_ADDRESS] += f->address_taken;
		c[C_LOOPS] += f->nloops;
		for (size_t l = 0; l < f->nloops; l++)
			c[C_TWINS] += f->loops[l].twin_exit != 0;
	}
	for (size_t i = 0; i < m->nskips; i++)
		counts[m->skips[i].file][C_SKIPPED]++;
	for (size_t r = 0; r < m->nfiles; r++) {
		copied += !m->files[r].instrumented;
		for (int c = 0; c < C_COUNT; c++)
			total[c] += counts[r][c];
	}
	printf("manifest %s (id %s, %s), root %s\n", arg, m->id, m->tool, m->root);
	printf("%zu file%s (%zu not instrumented), %zu function%s, %zu slot%s\n\n",
	       m->nfiles, m->nfiles == 1 ? "" : "s", copied, m->nfunctions,
	       m->nfunctions == 1 ? "" : "s", m->nslots, m->nslots == 1 ? "" : "s");
	print_table(m, (const size_t (*)[C_COUNT])counts, slot_cols, sizeof slot_cols / sizeof slot_cols[0]);
	putchar('\n');
	print_table(m, (const size_t (*)[C_COUNT])counts, fn_cols, sizeof fn_cols / sizeof fn_cols[0]);
	print_inline_reasons(m);
	{
		size_t pure = 0;

		for (size_t i = 0; i < m->nfunctions; i++)
			pure += m->functions[i].pure;
		if (pure)
			printf("\n%zu function%s without hooks: %s no memory but %s own parameters and locals (pure)\n",
			       pure, pure == 1 ? "" : "s", pure == 1 ? "it touches" : "they touch",
			       pure == 1 ? "its" : "their");
	}
	if (copied) {
		const char *sep = "\nnot instrumented (copied unchanged): ";

		for (size_t r = 0; r < m->nfiles; r++)
			if (!m->files[r].instrumented) {
				printf("%s%s", sep, m->files[r].path);
				sep = ", ";
			}
		putchar('\n');
	}
	free(counts);
	loom_manifest_free(m);
	return 0;
}

/* ======================================================================
 * show
 * ====================================================================== */

/* The legend, printed on top of every listing and in docs/user-guide.md. */
#define SHOW_LEGEND "e entry, s stmt, c call, x exit, b break, l backedge, k blocking, " \
                    "t exit of a loop twin, " \
                    "each with its hook id; m statement inside a macro (no hook); " \
                    "> a function starts"

enum { MARK_FUNCTION = 1, MARK_SKIPPED = 2 };

static char slot_letter(const struct loom_slot *s)
{
	static const char letters[LOOM_KIND_COUNT] = {
		[LOOM_KIND_ENTRY] = 'e', [LOOM_KIND_STMT] = 's', [LOOM_KIND_CALL] = 'c',
		[LOOM_KIND_EXIT] = 'x', [LOOM_KIND_BREAK] = 'b', [LOOM_KIND_BACKEDGE] = 'l',
		[LOOM_KIND_BLOCKING] = 'k',
	};

	return s->copy == LOOM_COPY_TWIN ? 't' : letters[s->kind];
}

static void add_word(char **s, const char *word)
{
	char *t = *s ? loom_xasprintf("%s %s", *s, word) : loom_xstrdup(word);

	free(*s);
	*s = t;
}

static int cmd_show(const char *arg, const char *name, const char *source_dir)
{
	struct loom_error err = { 0 };
	struct loom_manifest *m = open_manifest(arg, &err);
	const struct loom_file *file;
	const struct loom_slot **slots = NULL;
	size_t nslots = 0, cap = 0, len, nfns = 0, nskips = 0, width = 0;
	unsigned fi = 0, nlines = 0, last = 0, lw;
	char **notes, *marks, *path, *text, hash[17];
	const char *p, *end;

	if (!m)
		return fail(&err, 1);
	if (loom_manifest_find_file(m, name, &fi, &err, NULL, 0, 0) < 0) {
		loom_manifest_free(m);
		return fail(&err, 1);
	}
	file = &m->files[fi];
	path = loom_join_path(source_dir ? source_dir : m->root, file->path);
	text = loom_read_file(path, &len);
	if (!text) {
		loom_error_set(&err, path, 0, 0, "cannot read the original source: %s%s", strerror(errno),
		               source_dir ? "" : " (the manifest's root; --source DIR reads it from DIR)");
		free(path);
		loom_manifest_free(m);
		return fail(&err, 1);
	}
	/* A changed source still lists: the annotations are what the manifest
	 * says, the warning says they may sit on the wrong lines. */
	snprintf(hash, sizeof hash, "%016" PRIx64, loom_fnv64(LOOM_FNV_SEED, text, len));
	if (strcmp(hash, file->hash))
		fprintf(stderr, "%s: warning: the source changed since the rewrite (its hash is %s, the manifest's "
		        "%s): hooks may be shown on the wrong lines\n", path, hash, file->hash);

	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].file == fi)
			*LOOM_PUSH(slots, nslots, cap) = &m->slots[i];
	loom_sort(slots, nslots, sizeof *slots, cmp_position);
	for (p = text; p < text + len; p = end + 1, nlines++)
		if (!(end = memchr(p, '\n', (size_t)(text + len - p))))
			end = text + len;
	last = nlines;
	if (nslots && slots[nslots - 1]->line > last)
		last = slots[nslots - 1]->line;
	for (size_t i = 0; i < m->nskips; i++)
		if (m->skips[i].file == fi && m->skips[i].line > last)
			last = m->skips[i].line;
	notes = loom_xcalloc(last + 1, sizeof *notes);
	marks = loom_xcalloc(last + 1, 1);
	for (size_t i = 0; i < nslots; i++) {
		char word[16];

		snprintf(word, sizeof word, "%c%u", slot_letter(slots[i]), slots[i]->id);
		add_word(&notes[slots[i]->line], word);
	}
	for (size_t i = 0; i < m->nfunctions; i++)
		if (m->functions[i].file == fi) {
			nfns++;
			if (m->functions[i].line <= last)
				marks[m->functions[i].line] |= MARK_FUNCTION;
		}
	for (size_t i = 0; i < m->nskips; i++)
		if (m->skips[i].file == fi) {
			nskips++;
			marks[m->skips[i].line] |= MARK_SKIPPED;
		}
	/* One m per line, after its hooks: the ids around it say the rest. */
	for (unsigned l = 1; l <= last; l++)
		if (marks[l] & MARK_SKIPPED)
			add_word(&notes[l], "m");
	for (unsigned l = 1; l <= last; l++)
		if (notes[l] && strlen(notes[l]) > width)
			width = strlen(notes[l]);
	lw = (unsigned)snprintf(NULL, 0, "%u", last);

	printf("# %s (%s): %zu function%s, %zu hook%s, %zu statement%s inside macros%s\n", file->path, path,
	       nfns, nfns == 1 ? "" : "s", nslots, nslots == 1 ? "" : "s", nskips, nskips == 1 ? "" : "s",
	       file->instrumented ? "" : "; not instrumented (copied unchanged)");
	printf("# %s\n", SHOW_LEGEND);
	p = text;
	for (unsigned l = 1; l <= last; l++) {
		size_t n = 0;

		if (l <= nlines) {
			end = memchr(p, '\n', (size_t)(text + len - p));
			n = (size_t)((end ? end : text + len) - p);
		}
		printf("%*u %c %-*s |%s%.*s\n", (int)lw, l, marks[l] & MARK_FUNCTION ? '>' : '|', (int)width,
		       notes[l] ? notes[l] : "", n ? " " : "", (int)n, p);
		if (l <= nlines)
			p += n + 1;
	}
	for (unsigned l = 0; l <= last; l++)
		free(notes[l]);
	free(notes);
	free(marks);
	free(slots);
	free(text);
	free(path);
	loom_manifest_free(m);
	return 0;
}

/* ======================================================================
 * diff
 * ====================================================================== */

/* One side of a diff, with what matching needs precomputed. */
struct side {
	struct loom_manifest *m;
	const struct loom_slot **order; /* by function, then source position */
	size_t *first;                  /* function f's slots: order[first[f] .. first[f + 1]) */
	uint64_t *line_calls;           /* per slot (id - 1): hash of the callees on its line */
	unsigned *by_name;              /* function indices by file path, then name */
	long *match;                    /* per function: the other side's, or -1 */
};

static int cmp_function_key(const struct loom_manifest *m, unsigned a, const struct loom_manifest *n,
                            unsigned b)
{
	const struct loom_function *fa = &m->functions[a], *fb = &n->functions[b];
	int c = strcmp(m->files[fa->file].path, n->files[fb->file].path);

	return c ? c : strcmp(fa->name, fb->name);
}

static int cmp_by_name(const void *pa, const void *pb, void *ctx)
{
	const struct loom_manifest *m = ctx;
	unsigned a = *(const unsigned *)pa, b = *(const unsigned *)pb;
	int c = cmp_function_key(m, a, m, b);

	return c ? c : (a > b) - (a < b);
}

static void side_prepare(struct side *s)
{
	const struct loom_manifest *m = s->m;

	s->order = loom_xcalloc(m->nslots + 1, sizeof *s->order);
	s->first = loom_xcalloc(m->nfunctions + 1, sizeof *s->first);
	s->line_calls = loom_xcalloc(m->nslots + 1, sizeof *s->line_calls);
	s->by_name = loom_xcalloc(m->nfunctions + 1, sizeof *s->by_name);
	s->match = loom_xcalloc(m->nfunctions + 1, sizeof *s->match);
	for (size_t i = 0; i < m->nslots; i++) {
		const struct loom_slot *sl = &m->slots[i];
		const struct loom_function *f = &m->functions[sl->function];
		uint64_t h = LOOM_FNV_SEED;

		s->order[i] = sl;
		s->first[sl->function + 1]++;
		/* The calls on a slot's line tell its statement apart from its
		 * neighbours of the same kind and column, so that slots match
		 * across an inserted statement. */
		for (size_t c = 0; c < f->ncalls; c++)
			if (f->calls[c].line == sl->line) {
				const char *callee = f->calls[c].callee ? f->calls[c].callee : "";

				h = loom_fnv64(h, callee, strlen(callee) + 1);
			}
		s->line_calls[i] = h;
	}
	for (size_t f = 0; f < m->nfunctions; f++) {
		s->first[f + 1] += s->first[f];
		s->by_name[f] = (unsigned)f;
		s->match[f] = -1;
	}
	loom_sort(s->order, m->nslots, sizeof *s->order, cmp_function_position);
	qsort_r(s->by_name, m->nfunctions, sizeof *s->by_name, cmp_by_name, s->m);
}

static void side_free(struct side *s)
{
	free(s->order);
	free(s->first);
	free(s->line_calls);
	free(s->by_name);
	free(s->match);
	loom_manifest_free(s->m);
}

/* The slots of one function on both sides, in source order, and how they
 * pair up. */
struct align {
	const struct side *a, *b;
	const struct loom_slot **x, **y;
	size_t nx, ny;
	unsigned xline, yline; /* the function's first line on each side */
	long *mx, *my;         /* the index of the partner, or -1 */
};

/* The same hook, wherever it is: same kind, column, callee and calls on its
 * line.  EXACT: also at the same distance from the function's first line. */
static bool same_slot(const struct align *al, size_t i, size_t j, bool exact)
{
	const struct loom_slot *x = al->x[i], *y = al->y[j];

	if (x->kind != y->kind || x->column != y->column
	    || (x->copy == LOOM_COPY_TWIN) != (y->copy == LOOM_COPY_TWIN)
	    || al->a->line_calls[x->id - 1] != al->b->line_calls[y->id - 1]
	    || strcmp(x->callee ? x->callee : "", y->callee ? y->callee : ""))
		return false;
	return !exact || x->line - al->xline == y->line - al->yline;
}

static void pair(struct align *al, size_t i, size_t j)
{
	al->mx[i] = (long)j;
	al->my[j] = (long)i;
}

/* Bounds the LCS table (4 bytes a cell); a bigger difference inside one
 * function is matched greedily instead. */
#define LCS_MAX_CELLS (1u << 22)

/* Pairs a longest common subsequence of X[A0..A1) and Y[B0..B1) under
 * same_slot(EXACT). */
static void lcs(struct align *al, size_t a0, size_t a1, size_t b0, size_t b1, bool exact)
{
	size_t n, m, cols;
	unsigned *t;

	while (a0 < a1 && b0 < b1 && same_slot(al, a0, b0, exact))
		pair(al, a0++, b0++);
	while (a0 < a1 && b0 < b1 && same_slot(al, a1 - 1, b1 - 1, exact))
		pair(al, --a1, --b1);
	n = a1 - a0;
	m = b1 - b0;
	if (!n || !m)
		return;
	if (n > LCS_MAX_CELLS / m) {
		size_t j = b0;

		for (size_t i = a0; i < a1 && j < b1; i++)
			for (size_t k = j; k < b1; k++)
				if (same_slot(al, i, k, exact)) {
					pair(al, i, k);
					j = k + 1;
					break;
				}
		return;
	}
	/* t[i][j]: the LCS length of the suffixes from a0 + i and b0 + j. */
	cols = m + 1;
	t = loom_xcalloc((n + 1) * cols, sizeof *t);
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;) {
			unsigned down = t[(i + 1) * cols + j], right = t[i * cols + j + 1];

			t[i * cols + j] = same_slot(al, a0 + i, b0 + j, exact) ? t[(i + 1) * cols + j + 1] + 1
			                  : down > right ? down : right;
		}
	for (size_t i = 0, j = 0; i < n && j < m;) {
		if (same_slot(al, a0 + i, b0 + j, exact))
			pair(al, a0 + i++, b0 + j++);
		else if (t[(i + 1) * cols + j] >= t[i * cols + j + 1])
			i++;
		else
			j++;
	}
	free(t);
}

/* Pairs the slots of a function: first those that kept their place relative
 * to the function's first line, then, between those, the ones that moved. */
static void align_function(struct align *al)
{
	size_t pa = 0, pb = 0;

	for (size_t i = 0; i < al->nx; i++)
		al->mx[i] = -1;
	for (size_t j = 0; j < al->ny; j++)
		al->my[j] = -1;
	lcs(al, 0, al->nx, 0, al->ny, true);
	for (size_t i = 0; i <= al->nx; i++) {
		size_t j;

		if (i < al->nx && al->mx[i] < 0)
			continue;
		j = i < al->nx ? (size_t)al->mx[i] : al->ny;
		if (pa < i && pb < j)
			lcs(al, pa, i, pb, j, false);
		pa = i + 1;
		pb = j + 1;
	}
}

struct differ {
	struct side old, new;
	bool differ;
};

static void out(struct differ *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct differ *d, const char *fmt, ...)
{
	va_list ap;

	d->differ = true;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* "stmt #12 js.c:120:2", "blocking #37 js.c:120:2 (pthread_mutex_lock)". */
static char *slot_text(const struct loom_manifest *m, const struct loom_slot *s)
{
	return loom_xasprintf("%s%s #%u %s:%u:%u%s%s%s", s->copy == LOOM_COPY_TWIN ? "twin " : "",
	                      loom_kind_name(s->kind), s->id, m->files[s->file].path, s->line, s->column,
	                      s->callee ? " (" : "", s->callee ? s->callee : "", s->callee ? ")" : "");
}

/* A run of consecutive slots that moved by the same number of lines. */
struct run {
	size_t n;
	const struct loom_slot *x0, *x1, *y0, *y1;
};

static void flush_run(struct differ *d, struct run *r, const char *fn)
{
	const struct loom_manifest *a = d->old.m, *b = d->new.m;

	if (r->n == 1) {
		char *t = slot_text(b, r->y0);

		out(d, "~ %s in %s: moved from %s:%u:%u (#%u)\n", t, fn, a->files[r->x0->file].path,
		    r->x0->line, r->x0->column, r->x0->id);
		free(t);
	} else if (r->n > 1) {
		out(d, "~ %zu slots %s:%u-%u in %s: moved from %s:%u-%u\n", r->n, b->files[r->y0->file].path,
		    r->y0->line, r->y1->line, fn, a->files[r->x0->file].path, r->x0->line, r->x1->line);
	}
	r->n = 0;
}

static void diff_slots(struct differ *d, unsigned fo, unsigned fn)
{
	const struct loom_function *f = &d->old.m->functions[fo], *g = &d->new.m->functions[fn];
	struct align al = {
		.a = &d->old, .b = &d->new,
		.x = d->old.order + d->old.first[fo], .nx = d->old.first[fo + 1] - d->old.first[fo],
		.y = d->new.order + d->new.first[fn], .ny = d->new.first[fn + 1] - d->new.first[fn],
		.xline = f->line, .yline = g->line,
	};
	struct run run = { 0 };
	long shift = (long)g->line - (long)f->line;
	size_t i = 0, j = 0;

	al.mx = loom_xcalloc(al.nx + 1, sizeof *al.mx);
	al.my = loom_xcalloc(al.ny + 1, sizeof *al.my);
	align_function(&al);
	/* Pairs are in order on both sides: walk them together. */
	while (i < al.nx || j < al.ny) {
		if (i < al.nx && al.mx[i] < 0) {
			char *t = slot_text(d->old.m, al.x[i++]);

			flush_run(d, &run, g->name);
			out(d, "- %s in %s\n", t, g->name);
			free(t);
		} else if (j < al.ny && al.my[j] < 0) {
			char *t = slot_text(d->new.m, al.y[j++]);

			flush_run(d, &run, g->name);
			out(d, "+ %s in %s\n", t, g->name);
			free(t);
		} else {
			const struct loom_slot *x = al.x[i++], *y = al.y[j++];
			long moved = (long)y->line - (long)x->line;

			if (moved == shift) {
				flush_run(d, &run, g->name);
				continue;
			}
			if (run.n && (long)run.y1->line - (long)run.x1->line != moved)
				flush_run(d, &run, g->name);
			if (!run.n++) {
				run.x0 = x;
				run.y0 = y;
			}
			run.x1 = x;
			run.y1 = y;
		}
	}
	flush_run(d, &run, g->name);
	free(al.mx);
	free(al.my);
}

static bool same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
	for (size_t i = 0; na == nb && i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return na == nb;
}

/* The types a function's address is taken as, or "any (no type known)". */
static void out_types(struct differ *d, char *const *types, size_t n)
{
	if (!n)
		out(d, "any (no type known)");
	for (size_t i = 0; i < n; i++)
		out(d, "%s%s", i ? ", " : "", types[i]);
}

static void diff_function(struct differ *d, unsigned fo, unsigned fn)
{
	const struct loom_manifest *a = d->old.m, *b = d->new.m;
	const struct loom_function *f = &a->functions[fo], *g = &b->functions[fn];
	const char *path = b->files[g->file].path;
	char attrs[256] = "";

#define ATTR(field, what) \
	if (f->field != g->field) \
		snprintf(attrs + strlen(attrs), sizeof attrs - strlen(attrs), "%s" what " %s -> %s", \
		         attrs[0] ? ", " : "", f->field ? "yes" : "no", g->field ? "yes" : "no")
	ATTR(is_static, "static");
	ATTR(address_taken, "address taken");
	ATTR(slow_copy, "slow copy");
	ATTR(entry_switch, "entry switch");
	ATTR(fast_entry, "fast entry");
#undef ATTR
	if (f->line != g->line)
		out(d, "~ function %s %s:%u-%u: moved from %s:%u-%u\n", g->name, path, g->line, g->end_line,
		    a->files[f->file].path, f->line, f->end_line);
	else if (f->end_line != g->end_line)
		out(d, "~ function %s %s:%u-%u: was %s:%u-%u\n", g->name, path, g->line, g->end_line,
		    a->files[f->file].path, f->line, f->end_line);
	if (attrs[0])
		out(d, "~ function %s %s:%u-%u: %s\n", g->name, path, g->line, g->end_line, attrs);
	if (f->address_taken && g->address_taken && !same_strings(f->taken_as, f->ntaken_as, g->taken_as, g->ntaken_as)) {
		/* What calls through pointers may reach it (docs/design.md). */
		out(d, "~ function %s %s:%u-%u: address taken as ", g->name, path, g->line, g->end_line);
		out_types(d, f->taken_as, f->ntaken_as);
		out(d, " -> ");
		out_types(d, g->taken_as, g->ntaken_as);
		out(d, "\n");
	}
	diff_slots(d, fo, fn);
}

/* The conversions of function pointers that one manifest has and the other
 * has not (both lists sorted, as loom-rewrite writes them). */
static void diff_conversions(struct differ *d)
{
	const struct loom_manifest *a = d->old.m, *b = d->new.m;
	size_t i = 0, j = 0;

	if (a->typed != b->typed) {
		out(d, "~ conversions: %s\n", b->typed ? "now recorded" : "no longer recorded");
		return;
	}
	while (i < a->nconversions || j < b->nconversions) {
		int c = i == a->nconversions ? 1 : j == b->nconversions ? -1
		        : strcmp(a->conversions[i].from, b->conversions[j].from)
		          ? strcmp(a->conversions[i].from, b->conversions[j].from)
		          : strcmp(a->conversions[i].to, b->conversions[j].to);

		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		if (c < 0)
			out(d, "- conversion %s -> %s\n", a->conversions[i - 1].from, a->conversions[i - 1].to);
		else if (c > 0)
			out(d, "+ conversion %s -> %s\n", b->conversions[j - 1].from, b->conversions[j - 1].to);
	}
}

static void diff_manifests(struct differ *d)
{
	const struct loom_manifest *a = d->old.m, *b = d->new.m;
	size_t i = 0, j = 0;

	for (size_t fa = 0; fa < a->nfiles; fa++) {
		size_t fb = loom_manifest_file_index(b, a->files[fa].path);

		if (fb == b->nfiles)
			out(d, "- file %s\n", a->files[fa].path);
		else if (a->files[fa].instrumented != b->files[fb].instrumented)
			out(d, "~ file %s: %s\n", b->files[fb].path,
			    b->files[fb].instrumented ? "now instrumented" : "no longer instrumented");
	}
	for (size_t fb = 0; fb < b->nfiles; fb++)
		if (loom_manifest_file_index(a, b->files[fb].path) == a->nfiles)
			out(d, "+ file %s\n", b->files[fb].path);

	while (i < a->nfunctions && j < b->nfunctions) {
		unsigned fo = d->old.by_name[i], fn = d->new.by_name[j];
		int c = cmp_function_key(a, fo, b, fn);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			d->old.match[fo] = fn;
			d->new.match[fn] = fo;
			i++;
			j++;
		}
	}
	for (size_t f = 0; f < a->nfunctions; f++)
		if (d->old.match[f] < 0)
			out(d, "- function %s %s:%u-%u (%zu slots)\n", a->functions[f].name,
			    a->files[a->functions[f].file].path, a->functions[f].line, a->functions[f].end_line,
			    d->old.first[f + 1] - d->old.first[f]);
	for (size_t f = 0; f < b->nfunctions; f++) {
		if (d->new.match[f] < 0)
			out(d, "+ function %s %s:%u-%u (%zu slots)\n", b->functions[f].name,
			    b->files[b->functions[f].file].path, b->functions[f].line, b->functions[f].end_line,
			    d->new.first[f + 1] - d->new.first[f]);
		else
			diff_function(d, (unsigned)d->new.match[f], (unsigned)f);
	}
	diff_conversions(d);
}

/* What one constraint of a filter resolves to in a manifest: the
 * operations it puts on which hooks, in the resolver's order, or its error;
 * SORTED is the same for lookups. */
struct resolution {
	char **items, **sorted;
	size_t n, cap;
};

static bool resolution_has(const struct resolution *r, const char *item)
{
	return loom_bsearch(&item, r->sorted, r->n, sizeof *r->sorted, loom_cmp_str) != NULL;
}

static void resolve(const struct loom_filter *f, size_t ci, const struct loom_manifest *m,
                    struct resolution *r)
{
	struct loom_filter one = *f;
	struct loom_compiled comp;
	struct loom_error err = { 0 };

	/* One constraint at a time, so that an error in one does not hide
	 * what the others resolve to. */
	one.constraints = &f->constraints[ci];
	one.nconstraints = 1;
	if (loom_filter_compile(&one, m, &comp, &err) < 0) {
		*LOOM_PUSH(r->items, r->n, r->cap) = loom_xasprintf("%s:%u:%u: error: %s", err.file, err.line,
		                                                    err.column, err.text);
	} else {
		for (size_t i = 0; i < comp.nops; i++) {
			const struct loom_slot *s = loom_manifest_slot(m, comp.ops[i].hook);
			char *item = loom_xasprintf("%s at %s:%u (%s of %s)", loom_op_name(comp.ops[i].kind),
			                            m->files[s->file].path, s->line, loom_kind_name(s->kind),
			                            m->functions[s->function].name);
			bool seen = false;

			/* Several ops on one line read the same: one is enough. */
			for (size_t k = 0; k < r->n && !seen; k++)
				seen = !strcmp(r->items[k], item);
			if (seen)
				free(item);
			else
				*LOOM_PUSH(r->items, r->n, r->cap) = item;
		}
		loom_compiled_free(&comp);
	}
	r->sorted = loom_xcalloc(r->n + 1, sizeof *r->sorted);
	memcpy(r->sorted, r->items, r->n * sizeof *r->items);
	loom_sort(r->sorted, r->n, sizeof *r->sorted, loom_cmp_str);
}

static void resolution_free(struct resolution *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i]);
	free(r->items);
	free(r->sorted);
}

/* The text of line LINE of TEXT, without leading and trailing blanks. */
static void line_text(const char *text, unsigned line, const char **start, int *len)
{
	const char *p = text, *e;

	for (unsigned l = 1; l < line && (e = strchr(p, '\n')); l++)
		p = e + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*start = p;
	*len = (int)(e - p);
}

static void diff_spec(struct differ *d, const struct loom_filter *f)
{
	for (size_t c = 0; c < f->nconstraints; c++) {
		struct resolution ro = { 0 }, rn = { 0 };
		bool header = false;

		resolve(f, c, d->old.m, &ro);
		resolve(f, c, d->new.m, &rn);
		for (int side = 0; side < 2; side++) {
			const struct resolution *from = side ? &rn : &ro, *other = side ? &ro : &rn;

			for (size_t i = 0; i < from->n; i++) {
				const char *start;
				int len;

				if (resolution_has(other, from->items[i]))
					continue;
				if (!header) {
					line_text(f->text, f->constraints[c].loc.line, &start, &len);
					out(d, "~ spec %s:%u: %.*s\n", f->name, f->constraints[c].loc.line, len, start);
					header = true;
				}
				out(d, "    %c %s\n", side ? '+' : '-', from->items[i]);
			}
		}
		resolution_free(&ro);
		resolution_free(&rn);
	}
}

static int cmd_diff(const char *old_arg, const char *new_arg, char **specs, size_t nspecs)
{
	struct loom_error err = { 0 };
	struct differ d = { 0 };
	struct loom_filter **filters = loom_xcalloc(nspecs + 1, sizeof *filters);
	int ret = 2;

	/* Read everything before printing anything: an error in the input
	 * must not leave half a diff that reads like a result. */
	d.old.m = open_manifest(old_arg, &err);
	if (d.old.m)
		d.new.m = open_manifest(new_arg, &err);
	for (size_t i = 0; i < nspecs && !err.set; i++)
		filters[i] = loom_filter_read(specs[i], &err);
	if (err.set) {
		loom_error_print(&err, PROG);
		goto out;
	}
	side_prepare(&d.old);
	side_prepare(&d.new);
	diff_manifests(&d);
	for (size_t i = 0; i < nspecs; i++)
		diff_spec(&d, filters[i]);
	ret = d.differ;
out:
	for (size_t i = 0; i < nspecs; i++)
		loom_filter_free(filters[i]);
	free(filters);
	if (d.old.order)
		side_free(&d.old);
	else
		loom_manifest_free(d.old.m);
	if (d.new.order)
		side_free(&d.new);
	else
		loom_manifest_free(d.new.m);
	return ret;
}

/* ======================================================================
 * Arguments
 * ====================================================================== */

static int usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return 2;
}

int loom_manifest_cmd(int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *source = NULL;
	int c, nargs;

	if (argc < 2)
		return usage_error(usage, "manifest needs a command: stat, show or diff");
	sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	/* getopt would name argv[0], "manifest", in its messages. */
	opterr = 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			source = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return usage_error(usage, "option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error(usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	argv += optind;
	nargs = argc - optind;
	if (strcmp(sub, "stat") && strcmp(sub, "show") && strcmp(sub, "diff"))
		return usage_error(usage, "unknown manifest command '%s' (stat, show or diff)", sub);
	if (source && strcmp(sub, "show"))
		return usage_error(usage, "--source is an option of manifest show only");
	if (!strcmp(sub, "stat") && nargs != 1)
		return usage_error(usage, "manifest stat takes M (%d arguments given)", nargs);
	if (!strcmp(sub, "show") && nargs != 2)
		return usage_error(usage, "manifest show takes M FILE (%d argument%s given)", nargs,
		                   nargs == 1 ? "" : "s");
	if (!strcmp(sub, "diff") && nargs < 2)
		return usage_error(usage, "manifest diff takes OLD NEW [SPEC...] (%d argument%s given)", nargs,
		                   nargs == 1 ? "" : "s");
	if (!strcmp(sub, "stat"))
		return cmd_stat(argv[0]);
	if (!strcmp(sub, "show"))
		return cmd_show(argv[0], argv[1], source);
	return cmd_diff(argv[0], argv[1], argv + 2, (size_t)nargs - 2);
}
