/* knr_definitions.c: K&R (old-style) function definitions, valid in gnu11:
 * parameter declarations between ) and {, declared in a different order
 * than listed, several per declaration, char and float parameters (passed
 * promoted, since no prototype is in scope), and one definition with a
 * prototype in scope.  clang >= 15 flags every such definition with
 * -Wdeprecated-non-prototype, so that one warning is switched off. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wdeprecated-non-prototype"
#endif
#include <stdio.h>

static int add(int, int);

static int add(a, b)
    int a;
    int b;
{
    return a + b;
}

static long weighted(x, y, z)
    long y;
    int z, x;
{
    return x * 100 + y * 10 + z;
}

static int count_char(s, c)
    const char *s;
    char c;
{
    int n = 0;
    for (; *s; s++)
        if (*s == c)
            n++;
    return n;
}

static double half(f)
    float f;
{
    return f / 2;
}

int main(void)
{
    int s = add(2, 3);
    long w = weighted(1, 2L, 3);
    int c = count_char("mississippi", 's');
    double h = half(7.0);
    printf("add=%d weighted=%ld count=%d half=%.1f\n", s, w, c, h);
    if (s != 5 || w != 123 || c != 4 || h != 3.5) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 7;
}
