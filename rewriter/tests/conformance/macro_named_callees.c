/* Calls whose callee's name a macro writes (libctf's ctf_assert calls the
 * static inline ctf_assert_internal): the copies of the caller rename them
 * with `#define NAME NAME__slow` ... `#undef NAME` around the copy, so the
 * callee needs no entry switch (an entry switch had kept a two-statement
 * helper from being inlined early, and gcc then warned that a variable
 * may be used uninitialized).  Not where the #define would rename anything
 * but calls: a struct member, a tag, a label or a local variable named
 * like the callee, its address taken in the same macro, the caller
 * itself, or a macro of that name.  Macros that call twice, nest, and go
 * through a parenthesised name.
 * conformance-cflags: -Wshadow */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum kind { K_INT = 1, K_FLOAT = 2, K_OTHER = 3 };
struct dict { int err; unsigned char vlen[8]; };

static void fail(struct dict *fp, const char *file, size_t line, const char *expr)
{
	fprintf(stderr, "%s:%zu: %s\n", file, line, expr);
	fp->err = 1;
}

static inline int check(struct dict *fp, const char *file, size_t line, const char *expr, int cond)
{
	if (__builtin_expect(!cond, 0))
		fail(fp, file, line, expr);
	return cond;
}
#define CHECK(fp, c) __builtin_expect(check(fp, __FILE__, __LINE__, #c, !!(c)), 0)

static int twice(int x) { return 2 * x; }
static int sq(int x) { return x * x; }
static int member(int x) { return x + 7; }
static int tagged(int x) { return x - 1; }
static int labelled(int x) { return x * 3; }
static int shadowed(int x) { return x + 100; }
static int pointed(int x) { return x ^ 5; }
static int (macroed)(int x) { return x + 11; }
#define macroed(x) (-(x))

#define TWICE(x) twice(x)
#define SQSUM(x) (sq(x) + sq(1))
#define NESTED(x) TWICE(SQSUM(x))
#define PAREN(x) (twice)(x)
#define MEMBER(x) member(x)
#define TAGGED(x) tagged(x)
#define LABELLED(x) labelled(x)
#define SHADOWED(x) shadowed(x)
#define POINTED(x) (pointed(x) + (pointed == 0))
#define MACROED(x) (macroed)(x)
#define FACT(n) fact(n)

struct box { int member; };
struct tagged { int v; };

/* ctf_add_encoded's shape: gcc sees from the inlined check that the
 * switch covers kind, if the check's switch does not keep it from
 * inlining it early (gcc 12 -O2: -Wmaybe-uninitialized). */
static struct dict *add_generic(struct dict *fp, int k)
{
	if (k > 100)
		return NULL;
	fp->err = 0;
	return fp;
}

long add_encoded(struct dict *fp, const char *name, unsigned bits, enum kind kind);
long add_encoded(struct dict *fp, const char *name, unsigned bits, enum kind kind)
{
	struct dict *d;
	unsigned encoding;

	if (name == NULL)
		return -2;
	if (!CHECK(fp, kind == K_INT || kind == K_FLOAT))
		return -1;
	if ((d = add_generic(fp, (int)kind)) == NULL)
		return -3;
	switch (kind) {
	case K_INT:
		encoding = bits << 1;
		break;
	case K_FLOAT:
		encoding = bits << 2 | 1;
		break;
	default:
		break;
	}
	memcpy(d->vlen, &encoding, sizeof encoding);
	return d->vlen[0];
}

static int fact(int n)
{
	return n <= 1 ? 1 : n * FACT(n - 1);
}

static int uses(int v)
{
	struct box b = { 3 };
	struct tagged t = { 4 };
	int s = 0;

	for (int i = 0; i < v; i++)
		s += TWICE(i) + SQSUM(i) + NESTED(i) + PAREN(i) + MACROED(i) + macroed(i);
	s += MEMBER(b.member) + TAGGED(t.v) + POINTED(v) + FACT(5);
	if (s > 1000)
		goto labelled;
	s += LABELLED(2);
labelled:
	s += SHADOWED(1);
	{
		int shadowed = s;

		s += shadowed / 2;
	}
	return s;
}

int main(void)
{
	struct dict d = { 0, { 0 } };

	printf("%ld %ld\n", add_encoded(&d, "a", 8, K_INT), add_encoded(&d, "b", 32, K_FLOAT));
	printf("%d %d %d\n", uses(3), uses(40), fact(6));
	return 0;
}
