/* do_while_macros.c: do { } while (0) macros used as statements, also as
 * unbraced if/else/loop bodies (the `;` after the macro belongs to the
 * statement), a macro that is a whole loop header, a macro whose expansion
 * already contains the `;`, macros spanning several lines at the call
 * site, and functions whose whole definition comes from a macro. */
#include <stdio.h>

#define SWAP(a, b) do { int t_ = (a); (a) = (b); (b) = t_; } while (0)
#define RETURN_IF(c, v) do { if (c) return (v); } while (0)
#define TWICE(stmt) do { stmt; stmt; } while (0)
#define REPEAT(n) for (int r_ = 0; r_ < (n); r_++)
#define BUMP(x) ((x)++)
#define STMT(x) (x) += 100;
#define DEFINE_GETTER(name, val) static int name(void) { return (val); }
#define BODY { int q_ = 6; return q_ * 7; }

DEFINE_GETTER(get_five, 5)
DEFINE_GETTER(get_nine, 4 + 5)

static int answer(void) BODY

static int first_negative(const int *a, int n)
{
    for (int i = 0; i < n; i++)
        RETURN_IF(a[i] < 0, i);
    return -1;
}

int main(void)
{
    int a = 1, b = 2, c = 3, n = 0, total = 0;
    if (a < b)
        SWAP(a, b);
    else
        SWAP(b, c);
    if (a > 100) SWAP(a, c); else SWAP(b, c);
    while (n < 4)
        TWICE(BUMP(n));
    REPEAT(3)
        total += 2;
    REPEAT(2) {
        total += 1;
    }
    if (total > 0)
        STMT(total)
    else
        total = -1;
    for (int i = 0; i < 2; i++)
        TWICE(
            total += i
        );
    int neg[] = { 4, 5, -6, 7 };
    printf("a=%d b=%d c=%d n=%d total=%d\n", a, b, c, n, total);
    printf("getters=%d %d %d first_negative=%d\n", get_five(), get_nine(),
           answer(), first_negative(neg, 4));
    if (a != 2 || b != 3 || c != 1 || n != 4 || total != 110
        || get_nine() != 9 || answer() != 42 || first_negative(neg, 4) != 2) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
