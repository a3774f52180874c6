/* Declaration specifiers under a conditional the rewriter's parse does not
 * take (bfd's coff-sh.c, which pe-sh.c includes with COFF_WITH_PE defined:
 * `#ifdef COFF_WITH_PE static #endif bool f (...)`): the build defines
 * LOCAL_HELPERS, the rewrite does not see it.
 * conformance-cflags: -DLOCAL_HELPERS */
#include <stdio.h>

#ifdef LOCAL_HELPERS
static
#endif
int triple(int x)
{
	int r = 0;

	for (int i = 0; i < 3; i++)
		r += x;
	return r;
}

#ifdef LOCAL_HELPERS
static inline
#endif
int twice(int x)
{
	return x + x;
}

int main(void)
{
	printf("%d %d\n", triple(7), twice(5));
	return 0;
}
