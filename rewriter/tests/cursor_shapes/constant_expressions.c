/* Constant expressions in every place C has them: libclang shows each as
 * its operand's cursor, which a recursing visit yields twice (once for the
 * ConstantExpr, once for the operand).  rewriter/cursors.c must replay
 * both kinds of visit as libclang does; cursor_check.c and cursor_tree.py
 * read this file.  (A case label like the first one crashed loom-rewrite
 * when the cursor tree found the ConstantExpr's node for a visit of its
 * operand.) */
#include <stddef.h>

typedef void (*fn)(void);
extern fn hook;

enum color { RED = 1 << 2, GREEN = RED + sizeof(fn), BLUE = __builtin_constant_p((fn)*hook) };

struct bits {
	unsigned a : 3;
	unsigned b : sizeof(int) * 2;
	int c;
};

static const int table[] = { [RED] = 1, [GREEN - 1] = 2, [sizeof(struct bits) + 16] = 3 };
static int sized[sizeof(table) / sizeof(table[0]) + 1];

int classify(int x, fn f)
{
	int local[1 + (int)sizeof(long)];

	_Static_assert(sizeof(local) > 0, "sized");
	switch (x) {
	case __builtin_constant_p((fn)*hook):
		return 1;
	case __builtin_constant_p(((fn) * hook)) + 2:
		return 2;
	case RED:
	case GREEN ... GREEN + 2:
		f();
		return __builtin_choose_expr(__builtin_constant_p((fn)*hook), 3, 4);
	default:
		local[0] = table[x & 1] + sized[0];
		return local[0] + (int)offsetof(struct bits, c) * 0 + __builtin_choose_expr(sizeof(int) == 4, 5, 6);
	}
}
