/* conformance-cflags: -std=gnu89 -Wdeclaration-after-statement */
/* C90 style: declarations only at the start of blocks.  The hooks before
 * declarations and at block starts must not turn into statements before
 * declarations (a warning here, an error under -Werror). */
#include <stdio.h>

struct pair { int a, b; };

static int sum(const int *v, int n)
{
	int total = 0;
	int i;

	for (i = 0; i < n; i++) {
		int x = v[i];
		int doubled = x * 2;

		total += doubled;
	}
	return total;
}

static int pick(int k)
{
	switch (k) {
	case 1: {
		int one = 1;
		return one;
	}
	default:
		break;
	}
	{
		struct pair p;
		int r;

		p.a = k;
		p.b = k + 1;
		r = p.a * p.b;
		while (r > 100) {
			int half = r / 2;
			r = half;
		}
		return r;
	}
}

int main()
{
	int v[4];
	int i;
	int total;

	for (i = 0; i < 4; i++)
		v[i] = i + 1;
	total = sum(v, 4);
	printf("sum %d pick %d %d\n", total, pick(1), pick(9));
	return total == 20 ? 0 : 1;
}
