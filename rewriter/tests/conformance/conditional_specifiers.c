/* Declaration specifiers under a conditional the rewriter's parse does not
 * take (bfd's coff-sh.c, which pe-sh.c includes with COFF_WITH_PE defined:
 * `#ifdef COFF_WITH_PE static #endif bool f (...)`): the build defines
 * LOCAL_HELPERS, the rewrite does not see it.  Such a function keeps its
 * hooks inline (rewriter/tests/slow_copies.py checks the marks).
 * conformance-cflags: -DLOCAL_HELPERS */
#include <stdio.h>

#ifdef LOCAL_HELPERS
static
#endif
int triple(int x) /* inline */
{
	int r = 0;

	for (int i = 0; i < 3; i++)
		r += x;
	return r;
}

#ifdef LOCAL_HELPERS
static inline
#endif
int twice(int x) /* inline */
{
	return x + x;
}

/* A C++ linkage block ends no declaration, but cannot be part of one: a
 * function after it gets its slow copy (most libraries' headers open one
 * under #ifdef __cplusplus). */
#ifdef __cplusplus
extern "C" {
#endif
int quad(int x) /* slow copy */
{
	return twice(twice(x));
}
#ifdef __cplusplus
}
#endif

int main(void) /* slow copy */
{
	printf("%d %d %d\n", triple(7), twice(5), quad(3));
	return 0;
}
