/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
#define CALL(x) printf("c%d\n", x);
#define STEP(x) printf("s%d\n", x)
#define BODY { printf("b%d\n", i); }
#define LOOP_END while (--n > 0)
int ext(int x) { return x; }
int f(int n) {
	int i = 0, k = n;
	do STEP(i++); while (i < 3);
	while (i-- > 0) CALL(i)
	for (i = 0; i < 2; i++) BODY
	do { ext(n); printf("n%d\n", n); } LOOP_END;
	n = k;
	do ext(n); while (--n > 0);
	for (i = 0; i < 2; i++) if (i) STEP(i); else CALL(i)
	for (i = 0; i < 2; i++) for (int j = 0; j < 2; j++) STEP(i + j);
	switch (k) { case 3: while (k-- > 0) STEP(k); break; default: for (;;) { ext(k); break; } }
	return i;
}
int main(void) { printf("%d\n", f(3)); return 0; }
