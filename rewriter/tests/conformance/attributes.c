/* attributes.c: GNU attributes on functions and variables: the user's own
 * cleanup variables (they must still run, in reverse order, on every way
 * out of a scope), noreturn, unused, always_inline, noinline, constructor
 * and destructor (they run outside main), warn_unused_result, pure/const. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char log_buf[64];
static int log_len;

static void note(char c) { log_buf[log_len++] = c; log_buf[log_len] = 0; }
static void release(int *p) { note((char)('a' + *p)); }

__attribute__((constructor)) static void before_main(void)
{
    note('C');
}

__attribute__((destructor)) static void after_main(void)
{
    printf("destructor saw: %s\n", log_buf);
}

__attribute__((noreturn)) static void finish(int code)
{
    printf("finishing with %d\n", code);
    exit(code);
}

static inline __attribute__((always_inline)) int square(int x)
{
    return x * x;
}

__attribute__((noinline, warn_unused_result)) static int scoped(int k)
{
    __attribute__((cleanup(release))) int first = 1;
    for (int i = 0; i < 3; i++) {
        __attribute__((cleanup(release))) int inner = 10 + i;
        if (i == k)
            return i * 100;
        if (i == 1)
            break;
    }
    __attribute__((cleanup(release))) int second = 2;
    return first + second;
}

__attribute__((const)) static int twice(int v) { return 2 * v; }

int main(__attribute__((unused)) int argc, char **argv __attribute__((unused)))
{
    __attribute__((unused)) int spare;
    int a = scoped(0);
    note('|');
    int b = scoped(5);
    int s = square(7) + twice(3);
    printf("a=%d b=%d s=%d log=%s\n", a, b, s, log_buf);
    if (a != 0 || b != 3 || s != 55 || strcmp(log_buf, "Ckb|klcb") != 0)
        finish(1);
    finish(9);
}
