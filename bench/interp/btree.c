/* A B+tree of int64 keys to int64 values with linked leaves. */
#include "interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDER 32                /* keys per node */

typedef struct bt_node {
	int leaf, n;
	int64_t keys[ORDER];
	union {
		struct bt_node *child[ORDER + 1];
		int64_t vals[ORDER];
	} u;
	struct bt_node *next;   /* leaves: the next leaf */
} bt_node;

struct btree {
	bt_node *root;
	long count;
};

static bt_node *node_new(int leaf)
{
	bt_node *n = calloc(1, sizeof *n);

	if (!n) {
		fprintf(stderr, "interp: out of memory\n");
		exit(1);
	}
	n->leaf = leaf;
	return n;
}

static void node_free(bt_node *n)
{
	if (!n->leaf)
		for (int i = 0; i <= n->n; i++)
			node_free(n->u.child[i]);
	free(n);
}

btree *btree_new(void)
{
	btree *t = calloc(1, sizeof *t);

	if (!t) {
		fprintf(stderr, "interp: out of memory\n");
		exit(1);
	}
	t->root = node_new(1);
	return t;
}

void btree_free(btree *t)
{
	node_free(t->root);
	free(t);
}

long btree_count(const btree *t)
{
	return t->count;
}

/* The first index whose key is >= key (leaves), or the child to descend
 * into (internal nodes: keys[i] is the smallest key of child i + 1). */
static int node_search(const bt_node *n, int64_t key)
{
	int lo = 0, hi = n->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (n->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int child_index(const bt_node *n, int64_t key)
{
	int i = node_search(n, key);

	return i < n->n && n->keys[i] == key ? i + 1 : i;
}

static const bt_node *find_leaf(const btree *t, int64_t key)
{
	const bt_node *n = t->root;

	while (!n->leaf)
		n = n->u.child[child_index(n, key)];
	return n;
}

int btree_find(const btree *t, int64_t key, int64_t *val)
{
	const bt_node *leaf = find_leaf(t, key);
	int i = node_search(leaf, key);

	if (i < leaf->n && leaf->keys[i] == key) {
		*val = leaf->u.vals[i];
		return 1;
	}
	return 0;
}

static void leaf_insert_at(bt_node *leaf, int i, int64_t key, int64_t val)
{
	memmove(&leaf->keys[i + 1], &leaf->keys[i], (size_t)(leaf->n - i) * sizeof leaf->keys[0]);
	memmove(&leaf->u.vals[i + 1], &leaf->u.vals[i], (size_t)(leaf->n - i) * sizeof leaf->u.vals[0]);
	leaf->keys[i] = key;
	leaf->u.vals[i] = val;
	leaf->n++;
}

/* Splits a full node; returns the new right sibling and its separator. */
static bt_node *split(bt_node *n, int64_t *sep)
{
	bt_node *right = node_new(n->leaf);
	int half = n->n / 2;

	if (n->leaf) {
		right->n = n->n - half;
		memcpy(right->keys, &n->keys[half], (size_t)right->n * sizeof n->keys[0]);
		memcpy(right->u.vals, &n->u.vals[half], (size_t)right->n * sizeof n->u.vals[0]);
		n->n = half;
		right->next = n->next;
		n->next = right;
		*sep = right->keys[0];
	} else {
		*sep = n->keys[half];
		right->n = n->n - half - 1;
		memcpy(right->keys, &n->keys[half + 1], (size_t)right->n * sizeof n->keys[0]);
		memcpy(right->u.child, &n->u.child[half + 1], (size_t)(right->n + 1) * sizeof n->u.child[0]);
		n->n = half;
	}
	return right;
}

/* Inserts below n; returns a new right sibling of n if n had to split. */
static bt_node *insert_rec(btree *t, bt_node *n, int64_t key, int64_t val, int64_t *sep)
{
	if (n->leaf) {
		int i = node_search(n, key);
		if (i < n->n && n->keys[i] == key) {
			n->u.vals[i] = val;
			return NULL;
		}
		t->count++;
		if (n->n < ORDER) {
			leaf_insert_at(n, i, key, val);
			return NULL;
		}
		bt_node *right = split(n, sep);
		if (key < *sep)
			leaf_insert_at(n, node_search(n, key), key, val);
		else
			leaf_insert_at(right, node_search(right, key), key, val);
		*sep = right->keys[0];
		return right;
	}
	int ci = child_index(n, key);
	int64_t child_sep;
	bt_node *fresh = insert_rec(t, n->u.child[ci], key, val, &child_sep);
	if (!fresh)
		return NULL;
	memmove(&n->keys[ci + 1], &n->keys[ci], (size_t)(n->n - ci) * sizeof n->keys[0]);
	memmove(&n->u.child[ci + 2], &n->u.child[ci + 1], (size_t)(n->n - ci) * sizeof n->u.child[0]);
	n->keys[ci] = child_sep;
	n->u.child[ci + 1] = fresh;
	n->n++;
	if (n->n < ORDER)
		return NULL;
	return split(n, sep);
}

void btree_insert(btree *t, int64_t key, int64_t val)
{
	int64_t sep;
	bt_node *right = insert_rec(t, t->root, key, val, &sep);

	if (right) {
		bt_node *root = node_new(0);
		root->n = 1;
		root->keys[0] = sep;
		root->u.child[0] = t->root;
		root->u.child[1] = right;
		t->root = root;
	}
}

void btree_seek(const btree *t, int64_t key, bt_cursor *c)
{
	c->leaf = find_leaf(t, key);
	c->index = node_search(c->leaf, key);
	if (c->index == c->leaf->n) {
		c->leaf = c->leaf->next;
		c->index = 0;
	}
}

int btree_cursor_valid(const bt_cursor *c)
{
	return c->leaf && c->index < c->leaf->n;
}

int64_t btree_cursor_key(const bt_cursor *c)
{
	return c->leaf->keys[c->index];
}

int64_t btree_cursor_value(const bt_cursor *c)
{
	return c->leaf->u.vals[c->index];
}

void btree_next(bt_cursor *c)
{
	if (++c->index >= c->leaf->n) {
		c->leaf = c->leaf->next;
		c->index = 0;
	}
}

uint64_t btree_digest(const btree *t)
{
	const bt_node *n = t->root;
	uint64_t h = 0xcbf29ce484222325ull;

	while (!n->leaf)
		n = n->u.child[0];
	for (; n; n = n->next)
		for (int i = 0; i < n->n; i++) {
			h = (h ^ (uint64_t)n->keys[i]) * 0x100000001b3ull;
			h = (h ^ (uint64_t)n->u.vals[i]) * 0x100000001b3ull;
		}
	return h;
}
