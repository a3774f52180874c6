/* Functions declared inline with external linkage.  An inline definition
 * (C99: every file-scope declaration says inline, none extern) may not use
 * a static function, such as its slow copy: it keeps its hooks inline.  A
 * definition whose first declaration does not say inline is an external
 * definition (in C99 and in GNU89), which may: it gets its slow copy
 * (Open vSwitch's dp_netdev_pmd_lookup_dpcls, prototyped in a header).
 * extern inline, and a declaration without inline only after the
 * definition, keep their hooks inline (extern inline means another thing
 * in GNU89; libclang reports a later declaration as inline too). */
#include <stdio.h>
#include <stdlib.h>
static inline int sq(int x) { return x * x; } /* slow copy */
inline int c99(int x) { return x + 3; } /* inline */
int use(int (*f)(int)) { return f(2); } /* slow copy */

int outer(int x);
inline int outer(int x) /* slow copy */
{
	int s = 0;

	for (int i = 0; i < x; i++)
		s += sq(i);
	return s;
}

inline int declared_after(int x) { return x * 5; } /* inline */
int declared_after(int x);

extern inline int ext(int x) { return x - 1; } /* inline */

int main(void) /* slow copy */
{
	printf("%d %d %d %d %d\n", sq(3), use(sq), outer(4), declared_after(2), ext(7));
	return 0;
}
