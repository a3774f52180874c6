/* conditional_groups.c: conditional (#if) groups that a statement, a loop
 * or a function straddles: an else-if chain whose links are inside #ifdef
 * (bfd's coffcode.h: the `}` closing one branch is inside the group), one
 * whose last links only some compiles see, a function whose opening brace
 * is in one branch, a loop whose header is, a blocking call and unbraced
 * bodies split by #else, a loop that an #ifdef'd else continues, a
 * prototype in another group than its definition, and macros that write a
 * block or carry their ';' under one definition only.  Braces the rewrite adds
 * must not have one half inside a group and one outside, nor close a
 * chain that another compile continues; a copy must not repeat an #else
 * without its #if; F__slow must not be declared where only some compiles
 * see it: header_views.py compiles these shapes under both sides of each
 * group. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WITH_COMMENT 1

static int twice(int x)
{
	return 2 * x;
}

static long classify(const char *name)
{
	long flags = 0;

	if (!strcmp(name, "text"))
		{
			flags = 1;
		}
	else if (!strcmp(name, "bss"))
		{
			flags = 2;
#ifdef WITH_COMMENT
		}
	else if (!strcmp(name, "comment"))
		{
			flags = twice(2);
#endif
#ifdef WITH_LIB
		}
	else if (!strcmp(name, "lib"))
		{
			flags = twice(3);
#endif
		}
	else if (!strcmp(name, "data"))
		flags = twice(4);
	else if (name[0] == '.')
		flags = 16;
#ifdef WITH_LIB
	else if (name[0] == 'l')
		flags = 32;
#endif
	if (flags == 0)
		flags = twice(-1);
#ifndef WITH_LIB
	else if (flags == 1)
		flags = twice(-2);
#endif
	return flags;
}

#ifdef WITH_COMMENT
static int opened(long x) {
	x += 100;
#else
static int opened(int x) {
#endif
	if (x > 3)
		return (int)x + twice(1);
	return (int)x;
}

static int looping(int n)
{
	int i = 0, s = 0;

#ifdef WITH_COMMENT
	while (i < 2 * n) {
#else
	while (i < n) {
#endif
		s += twice(i) + (int)strlen("ab"); /* a call that may run long: a twin, if it could have one */
		i++;
	}
	return s;
}

static long blocked(void)
{
	long n;

#ifdef WITH_COMMENT
	n = sleep(0) +
#else
	n = 1 + sleep(0) +
#endif
		2;
	return n;
}

static int unbraced(int x)
{
	int r = 0;

	if (x > 1)
#ifdef WITH_COMMENT
		r = twice(x) +
#else
		r = twice(x) -
#endif
		    1;
	else
		r = -1;
	for (int i = 0; i < x; i++)
#ifdef WITH_LIB
		r += twice(i) +
#else
		r += twice(i) -
#endif
		     1;
	return r;
}

#ifndef WITH_LIB
static int later(int x);
#else
static int later(int x);
#endif

static int earlier(int x)
{
	return later(x) + 1;
}

static int later(int x)
{
	return twice(x) + 1;
}

static int dangling(int n)
{
	int s = 0;

	if (n > 0)
		for (int i = 0; i < n; i++)
			if (i % 2)
				s += twice(i);
#ifdef WITH_LIB
			else
				s -= 1;
#endif
	for (int i = 0; i < n; i++)
		if (i % 3)
			s += (int)strlen("abc"); /* a call that may run long: a twin, if it could have one */
#ifdef WITH_LIB
		else
			s -= 3;
#endif
	for (int i = 0; i < n; i++)
		if (i == 1)
			s += twice(i);
/* a comment before the directive */ #ifdef WITH_LIB
		else
			s -= 2;
#endif
	return s;
}

/* A block in one definition, an expression in the other (bfd's
 * SELECT_RELOC); a ';' carried by the macro in one only. */
#ifdef WITH_LIB
#define SELECT(x) (x) += (int)strlen("ab")
#define STEP(x) (x) *= 3
#else
#define SELECT(x) { (x) += (int)strlen("a"); }
#define STEP(x) (x) *= 2;
#endif

static int selects(int n)
{
	int x = n;

	if (n > 0)
		SELECT(x);
	STEP(x);
	for (int i = 0; i < n; i++)
		SELECT(x);
	while (x < 100)
		STEP(x);
	if (x > 0)
		STEP(x);
	return x;
}

/* Text in a group before a statement that makes it, for another compile,
 * the body of an if, an else, a do or a loop, or the end of a declaration:
 * nothing may go between them (no slot, no blocking marker, no twin after
 * the loop, which an else in the group after it would take for its if). */
static int guarded(int n, int use)
{
	int s = 0;

	(void)use;
#ifdef WITH_LIB
	if (use)
#endif
		s += twice(n);
#ifdef WITH_LIB
	if (use)
#endif
		while (s < 100) {
			s += twice(3) + (int)strlen("ab");
		}
#ifdef WITH_LIB
	else
		s = -s;
#endif
#ifdef WITH_LIB
	do
#endif
		s += twice(2);
#ifdef WITH_LIB
	while (s < 150);
#endif
#ifdef WITH_LIB
	unsigned
#endif
	int u = (unsigned)s;
#ifdef WITH_LIB
	if (!use)
#endif
		s += (int)sleep(0) + 1;
#ifdef WITH_LIB
	for (int i = 0; i < 2; i++)
#endif
	{
		s += twice(1);
		if (s > 1000)
			s = 1000;
	}
#ifdef WITH_LIB
	if (use)
#else
	n++;
#endif
		s += twice(n);
	if (n > 10)
		while (s < 1000) {
			s += twice(5);
		}
#ifdef WITH_LIB
	else
		s += 7;
#endif
	return s + (int)u;
}

/* The same in a function whose hooks stay in its one body (a static
 * local: it is not copied), with the statement before in the other
 * branch of the group. */
static int guarded_once(int n, int use)
{
	static int calls;
	int s = 0;

	(void)use;
	calls++;
#ifdef WITH_LIB
	if (use)
#elif defined(WITH_COMMENT)
	n += 2;
#else
	n++;
#endif
		s += twice(n);
	return s + calls;
}

int main(void)
{
	static const char *const names[] = { "text", "bss", "comment", "lib", "data", ".x", "y", "l" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		printf("%s %ld\n", names[i], classify(names[i]));
	printf("%d %d %d %ld %d %d %d %d\n", opened(5), opened(2), looping(4), blocked(), unbraced(3), unbraced(0),
	       dangling(5), earlier(3));
	printf("%d\n", selects(3));
	printf("%d %d %d\n", guarded(1, 0), guarded(2, 1), guarded(20, 1));
	printf("%d %d\n", guarded_once(3, 0), guarded_once(4, 1));
	return 0;
}
