/* warn_knr_redeclared.c: a K&R definition declared again below it, which
 * gcc warns about ("prototype for 'mix' follows non-prototype
 * definition", clang about every K&R definition): calls below a prototype convert their arguments (2 to a
 * double), which a slow copy declared `()` or `__typeof__(F)` at the
 * definition would not; such a function keeps its hooks inline.  (One
 * declared again in a block: slow_copies.py.) */
#include <stdio.h>

/* A prototype only below the definition. */
static double mix(a, d) /* inline */
    int a;
    double d;
{
    return a * 10 + d;
}

static double mix(int, double);

static double use_mix(void) /* slow copy */
{
    return mix(1, 2);
}

int main(void) /* slow copy */
{
    printf("mix %.2f\n", use_mix());
    return 0;
}
