/* preprocessor_in_bodies.c: #if/#else/#endif inside function bodies that
 * select between if headers, else branches and whole statements; #define
 * and #undef between statements; an #if 0 block holding text that is not
 * valid C; a statement continued over backslash-newlines. */
#include <stdio.h>

#define USE_FAST 1

static int body_select(int x)
{
    int r = 0;
#if USE_FAST
    if (x > 0)
#else
    if (x > 1000)
#endif
        r = 1;
#ifdef NEVER_DEFINED
    else
        r = 2;
#endif
    if (x < 0)
        r = -1;
#if !USE_FAST
    else
        r = -2;
#else
    else
        r += 10;
#endif
    return r;
}

static int defines_inside(int v)
{
    int acc = 0;
#define STEP 3
    for (int i = 0; i < v; i += STEP)
        acc++;
#undef STEP
#define STEP 5
    acc += STEP;
#undef STEP
#if 0
    this is not C at all { { { ; if else while
    acc = 999;
#endif
    acc \
        += \
        1;
    return acc;
}

int main(void)
{
    int r1 = body_select(5), r2 = body_select(0), r3 = body_select(-4);
    int d = defines_inside(10);
    printf("body_select = %d %d %d defines_inside = %d\n", r1, r2, r3, d);
#if defined(__GNUC__)
    if (r1 != 11 || r2 != 10 || r3 != -1 || d != 10)
#else
    if (1)
#endif
    {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
