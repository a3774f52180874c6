/* switch_odd_bodies.c: Duff's device (case labels inside a do-while),
 * switch statements whose body is not a compound statement, case labels
 * nested inside if blocks, and a declaration before the first case label
 * (a statement there would be unreachable and warned about). */
#include <stdio.h>

static void duff_copy(int *to, const int *from, int count)
{
    int n = (count + 7) / 8;
    if (count <= 0)
        return;
    switch (count % 8) {
    case 0: do { *to++ = *from++; /* fall through */
    case 7:      *to++ = *from++; /* fall through */
    case 6:      *to++ = *from++; /* fall through */
    case 5:      *to++ = *from++; /* fall through */
    case 4:      *to++ = *from++; /* fall through */
    case 3:      *to++ = *from++; /* fall through */
    case 2:      *to++ = *from++; /* fall through */
    case 1:      *to++ = *from++;
            } while (--n > 0);
    }
}

static int unbraced(int k)
{
    int r = 0;
    switch (k) case 1: r = 11;
    switch (k) default: r += 100;
    switch (k)
        case 2:
            if (r > 0)
                r *= 3;
    return r;
}

static int inside_if(int k, int flag)
{
    int r = 0;
    switch (k) {
        int tmp;
    case 0:
        tmp = 5;
        if (flag) {
    case 1:
            tmp = 7;
            r += tmp;
        } else {
            r -= 1;
        }
        break;
    default:
        tmp = 2;
        r = tmp * 10;
    }
    return r;
}

int main(void)
{
    int src[23], dst[23] = { 0 }, sum = 0, bad = 0;
    for (int i = 0; i < 23; i++)
        src[i] = i * i;
    duff_copy(dst, src, 23);
    for (int i = 0; i < 23; i++)
        sum += dst[i];
    printf("duff sum = %d\n", sum);
    printf("unbraced = %d %d %d\n", unbraced(0), unbraced(1), unbraced(2));
    printf("inside_if = %d %d %d %d\n", inside_if(0, 0), inside_if(0, 1),
           inside_if(1, 0), inside_if(4, 1));
    bad += sum != 3795;
    bad += unbraced(0) != 100 || unbraced(1) != 111 || unbraced(2) != 300;
    bad += inside_if(0, 0) != -1 || inside_if(0, 1) != 7;
    bad += inside_if(1, 0) != 7 || inside_if(4, 1) != 20;
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad ? 1 : 4;
}
