#include "indirect.h"

#include <stdlib.h>
#include <string.h>

/* Types are nodes; a conversion FROM -> TO is an edge, kept reversed (the
 * types each type is converted from), since a call asks what reaches its
 * type.  Both lists per type are in compressed rows: type T's entries are
 * [start[T], start[T + 1]). */
struct loom_indirect {
	const struct loom_manifest *m;
	const char **types; /* sorted, unique; point into M */
	size_t ntypes;
	unsigned *from_start, *from; /* the types converted into each type */
	unsigned *taken_start, *taken; /* the functions taken as each type */
	unsigned *untyped, *all;     /* address-taken: of unknown type; every one */
	size_t nuntyped, nall;
	unsigned **reach;            /* per type, once asked: its targets */
	size_t *nreach;
};

static int cmp_type(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* The node of TYPE, or IX->ntypes when no function is taken as it and no
 * conversion names it. */
static size_t type_node(const struct loom_indirect *ix, const char *type)
{
	const char **hit = loom_bsearch(&type, ix->types, ix->ntypes, sizeof *ix->types, cmp_type);

	return hit ? (size_t)(hit - ix->types) : ix->ntypes;
}

struct pair { unsigned row, value; };

/* Fills *START and *ENTRIES, NROWS rows, with the N PAIRS' values, each in
 * its row. */
static void rows(size_t nrows, const struct pair *pairs, size_t n, unsigned **start, unsigned **entries)
{
	unsigned *fill = loom_xcalloc(nrows + 1, sizeof *fill);

	*start = loom_xcalloc(nrows + 1, sizeof **start);
	*entries = loom_xcalloc(n + 1, sizeof **entries);
	for (size_t i = 0; i < n; i++)
		(*start)[pairs[i].row + 1]++;
	for (size_t t = 0; t < nrows; t++)
		(*start)[t + 1] += (*start)[t];
	for (size_t i = 0; i < n; i++)
		(*entries)[(*start)[pairs[i].row] + fill[pairs[i].row]++] = pairs[i].value;
	free(fill);
}

struct loom_indirect *loom_indirect_new(const struct loom_manifest *m)
{
	struct loom_indirect *ix = loom_xcalloc(1, sizeof *ix);
	struct pair *pairs = NULL;
	size_t npairs = 0, pairs_cap = 0, out = 0, types_cap = 0;

	ix->m = m;
	for (size_t f = 0; f < m->nfunctions; f++)
		for (size_t j = 0; j < m->functions[f].ntaken_as; j++)
			*LOOM_PUSH(ix->types, ix->ntypes, types_cap) = m->functions[f].taken_as[j];
	for (size_t c = 0; c < m->nconversions; c++) {
		*LOOM_PUSH(ix->types, ix->ntypes, types_cap) = m->conversions[c].from;
		*LOOM_PUSH(ix->types, ix->ntypes, types_cap) = m->conversions[c].to;
	}
	loom_sort(ix->types, ix->ntypes, sizeof *ix->types, cmp_type);
	for (size_t t = 0; t < ix->ntypes; t++)
		if (!out || strcmp(ix->types[t], ix->types[out - 1]))
			ix->types[out++] = ix->types[t];
	ix->ntypes = out;

	for (size_t c = 0; c < m->nconversions; c++)
		*LOOM_PUSH(pairs, npairs, pairs_cap) = (struct pair){ (unsigned)type_node(ix, m->conversions[c].to),
		                                                      (unsigned)type_node(ix, m->conversions[c].from) };
	rows(ix->ntypes, pairs, npairs, &ix->from_start, &ix->from);
	npairs = 0;
	ix->untyped = loom_xcalloc(m->nfunctions + 1, sizeof *ix->untyped);
	ix->all = loom_xcalloc(m->nfunctions + 1, sizeof *ix->all);
	for (size_t f = 0; f < m->nfunctions; f++) {
		const struct loom_function *fn = &m->functions[f];

		if (!fn->address_taken)
			continue;
		ix->all[ix->nall++] = (unsigned)f;
		if (!fn->ntaken_as || !m->typed)
			ix->untyped[ix->nuntyped++] = (unsigned)f;
		for (size_t j = 0; j < fn->ntaken_as; j++)
			*LOOM_PUSH(pairs, npairs, pairs_cap) = (struct pair){ (unsigned)type_node(ix, fn->taken_as[j]),
			                                                      (unsigned)f };
	}
	rows(ix->ntypes, pairs, npairs, &ix->taken_start, &ix->taken);
	free(pairs);
	ix->reach = loom_xcalloc(ix->ntypes + 1, sizeof *ix->reach);
	ix->nreach = loom_xcalloc(ix->ntypes + 1, sizeof *ix->nreach);
	return ix;
}

void loom_indirect_free(struct loom_indirect *ix)
{
	if (!ix)
		return;
	for (size_t t = 0; t < ix->ntypes; t++)
		free(ix->reach[t]);
	free(ix->reach);
	free(ix->nreach);
	free(ix->types);
	free(ix->from_start);
	free(ix->from);
	free(ix->taken_start);
	free(ix->taken);
	free(ix->untyped);
	free(ix->all);
	free(ix);
}

/* The targets of type node T: a walk back along the conversions into T,
 * collecting the functions taken as each type met, and the untyped ones. */
static void compute(struct loom_indirect *ix, size_t t)
{
	unsigned char *seen = loom_xcalloc(ix->ntypes, 1);
	unsigned *queue = loom_xcalloc(ix->ntypes, sizeof *queue);
	unsigned *fns = NULL;
	size_t head = 0, tail = 0, n = 0, cap = 0, out = 0;

	seen[t] = 1;
	queue[tail++] = (unsigned)t;
	while (head < tail) {
		unsigned u = queue[head++];

		for (unsigned k = ix->taken_start[u]; k < ix->taken_start[u + 1]; k++)
			*LOOM_PUSH(fns, n, cap) = ix->taken[k];
		for (unsigned k = ix->from_start[u]; k < ix->from_start[u + 1]; k++)
			if (!seen[ix->from[k]]) {
				seen[ix->from[k]] = 1;
				queue[tail++] = ix->from[k];
			}
	}
	for (size_t i = 0; i < ix->nuntyped; i++)
		*LOOM_PUSH(fns, n, cap) = ix->untyped[i];
	loom_sort(fns, n, sizeof *fns, cmp_unsigned);
	for (size_t i = 0; i < n; i++)
		if (!out || fns[i] != fns[out - 1])
			fns[out++] = fns[i];
	ix->reach[t] = fns ? fns : loom_xcalloc(1, sizeof *fns); /* computed, even if empty */
	ix->nreach[t] = out;
	free(seen);
	free(queue);
}

const unsigned *loom_indirect_targets(struct loom_indirect *ix, const char *type, size_t *n)
{
	size_t t;

	if (!type || !ix->m->typed) {
		*n = ix->nall;
		return ix->all;
	}
	t = type_node(ix, type);
	if (t == ix->ntypes) {
		*n = ix->nuntyped;
		return ix->untyped;
	}
	if (!ix->reach[t])
		compute(ix, t);
	*n = ix->nreach[t];
	return ix->reach[t];
}

bool loom_indirect_reaches(struct loom_indirect *ix, const char *type, unsigned fn)
{
	size_t n;
	const unsigned *fns = loom_indirect_targets(ix, type, &n);

	return loom_bsearch(&fn, fns, n, sizeof *fns, cmp_unsigned) != NULL;
}
