/* The cursor tree of one translation unit, read once (cursors.h).
 *
 * Which cursors a visit yields depends only on the cursor visited, with
 * one exception: a statement's or expression's cursor carries, in its
 * data[0], the declaration nearest above it *in the visit that made it*
 * (libclang's CursorVisitor::StmtParent: the visited cursor itself if it is
 * a declaration, else the one above, else none).  So the tree keeps the
 * cursors of one visit of the unit, finds a cursor by everything but that
 * field, and rw_visit_children gives each statement and expression the
 * declaration its own visit would have, to yield the cursors
 * clang_visitChildren would, bit for bit. */
#include "cursors.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "util.h"

#define NONE UINT32_MAX

struct node {
	CXCursor c;
	uint32_t first, next;       /* children, in visit order */
	bool stmt;                  /* a statement or expression */
	bool decl;                  /* a declaration */
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
	CXSourceRange *extents;     /* by node, once asked for (else zero) */
	struct {
		CXCursor c;
		uint32_t k;
	} memo[MEMO];
};

static _Thread_local struct tree *current;

static bool is_stmt(enum CXCursorKind k)
{
	return clang_isStatement(k) || clang_isExpression(k);
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
	*n = (struct node){ .c = c, .first = NONE, .next = NONE, .stmt = is_stmt(c.kind),
	                    .decl = clang_isDeclaration(c.kind) };
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
	/* A cursor met twice (an expression shared by two parents) has the
	 * same children both times; find meets the first one first. */
	for (uint32_t k = 0; k < t->n; k++) {
		size_t i = hash(t->nodes[k].c, t->nodes[k].stmt) & t->mask;

		while (t->slots[i])
			i = (i + 1) & t->mask;
		t->slots[i] = k + 1;
	}
	for (size_t i = 0; i < MEMO; i++)
		t->memo[i].k = NONE;
	t->extents = loom_xcalloc(t->n, sizeof *t->extents);
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

static void remember(struct tree *t, CXCursor c, uint32_t k)
{
	size_t m = memo_of(c, t->nodes[k].stmt);

	t->memo[m].c = c;
	t->memo[m].k = k;
}

/* Visits the children of node K, yielded as cursor PARENT, whose visit
 * gives statements STMT_PARENT as their declaration above. */
static unsigned visit(struct tree *t, uint32_t k, CXCursor parent, const void *stmt_parent,
                      CXCursorVisitor visitor, CXClientData data)
{
	for (uint32_t i = t->nodes[k].first; i != NONE; i = t->nodes[i].next) {
		CXCursor c = t->nodes[i].c;

		if (t->nodes[i].stmt)
			c.data[0] = stmt_parent;
		remember(t, c, i);
		switch (visitor(c, parent, data)) {
		case CXChildVisit_Break:
			return 1;
		case CXChildVisit_Continue:
			break;
		case CXChildVisit_Recurse:
			if (visit(t, i, c, t->nodes[i].decl ? c.data[0] : stmt_parent, visitor, data))
				return 1;
			break;
		}
	}
	return 0;
}

unsigned rw_visit_children(CXCursor parent, CXCursorVisitor visitor, CXClientData data)
{
	uint32_t k = current ? find(current, parent) : NONE;
	const void *stmt_parent = clang_isDeclaration(parent.kind) ? parent.data[0] : NULL;

	if (k == NONE)
		return clang_visitChildren(parent, visitor, data);
	/* libclang yields a visited statement's children under a cursor it
	 * makes again, with its own (no) declaration above. */
	if (current->nodes[k].stmt)
		parent.data[0] = stmt_parent;
	return visit(current, k, parent, stmt_parent, visitor, data);
}

CXSourceRange rw_cursor_extent(CXCursor c)
{
	uint32_t k = current ? find(current, c) : NONE;
	CXSourceRange *r;

	if (k == NONE)
		return clang_getCursorExtent(c);
	r = &current->extents[k];
	if (!r->ptr_data[0]) /* not asked for yet (or no extent at all) */
		*r = clang_getCursorExtent(c);
	return *r;
}
