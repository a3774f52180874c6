/* Calls to functions of the same file defined further down, known by a
 * prototype at the top (static) or as an external function: the loop's twin
 * and the slow copies call them before their definitions (bfd's elf.c calls
 * bfd_section_from_shdr that way). */
#include <stdio.h>

static int later_static(int x);
int later_extern(int x);
static int later_recursive(int n);

static int sum_upto(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++) {
		s += later_static(i);
		s += later_extern(i);
	}
	return s + later_recursive(n);
}

static int later_static(int x)
{
	return x * 2 + 1;
}

int later_extern(int x)
{
	return x - 1;
}

static int later_recursive(int n)
{
	return n > 0 ? n + later_recursive(n - 1) + sum_upto(n - 1) : 0;
}

int main(void)
{
	printf("%d\n", sum_upto(6));
	return 0;
}
