/* static_locals.c: functions with static local variables, whose
 * declarations move to file scope so that the fast body and the slow copy
 * share each object: a buffer grown across calls (objdump's
 * sanitize_string), a counter in a nested block, one that points at
 * another, a table with an anonymous struct type, a literal holding
 * comment-like text, one in a loop with a twin, one whose name functions
 * above it declare too; renamed, ones whose name a function below
 * declares (also where a comment or a literal spells it), a block-scope
 * extern above declares or a global below has.
 * Renamed by #define around the function: ones a macro spells, or named
 * in macro arguments (also stringified).
 * Functions that keep their hooks inline: a static whose name a macro
 * also writes as a member's, or a tag has, one whose type the
 * function declares, one that uses __func__ (spelled, by a macro, or
 * __builtin_FUNCTION), one a macro declares, an unused one.
 * With -Wshadow: a moved static hides nothing the original did not.
 * conformance-cflags: -Wshadow */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONCE_FLAG static int once_ = 0

int total;

static void note(int v) /* slow copy */
{
    total += v;
}

/* Doubles every character into a buffer that lives across calls. */
static const char *doubled(const char *in) /* slow copy */
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

static int bump(int by) /* slow copy */
{
    if (by > 0) {
        static unsigned calls = 0;
        static unsigned *last = &calls;

        calls += (unsigned)by;
        return (int)*last;
    }
    return -1;
}

static const char *lookup(int key) /* slow copy */
{
    static const struct { int key; const char *name; } table[] = {
        { 1, "one /* not a comment */" }, { 2, "two // nor this" }, { 3, "th'ree" },
    };

    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].key == key)
            return table[i].name;
    return "?";
}

static int looped(int n) /* slow copy */
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
static int table_sum(int k) /* slow copy */
{
    static const int weights[] = {
        1, 2, 3,
        4, 5, 6,
    };
    static struct site here = { __LINE__, 0 };
    int line = __LINE__;

    here.hits++;
    return weights[k] * 1000 + line * 10 + here.line % 10;
}

/* These keep their hooks inline. */
static int helper3(int v) /* slow copy */
{
    return v * 3;
}

/* A call in the initializer (it would carry the copies' edits). */
static int with_call(int k) /* inline */
{
    static int mode = __builtin_constant_p(helper3(1)) ? 1 : 2;

    mode += k;
    return mode;
}

/* A struct tag the declaration itself introduces, in the block. */
static int first_tag(void) /* inline */
{
    static struct only_here *p;

    return p == 0;
}

/* Renamed (count___shared_name_a_LINE) at file scope: shared_name_b's
 * local would hide the name. */
static int shared_name_a(void) /* slow copy */
{
    static int count_ = 0;

    return ++count_;
}

static int shared_name_b(void) /* slow copy */
{
    int count_ = 5;

    return count_ + shared_name_a();
}

/* Moves: the declarations of its name above it cannot see it. */
static int shared_name_c(int k) /* slow copy */
{
    static int count_ = 10;

    count_ += k;
    return count_;
}

/* Renamed, each use where it is spelled: in another static's initializer,
 * in sizeof, in a loop with a twin, in a nested block. */
static const char *renamed_buffer(int k) /* slow copy */
{
    static char buffer[16];
    static char *cursor = buffer;
    int i;

    for (i = 0; i < k && i < (int)sizeof buffer - 1; i++) {
        note(i);
        buffer[i] = (char)('a' + i);
    }
    {
        buffer[i] = '\0';
    }
    return cursor;
}

/* Renamed although a member has the name. */
struct depth_ { int level_; };

static int member_named(int k) /* slow copy */
{
    static int level_ = 1;
    struct depth_ d = { k };

    level_ += d.level_;
    return level_;
}

/* Two statics of one name in two blocks (readelf's saved_sym): each
 * renamed with its own line. */
static int two_blocks(int k) /* slow copy */
{
    switch (k & 1) {
    case 0: {
        static int saved_ = 100;

        saved_ += k;
        return saved_;
    }
    default: {
        static int saved_ = 200;

        saved_ -= k;
        return saved_;
    }
    }
}

/* __typeof__ with two declarators: libclang gives its reference twice. */
static int typeof_twice(void) /* slow copy */
{
    static int ticks_ = 0;
    __typeof__(ticks_) before = ticks_, after;

    after = ++ticks_;
    return before * 10 + after;
}

/* A local of the same name in a sibling block (readelf's `value`):
 * renamed, and the local's own uses stay. */
static int sibling_local(int k) /* slow copy */
{
    if (k > 0) {
        static int tally_ = 0;

        tally_ += k;
        return tally_;
    } else {
        int tally_ = -k;

        return tally_;
    }
}

/* Renamed although a comment, a string and a character literal spell the
 * name (none holds a reference; readelf's target_specific_reloc_handling). */
static int comment_named(int k) /* slow copy */
{
    static int total_ = 0; /* total_ over all calls */
    const char *label = "total_ \" total_";
    char quote = '"';

    // total_ again
    total_ += k + (int)strlen(label) + (quote == '"');
    return total_;
}

#define LAST_HITS (hits_ + 0)

/* Renamed by `#define hits_ ...` around the function and its slow copy:
 * a macro's text spells the name. */
static int spelled_by_macro(void) /* slow copy */
{
    static int hits_ = 0;

    hits_++;
    return LAST_HITS;
}

static int declares_buffer(int buffer, int hits_, int level_, int total_, int ticks_) /* slow copy */
{
    return buffer + hits_ + level_ + total_ + ticks_;
}

/* A block-scope extern above would make the moved one an error: renamed. */
static int declares_extern(void) /* slow copy */
{
    extern int extern_named_;

    return (int)sizeof extern_named_;
}

static int after_extern(void) /* slow copy */
{
    static int extern_named_ = 4;

    return extern_named_++;
}

/* A file-scope declaration below would clash with the moved one: renamed. */
static int named_like_global(void) /* slow copy */
{
    static int later_global_ = 0;

    return later_global_ += 2;
}

int later_global_ = 3;

static int own_type(void) /* inline */
{
    typedef int local_int;
    static local_int kept = 7;

    return kept++;
}

static const char *named(void) /* inline */
{
    static const char *name = __func__;

    return name;
}

static int through_macro(void) /* inline */
{
    ONCE_FLAG;

    return once_++;
}

#define HERE_ __func__

/* The function's name written by a macro, or by __builtin_FUNCTION:
 * outside the function it would be empty. */
static const char *named_by_macro(void) /* inline */
{
    static const char *where = HERE_;

    return where;
}

static const char *named_by_builtin(void) /* inline */
{
    static const char *who = __builtin_FUNCTION();

    return who;
}

/* Used only where it is not evaluated: moved, with no new warning. */
static int sized_only(void) /* slow copy */
{
    static char scratch_[16];

    return (int)sizeof scratch_;
}

static int unused_static(int x) /* inline */
{
    static int never_read __attribute__((unused));

    return x + 1;
}

/* Named only in macro arguments (Open vSwitch's `static struct
 * vlog_rate_limit rl` passed to VLOG_WARN_RL(&rl, ...)), in functions
 * that each have one: renamed by #define.  A stringified argument is not
 * expanded, so still says rl. */
#define LOG_RL(rl_, msg) log_rl(rl_, msg)
#define NAMED(x) (printf("%s ", #x), &(x))

static int log_rl(int *budget, const char *msg) /* slow copy */
{
    if (*budget <= 0)
        return 0;
    (*budget)--;
    return (int)strlen(msg);
}

/* Functions below declare rl too, and a member of that name, which a
 * macro writes, would be renamed with it: inline. */
struct limit_ { int rl; };
#define LIMIT_OF(p) ((p)->rl)

static int member_by_macro(struct limit_ *p) /* inline */
{
    static int rl = 1;

    return LOG_RL(&rl, "member") + LIMIT_OF(p);
}

/* A tag of that name (Open vSwitch's `static struct hmap hmap`) would be
 * renamed too: inline. */
struct table_ { int n; };
#define FILL(t) ((t)->n += 1)

static struct table_ *tag_named(void) /* inline */
{
    static struct table_ table_;

    FILL(&table_);
    return &table_;
}

static int table_below(void) /* slow copy */
{
    static int table_ = 3;

    return table_++;
}

static int warn_once(int k) /* slow copy */
{
    static int rl = 2;

    return LOG_RL(&rl, "warn") + k;
}

static int warn_twice(int k) /* slow copy */
{
    static int rl = 3;

    for (int i = 0; i < k; i++)
        note(LOG_RL(&rl, "again"));
    return LOG_RL(&rl, "twice") + k;
}

static int stringified(void) /* slow copy */
{
    static int rl = 5;

    return (*NAMED(rl))++;
}

int main(void) /* slow copy */
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
    printf("renamed %s %s %d %d %d\n", renamed_buffer(3), renamed_buffer(5), spelled_by_macro(),
           spelled_by_macro(), declares_buffer(1, 2, 3, 4, 5));
    printf("member %d %d comment %d %d\n", member_named(2), member_named(3), comment_named(4), comment_named(5));
    printf("macro-named %s %s sized %d\n", named_by_macro(), named_by_builtin(), sized_only());
    printf("sibling %d %d %d\n", sibling_local(2), sibling_local(-7), sibling_local(3));
    printf("blocks %d %d %d %d typeof %d %d\n", two_blocks(2), two_blocks(3), two_blocks(4), two_blocks(5),
           typeof_twice(), typeof_twice());
    printf("shared %d %d extern %d %d %d\n", shared_name_c(1), shared_name_c(2), declares_extern(),
           after_extern(), after_extern());
    printf("table %d %d call %d %d tag %d\n", table_sum(2), table_sum(4), with_call(1), with_call(2), first_tag());
    printf("named %s macro %d %d unused %d global %d\n", named(), through_macro(), through_macro(),
           unused_static(1), later_global_);
    {
        struct limit_ lim = { 4 };
        int w1 = warn_once(1), w2 = warn_once(2), w3 = warn_once(3), t1 = warn_twice(2), t2 = warn_twice(2);
        int s1 = stringified(), s2 = stringified(), m1 = member_by_macro(&lim), m2 = member_by_macro(&lim);

        printf("\nrate-limited %d %d %d %d %d %d %d %d %d total %d\n", w1, w2, w3, t1, t2, s1, s2, m1, m2, total);
        printf("tag %d %d below %d %d\n", tag_named()->n, tag_named()->n, table_below(), table_below());
    }
    return 0;
}
