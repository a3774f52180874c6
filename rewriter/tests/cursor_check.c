/* The cursor tree (rewriter/cursors.c) against libclang, cursor by cursor.
 *
 *     cursor_check [--stride N] FILE [-- CLANG-FLAGS...]
 *
 * Parses FILE as loom-rewrite does, builds the tree, and for every cursor
 * of the unit (every Nth with --stride), and for the cursors other libclang
 * calls make from it (the referenced one, the definition, call arguments,
 * the semantic and lexical parents, the cursor at its location), visits it
 * both with clang_visitChildren and with rw_visit_children and requires the
 * same cursors with the same parents in the same order and the same return
 * value: recursing everywhere, never, in a mixed pattern, and breaking off
 * after a few; and the same extent.  The unit itself is visited whole and
 * with a break among its first (preprocessing) cursors.  Statement and
 * expression cursors are compared without their data[0], the declaration
 * libclang's visit happened to be in (cursors.h).
 *
 * Exit 0 when everything matches and the tree holds the unit, 1 otherwise
 * (the first mismatches printed), 2 on a usage or parse error. */
#include <clang-c/Index.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursors.h"
#include "util.h"

/* One visit's record, and how its visitor answers. */
struct record {
	CXCursor *c, *parent;
	size_t n, cap;
	long break_at;  /* the cursor to answer Break to (-1: none) */
	int mode;       /* 0 recurse, 1 continue, 2 mixed */
};

static enum CXChildVisitResult note(CXCursor c, CXCursor parent, CXClientData data)
{
	struct record *r = data;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->c = loom_xrealloc(r->c, r->cap * sizeof *r->c);
		r->parent = loom_xrealloc(r->parent, r->cap * sizeof *r->parent);
	}
	r->c[r->n] = c;
	r->parent[r->n] = parent;
	r->n++;
	if ((long)r->n - 1 == r->break_at)
		return CXChildVisit_Break;
	if (r->mode == 1)
		return CXChildVisit_Continue;
	if (r->mode == 2)
		return r->n % 3 ? CXChildVisit_Recurse : CXChildVisit_Continue;
	return CXChildVisit_Recurse;
}

static CXCursor *all;
static size_t nall, all_cap;

static enum CXChildVisitResult gather(CXCursor c, CXCursor parent, CXClientData data)
{
	(void)parent;
	(void)data;
	*LOOM_PUSH(all, nall, all_cap) = c;
	return CXChildVisit_Recurse;
}

static long checks, mismatches;

/* Equal but for a statement's data[0]. */
static bool alike(CXCursor a, CXCursor b)
{
	if (a.kind != b.kind || a.xdata != b.xdata || a.data[1] != b.data[1] || a.data[2] != b.data[2])
		return false;
	return clang_isStatement(a.kind) || clang_isExpression(a.kind) || a.data[0] == b.data[0];
}

static void report(CXCursor root, const char *what, const char *detail)
{
	CXString kind = clang_getCursorKindSpelling(clang_getCursorKind(root));
	unsigned line, column;

	clang_getExpansionLocation(clang_getCursorLocation(root), NULL, &line, &column, NULL);
	if (++mismatches <= 10)
		fprintf(stderr, "MISMATCH visiting %s at %u:%u (%s): %s\n", clang_getCString(kind), line, column, what,
		        detail);
	clang_disposeString(kind);
}

static void compare(CXCursor root, const char *what, long break_at, int mode)
{
	struct record a = { .break_at = break_at, .mode = mode }, b = a;
	unsigned ra = clang_visitChildren(root, note, &a), rb = rw_visit_children(root, note, &b);
	char detail[160];

	checks++;
	if (ra != rb || a.n != b.n) {
		snprintf(detail, sizeof detail, "libclang returned %u after %zu cursors, the tree %u after %zu", ra, a.n,
		         rb, b.n);
		report(root, what, detail);
	} else {
		for (size_t i = 0; i < a.n; i++)
			if (!alike(a.c[i], b.c[i]) || !alike(a.parent[i], b.parent[i])) {
				snprintf(detail, sizeof detail, "cursor %zu differs (kind %d against %d)", i, a.c[i].kind,
				         b.c[i].kind);
				report(root, what, detail);
				break;
			}
	}
	free(a.c);
	free(a.parent);
	free(b.c);
	free(b.parent);
}

static void compare_extent(CXCursor c, const char *what)
{
	CXSourceRange x = clang_getCursorExtent(c), y = rw_cursor_extent(c);

	checks++;
	if (!clang_equalRanges(x, y))
		report(c, what, "another extent");
}

/* Every kind of visit of C. */
static void compare_all(CXCursor c, const char *what)
{
	compare(c, what, -1, 0);
	compare(c, what, -1, 1);
	compare(c, what, -1, 2);
	compare(c, what, 2, 0);
	compare(c, what, 5, 2);
	compare_extent(c, what);
}

int main(int argc, char **argv)
{
	size_t stride = 1;
	int i = 1;
	CXIndex index;
	CXTranslationUnit tu;
	CXCursor unit;
	const char *file;

	if (i + 1 < argc && !strcmp(argv[i], "--stride"))
		stride = (size_t)strtoul(argv[i + 1], NULL, 10), i += 2;
	if (i >= argc || !stride) {
		fprintf(stderr, "usage: cursor_check [--stride N] FILE [-- CLANG-FLAGS...]\n");
		return 2;
	}
	file = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	index = clang_createIndex(0, 0);
	if (clang_parseTranslationUnit2(index, file, (const char *const *)argv + i, argc - i, NULL, 0,
	                                CXTranslationUnit_DetailedPreprocessingRecord | CXTranslationUnit_KeepGoing,
	                                &tu)) {
		fprintf(stderr, "cursor_check: %s: libclang could not parse it\n", file);
		return 2;
	}
	unit = clang_getTranslationUnitCursor(tu);
	clang_visitChildren(unit, gather, NULL);
	rw_cursors_build(tu);
	checks++;
	if (rw_cursors_count() != nall + 1) {
		fprintf(stderr, "MISMATCH the tree holds %zu cursors, the unit %zu and itself\n", rw_cursors_count(),
		        nall);
		mismatches++;
	}
	for (size_t k = 0; k < nall; k += stride) {
		CXCursor c = all[k], other;
		int nargs = clang_Cursor_getNumArguments(c);

		compare_all(c, "visited");
		if (!clang_Cursor_isNull(other = clang_getCursorReferenced(c)) && !clang_isInvalid(other.kind))
			compare_all(other, "referenced");
		if (!clang_Cursor_isNull(other = clang_getCursorDefinition(c)))
			compare_all(other, "definition");
		for (int a = 0; a < nargs; a++)
			compare_all(clang_Cursor_getArgument(c, (unsigned)a), "argument");
		if (!clang_Cursor_isNull(other = clang_getCursorSemanticParent(c)))
			compare(other, "semantic parent", -1, 1);
		if (!clang_Cursor_isNull(other = clang_getCursorLexicalParent(c)))
			compare(other, "lexical parent", -1, 1);
		if (!clang_Cursor_isNull(other = clang_getCursor(tu, clang_getCursorLocation(c))))
			compare_all(other, "at its location");
	}
	compare(unit, "the unit", -1, 0);
	compare(unit, "the unit, broken off", 3, 0);
	compare(unit, "the unit, broken off later", (long)nall / 2, 1);
	rw_cursors_free();
	free(all);
	clang_disposeTranslationUnit(tu);
	clang_disposeIndex(index);
	printf("%s: %zu cursors, %ld checks, %ld mismatches\n", file, nall, checks, mismatches);
	return mismatches != 0;
}
