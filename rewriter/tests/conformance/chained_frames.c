/* A local's address kept in a pointer that an assertion proves was moved on
 * before it is returned (binutils' gas/write.c, chain_frchains_together_1):
 * gcc -O2 sees that in the original; in the slow copy, between hooks, it
 * warns -Wreturn-local-addr unless the copy is quiet.  The inline
 * emitter's hooks sit in the one body, where nothing may be quieted: it
 * gives that warning (docs/design.md).
 * conformance-emit: hybrid */
#include <stdio.h>
#include <stdlib.h>

struct frame {
	struct frame *next;
	int tag;
};

static void fail(void) __attribute__((noreturn));

static void fail(void)
{
	puts("empty chain");
	exit(1);
}

#define ASSERT(c) do { if (!(c)) fail(); } while (0)

__attribute__((noinline)) struct frame *chain(struct frame *list);

struct frame *chain(struct frame *list)
{
	struct frame dummy;
	struct frame *prev = &dummy;

	for (struct frame *p = list; p; p = p->next) {
		prev->next = p;
		prev = p;
	}
	ASSERT(prev != &dummy);
	prev->next = 0;
	return prev;
}

int main(void)
{
	struct frame c = { NULL, 3 }, b = { &c, 2 }, a = { &b, 1 };

	printf("%d\n", chain(&a)->tag);
	return 0;
}
