/* static_locals.c: functions with static local variables, whose
 * declarations move to file scope so that the fast body and the slow copy
 * share each object: a buffer grown across calls (objdump's
 * sanitize_string), a counter in a nested block, one that points at
 * another, a table with an anonymous struct type, a literal holding
 * comment-like text, one in a loop with a twin; and functions that keep
 * their hooks inline: a static whose name another function declares,
 * one named like a global, one whose type the function declares, one
 * that uses __func__, one a macro declares, an unused one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONCE_FLAG static int once_ = 0

int total;
static int clash_with_global_ = 1;

static void note(int v)
{
    total += v;
}

/* Doubles every character into a buffer that lives across calls. */
static const char *doubled(const char *in)
{
    static char *buffer = NULL;
    static size_t buffer_len = 0;
    size_t n = strlen(in) * 2 + 1, i;

    if (n > buffer_len) {
        free(buffer);
        buffer_len = n;
        buffer = malloc(n);
    }
    for (i = 0; in[i]; i++)
        buffer[2 * i] = buffer[2 * i + 1] = in[i];
    buffer[2 * i] = '\0';
    return buffer;
}

static int bump(int by)
{
    if (by > 0) {
        static unsigned calls = 0;
        static unsigned *last = &calls;

        calls += (unsigned)by;
        return (int)*last;
    }
    return -1;
}

static const char *lookup(int key)
{
    static const struct { int key; const char *name; } table[] = {
        { 1, "one /* not a comment */" }, { 2, "two // nor this" }, { 3, "th'ree" },
    };

    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].key == key)
            return table[i].name;
    return "?";
}

static int looped(int n)
{
    int sum = 0;

    for (int i = 0; i < n; i++) {
        static int seen = 0;

        note(i);
        seen++;
        sum += seen;
    }
    return sum;
}

struct site { int line; int hits; };

/* A declaration over several lines, and __LINE__ in one: the moved
 * declarations keep their lines. */
static int table_sum(int k)
{
    static const int table[] = {
        1, 2, 3,
        4, 5, 6,
    };
    static struct site here = { __LINE__, 0 };
    int line = __LINE__;

    here.hits++;
    return table[k] * 1000 + line * 10 + here.line % 10;
}

/* These keep their hooks inline. */
static int helper3(int v)
{
    return v * 3;
}

/* A call in the initializer (it would carry the copies' edits). */
static int with_call(int k)
{
    static int mode = __builtin_constant_p(helper3(1)) ? 1 : 2;

    mode += k;
    return mode;
}

/* A struct tag the declaration itself introduces, in the block. */
static int first_tag(void)
{
    static struct only_here *p;

    return p == 0;
}

static int shared_name_a(void)
{
    static int count_ = 0;

    return ++count_;
}

static int shared_name_b(void)
{
    int count_ = 5;

    return count_ + shared_name_a();
}

static int named_like_global(void)
{
    static int total = 0;

    return total += 2;
}

static int own_type(void)
{
    typedef int local_int;
    static local_int kept = 7;

    return kept++;
}

static const char *named(void)
{
    static const char *name = __func__;

    return name;
}

static int through_macro(void)
{
    ONCE_FLAG;

    return once_++;
}

static int unused_static(int x)
{
    static int never_read __attribute__((unused));

    return x + 1;
}

int main(void)
{
    int b1, b2, b3;

    printf("%s %s %s\n", doubled("ab"), doubled("hello"), doubled(""));
    b1 = bump(2);
    b2 = bump(0);
    b3 = bump(5);
    printf("bump %d %d %d\n", b1, b2, b3);
    printf("lookup %s | %s | %s | %s\n", lookup(1), lookup(2), lookup(3), lookup(4));
    printf("looped %d %d total %d\n", looped(3), looped(2), total);
    printf("inline %d %d %d %d %d\n", shared_name_a(), shared_name_b(), named_like_global(), own_type(), own_type());
    printf("table %d %d call %d %d tag %d\n", table_sum(2), table_sum(4), with_call(1), with_call(2), first_tag());
    printf("named %s macro %d %d unused %d global %d\n", named(), through_macro(), through_macro(),
           unused_static(1), clash_with_global_);
    return 0;
}
