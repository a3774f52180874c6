/* vla.c: variable length arrays: block-scope VLAs allocated per loop
 * iteration, VLA parameters (2-D, with the size from an earlier
 * parameter), sizeof evaluated at run time, a VLA typedef, a pointer to a
 * VLA, and a backward goto that leaves a VLA's scope. */
#include <stdio.h>

static long trace(int n, int m[n][n])
{
    long t = 0;
    for (int i = 0; i < n; i++)
        t += m[i][i];
    return t;
}

static void fill(int n, int m[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            m[i][j] = i * n + j;
}

static size_t bytes_for(int n)
{
    typedef double row[n];
    row r;
    r[0] = 1.0;
    return sizeof(row) + (r[0] > 0 ? 0 : 1);
}

int main(void)
{
    long total = 0;
    for (int n = 1; n <= 5; n++) {
        int m[n][n];
        fill(n, m);
        total += trace(n, m);
        total += (long)(sizeof m / sizeof m[0][0]);
    }
    int rounds = 0;
    size_t seen = 0;
again:
    {
        char buf[rounds + 3];
        seen += sizeof buf;
        if (++rounds < 4)
            goto again;
    }
    int k = 3;
    int (*p)[k] = &(int[3]){ 5, 6, 7 };
    int s = (*p)[0] + (*p)[2];
    printf("total=%ld bytes_for=%zu seen=%zu s=%d\n", total, bytes_for(6),
           seen, s);
    if (total != 160 || bytes_for(6) != 48 || seen != 18 || s != 12) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
