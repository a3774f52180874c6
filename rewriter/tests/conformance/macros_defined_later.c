/* Macros defined, redefined or undefined after a function must not change
 * what its slow copy means (bfd's elf32-arm.c includes elf32-target.h at its
 * end, which defines elf_backend_hide_symbol: a member name its functions
 * use), and so must a macro the function undefines itself (bfd's
 * group_sections). */
#include <stdio.h>

struct node;

struct ops {
	int (*hide)(int);
};

static int hide_impl(int x)
{
	return -x;
}

#define LIMIT 3
#define TWICE(x) ((x) * 2)

static int step_of(const struct node *n);

static int apply(const struct ops *o, int v)
{
	int r = 0;
	for (int i = 0; i < LIMIT + v; i++)
		r += TWICE((*o->hide)(v + i));
	return r;
}

struct node {
	struct node *link;
	int value;
};

#define LINK(n) ((n)->link)

static int relink(struct node *a, struct node *b)
{
	int sum = 0;

	LINK(a) = b;
	for (struct node *n = a; n; n = LINK(n))
		sum += n->value + step_of(n);
	return sum;
#undef LINK
}

#undef LIMIT
#define LIMIT 5
#undef TWICE
#define hide other_name

static int step_of(const struct node *n)
{
	return n->value * 10;
}

int main(void)
{
	struct ops o = { hide_impl };
	struct node b = { NULL, 2 }, a = { NULL, 1 };

	printf("%d %d %d\n", apply(&o, 1), LIMIT, relink(&a, &b));
	return 0;
}
