/* The cursor tree of one translation unit, read once (cursors.h).
 *
 * The tree keeps the cursors of one visit of the unit, in visit order, and
 * rw_visit_children replays a visit of any of them from it.  What libclang
 * yields visiting a cursor depends on the cursor, with these exceptions,
 * each checked against libclang by rewriter/tests/cursor_check.c:
 *
 *   - A statement's or expression's cursor carries in data[0] a declaration
 *     that depends on the course of the visit that made it (libclang's
 *     CursorVisitor::StmtParent, which a declaration visited earlier in the
 *     same visit may leave set).  The tree finds a cursor by everything but
 *     that field, and its cursors carry the one visit's values.  The walk
 *     calls nothing that reads it (clang_getCursorSemanticParent of a
 *     statement would).
 *   - A ConstantExpr (a case value, an enum constant, a bit-field width...)
 *     yields its operand's cursor, and a visit that recurses into it yields
 *     that same cursor again as its one child, whose children are the
 *     operand's.  A visit of the cursor itself yields the operand's
 *     children: so the tree finds the inner node ("wrappers" are never
 *     found), while a replayed recursion passes through the wrapper.
 *   - Visiting the unit, libclang goes on to the declarations after a Break
 *     among the preprocessing cursors that come first, and returns 0. */
#include "cursors.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NONE UINT32_MAX

struct node {
	CXCursor c;
	uint32_t first, next;       /* children, in visit order */
	uint32_t extent;            /* its extent: index + 1 in tree.extents,
	                             * 0 until asked for (in the padding) */
	bool stmt;                  /* a statement or expression */
	bool wrapper;               /* its first child is the same cursor */
};

/* The tree outgrows the caches, and the walk asks for the cursor it was
 * just given (to visit it, or for its extent): the last cursors found,
 * by hash. */
#define MEMO 16

struct tree {
	struct node *nodes;
	size_t n, cap;
	uint32_t *slots;            /* hash of the cursors: node + 1, 0 empty */
	size_t mask;
	CXSourceRange *extents;     /* those asked for (one in eight cursors:
	                             * a dense array by node, mostly empty,
	                             * would cost a page fault per 170) */
	size_t nextents, extents_cap;
	struct {
		CXCursor c;
		uint32_t k;
	} memo[MEMO];
};

static _Thread_local struct tree *current;

/* clang_isStatement || clang_isExpression, by Index.h's ranges: asked for
 * every cursor of the unit. */
static bool is_stmt(enum CXCursorKind k)
{
	return (k >= CXCursor_FirstStmt && k <= CXCursor_LastStmt) || (k >= CXCursor_FirstExpr && k <= CXCursor_LastExpr);
}

static bool same(CXCursor a, CXCursor b)
{
	return a.kind == b.kind && a.xdata == b.xdata && a.data[0] == b.data[0] && a.data[1] == b.data[1]
	       && a.data[2] == b.data[2];
}

/* Equal for the tree: a statement's data[0] aside. */
static bool same_node(CXCursor a, CXCursor b, bool stmt)
{
	return a.kind == b.kind && a.xdata == b.xdata && (stmt || a.data[0] == b.data[0]) && a.data[1] == b.data[1]
	       && a.data[2] == b.data[2];
}

static size_t hash(CXCursor c, bool stmt)
{
	uint64_t h = (uint64_t)c.kind * 0x9e3779b97f4a7c15u ^ (uint64_t)(uint32_t)c.xdata;

	h = (h ^ (uintptr_t)(stmt ? NULL : c.data[0])) * 0xff51afd7ed558ccdu;
	h = (h ^ (uintptr_t)c.data[1]) * 0xc4ceb9fe1a85ec53u;
	h = (h ^ (uintptr_t)c.data[2]) * 0xff51afd7ed558ccdu;
	return (size_t)(h ^ h >> 32);
}

/* C's place in the memo: by the AST node it stands for. */
static size_t memo_of(CXCursor c, bool stmt)
{
	return ((uintptr_t)(stmt ? c.data[1] : c.data[0]) >> 4) % MEMO;
}

static uint32_t find(struct tree *t, CXCursor c)
{
	bool stmt = is_stmt(c.kind);
	size_t m = memo_of(c, stmt);

	if (t->memo[m].k != NONE && same_node(t->memo[m].c, c, stmt))
		return t->memo[m].k;
	for (size_t i = hash(c, stmt) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slots[i];

		if (!s)
			return NONE;
		if (same_node(t->nodes[s - 1].c, c, stmt)) {
			t->memo[m].c = c;
			t->memo[m].k = s - 1;
			return s - 1;
		}
	}
}

/* The build: the ancestors of the cursor being visited, innermost last. */
struct build {
	struct tree *t;
	uint32_t *last;             /* by node: its last child so far */
	size_t last_cap;
	uint32_t *stack;
	size_t depth, cap;
	bool lost;                  /* a parent not among the ancestors */
};

static uint32_t add_node(struct tree *t, CXCursor c)
{
	struct node *n;

	if (t->n >= NONE - 1)
		abort(); /* four billion cursors: not a C file */
	n = LOOM_PUSH(t->nodes, t->n, t->cap);
	*n = (struct node){ .c = c, .first = NONE, .next = NONE, .stmt = is_stmt(c.kind) };
	return (uint32_t)(n - t->nodes);
}

/* Makes room in B->last for the node just added. */
static void grow_last(struct build *b)
{
	size_t n = b->t->n;

	if (n > b->last_cap) {
		size_t cap = b->last_cap ? 2 * b->last_cap : 1024;

		b->last = loom_xrealloc(b->last, cap * sizeof *b->last);
		b->last_cap = cap;
	}
	b->last[n - 1] = NONE;
}

static enum CXChildVisitResult collect(CXCursor c, CXCursor parent, CXClientData data)
{
	struct build *b = data;
	struct tree *t = b->t;
	uint32_t up, k;

	/* PARENT is the cursor this visit yielded above C (or the root). */
	while (b->depth && !same(t->nodes[b->stack[b->depth - 1]].c, parent))
		b->depth--;
	if (!b->depth) {
		b->lost = true; /* then the tree is not used */
		return CXChildVisit_Break;
	}
	up = b->stack[b->depth - 1];
	k = add_node(t, c);
	grow_last(b);
	if (b->last[up] == NONE)
		t->nodes[up].first = k;
	else
		t->nodes[b->last[up]].next = k;
	b->last[up] = k;
	*LOOM_PUSH(b->stack, b->depth, b->cap) = k;
	return CXChildVisit_Recurse;
}

void rw_cursors_build(CXTranslationUnit tu)
{
	struct tree *t = loom_xcalloc(1, sizeof *t);
	struct build b = { .t = t };
	size_t size = 16;
	CXCursor root = clang_getTranslationUnitCursor(tu);

	rw_cursors_free();
	if (getenv(RW_NO_CURSOR_TREE_ENV)) { /* libclang answers all (rewriter/tests/cursor_tree.py) */
		free(t);
		return;
	}
	*LOOM_PUSH(b.stack, b.depth, b.cap) = add_node(t, root);
	grow_last(&b);
	clang_visitChildren(root, collect, &b);
	free(b.stack);
	free(b.last);
	if (b.lost) {
		free(t->nodes);
		free(t);
		return;
	}
	while (size < 2 * t->n)
		size *= 2;
	t->slots = loom_xcalloc(size, sizeof *t->slots);
	t->mask = size - 1;
	/* Otherwise a cursor met twice (an expression under two parents) has
	 * the same children both times; find meets the first one first. */
	for (uint32_t k = 0; k < t->n; k++) {
		struct node *n = &t->nodes[k];
		size_t i;

		n->wrapper = n->first != NONE && same_node(n->c, t->nodes[n->first].c, n->stmt);
		if (n->wrapper)
			continue;
		for (i = hash(n->c, n->stmt) & t->mask; t->slots[i]; i = (i + 1) & t->mask)
			;
		t->slots[i] = k + 1;
	}
	for (size_t i = 0; i < MEMO; i++)
		t->memo[i].k = NONE;
	current = t;
}

void rw_cursors_free(void)
{
	if (!current)
		return;
	free(current->nodes);
	free(current->slots);
	free(current->extents);
	free(current);
	current = NULL;
}

/* Notes that cursor C, just handed out, is node K (the node find would
 * give: a wrapper's inner one). */
static void remember(struct tree *t, CXCursor c, uint32_t k)
{
	size_t m;

	while (t->nodes[k].wrapper)
		k = t->nodes[k].first;
	m = memo_of(c, t->nodes[k].stmt);
	t->memo[m].c = c;
	t->memo[m].k = k;
}

/* A visit in progress: where it goes on after the children of a cursor it
 * recursed into. */
struct frame {
	uint32_t next;
	CXCursor parent;
};

/* Replays a visit of node ROOT (the cursor PARENT); as clang_visitChildren
 * returns.  Without recursion of its own: an expression may nest as deep
 * as a long chain of binary operators. */
static unsigned visit(struct tree *t, uint32_t root, CXCursor parent, CXCursorVisitor visitor, CXClientData data)
{
	struct frame small[32], *stack = small;
	size_t depth = 0, cap = sizeof small / sizeof *small;
	uint32_t i = t->nodes[root].first;
	unsigned broke = 0;

	for (;;) {
		CXCursor c;

		if (i == NONE) {
			if (!depth)
				break;
			depth--;
			i = stack[depth].next;
			parent = stack[depth].parent;
			continue;
		}
		c = t->nodes[i].c;
		remember(t, c, i);
		switch (visitor(c, parent, data)) {
		case CXChildVisit_Break:
			if (root || depth || !clang_isPreprocessing(c.kind)) {
				broke = 1;
				goto done;
			}
			/* libclang's quirk (above): on to the declarations. */
			while (i != NONE && clang_isPreprocessing(t->nodes[i].c.kind))
				i = t->nodes[i].next;
			break;
		case CXChildVisit_Continue:
			i = t->nodes[i].next;
			break;
		case CXChildVisit_Recurse:
			if (depth == cap) {
				cap *= 2;
				if (stack == small) {
					stack = loom_xmalloc(cap * sizeof *stack);
					memcpy(stack, small, sizeof small);
				} else {
					stack = loom_xrealloc(stack, cap * sizeof *stack);
				}
			}
			stack[depth++] = (struct frame){ t->nodes[i].next, parent };
			parent = c;
			i = t->nodes[i].first;
			break;
		}
	}
done:
	if (stack != small)
		free(stack);
	return broke;
}

size_t rw_cursors_count(void)
{
	return current ? current->n : 0;
}

unsigned rw_visit_children(CXCursor parent, CXCursorVisitor visitor, CXClientData data)
{
	uint32_t k = current ? find(current, parent) : NONE;

	if (k == NONE)
		return clang_visitChildren(parent, visitor, data);
	return visit(current, k, parent, visitor, data);
}

CXSourceRange rw_cursor_extent(CXCursor c)
{
	uint32_t k = current ? find(current, c) : NONE;
	struct node *n;

	if (k == NONE)
		return clang_getCursorExtent(c);
	n = &current->nodes[k];
	if (!n->extent) {
		*LOOM_PUSH(current->extents, current->nextents, current->extents_cap) = clang_getCursorExtent(c);
		n->extent = (uint32_t)current->nextents;
	}
	return current->extents[n->extent - 1];
}
