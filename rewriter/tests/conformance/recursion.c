/* recursion.c: direct recursion (fib, ackermann), mutual recursion through
 * a forward declaration, recursion in a return expression with a ?:,
 * recursion deep enough to need many frames (but far from the stack
 * limit), and a recursive descent parser over a string. */
#include <stdio.h>

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static long fib(int n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

static int ack(int m, int n)
{
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static long depth_sum(int n) { return n == 0 ? 0 : n + depth_sum(n - 1); }

/* expr := term ('+' term)*; term := factor ('*' factor)*;
 * factor := digit | '(' expr ')' */
static const char *pos;
static long expr(void);

static long factor(void)
{
    if (*pos == '(') {
        pos++;
        long v = expr();
        pos++;
        return v;
    }
    return *pos++ - '0';
}

static long term(void)
{
    long v = factor();
    while (*pos == '*')
        pos++, v *= factor();
    return v;
}

static long expr(void)
{
    long v = term();
    while (*pos == '+') {
        pos++;
        v += term();
    }
    return v;
}

int main(void)
{
    pos = "2*(3+4)*(1+1+1)+5*(2*(2+2))";
    long e = expr();
    long f = fib(24), d = depth_sum(20000);
    int a = ack(2, 3), ev = is_even(1001), od = is_odd(777);
    printf("fib=%ld ack=%d even=%d odd=%d depth=%ld expr=%ld\n", f, a, ev,
           od, d, e);
    if (f != 46368 || a != 9 || ev != 0 || od != 1 || d != 200010000L
        || e != 82) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
