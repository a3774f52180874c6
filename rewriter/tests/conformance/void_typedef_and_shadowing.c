/* void_typedef_and_shadowing.c: functions whose return type is void through
 * a typedef (their switch and slow copy must return nothing), and functions
 * whose parameter has the function's own name (the slow copy cannot call the
 * function by name: it is never wrapped).  All non-static, so each has an
 * entry switch. */
#include <stdio.h>

typedef void nothing;
typedef nothing also_nothing;

static long total;

nothing add(long n)
{
    if (n < 0)
        return;
    total += n;
}

also_nothing add_twice(long n)
{
    add(n);
    add(n);
}

long scale(long scale)
{
    return scale * 3;
}

int halves(int halves)
{
    int n = 0;

    while (halves > 1) {
        halves /= 2;
        n++;
    }
    return n;
}

nothing report(const char *report)
{
    printf("%s %ld\n", report, total);
}

int main(void)
{
    add(4);
    add(-1);
    add_twice(5);
    report("total");
    printf("scale %ld\n", scale(7));
    printf("halves %d\n", halves(1000));
    return 0;
}
