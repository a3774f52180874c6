/* Loops that call a function, with and without a fixed number of passes.
 * A comment says whether the hybrid rewrite gives the loop a twin
 * (rewriter/tests/loop_twins.py checks the manifest against them): a loop of
 * the form for (T v = A; v < B; v++) with constant A and B, at most 64
 * passes, and v only read in the body, needs none; so does one of the form
 * for (v = A; ...) when v is a local that the function only assigns,
 * increments and reads (not static, not volatile, its address not taken).  work() and bump()
 * call through a pointer: a call of either may run long, as far as the
 * rewriter knows; a call of a static helper whose loops make no call
 * cannot. */
#include <stdio.h>

#define N 8

static unsigned long acc;
static void (*volatile observer)(unsigned long);

void work(long v)
{
	acc = acc * 31 + (unsigned long)v;
	if (observer)
		observer(acc);
}

void bump(int *p)
{
	(*p)++;
	if (observer)
		observer((unsigned long)*p);
}

static int limit(void)
{
	return 5;
}

/* A static helper whose loop makes no call cannot run long (as such a loop
 * gets no twin); one whose loop calls work() can. */
static long sum_to(long n)
{
	long s = 0;

	for (long i = 0; i < n; i++) /* no twin */
		s += i;
	return s;
}

static void each(long n)
{
	for (long i = 0; i < n; i++) /* twin */
		work(i);
}

int main(void)
{
	int n = limit(), j, p, q;
	static int s;
	volatile int v;

	for (int i = 0; i < 8; i++) work(i); /* no twin */
	for (int i = 0; i < N; i++) { /* no twin */
		work(i);
		work(-i);
	}
	for (int i = 0; i < 64; i++) work(i); /* no twin */
	for (int i = 0; i <= 64; i++) work(i); /* twin */
	for (int i = 0; i < n; i++) work(i); /* twin */
	for (int i = 8; i > 0; i--) work(i); /* no twin */
	for (long i = -3; i <= 3; i += 1) work(i); /* no twin */
	for (unsigned i = 10; i >= 1; --i) work((long)i); /* no twin */
	for (int i = 0; i < 8; i += 2) work(i); /* twin */
	for (int i = 0; i < 8; i++) { work(i); if (i == 3) i = 6; } /* twin */
	for (int i = 0; i < 8; i++) bump(&i); /* twin */
	for (int i = 0; i < 8; i++) { work(i); (i)++; } /* twin */
	for (j = 0; j < 8; j++) work(j); /* no twin */
	for (q = 2; q < 8; q++) work(q); /* no twin */
	q += 3;
	work(q--);
	for (p = 0; p < 8; p++) work(p); /* twin */
	bump(&p);
	for (s = 0; s < 8; s++) work(s); /* twin */
	for (v = 0; v < 8; v++) work(v); /* twin */
	for (j = 0; j < 8; j += 1) work(j + p + q); /* no twin */
	for (signed char c = 100; c < 127; c++) work(c); /* no twin */
	for (unsigned char c = 250; c < 255; c++) work(c); /* no twin */
	for (int i = 0; i < 4; i++) /* no twin */
		for (int k = 0; k < n; k++) /* twin */
			work(i * k);
	for (int i = 0; i < n; i++) acc += (unsigned long)sum_to(i); /* no twin */
	for (j = 0; j < n; j++) each(j); /* twin */
	printf("%lu\n", acc);
	return 0;
}
