/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
__attribute__((weak)) int wf(int x) { return x + 1; }
int main(void) { printf("%d\n", wf(3)); return 0; }
