/* warn_unused.c: deliberately warns.  An unused variable, an unused
 * parameter, a variable that is set but never read, an unused label and
 * an unused static function; the rewritten file must produce the same
 * warnings on the same lines, and nothing else. */
#include <stdio.h>

static int helper_never_called(int v)
{
    return v * 2;
}

static int scale(int value, int factor)
{
    int unused_local;
    return value * 3;
}

static int accumulate(const int *v, int n)
{
    int total = 0, last = 0;
    for (int i = 0; i < n; i++) {
        total += v[i];
        last = v[i];
    }
unused_label:
    return total;
}

int main(void)
{
    int data[] = { 1, 2, 3, 4 };
    int s = scale(5, 7), a = accumulate(data, 4);
    if (s > 0)
        printf("scale=%d\n", s);
    else
        printf("negative\n");
    printf("accumulate=%d\n", a);
    return s == 15 && a == 10 ? 0 : 1;
}
