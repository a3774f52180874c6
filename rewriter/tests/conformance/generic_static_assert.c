/* generic_static_assert.c: C11 _Generic (in macros, with default, on
 * qualified and pointer types, selecting functions) and _Static_assert at
 * file scope, in a struct, as the first item of a function body, between
 * statements and inside a case body; plus _Alignof/_Alignas. */
#include <stdio.h>

_Static_assert(sizeof(int) >= 4, "int is at least 32 bits");

#define TYPE_NAME(x) _Generic((x), \
    int: "int", long: "long", double: "double", char *: "char *", \
    const char *: "const char *", default: "other")
#define ABS(x) _Generic((x), long: labs_, default: iabs_)(x)

struct packet {
    char tag;
    _Alignas(16) unsigned char payload[8];
    _Static_assert(sizeof(char) == 1, "char is a byte");
};

static int iabs_(int v) { return v < 0 ? -v : v; }
static long labs_(long v) { return v < 0 ? -v : v; }

static int check(int k)
{
    _Static_assert(_Alignof(struct packet) == 16, "alignas applies");
    int r = 0;
    switch (k) {
    case 1:
        r = 1;
        _Static_assert(1 + 1 == 2, "arithmetic");
        r += 1;
        break;
    default: {
        _Static_assert(sizeof(r) == sizeof(int), "r is an int");
        r = -1;
    }
    }
    return r;
}

int main(void)
{
    char buf[] = "x";
    const char *cs = buf;
    short sh = 3;
    printf("%s %s %s %s %s %s\n", TYPE_NAME(1), TYPE_NAME(2L),
           TYPE_NAME(0.5), TYPE_NAME(buf), TYPE_NAME(cs), TYPE_NAME(sh));
    _Static_assert(sizeof buf == 2, "two bytes");
    long big = ABS(-5000000000L);
    int small = ABS(-7);
    printf("abs: %ld %d check: %d %d align=%zu\n", big, small, check(1),
           check(2), _Alignof(struct packet));
    if (big != 5000000000L || small != 7 || check(1) != 2 || check(2) != -1
        || TYPE_NAME(sh)[0] != 'o') {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
