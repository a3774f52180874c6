/* Falling through into a case label followed by a goto (binutils'
 * elf_object_p, gas' parse_insn): gcc -Wextra does not warn about the fall
 * through, even with a comment it does not take as an annotation, because
 * the label is followed by a goto, or a block that starts with one (a
 * return, break or continue there would not keep it quiet).  A hook before that goto made it warn;
 * LOOM_FALLTHROUGH before the label keeps it quiet.  The functions with a
 * static local keep their hooks inline (no slow copy), as those did. */
#include <stdio.h>

static int check(int k, const int *v, int n)
{
	static int calls;

	calls++;
	for (int i = 0; i < n; i++) {
		switch (k) {
		case 1:
			if (v[i] == 7
			    || v[i] == 8)
				break;
			/* Otherwise fall through.  */
		default:
			goto fail;
		}
	}
	return calls;
fail:
	return -calls;
}

static int pick(int k, int v)
{
	static int seen;
	void *where = v & 1 ? &&odd : &&even;

	seen++;
	switch (k) {
	case 0:
		if (v > 3)
			return 1;
		/* Otherwise go on.  */
	case 1:
		goto *where;
	case 2:
		v++;
		if (v & 1)
			break;
		/* Then stop.  */
	case 3:
		goto even;
	case 4:
		if (v > 1)
			break;
		/* Else on.  */
	case 5:
		{ goto odd; }
	}
	return 10 + seen;
odd:
	return 20 + seen;
even:
	return 30 + seen;
}

/* The same with a slow copy (the hooks are there only). */
static int check_outlined(int k, const int *v, int n)
{
	for (int i = 0; i < n; i++) {
		switch (k) {
		case 1:
			if (v[i] == 7)
				break;
			/* Otherwise fall through.  */
		default:
			goto out;
		}
	}
	return 0;
out:
	return -1;
}

int main(void)
{
	static const int a[] = { 7, 8, 7 }, b[] = { 7, 9 };

	printf("check %d %d %d\n", check(1, a, 3), check(1, b, 2), check(2, a, 3));
	for (int k = 0; k < 7; k++)
		printf("pick %d: %d %d\n", k, pick(k, 2), pick(k, 5));
	printf("outlined %d %d\n", check_outlined(1, a, 1), check_outlined(2, a, 3));
	return 0;
}
