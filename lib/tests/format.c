/* loom_vformat (lib/util.c), suite 'lib': what it formats is byte for byte
 * what snprintf gives, at the edges of every integer type, for empty and
 * long strings and literal runs; it refuses (-1) a conversion it does not
 * know and a result that does not fit, never writing past the buffer.
 * Built under AddressSanitizer and UBSan.  Exit 0 when every check holds,
 * 1 otherwise (each failure printed). */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int checks, failures;

static int format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = loom_vformat(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* Formats with loom_vformat and with snprintf, into buffers of CAP bytes
 * (the first with a guard after it); compares. */
#define SAME(cap, ...)                                                                                        \
	do {                                                                                                  \
		char ours[(cap) + 1], theirs[4096];                                                           \
		int n, m;                                                                                     \
		memset(ours, '#', sizeof ours);                                                               \
		n = format(ours, (cap), __VA_ARGS__);                                                         \
		m = snprintf(theirs, sizeof theirs, __VA_ARGS__);                                             \
		checks++;                                                                                     \
		if (ours[cap] != '#' || (m < (int)(cap) ? n != m || strcmp(ours, theirs) : n != -1)) {        \
			failures++;                                                                           \
			fprintf(stderr, "FAIL line %d: %d \"%.*s\" against %d \"%s\"\n", __LINE__, n,         \
			        n > 0 ? n : 0, ours, m, theirs);                                              \
		}                                                                                             \
	} while (0)

int main(void)
{
	char big[600];
	char buf[64];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	SAME(256, "plain text, no conversion");
	SAME(256, "%s", "");
	SAME(256, "[%s|%s]", "a", "\"quoted\" \\ text");
	SAME(256, "%%u is %u, 100%%", 7u);
	SAME(256, "%u %u %u", 0u, 1u, UINT_MAX);
	SAME(256, "%d %d %d %d", 0, -1, INT_MAX, INT_MIN);
	SAME(256, "%zu %zu", (size_t)0, SIZE_MAX);
	SAME(256, "%lu %lu", 0ul, ULONG_MAX);
	SAME(256, "%ld %ld %ld", -42l, LONG_MAX, LONG_MIN);
	SAME(256, "LOOM_%sSLOT%s(%u); ", "SLOW_", "_D", 12345u);
	SAME(256, "#line %ld", 1l);
	SAME(1024, "%s", big);
	/* Too long for the buffer: refused, nothing written past it. */
	SAME(16, "%s", "exactly sixteen!");
	SAME(16, "fifteen chars..");
	SAME(16, "%u%u", 12345678u, 12345678u);
	SAME(8, "%d", INT_MIN);
	SAME(1, "%s", "");
	SAME(2, "ab");
	/* An empty format; no room even for the NUL: refused, nothing written. */
	checks++;
	memset(buf, '#', sizeof buf);
	if (format(buf, 0, "") != -1 || buf[0] != '#' || format(buf, 1, "") != 0 || buf[0]) {
		failures++;
		fprintf(stderr, "FAIL: a buffer of 0 bytes was written to\n");
	}
	/* A NULL string: refused (vasprintf writes glibc's "(null)"). */
	checks++;
	if (format(buf, sizeof buf, "%s", (const char *)NULL) != -1) {
		failures++;
		fprintf(stderr, "FAIL: a NULL %%s was not refused\n");
	}
	/* Conversions it does not take: refused, for vsnprintf to do. */
	checks++;
	if (format(buf, sizeof buf, "\\u%04x", 31u) != -1 || format(buf, sizeof buf, "%5u", 1u) != -1
	    || format(buf, sizeof buf, "%.*s", 2, "abc") != -1 || format(buf, sizeof buf, "%lld", 1ll) != -1
	    || format(buf, sizeof buf, "%x", 1u) != -1 || format(buf, sizeof buf, "%", 1u) != -1) {
		failures++;
		fprintf(stderr, "FAIL: a conversion it does not know was not refused\n");
	}
	/* loom_xasprintf takes them all, through vasprintf. */
	{
		char *s = loom_xasprintf("%s=%04x %5u|%.*s %llu", "k", 31u, 7u, 2, "abc", 1ull << 40);

		checks++;
		if (strcmp(s, "k=001f     7|ab 1099511627776")) {
			failures++;
			fprintf(stderr, "FAIL: loom_xasprintf gave \"%s\"\n", s);
		}
		free(s);
	}
	printf("%d checks, %d failures\n", checks, failures);
	return failures != 0;
}
