/* knr_definitions.c: K&R (old-style) function definitions, valid in gnu11:
 * parameter declarations between ) and {, declared in a different order
 * than listed, several per declaration, char and float parameters (passed
 * promoted, since no prototype is in scope), one definition with a
 * prototype in scope, one whose prototype a macro writes, and one declared
 * only in a block above (warn_knr_redeclared.c: declared again below).  clang >= 15 flags every such definition with
 * -Wdeprecated-non-prototype, so that one warning is switched off. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wdeprecated-non-prototype"
#endif
#include <stdio.h>

static int add(int, int);

static int add(a, b) /* slow copy */
    int a;
    int b;
{
    return a + b;
}

static long weighted(x, y, z) /* slow copy */
    long y;
    int z, x;
{
    return x * 100 + y * 10 + z;
}

static int count_char(s, c) /* slow copy */
    const char *s;
    char c;
{
    int n = 0;
    for (; *s; s++)
        if (*s == c)
            n++;
    return n;
}

static double half(f) /* slow copy */
    float f;
{
    return f / 2;
}

/* zlib's style: the prototype written through a macro, which F__slow
 * cannot copy; it is declared with F's type (__typeof__) instead, so that
 * calls of it convert their arguments as calls of F do (3 to a double). */
#define OF(args) args
static double scale OF((double x, int k));

static double scale(x, k) /* slow copy */
    double x;
    int k;
{
    return x * k + 0.25;
}

/* Declared only in a block above: __typeof__ would not see it there. */
static int uses_block_prototype(void) /* slow copy */
{
    extern int block_declared(int, double);

    return block_declared(1, 2);
}

int block_declared(a, d) /* inline */
    int a;
    double d;
{
    return a * 10 + (int)d;
}

int main(void) /* slow copy */
{
    int s = add(2, 3);
    long w = weighted(1, 2L, 3);
    int c = count_char("mississippi", 's');
    double h = half(7.0);
    double z = scale(3, 2) + uses_block_prototype() - 12;
    printf("add=%d weighted=%ld count=%d half=%.1f scale=%.2f\n", s, w, c, h, z);
    if (s != 5 || w != 123 || c != 4 || h != 3.5 || z != 6.25) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 7;
}
