/* warn_sign_compare.c: deliberately warns.  Signed/unsigned comparisons in
 * a for condition, an unbraced if condition, a while condition and a ?:
 * operand; the rewritten file must produce the same warnings on the same
 * lines (and columns), and nothing else. */
#include <stdio.h>
#include <string.h>

static int count_upper(const char *s)
{
    int n = 0;
    for (int i = 0; i < strlen(s); i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            n++;
    return n;
}

int main(void)
{
    const char *text = "Hello World From Loom";
    unsigned limit = 5;
    int k = -1, steps = 0;
    if (k < limit)
        printf("surprise: -1 is not below 5u\n");
    else
        printf("-1 converted to unsigned is large\n");
    while (steps < sizeof(int))
        steps++;
    int upper = count_upper(text);
    int m = upper > limit ? upper : (int)limit;
    printf("upper=%d steps=%d m=%d\n", upper, steps, m);
    return upper == 4 ? 0 : 1;
}
