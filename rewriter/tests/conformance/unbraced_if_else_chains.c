/* unbraced_if_else_chains.c: long else-if chains without braces, bodies on
 * the same line and on the next line, bodies spanning several lines,
 * unbraced loops whose body is an if/else chain, do-while with an
 * unbraced body, else whose body is a loop. */
#include <stdio.h>

static const char *grade(int s)
{
    if (s >= 90) return "A";
    else if (s >= 80) return "B";
    else if (s >= 70)
        return "C";
    else if (s >= 60) return "D";
    else
        return "F";
}

static int add3(int a, int b, int c) { return a + b + c; }

int main(void)
{
    int a[] = { 3, -1, 0, 7, -8, 0, 2 }, n = 7, neg = 0, zero = 0, pos = 0;
    int x, i, sum = 0;
    for (i = 0; i < n; i++)
        if (a[i] < 0) neg++;
        else if (a[i] == 0) zero++;
        else pos++;
    i = 0;
    while (i < n)
        if (a[i++] > 2)
            sum += 10;
        else
            sum += 1;
    x = 0;
    do x += 3; while (x < 10);
    do
        if (x & 1) x += 1;
        else x += 5;
    while (x < 30);
    if (sum > 100) x = -1; else if (sum > 20) x += 1; else x = -2;
    if (neg)
        sum = add3(sum,
                   neg,
                   zero);
    else
        sum = 0;
    if (pos == 0)
        sum = -1;
    else for (i = 0; i < pos; i++)
        sum += i;
    printf("%s%s%s%s%s\n", grade(95), grade(85), grade(75), grade(65),
           grade(5));
    printf("neg=%d zero=%d pos=%d sum=%d x=%d\n", neg, zero, pos, sum, x);
    if (neg != 2 || zero != 2 || pos != 3 || sum != 32 || x != 31)
        return printf("FAIL\n"), 1;
    else
        printf("ok\n");
    return 6;
}
