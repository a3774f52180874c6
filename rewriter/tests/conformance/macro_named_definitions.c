/* macro_named_definitions.c: functions whose names macros write, as bfd
 * writes them (`NAME(aout,swap_exec_header_in)`, elfcode.h's
 * `elf_swap_symbol_in`, an object-like macro naming a NAME(...) call):
 * their slow copies are named by LOOM_CAT of the invocation; recursion
 * through the macro name, a call through a pointer, a loop with a twin,
 * __func__, a static one; and ones that keep their hooks inline: a macro
 * that also writes the return type, one that wraps its argument in more. */
#include <stdio.h>

#define NAME(x, y) x##_32_##y
#define elf_swap_in NAME(bfd_elf, swap_in)
#define DEFINE_COUNTER static int made_counter

static int calls;

static void note(int v) /* slow copy */
{
    calls += v;
}

static int NAME(aout, helper) (int x) /* slow copy */
{
    int sum = 0;

    for (int i = 0; i < x; i++) {
        note(i);
        sum += i * 2;
    }
    return sum;
}

int elf_swap_in (int v) /* slow copy */
{
    if (v <= 0)
        return 0;
    return v + elf_swap_in (v - 1) + NAME(aout, helper) (v) % 7;
}

const char * /* slow copy */
NAME(bfd_elf, name_of) (void)
{
    return __func__;
}

/* Macros that wrap the name in more, or in parentheses: LOOM_CAT of them
 * would not be a name, so these keep their hooks inline. */
#define PUBLIC(n) __attribute__((visibility("default"))) n
#define PARENS(n) (n)

int PUBLIC(answer) (int x) /* inline */
{
    return x + 40;
}

int PARENS(question) (int x) /* inline */
{
    return x * 2;
}

DEFINE_COUNTER (int step) /* inline */
{
    return step + 1;
}

int main(void) /* slow copy */
{
    int (*fp)(int) = elf_swap_in;

    printf("helper %d swap %d %d\n", aout_32_helper(4), bfd_elf_32_swap_in(5), fp(3));
    printf("name %s counter %d calls %d\n", NAME(bfd_elf, name_of) (), made_counter(2), calls);
    printf("answer %d question %d\n", answer(2), question(21));
    return 0;
}
