/* switch_decl_after_case.c: declarations inside case bodies, either in a
 * braced block right after the label or after a statement (a declaration
 * directly after a label is only valid from C23 on), plus block-scope
 * statics and typedefs inside a case body. */
#include <stdio.h>

static int calls;

static int pick(int v)
{
    int r = 0;
    switch (v) {
    case 1: {
        int x = v * 2;
        r = x + 1;
        break;
    }
    case 2:
        r = 5;
        int y = r + 1;
        r = y * 2;
        break;
    case 3:
        ;
        int z = 7;
        r = z;
        break;
    case 4:
        calls++;
        static int seen;
        seen += v;
        r = seen;
        break;
    case 5:
        r = 1;
        typedef long wide;
        wide w = (wide)r << 20;
        r = (int)(w >> 18);
        break;
    default: {
        const char *s = "default";
        int n = 0;
        while (s[n])
            n++;
        r = -n;
    }
    }
    return r;
}

int main(void)
{
    int total = 0;
    for (int v = 0; v <= 6; v++) {
        int r = pick(v);
        printf("pick(%d) = %d\n", v, r);
        total += r;
    }
    int again = pick(4);
    printf("again = %d calls = %d total = %d\n", again, calls, total);
    if (total != 16 || again != 8 || calls != 2) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
