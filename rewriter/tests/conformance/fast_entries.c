/* Small external functions get a fast entry (docs/design.md): their body
 * becomes NAME__fast, which the file's fast bodies call, and NAME switches
 * and calls it for everyone else.  Called before and after the definition,
 * recursively, through a pointer, from a block-scope declaration, shadowed
 * by a parameter; __func__ still names the function; a struct comes back
 * whole.  -Wmissing-prototypes and -Wredundant-decls: the declarations of
 * NAME__fast add no warning.
 * conformance-cflags: -Wmissing-prototypes -Wredundant-decls -Wshadow */
#include <stdio.h>
#include <string.h>

int twice(int x);
int called_early(int x);
void note(const char *what, int x);
struct pair { int a, b; };
struct pair make_pair(int a, int b);
int countdown(int n);
int shadowed(int x);
int (*pick(int which))(int);
const char *own_name(void);

static int total;

/* Before the definitions: its NAME__fast is declared above it. */
static int early_user(int x)
{
	return called_early(x) + twice(x);
}

int called_early(int x)
{
	return x * 3 - 1;
}

int twice(int x)
{
	return 2 * x;
}

void note(const char *what, int x)
{
	total += x;
	printf("%s %d (%s)\n", what, x, __func__);
}

struct pair make_pair(int a, int b)
{
	struct pair p = { a, b };
	return p;
}

int countdown(int n)
{
	if (n <= 0)
		return 0;
	return n + countdown(n - 1);
}

/* A parameter named like a function: calls through it stay calls of the
 * parameter. */
static int apply(int (*twice)(int), int x)
{
	return twice(x) + 1;
}

int shadowed(int x)
{
	return apply(called_early, x) + apply(twice, x);
}

int (*pick(int which))(int)
{
	return which ? twice : called_early;
}

const char *own_name(void)
{
	return __func__;
}

static int block_scope(int x)
{
	extern int later_block(int);

	return later_block(x) + 1;
}

int later_block(int x)
{
	return x ^ 5;
}

int main(void)
{
	struct pair p = make_pair(twice(3), called_early(4));
	int (*f)(int) = pick(1);

	note("early", early_user(5));
	note("pair", p.a * 100 + p.b);
	note("countdown", countdown(6));
	note("shadowed", shadowed(7));
	note("pointer", f(8) + pick(0)(9));
	note("block", block_scope(10));
	printf("%s %d\n", own_name(), strcmp(own_name(), "own_name"));
	printf("total %d\n", total);
	return 0;
}
