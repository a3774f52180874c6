/* statement_expressions.c: GNU statement expressions whose value is the
 * last expression statement: in macros with __typeof__, containing loops
 * and declarations, nested, of void type, as an if condition with an
 * unbraced body, and leaving the function with return or the loop with
 * break from inside. */
#include <stdio.h>

#define MAX(a, b) ({ __typeof__(a) a_ = (a); __typeof__(b) b_ = (b); \
                     a_ > b_ ? a_ : b_; })
#define SUM_TO(n) ({ int s_ = 0; for (int i_ = 1; i_ <= (n); i_++) s_ += i_; s_; })

static int evaluations;

static int once(int v)
{
    evaluations++;
    return v;
}

static int early(int v)
{
    int r = ({
        if (v < 0)
            return -100;
        v * 2;
    });
    return r + 1;
}

int main(void)
{
    int m = MAX(once(3), once(8));
    int s = SUM_TO(10);
    int nested = ({ int a = ({ int b = 4; b * b; }); a + 1; });
    double d = MAX(2.5, 1.0);
    int hits = 0;
    ({ hits += 1; (void)0; });
    if (({ int t = m - 8; t == 0; }))
        hits += 10;
    int brk = 0;
    for (int i = 0; i < 100; i++) {
        brk += ({
            if (i == 5)
                break;
            i;
        });
    }
    printf("m=%d s=%d nested=%d d=%.1f hits=%d brk=%d evals=%d\n", m, s,
           nested, d, hits, brk, evaluations);
    printf("early=%d %d\n", early(4), early(-4));
    if (m != 8 || s != 55 || nested != 17 || d != 2.5 || hits != 11
        || brk != 10 || evaluations != 2 || early(4) != 9
        || early(-4) != -100) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
