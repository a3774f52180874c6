/* A macro that expands to statements with their own ';', written as a
 * statement (bfd's elf32-rx.c: `GET_RELOC;`): the empty statement after it
 * starts right after the macro's name; it gets no hook (another definition
 * of the macro may need the ';', see conditional_groups.c), and braces
 * around an unbraced body take the ';' in.  A statement that starts
 * inside the same expansion as the one before it ends gets no hook, and
 * a statement whose ';' a macro writes ends at that macro. */
#include <stdio.h>

#define STEP \
	x += 1; \
	y *= 2;
#define STEP2 x -= 3;

static int walk(int n)
{
	int x = 0, y = 1;

	for (int i = 0; i < n; i++) {
		STEP;
		if (x > 2)
			STEP2;
	}
	STEP;
	return x * 1000 + y;
}

/* bfd's arc-got.h: the expansion ends a declaration's initializer, then
 * opens a block of its own; no hook can go between the two. */
#define TAKE_AND_GROW(v) \
	(v); \
	{ \
		if ((v) > 2) \
			grown += 10; \
		grown += 1; \
	}

static int grown;

static int take(int v)
{
	int got
		= TAKE_AND_GROW(v);
	return got * 100 + grown;
}

/* A statement whose ';' is a macro's only token: it ends there, not at
 * the next statement's ';'. */
#define SEMI ;

static int ended(int n)
{
	int s = 0;

	if (n)
		s += take(n) SEMI
	return s;
}

int main(void)
{
	printf("%d\n", walk(5));
	printf("%d %d\n", take(3), take(1));
	printf("%d %d\n", ended(0), ended(2));
	return 0;
}
