/* An unbraced body that is a labelled statement: `else /+ Fall through. +/
 * case X: s;` (gas' parse_insn), where the comment tells gcc -Wextra that
 * the fall through into the label is meant.  The braces the rewriter adds
 * go after the labels, so the comment still comes right before the label;
 * the labels and the switch mean the same. */
#include <stdio.h>

static int suffix(int kind, int prev, int last)
{
	int r = 0;

	switch (kind) {
	case 'w':
		if (prev == 'x')
			r = 1;
		else
			/* Fall through.  */
	case 'b':
	case 'q':
			r = last;
		break;
	case 'l':
		while (last-- > 3)
			/* Fall through.  */
	default:
			r += 2;
		break;
	}
	return r;
}

int main(void)
{
	static const int kinds[] = { 'w', 'b', 'q', 'l', 'z' };

	for (unsigned i = 0; i < sizeof kinds / sizeof *kinds; i++)
		printf("%c: %d %d\n", kinds[i], suffix(kinds[i], 'x', 7), suffix(kinds[i], 'y', 6));
	return 0;
}
