#define _GNU_SOURCE
/* variadic.c: <stdarg.h> functions (va_start/va_arg/va_copy/va_end with
 * int, double and pointer arguments, a sentinel-terminated list, forwarding
 * a va_list to vasprintf, which glibc declares only under _GNU_SOURCE,
 * defined above before any include) and variadic macros with __VA_ARGS__
 * and the GNU ## comma swallowing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG(fmt, ...) printf("[log] " fmt "\n", ##__VA_ARGS__)
#define COUNT_ARGS(...) count_args_(__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define count_args_(a, b, c, d, e, n, ...) n

static double mixed(int n, ...)
{
    va_list ap, copy;
    double total = 0;
    va_start(ap, n);
    va_copy(copy, ap);
    for (int i = 0; i < n; i++)
        total += i % 2 ? va_arg(ap, double) : va_arg(ap, int);
    for (int i = 0; i < n; i++)
        if (i % 2)
            (void)va_arg(copy, double);
        else
            total += va_arg(copy, int);
    va_end(copy);
    va_end(ap);
    return total;
}

static size_t total_len(const char *first, ...)
{
    va_list ap;
    size_t len = 0;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        while (*s++)
            len++;
    va_end(ap);
    return len;
}

__attribute__((format(printf, 1, 2)))
static char *format(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

int main(void)
{
    double m = mixed(4, 1, 0.5, 2, 0.25);
    size_t len = total_len("abc", "de", "", "fghij", (char *)NULL);
    char *s = format("%d-%s-%.2f", 42, "x", 1.5);
    LOG("no arguments");
    LOG("m=%.2f len=%zu s=%s", m, len, s ? s : "(null)");
    LOG("count=%d %d", COUNT_ARGS(a), COUNT_ARGS(a, b, c));
    int ok = m == 6.75 && len == 10 && s && s[0] == '4' && s[8] == '0'
             && COUNT_ARGS(x, y) == 2;
    free(s);
    printf("%s\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
