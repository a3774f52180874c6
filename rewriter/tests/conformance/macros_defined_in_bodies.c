/* Bodies that #define and #undef macros (libctf's ctf_dedup_rwalk_one_
 * output_mapping defines and undefines CTF_TYPE_WALK; bfd's group_sections
 * undefines a macro it uses): the slow copy, written after the function,
 * starts by putting those macros back as they were where the function
 * starts (#undef, then the definition in force there, continued lines
 * included; an #undef in a skipped #if 0 does not count), so that it
 * reads its body as the function does.  A loop with
 * such a line gets no twin.  A function keeps its hooks inline when it
 * redefines a macro of a system header (an #undef there is not in the
 * preprocessing record) or one its declaration uses.
 * conformance-cflags: -Wshadow */
#include <stdio.h>

#define SCALE 3
#define OFFSET(x) ((x) + 1)
#define WIDE long
#define GONE 7
#undef GONE
#define KEPT 11
#if 0
#undef KEPT
#endif

static int before(int x)
{
	int r = OFFSET(x) * SCALE;
#undef SCALE
#define SCALE 5
	r += SCALE;
#define LOCAL(y) ((y) * 2 + \
		  SCALE)
	r += LOCAL(x);
#undef LOCAL
#define GONE 9
#undef KEPT
#define KEPT 12
	return r + GONE + KEPT;
}

/* Uses SCALE as before() left it (5), and redefines it in a loop. */
static int after(int x)
{
	int s = 0;

	for (int i = 0; i < x; i++) {
#undef SCALE
#define SCALE 4
#define STEP(v) ((v) + SCALE)
		s += STEP(i) + before(i);
#undef STEP
	}
	return s + SCALE + GONE;
}

/* A system header's macro. */
static int system_macro(int c)
{
#undef EOF
#define EOF (-2)
	return c == EOF;
}

/* Its declaration reads WIDE, which its body changes. */
static WIDE declared(WIDE x)
{
#undef WIDE
#define WIDE int
	WIDE y = (WIDE)x * 2;

	return y;
}

int main(void)
{
	printf("%d %d %d %ld %d\n", before(2), after(4), system_macro(-2), declared(21), SCALE);
	return 0;
}
