/* labels_goto.c: forward and backward gotos, a label on the first statement
 * of a function, stacked labels, goto into a nested block, goto out of
 * nested loops, the goto-cleanup idiom. */
#include <stdio.h>
#include <stdlib.h>

static int count_down(int n)
{
start:
    if (n > 3) {
        n -= 2;
        goto start;
    }
    return n;
}

static int find(const int *a, int n, int key)
{
    int i = 0;
again:
    if (i >= n)
        goto not_found;
    if (a[i] == key)
        goto found;
    i++;
    goto again;
found: return i;
not_found: return -1;
}

static int into_block(int skip)
{
    int k = 1;
    if (skip)
        goto inside;
    {
        k = 100;
inside:
        k += 5;
    }
    return k;
}

static int search2d(int target, int *pi, int *pj)
{
    int rc = -1, *buf = malloc(16 * sizeof *buf);
    if (!buf)
        goto out;
    if (target < 0)
        goto negative;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            buf[i * 4 + j] = i * 10 + j;
            if (buf[i * 4 + j] == target) {
                *pi = i, *pj = j;
                goto done;
            }
        }
    goto out_free;
done: negative:
    rc = target < 0 ? -2 : 0;
out_free:
    free(buf);
out:
    return rc;
}

int main(void)
{
    int a[] = { 4, 8, 15, 16, 23, 42 }, i = -1, j = -1, bad = 0;
    int rc = search2d(32, &i, &j), miss = search2d(99, &i, &j);
    int neg = search2d(-5, &i, &j);
    printf("count_down=%d,%d find=%d,%d into_block=%d,%d\n", count_down(10),
           count_down(9), find(a, 6, 23), find(a, 6, 7), into_block(0),
           into_block(1));
    printf("search2d=%d,%d,%d at (%d,%d)\n", rc, miss, neg, i, j);
    bad += count_down(10) != 2 || count_down(9) != 3 || find(a, 6, 7) != -1;
    bad += find(a, 6, 23) != 4 || into_block(0) != 105 || into_block(1) != 6;
    bad += rc != 0 || miss != -1 || neg != -2 || i != 3 || j != 2;
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
