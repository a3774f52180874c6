/* compound_literals_designated.c: compound literals (as arguments, as
 * return values, taking their address, inside loops), designated
 * initializers with nested designators, array index designators out of
 * order and GNU ranges, unions. */
#include <stdio.h>

struct point { int x, y; };
struct shape {
    const char *name;
    struct point corner[2];
    int tags[4];
    union { int i; float f; } u;
};

static int area(struct point a, struct point b)
{
    return (b.x - a.x) * (b.y - a.y);
}

static struct point mid(struct point a, struct point b)
{
    return (struct point){ .y = (a.y + b.y) / 2, .x = (a.x + b.x) / 2 };
}

static int sum(const int *v, int n)
{
    int s = 0;
    while (n--)
        s += *v++;
    return s;
}

int main(void)
{
    struct shape sh = { .corner[1] = { .x = 4, .y = 6 }, .name = "box",
                        .tags = { [3] = 7, [1] = 2 }, .u.i = 5 };
    int squares[10] = { [0 ... 4] = 1, [5 ... 9] = 2 };
    int total = 0;
    struct point *pp = &(struct point){ 1, 1 };
    for (int i = 0; i < 3; i++) {
        int *tmp = (int[]){ i, i * 10, i * 100 };
        total += sum(tmp, 3);
    }
    struct point m = mid(sh.corner[0], (struct point){ .x = 10, .y = 20 });
    pp->x += 2;
    int a = area(sh.corner[0], sh.corner[1]);
    printf("%s area=%d tags=%d,%d,%d,%d u=%d\n", sh.name, a, sh.tags[0],
           sh.tags[1], sh.tags[2], sh.tags[3], sh.u.i);
    printf("squares=%d total=%d mid=(%d,%d) pp=(%d,%d)\n", sum(squares, 10),
           total, m.x, m.y, pp->x, pp->y);
    int bad = a != 24 || sh.tags[3] != 7 || sh.tags[2] != 0;
    bad |= sum(squares, 10) != 15 || total != 333 || m.x != 5 || m.y != 10;
    bad |= pp->x != 3 || sum((int[]){ 1, 2, 3 }, 3) != 6;
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
