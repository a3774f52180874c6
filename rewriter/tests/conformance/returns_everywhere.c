/* returns_everywhere.c: returns from nested loops and switches, early
 * returns whose expression has side effects (evaluated exactly once),
 * returning the null pointer constant 0 from a pointer function, a string
 * literal, an array name, a function designator, a struct, a converted
 * value, and void functions with bare and conditional returns. */
#include <stdio.h>

struct pair { int lo, hi; };
static int calls, side;
static char scratch[8] = "abc";

static int next_id(void) { return ++calls; }

static int locate(int grid[3][3], int want)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            switch (grid[i][j] - want) {
            case 0:
                return side++, i * 3 + j;
            default:
                if (grid[i][j] < 0)
                    return next_id() * -1;
            }
    return next_id() + 1000;
}

static int *maybe(int *p, int ok) { if (!ok) return 0; return p; }
static const char *name(int k) { return k ? "one" : "zero"; }
static char *buffer(void) { return scratch; }
static int (*getter(void))(void) { return next_id; }
static struct pair bounds(int a, int b) { if (a > b) return (struct pair){ b, a }; return (struct pair){ a, b }; }
static unsigned char wrap(int v) { return v; }
static double halve(int v) { return v / 2.0; }

static void maybe_bump(int by)
{
    if (by <= 0)
        return;
    side += by;
    return;
}

static void forward(int by) { return maybe_bump(by); }

int main(void)
{
    int grid[3][3] = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, -8, 9 } }, x = 42;
    int r1 = locate(grid, 5), r2 = locate(grid, 8), r3 = locate(grid, 2);
    struct pair p = bounds(9, 4);
    forward(3);
    forward(-1);
    int g = getter()();
    printf("locate=%d %d %d side=%d calls=%d g=%d\n", r1, r2, r3, side,
           calls, g);
    printf("maybe=%d,%d name=%s buffer=%s pair=%d,%d wrap=%d halve=%.1f\n",
           maybe(&x, 1) != 0, maybe(&x, 0) != 0, name(1), buffer(), p.lo,
           p.hi, wrap(300), halve(5));
    if (r1 != 4 || r2 != -1 || r3 != 1 || side != 5 || g != 2 || p.lo != 4
        || wrap(300) != 44 || maybe(&x, 0) || *maybe(&x, 1) != 42) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return side + calls;
}
