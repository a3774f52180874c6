/* dangling_else.c: an else that binds to the inner of two unbraced ifs.
 * The outer if always has its own else too (otherwise both compilers warn
 * -Wdangling-else), so each else must stay attached to the right if when
 * braces are added; also through an unbraced for and while. */
#include <stdio.h>

static int f(int a, int b)
{
    int r = 0;
    if (a)
        if (b)
            r = 1;
        else
            r = 2;
    else
        r = 3;
    return r;
}

static int g(int a, int b, int c)
{
    if (a) if (b) if (c) return 1; else return 2; else return 3; else return 4;
}

static int h(int a, int n)
{
    int r = 0;
    if (a)
        for (int i = 0; i < n; i++)
            if (i & 1)
                r += 1;
            else
                r += 10;
    else
        while (n-- > 0)
            if (n == 1)
                r += 100;
            else if (n == 2)
                r += 1000;
            else
                r += 5;
    return r;
}

int main(void)
{
    int bad = 0;
    printf("f: %d %d %d %d\n", f(0, 0), f(0, 1), f(1, 0), f(1, 1));
    printf("g: %d %d %d %d %d\n", g(1, 1, 1), g(1, 1, 0), g(1, 0, 1),
           g(0, 1, 1), g(0, 0, 0));
    printf("h: %d %d %d\n", h(1, 5), h(0, 5), h(0, 0));
    bad += f(0, 0) != 3 || f(0, 1) != 3 || f(1, 0) != 2 || f(1, 1) != 1;
    bad += g(1, 1, 1) != 1 || g(1, 1, 0) != 2 || g(1, 0, 1) != 3;
    bad += g(0, 1, 1) != 4;
    bad += h(1, 5) != 32 || h(0, 5) != 1115 || h(0, 0) != 0;
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad;
}
