/* An else-if chain a macro writes after `if (0) ;` (binutils' objcopy.c:
 * PARSE_FLAG): the `else` is inside each expansion, so no brace may open
 * before it. */
#include <stdio.h>
#include <string.h>

#define OPT(name, bit) else if (strcmp(word, name) == 0) flags |= bit

static int parse(const char *word)
{
	int flags = 0;

	if (0)
		;
	OPT("alloc", 1);
	OPT("load", 2);
	OPT("code", 4);
	else
		flags = -1;
	return flags;
}

int main(void)
{
	printf("%d %d %d\n", parse("load"), parse("code"), parse("none"));
	return 0;
}
