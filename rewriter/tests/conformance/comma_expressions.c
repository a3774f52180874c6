/* comma_expressions.c: the comma operator in for clauses, conditions,
 * return expressions, assignments and macro arguments, with side effects
 * that must happen exactly once and in order. */
#include <stdio.h>

static int trace[32], ntrace;

static int note(int v)
{
    trace[ntrace++] = v;
    return v;
}

#define PAIR_SUM(a, b) ((a) + (b))

static int last_of(int a, int b)
{
    return note(a), note(b), a * b;
}

int main(void)
{
    int i, j, x, y = 0;
    for (i = 0, j = 10; i < j; i++, j -= 2)
        y += note(i), y += j;
    x = (note(7), note(8), 9);
    if (note(1), x > 5)
        y += 100;
    while (note(2), y > 120)
        y -= 20;
    int z = last_of(3, 4);
    int w = PAIR_SUM((note(5), 1), (note(6), 2));
    printf("i=%d j=%d x=%d y=%d z=%d w=%d\n", i, j, x, y, z, w);
    printf("trace:");
    for (int k = 0; k < ntrace; k++)
        printf(" %d", trace[k]);
    printf(" (%d)\n", ntrace);
    if (i != 4 || j != 2 || x != 9 || y != 114 || z != 12 || w != 3
        || ntrace != 13) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
