/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
int is_noreturn_call(int x) { return x * 7; }
int scale(int noreturn_count) { return noreturn_count + 1; }
int main(void) { printf("%d %d\n", is_noreturn_call(3), scale(4)); return 0; }
