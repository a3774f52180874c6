/* label_at_block_end.c: labels followed only by a null statement at the
 * end of loop bodies, do-while bodies, switch bodies, nested blocks and
 * functions (`lbl: ;`, since `lbl: }` needs C23). */
#include <stdio.h>

static int total;

static void add_unless_negative(int v)
{
    if (v < 0)
        goto done;
    total += v;
done:
    ;
}

static int skip_multiples(int n, int m)
{
    int sum = 0;
    for (int i = 1; i <= n; i++) {
        if (i % m == 0)
            goto next;
        sum += i;
next:
        ;
    }
    int i = 0;
    do {
        i++;
        if (i & 1)
            goto cont;
        sum += 1000;
cont: ;
    } while (i < 4);
    return sum;
}

static int switch_end(int k)
{
    int r = 0;
    switch (k) {
    case 0:
        r = 1;
        goto end;
    case 1:
        r = 2;
        break;
    default:
        r = 3;
end:
        ;
    }
    {
        if (r == 2)
            goto inner_end;
        r *= 10;
inner_end: ;
    }
    return r;
}

int main(void)
{
    add_unless_negative(5);
    add_unless_negative(-3);
    add_unless_negative(7);
    int s = skip_multiples(10, 3);
    printf("total = %d skip = %d\n", total, s);
    printf("switch_end = %d %d %d\n", switch_end(0), switch_end(1),
           switch_end(9));
    if (total != 12 || s != 2037 || switch_end(0) != 10 || switch_end(1) != 2
        || switch_end(9) != 30) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 5;
}
