/* main_falls_off_end.c: main has no return statement; reaching the closing
 * brace of main returns 0 (C99 5.1.2.2.3).  The last statement before the
 * closing brace is a loop, and other void functions also fall off their
 * ends, one of them after an unbraced if. */
#include <stdio.h>

static int counter;

static void bump(int by)
{
    counter += by;
    if (counter > 100)
        counter = 100;
}

static void report(const char *what)
{
    printf("%s: counter=%d\n", what, counter);
}

int main(int argc, char **argv)
{
    (void)argv;
    bump(argc);
    bump(41);
    report("after bumps");
    for (int i = 0; i < 3; i++)
        bump(30);
    report("after loop");
    if (counter != 100)
        printf("FAIL\n");
    else
        printf("ok\n");
    for (int i = 0; i < 2; i++)
        printf("tail %d\n", i);
}
