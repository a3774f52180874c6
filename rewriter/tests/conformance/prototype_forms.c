/* Static functions called before their definitions through prototypes of
 * every shape: F__slow is declared after a prototype that declares F alone
 * (even split over lines, with a comment before its ';', through a typedef,
 * for a K&R definition), so the callers' slow copies call it; not after one
 * that declares two functions, that a macro writes or that has an attribute,
 * whose callees keep their switch.
 * conformance-cflags: -Wno-deprecated-non-prototype */
#include <stdio.h>

typedef int unary_fn(int);

static int plain(int x);
static int
split(int x,
      int y) /* the comment before its semicolon */ ;
static int attributed(int x) __attribute__((unused));
static unary_fn typed;
static int knr(int x);
static inline int hinted(int x);
static int pair_a(int x), pair_b(int x);
#define DECLARE(name) static int name(int x)
DECLARE(declared_by_macro);

static int run(int n)
{
	int s = 0;

	for (int i = 0; i < n; i++) {
		s += plain(i) + split(i, 2) + attributed(i) + typed(i) + knr(i) + hinted(i);
		s += pair_a(i) + pair_b(i) + declared_by_macro(i);
		printf("%d: %d\n", i, s);
	}
	return s;
}

static int plain(int x)
{
	return x + 1;
}

static int split(int x, int y)
{
	return x * y;
}

static int attributed(int x)
{
	return x - 3;
}

static int typed(int x)
{
	return x ^ 5;
}

static int knr(x)
	int x;
{
	return x << 1;
}

static inline int hinted(int x)
{
	return x % 3;
}

static int pair_a(int x)
{
	return x + 10;
}

static int pair_b(int x)
{
	return x + 20;
}

static int declared_by_macro(int x)
{
	return 7 - x;
}

int main(void)
{
	printf("total %d\n", run(5));
	return 0;
}
