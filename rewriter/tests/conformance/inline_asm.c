/* inline_asm.c: GNU extended inline asm with outputs, inputs, in-out
 * operands and clobbers, a basic asm statement, an asm used as an unbraced
 * if body, and asm goto, for x86_64 and aarch64 (guarded by #if) with a
 * portable C fallback elsewhere. */
#include <stdio.h>

static int add_asm(int a, int b)
{
#if defined(__x86_64__)
    __asm__("addl %1, %0" : "+r"(a) : "r"(b) : "cc");
#elif defined(__aarch64__)
    __asm__("add %w0, %w0, %w1" : "+r"(a) : "r"(b));
#else
    a += b;
#endif
    return a;
}

static int is_zero(int v)
{
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__x86_64__)
    __asm__ goto("testl %0, %0\n\tjz %l[zero]" : : "r"(v) : "cc" : zero);
#else
    __asm__ goto("cbz %w0, %l[zero]" : : "r"(v) : : zero);
#endif
    return 0;
zero:
    return 1;
#else
    return v == 0;
#endif
}

int main(void)
{
    int sum = 0, barrier_hits = 0;
    for (int i = 1; i <= 10; i++)
        sum = add_asm(sum, i);
    __asm__ __volatile__("" ::: "memory");
    for (int i = 0; i < 3; i++)
        if (i != 1)
            __asm__ volatile("" : "+r"(barrier_hits));
        else
            barrier_hits += 5;
#if defined(__x86_64__) || defined(__aarch64__)
    __asm__("nop");
#endif
    printf("sum=%d zero=%d,%d barrier=%d\n", sum, is_zero(0), is_zero(9),
           barrier_hits);
    if (sum != 55 || is_zero(0) != 1 || is_zero(9) != 0 || barrier_hits != 5) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
