/* switch_fallthrough.c: fall-through between cases, annotated both with
 * comments and with __attribute__((fallthrough)); default in the middle,
 * GNU case ranges, stacked labels, nested switches, continue inside a
 * switch inside a loop. */
#include <stdio.h>

static int classify(int v)
{
    int r = 0;
    switch (v) {
    case 0:
        r += 1;
        /* fall through */
    case 1:
        r += 10;
        __attribute__((fallthrough));
    case 2:
        r += 100;
        break;
    default:
        r = -1;
        /* FALLTHRU */
    case 3 ... 5:
        r += 1000;
        break;
    case 6:
    case 7:
    case 8:
        r = 6;
        break;
    }
    return r;
}

static int nested(int a, int b)
{
    switch (a) {
    case 0:
        switch (b) {
        case 0: return 0;
        case 1: break;
        default: return 9;
        }
        return 1;
    case 1:
        return 10 + b;
    }
    return -1;
}

int main(void)
{
    static const int expect[] = { 999, 111, 110, 100, 1000, 1000, 1000,
                                  6, 6, 6, 999 };
    int bad = 0, odd = 0;
    for (int v = -1; v <= 9; v++) {
        int r = classify(v);
        printf("classify(%d) = %d\n", v, r);
        if (r != expect[v + 1])
            bad++;
    }
    for (int i = 0; i < 10; i++) {
        switch (i % 3) {
        case 0:
            continue;
        case 1:
            odd += i;
            break;
        default:
            odd -= 1;
        }
        odd *= 2;
    }
    printf("odd = %d nested = %d %d %d %d\n", odd, nested(0, 0),
           nested(0, 1), nested(0, 5), nested(1, 2));
    if (odd != 114 || nested(0, 1) != 1 || nested(1, 2) != 12)
        bad++;
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
