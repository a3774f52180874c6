/* computed_goto.c: GNU labels as values: a threaded-code interpreter with
 * a static dispatch table, a goto through a variable chosen by ?:, and
 * label differences in a static initializer. */
#include <stdio.h>

enum { OP_PUSH, OP_OVER, OP_MUL, OP_DUP, OP_DEC, OP_JNZ, OP_SWAP, OP_DROP,
       OP_ROT, OP_HALT };

static long run(const int *code)
{
    static void *const dispatch[] = { &&do_push, &&do_over, &&do_mul,
        &&do_dup, &&do_dec, &&do_jnz, &&do_swap, &&do_drop, &&do_rot,
        &&do_halt };
    long stack[32], t;
    int sp = 0;
    const int *pc = code;
#define NEXT goto *dispatch[*pc++]
    NEXT;
do_push: stack[sp++] = *pc++; NEXT;
do_over: stack[sp] = stack[sp - 2]; sp++; NEXT;
do_mul:  sp--; stack[sp - 1] *= stack[sp]; NEXT;
do_dup:  stack[sp] = stack[sp - 1]; sp++; NEXT;
do_dec:  stack[sp - 1]--; NEXT;
do_jnz:
    if (stack[--sp])
        pc = code + *pc;
    else
        pc++;
    NEXT;
do_swap: t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t;
    NEXT;
do_drop: sp--; NEXT;
do_rot:
    t = stack[sp - 3];
    stack[sp - 3] = stack[sp - 2], stack[sp - 2] = stack[sp - 1];
    stack[sp - 1] = t;
    NEXT;
do_halt:
    return stack[sp - 1];
#undef NEXT
}

static int pick(int c)
{
    static const int offs[] = { &&l_a - &&l_a, &&l_b - &&l_a };
    void *target = c ? &&l_b : &&l_a;
    if (offs[0] != 0)
        return -1;
    goto *target;
l_a:
    return 10;
l_b:
    return 20;
}

int main(void)
{
    /* acc = 1; n = 5; do { acc *= n; n--; } while (n); -> 120 */
    static const int prog[] = {
        OP_PUSH, 1, OP_PUSH, 5,
        /* 4: */ OP_OVER, OP_OVER, OP_MUL, OP_ROT, OP_DROP, OP_SWAP, OP_DEC,
        OP_DUP, OP_JNZ, 4,
        OP_DROP, OP_HALT };
    long r = run(prog);
    printf("run = %ld pick = %d %d\n", r, pick(0), pick(1));
    return (r == 120 && pick(0) == 10 && pick(1) == 20) ? 0 : 1;
}
