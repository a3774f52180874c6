/* variadic_slow_copies.c: variadic functions with slow copies, whose switch
 * passes its va_list to F__slow: va_start twice in one call (each starts
 * again at the first variable argument), va_start in a loop that has a twin
 * (the twin, in F, keeps F's own list), __builtin_va_start spelled, void,
 * noreturn and struct-returning ones, a prototype above with the format
 * attribute, recursion, a call through a pointer, and ones that keep their
 * hooks inline: a va_start a macro writes (libiberty's VA_OPEN), a last
 * named parameter that promotes (a char, a packed enumeration), an inline
 * one; and a sentinel one, whose switch's call does not end in NULL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VA_OPEN(ap, last) { va_list ap; va_start(ap, last); {
#define VA_CLOSE(ap) } va_end(ap); }

struct pair { long sum; int count; };

int twice(int n, ...);
__attribute__((format(printf, 2, 3))) int append(char *buf, const char *fmt, ...);

static int sink;

static void note(int v) { sink += v; } /* slow copy */

/* Sums its N arguments twice, from two va_starts. */
int twice(int n, ...) /* slow copy */
{
    va_list ap;
    int a = 0, b = 0;

    va_start(ap, n);
    for (int i = 0; i < n; i++)
        a += va_arg(ap, int);
    va_end(ap);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        b += va_arg(ap, int);
    va_end(ap);
    return a * 1000 + b;
}

int append(char *buf, const char *fmt, ...) /* slow copy */
{
    va_list ap;
    size_t len = strlen(buf);
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + len, 64 - len, fmt, ap);
    va_end(ap);
    return n;
}

/* Each pass starts the list again, in a loop whose twin has va_start. */
static long passes(int rounds, int n, ...) /* slow copy */
{
    long total = 0;

    for (int r = 0; r < rounds; r++) {
        va_list ap;

        __builtin_va_start(ap, n);
        for (int i = 0; i < n; i++) {
            int v = va_arg(ap, int);

            note(v);
            total += v * (r + 1);
        }
        va_end(ap);
    }
    return total;
}

static void show(const char *tag, ...) /* slow copy */
{
    va_list ap;
    const char *s;

    va_start(ap, tag);
    printf("%s:", tag);
    while ((s = va_arg(ap, const char *)))
        printf(" %s", s);
    printf("\n");
    va_end(ap);
}

static struct pair pair_of(int n, ...) /* slow copy */
{
    struct pair p = { 0, 0 };
    va_list ap;

    va_start(ap, n);
    while (n--) {
        p.sum += va_arg(ap, long);
        p.count++;
    }
    va_end(ap);
    return p;
}

__attribute__((noreturn)) static void finish(int status, const char *fmt, ...) /* slow copy */
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    exit(status);
}

/* Recursion: the first variable argument counts down. */
static int depth(int level, ...) /* slow copy */
{
    va_list ap;
    int next;

    va_start(ap, level);
    next = va_arg(ap, int);
    va_end(ap);
    return next > 0 ? level + depth(level + 1, next - 1) : level;
}

static int through_macro(int n, ...) /* inline */
{
    int total = 0;

    VA_OPEN(ap, n)
        for (int i = 0; i < n; i++)
            total += va_arg(ap, int);
    VA_CLOSE(ap)
    return total;
}

static int promoted(char c, ...) /* inline */
{
    return c + 1;
}

/* Its switch's call does not end in a null pointer: quiet. */
__attribute__((sentinel)) static int count_strings(const char *first, ...) /* slow copy */
{
    va_list ap;
    int n = 0;

    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        n++;
    va_end(ap);
    return n;
}

/* Inline: a switch starting a va_list could not be inlined. */
static inline __attribute__((always_inline)) int twice_level(int level, ...) /* inline */
{
    return level * 2;
}

enum __attribute__((packed)) small { SMALL_A = 1, SMALL_B };

/* Its last named parameter promotes (packed: a char). */
static int by_small(enum small s, ...) /* inline */
{
    return s == SMALL_B;
}

int main(void) /* slow copy */
{
    char buf[64] = "";
    int (*fp)(int, ...) = twice;
    struct pair p = pair_of(3, 10L, 20L, 30L);

    printf("twice %d %d\n", twice(3, 1, 2, 3), fp(2, 5, 6));
    append(buf, "%s-%d", "a", 1);
    append(buf, "/%c%c", 'x', 'y');
    printf("append %s\n", buf);
    printf("passes %ld sink %d\n", passes(3, 4, 1, 2, 3, 4), sink);
    show("list", "one", "two", "three", (char *)NULL);
    show("empty", (char *)NULL);
    printf("pair %ld %d\n", p.sum, p.count);
    printf("depth %d\n", depth(1, 4));
    printf("macro %d promoted %d\n", through_macro(3, 4, 5, 6), promoted('a', 1));
    printf("strings %d inline %d small %d\n", count_strings("a", "b", "c", (char *)NULL), twice_level(3, "x"),
           by_small(SMALL_B, 1));
    finish(0, "finish %s %d\n", "ok", 7);
}
