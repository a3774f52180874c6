/* A function declared noreturn by an earlier prototype only (bfd's
 * _bfd_abort, declared in libbfd.h): its entry switch must not add a
 * return to it. */
#include <stdio.h>
#include <stdlib.h>

#define ATTRIBUTE_NORETURN __attribute__((__noreturn__))

extern void fail(const char *why) ATTRIBUTE_NORETURN;

void fail(const char *why)
{
	printf("failing: %s\n", why);
	fflush(stdout);
	exit(3);
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 0)
		fail("as planned");
	return 0;
}
