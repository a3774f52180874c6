#define _POSIX_C_SOURCE 200112L
/* setjmp_longjmp.c: setjmp/longjmp across several frames, setjmp as an if
 * condition and as a switch controlling expression, volatile locals
 * surviving the jump, re-entering the same jmp_buf in a loop, and
 * sigsetjmp/siglongjmp (POSIX; the feature macro above comes before any
 * include, as it must). */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

static jmp_buf env;
static sigjmp_buf senv;
static int depth_reached;

static void dive(int depth)
{
    depth_reached = depth;
    if (depth > 100)
        return;
    if (depth == 5)
        longjmp(env, depth * 10);
    dive(depth + 1);
}

static int guarded(int fail)
{
    volatile int stage = 0;
    switch (setjmp(env)) {
    case 0:
        stage = 1;
        if (fail)
            dive(0);
        stage = 2;
        break;
    case 50:
        stage += 100;
        break;
    default:
        stage = -1;
    }
    return stage;
}

int main(void)
{
    volatile int tries = 0;
    int r1 = guarded(0), r2 = guarded(1);
    if (setjmp(env) < 3) {
        tries++;
        if (tries < 4)
            longjmp(env, tries);
    }
    volatile int sig_rounds = 0;
    if (sigsetjmp(senv, 1) == 0) {
        sig_rounds = 1;
        siglongjmp(senv, 7);
    } else {
        sig_rounds += 10;
    }
    printf("r1=%d r2=%d depth=%d tries=%d sig_rounds=%d\n", r1, r2,
           depth_reached, tries, sig_rounds);
    if (r1 != 2 || r2 != 101 || depth_reached != 5 || tries != 3
        || sig_rounds != 11) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 3;
}
