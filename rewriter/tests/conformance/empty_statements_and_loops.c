/* empty_statements_and_loops.c: loops whose body is a null statement,
 * infinite loops left with break, stray null statements, an empty if
 * branch, an empty function body and empty braces. */
#include <stdio.h>

static void nothing(void) {}

static void also_nothing(void)
{
}

static int strlen_by_hand(const char *s)
{
    const char *p = s;
    while (*p++)
        ;
    return (int)(p - s - 1);
}

int main(void)
{
    int n = 10, i, k = 0, spins = 0;;
    ;;
    while (n-- > 0)
        ;
    for (i = 0; i < 7; i++)
        ;
    for (;;) { break; }
    for (;;)
        if (++spins == 3)
            break;
    do { ; } while (0);
    do {} while (k++ < 4);
    while (1) {
        k += 2;
        if (k > 20)
            break;
    }
    if (k > 0)
        ;
    else
        k = -1;
    if (i == 7) {} else { k = -2; }
    nothing();
    also_nothing();
    {}
    { ; }
    int len = strlen_by_hand("hello, world");
    printf("n=%d i=%d k=%d spins=%d len=%d\n", n, i, k, spins, len);
    if (n != -1 || i != 7 || k != 21 || spins != 3 || len != 12) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
