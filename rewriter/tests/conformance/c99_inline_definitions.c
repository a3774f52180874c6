/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
static inline int sq(int x) { return x * x; }
inline int c99(int x) { return x + 3; }
int use(int (*f)(int)) { return f(2); }
int main(void) { printf("%d %d\n", sq(3), use(sq)); return 0; }
