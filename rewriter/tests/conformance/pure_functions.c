/* pure_functions.c: functions that touch no memory but their own
 * parameters and locals, calling only such functions, get no hook at all
 * (no switch, no slow copy) with loom-rewrite --skip-pure: no other thread
 * can see what they do.  The others keep theirs.  Each definition's first
 * line says which (rewriter/tests/slow_copies.py checks the marks against
 * the manifest): `pure` or `slow copy`; without --skip-pure every one has
 * a slow copy. */
#include <arpa/inet.h>
#include <stdio.h>

int counter;

static unsigned rot(unsigned x, int k) /* pure */
{
    return (x << k) | (x >> (32 - k));
}

/* Calls a pure function above it, and a builtin that only counts bits. */
static unsigned mix(unsigned h, unsigned d) /* pure */
{
    unsigned v = rot(h ^ d, 13) * 5 + 0xe6546b64u;

    return v + (unsigned)__builtin_popcount(v);
}

static int leading(unsigned long long n) /* pure */
{
    return n ? __builtin_clzll(n) : 64;
}

/* glibc's ntohl is an inline byte swap of its argument. */
static unsigned from_network(unsigned x) /* pure */
{
    return ntohl(x);
}

struct point { int x, y; };

/* A struct by value, a local copy of it, a local array only by name. */
static int sum(struct point p) /* pure */
{
    struct point q = p;
    int pair[2];

    (void)pair;
    return q.x + q.y;
}

/* A loop whose calls are pure. */
static int bits_below(int n) /* pure */
{
    int s = 0;

    for (int i = 0; i < n; i++)
        s += leading((unsigned long long)i + 1);
    return s;
}

static int deref(const int *p) /* slow copy */
{
    return *p + 1;
}

static int arrow(const struct point *p) /* slow copy */
{
    return p->x;
}

static int subscript(int i) /* slow copy */
{
    int local[4] = { 1, 2, 3, 4 };

    return local[i & 3];
}

static int global(void) /* slow copy */
{
    return counter;
}

static int through_impure(int x) /* slow copy */
{
    return deref(&x);
}

static int (*pick(int which))(int) /* slow copy */
{
    return which ? subscript : 0;
}

static int with_static(void) /* slow copy */
{
    static int calls;

    return ++calls;
}

/* Calls a function defined below it: not known to be pure yet. */
static int later(int);

static int calls_later(int x) /* slow copy */
{
    return later(x) + 1;
}

static int later(int x) /* pure */
{
    return x * 3;
}

static int self_recursive(int n) /* slow copy */
{
    return n <= 1 ? 1 : n * self_recursive(n - 1);
}

static int atomic_read(int *p) /* slow copy */
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static long size_only(const long *p) /* pure */
{
    return (long)sizeof *p;
}

int main(void) /* slow copy */
{
    struct point p = { 3, 4 };
    int (*f)(int) = pick(1);

    counter = 7;
    printf("%u %u %d %u %d %d\n", rot(1, 3), mix(1, 2), leading(5), from_network(htonl(9)), sum(p),
           bits_below(6));
    printf("%d %d %d %d %d %d\n", deref(&counter), arrow(&p), subscript(5), global(), through_impure(2),
           f ? f(6) : -1);
    printf("%d %d %d %d %d %ld\n", with_static(), with_static(), calls_later(4), self_recursive(5),
           atomic_read(&counter), size_only(0));
    return 0;
}
