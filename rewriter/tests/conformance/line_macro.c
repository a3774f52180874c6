/* line_macro.c: __LINE__ (and __FILE__, __func__) from many places: plain
 * statements, unbraced if/else/loop bodies, after labels and case labels,
 * in a macro body and in macro arguments spread over several lines, after
 * a backslash-newline and a multi-line comment, and after a #line. */
#include <stdio.h>

static int lines[32], n;
#define REC() (lines[n++] = __LINE__)
#define REC_ARG(x) (lines[n++] = (x))

static void f(int k)
{
    REC();
    if (k) REC(); else REC();
    for (int i = 0; i < 1; i++)
        REC();
    switch (k) {
    case 1: REC();
        break;
    default:
        REC();
    }
    goto there;
there: REC();
    while (k-- > 0)
        if (k == 0)
            REC_ARG(__LINE__);
        else
            REC();
    REC_ARG(
        __LINE__
    );
    int x = __LI\
NE__;
    REC_ARG(x);
    /* a comment
       over three
       lines */ REC();
}

int main(void)
{
    f(1);
    f(2);
    for (int i = 0; i < n; i++)
        printf("%d%c", lines[i], i + 1 == n ? '\n' : ' ');
    printf("%s %s %d\n", __FILE__, __func__, __LINE__);
#line 1000 "renamed.c"
    printf("%s %d\n", __FILE__, __LINE__);
    int ok = n == 19 && lines[0] == 13 && lines[3] == 18 && lines[5] == 27
             && lines[6] == 31 && lines[7] == 33 && lines[8] == 38
             && lines[14] == 29 && __LINE__ == 1003;
    printf("%s\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
