/* Storage classes and inline written by macros on definitions (binutils'
 * cgen basic-ops.h: `#define SEMOPS_INLINE extern inline`, on functions
 * declared static above).  F__slow's declaration copies the words before
 * the name and says static itself, dropping a spelled extern or inline: a
 * function whose extern or inline a macro writes keeps its hooks inline. */
#include <stdio.h>

#define SEMOPS_INLINE extern inline
#define EXTERN extern
#define INLINE inline

static int twice(int x)
{
	return 2 * x;
}

static int sub(int x, int y);
SEMOPS_INLINE int sub(int x, int y)
{
	return twice(x) - y;
}

EXTERN int add(int x, int y)
{
	return twice(x) + y;
}

extern int spelled(int x, int y)
{
	return twice(x) * y;
}

int via_macro(int x);
INLINE int via_macro(int x)
{
	return x + 1;
}

int main(void)
{
	printf("%d %d %d %d\n", sub(5, 2), add(5, 2), spelled(5, 2), via_macro(4));
	return 0;
}
