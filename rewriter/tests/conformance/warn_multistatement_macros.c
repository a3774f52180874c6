/* warn_multistatement_macros.c: deliberately warns (gcc's
 * -Wmultistatement-macros; the unused variable is for clang, which has no
 * such warning).  A macro that writes two statements, used as the unbraced
 * body of an if, an else and loops: only its first statement is the body,
 * the second runs after the statement, every time.  Braces around the
 * invocation (for a slot, a loop's cond_break, its back-edge check or its
 * twin) would take the second in. */
#include <stdio.h>
#include <string.h>

#define TWO(a, b) (a)++; (b) += 1
#define DOWN(a, b) (a)--; (b) += 1
#define MEASURE(a, b, s) (a) += 1 + (int)strlen(s); (b) += 2

static int run(int n, const char *s)
{
	int a = 0, b = 0, x = 0, unused;

	if (n)
		TWO(a, b);
	for (int i = 0; i < 3; i++)
		TWO(a, x);
	while (n > 5)
		DOWN(n, b);
	if (n > 1)
		a += 10;
	else
		TWO(a, b);
	for (int i = 0; i < n; i++)
		MEASURE(a, x, s);
	while (x < 100)
		MEASURE(x, b, s);
	return a * 10000 + b * 100 + x;
}

/* The macro at the end of a body that is not the macro itself: nested
 * ifs, an else-if, a loop around an if, a label, a loop inside an if.
 * (Not `c = 1, TWO(c, b);`: gcc's -Wmisleading-indentation there is lost in
 * any file that starts with `#line 1`, as a rewritten file does.) */
static int nested(int n, const char *s)
{
	int a = 0, b = 0, x = 0, c = 0;

	if (n > 0)
		if (n > 1)
			TWO(a, b);
	if (n == 1)
		a += 5;
	else if (n > 1)
		TWO(a, x);
	while (n-- > 0)
		if (n & 1)
			TWO(x, b);
	if (n > 100)
	again:
		TWO(a, c);
	if (b < 9 && c == 0) {
		c = 1;
		goto again;
	}
	if (x > 0)
		for (int i = 0; i < 2; i++)
			MEASURE(a, x, s);
	return a * 1000000 + b * 10000 + x * 100 + c;
}

int main(void)
{
	printf("%d %d %d\n", run(0, "ab"), run(1, "abc"), run(9, ""));
	printf("%d %d %d\n", nested(0, "ab"), nested(1, "abc"), nested(5, ""));
	return 0;
}
