/* struct_returns.c: functions returning structs and unions by value,
 * small (in registers) and large (through memory), containing arrays,
 * chosen by ?:, used directly as an rvalue (f().member, f().arr[i]),
 * passed straight into another call, assigned back into their argument. */
#include <stdio.h>

struct small { int a, b; };
struct big { long v[8]; char name[16]; };
union num { int i; unsigned u; float f; };

static struct small mk_small(int a, int b)
{
    struct small s = { a, b };
    return s;
}

static struct small swap(struct small s)
{
    return mk_small(s.b, s.a);
}

static struct big mk_big(int seed)
{
    struct big b = { .name = "big" };
    for (int i = 0; i < 8; i++)
        b.v[i] = (long)seed * i;
    b.name[3] = (char)('0' + seed % 10);
    return b;
}

static struct big pick(int which)
{
    return which ? mk_big(which) : (struct big){ .v = { 1 }, .name = "zero" };
}

static union num as_bits(float f)
{
    union num n;
    n.f = f;
    return n;
}

static long sum_big(struct big b)
{
    long s = 0;
    for (int i = 0; i < 8; i++)
        s += b.v[i];
    return s;
}

int main(void)
{
    struct small s = mk_small(1, 2);
    s = swap(s);
    s = swap(swap(s));
    int direct = mk_small(7, 8).b;
    long second = mk_big(3).v[2];
    long total = sum_big(mk_big(2)) + sum_big(pick(0));
    const char *nm = pick(5).name[3] == '5' ? "big5" : "?";
    unsigned bits = as_bits(1.0f).u;
    printf("s=(%d,%d) direct=%d second=%ld total=%ld name=%s bits=%#x\n",
           s.a, s.b, direct, second, total, nm, bits);
    if (s.a != 2 || s.b != 1 || direct != 8 || second != 6 || total != 57
        || bits != 0x3f800000u) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
