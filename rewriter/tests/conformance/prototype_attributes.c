/* Prototypes whose text F__slow's copy must not take (found by a review of
 * the declaration after prototypes): attributes that run, place or name a
 * symbol (constructor, destructor, section, an asm label, weak, naked), a
 * static prototype before a definition without `static`, a K&R definition
 * whose prototype converts the arguments (an int passed as a double), a
 * directive inside the prototype and a tag defined in its return type.
 * conformance-cflags: -Wno-deprecated-non-prototype */
#include <stdio.h>

static int counter;
static void init(void) __attribute__((constructor));
static void fini(void) __attribute__((destructor));
static int placed(int x) __attribute__((section(".text.loom_conformance")));
static int labelled(int x) __asm__("loom_conformance_labelled");
int hook(int x) __attribute__((weak));
static int mixed(int x);
static double half(double x);
static int split(int x
#ifdef __GNUC__
	, int y
#endif
	);
static struct pt { int x; } origin(int);
static enum color { RED, GREEN } pick(int);
#if defined(__x86_64__)
static void bare(void) __attribute__((naked));
#endif

static double run(int n)
{
	double s = 0;

	for (int i = 0; i < n; i++) {
		s += placed(i) + labelled(i) + hook(i) + mixed(i) + split(i, 2);
		s += half(i + 3) + origin(i).x + (int)pick(i);
		printf("%d: %g\n", i, s);
	}
#if defined(__x86_64__)
	bare();
#endif
	return s;
}

static void init(void)
{
	counter++;
	printf("init %d\n", counter);
}

static void fini(void)
{
	printf("fini %d\n", counter);
}

static int placed(int x)
{
	return x + 1;
}

static int labelled(int x)
{
	return x * 3;
}

int hook(int x)
{
	return x - 2;
}

int mixed(int x)
{
	return x ^ 6;
}

static double half(x)
	double x;
{
	return x / 2;
}

static int split(int x, int y)
{
	return x * y;
}

static struct pt origin(int i)
{
	struct pt o = { 4 + i };

	return o;
}

static enum color pick(int i)
{
	return i % 2 ? GREEN : RED;
}

#if defined(__x86_64__)
static void bare(void)
{
	__asm__("ret");
}
#endif

int main(void)
{
	printf("total %g, counter %d\n", run(4), counter);
	return 0;
}
