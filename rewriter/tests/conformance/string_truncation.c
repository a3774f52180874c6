/* string_truncation.c: strncpy with a bound equal to the destination's
 * size, then the store that ends the string.  gcc's -Wstringop-truncation
 * looks for that store in the statement right after the call; a hook
 * between them (inline, in a function that has no slow copy: a static
 * local, as bluez's DBG macro declares) made gcc warn where the original
 * does not. */
#include <stdio.h>
#include <string.h>

static char kept[16];

static const char *remember(const char *name)
{
	static int calls;
	char bridge[16];

	calls++;
	strncpy(bridge, name, 16);
	bridge[15] = '\0';
	memcpy(kept, bridge, sizeof kept);
	return calls > 1 ? kept : bridge[0] ? "first" : "empty";
}

static size_t copied(const char *name)
{
	char buf[8];

	strncpy(buf, name, sizeof buf);
	buf[sizeof buf - 1] = '\0';
	return strlen(buf);
}

int main(int argc, char **argv)
{
	const char *name = argc > 5 ? argv[1] : "a-rather-long-bridge-name";

	printf("%s\n", remember(name));
	printf("%s\n", remember("br0"));
	printf("%zu %zu\n", copied(name), copied("x"));
	return 0;
}
