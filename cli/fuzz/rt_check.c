/* rt/loom.h's implementation, built for the filter fuzzer's manifest: the
 * loom-config.h of the rewritten tree on the include path gives it that
 * manifest's id and hook count, as in a program rewritten with it.  The
 * runtime opens no update channel here (LOOM_DISABLE). */
#include "loom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_check.h"

/* Before the runtime's constructor (default priority, so later). */
__attribute__((constructor(101))) static void no_channel(void)
{
	setenv("LOOM_DISABLE", "1", 1);
}

const char *rt_check_manifest_path(void)
{
	return loom__manifest_path;
}

const char *rt_check_manifest_id(void)
{
	return loom__manifest_id;
}

int rt_check_image(const void *image, size_t size, char *why, size_t whylen)
{
	struct loom__reply rep;
	struct loom__filter *f;
	struct loom__table *t;
	int err;

	memset(&rep, 0, sizeof rep);
	if (loom__validate_image(image, size, &rep) < 0) {
		snprintf(why, whylen, "%s", rep.text);
		return rep.r.status;
	}
	f = loom__make_filter(image);
	if (!f) {
		snprintf(why, whylen, "out of memory");
		return LOOM_E_LIMIT;
	}
	/* As loom__install_push would, with no other filter installed. */
	t = loom__build_table(f, &err);
	snprintf(why, whylen, "%s", err ? "too many operations at one hook" : "");
	loom__free_table(t);
	loom__free_filter(f);
	return err;
}
