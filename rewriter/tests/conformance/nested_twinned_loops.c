/* Regression case from the hybrid emitter's review: see docs/design.md, "Hybrid". */
#include <stdio.h>
#include <stdlib.h>
int ext(int x) { return x; }
int f(int n) {
	int s = 0;
	if (n > 2) for (int i = 0; i < n; i++) s += ext(i); else for (int j = 0, k = 1; j < n; j++) s += ext(j * k);
	while (n-- > 0) for (int i = 0; i < 2; i++) do s += ext(i); while (0);
	return s;
}
int main(void) { printf("%d\n", f(3) + f(1)); printf("%d\n", f(3) + f(1)); return 0; }
