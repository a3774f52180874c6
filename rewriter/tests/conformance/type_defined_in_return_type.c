/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
struct S { int a; } mk(int x) { struct S s = { x }; return s; }
enum E { EA, EB } pick(int x) { return x ? EB : EA; }
int main(void) { printf("%d %d\n", mk(3).a, (int)pick(1)); return 0; }
