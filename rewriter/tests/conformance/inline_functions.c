/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
inline int twice(int x) { return 2 * x; }
extern int twice(int x);
int main(void) { printf("%d\n", twice(3)); return 0; }
