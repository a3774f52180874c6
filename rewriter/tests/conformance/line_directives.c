/* Line directives between functions, as in a parser generator's output: the
 * slow copies and loop twins must say the same __FILE__ and __LINE__ as the
 * original, and so must every line after them. */
#include <stdio.h>

static int step(int i)
{
	return i + 1;
}

#line 500 "grammar.y"
static int in_grammar(int n)
{
	int s = 0;
	while (s < n) {
		s = step(s);
		printf("%s:%d %d\n", __FILE__, __LINE__, s);
	}
	return s;
}
#line 40 "line_directives.c"
static int renumbered(int n)
{
	for (int i = 0; i < n; i = step(i))
		printf("%s:%d %d\n", __FILE__, __LINE__, i);
	return __LINE__;
}
#line 2000
static int moved(int n)
{
	do
		n = step(n);
	while (n < 3);
	printf("%d\n", __LINE__);
	return n;
}

int main(void)
{
	printf("%d %d %d %d\n", in_grammar(2), renumbered(2), moved(0), __LINE__);
	return 0;
}
