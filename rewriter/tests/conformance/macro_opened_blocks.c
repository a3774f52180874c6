/* A macro that opens a block which the text after it continues and another
 * macro closes (bfd's eval_symbol: BINARY_OP_HEAD (<<) ... BINARY_OP_TAIL):
 * the block is already braced; no brace may be added around the first
 * macro, and the statements between the two macros keep their place. */
#include <stdio.h>
#include <string.h>

#define OP_HEAD(op)                                \
	if (strncmp(s, #op, strlen(#op)) == 0) {   \
		b = (int)strlen(s);                \
		if (b > 2)                         \
			b -= 2;
#define OP_TAIL     \
		return b; \
	}

static int eval(const char *s)
{
	int b = -1;

	switch (s[0]) {
	default:
		OP_HEAD(<<)
		if (b > 5)
			b = 5;
		OP_TAIL
		OP_HEAD(>>)
		b *= 2;
		OP_TAIL
		break;
	}
	return b - 100;
}

int main(void)
{
	printf("%d %d %d\n", eval("<<abcdefg"), eval(">>ab"), eval("x"));
	return 0;
}
