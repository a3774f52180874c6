/* for_declarations.c: declarations in for-init: several declarators, an
 * anonymous struct, pointers, shadowing the same name in nested loops and
 * in the enclosing scope, unbraced bodies, empty clauses, a loop variable
 * captured by the condition of an inner loop. */
#include <stdio.h>

int main(void)
{
    int i = 1000, sum = 0, pairs = 0;
    for (int i = 0, j = 10; i < j; i++, j--)
        pairs += j - i;
    for (struct { int lo, hi; } r = { 1, 4 }; r.lo <= r.hi; r.lo++)
        sum += r.lo;
    const char *words[] = { "alpha", "beta", "gamma", 0 };
    int letters = 0;
    for (const char **w = words; *w; w++)
        for (const char *p = *w; *p; p++)
            letters++;
    int tri = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j <= i; j++)
            for (int i = 0; i < 2; i++)
                tri++;
    int k = 0;
    for (int n = 5; n;) {
        k += n;
        n--;
    }
    for (int n = 0; ; n++) {
        if (n * n > 50) {
            k += n;
            break;
        }
    }
    enum { RED, GREEN, BLUE };
    for (int c = RED; c <= BLUE; c++)
        k += c + 100;
    printf("i=%d pairs=%d sum=%d letters=%d tri=%d k=%d\n", i, pairs, sum,
           letters, tri, k);
    if (i != 1000 || pairs != 30 || sum != 10 || letters != 14 || tri != 20
        || k != 326) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
