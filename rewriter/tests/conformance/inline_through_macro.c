/* `inline` spelled by a macro (binutils' gas: `static INLINE int
 * fits_in_signed_byte (...)`): the slow copy's noinline beside it must not
 * warn. */
#include <stdio.h>

#define INLINE __inline__

static INLINE int next_of(int x)
{
	return x * 2 + 1;
}

int main(void)
{
	int s = 0;

	for (int i = 0; i < 5; i++)
		s += next_of(i);
	printf("%d\n", s);
	return 0;
}
