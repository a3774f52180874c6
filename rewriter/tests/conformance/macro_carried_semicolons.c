/* A macro that expands to statements with their own ';', written as a
 * statement (bfd's elf32-rx.c: `GET_RELOC;`): the empty statement after it
 * starts right after the macro's name, and its hook must not join it. */
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

int main(void)
{
	printf("%d\n", walk(5));
	return 0;
}
