/* A do loop whose first pass sets a variable used after it (libiberty's
 * d_unqualified_name): the twin's check at the back edge, in the condition,
 * leaves the first pass alone, so gcc still sees the variable set (a check
 * at the top of the body made it warn -Wmaybe-uninitialized). */
#include <stdio.h>
#include <stdlib.h>

struct cell {
	struct cell *rest;
	int n;
};

static int made;

__attribute__((noinline)) static struct cell *make(void)
{
	struct cell *c = calloc(1, sizeof *c);

	c->n = ++made;
	return c;
}

__attribute__((noinline)) static int more(void)
{
	return made < 4;
}

static struct cell *chain(void)
{
	struct cell *head;
	struct cell *prev = 0;

	do {
		struct cell *next = make();

		if (prev)
			prev->rest = next;
		else
			head = next;
		prev = next;
	} while (prev && more());
	if (!prev)
		head = 0;
	return head;
}

int main(void)
{
	int sum = 0;

	for (struct cell *c = chain(), *next; c; c = next) {
		next = c->rest;
		sum = sum * 10 + c->n;
		free(c);
	}
	printf("%d\n", sum);
	return 0;
}
