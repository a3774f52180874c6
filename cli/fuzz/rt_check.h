/* The runtime's side of a push, for the filter fuzzer: rt/loom.h compiled
 * for the manifest the fuzzer compiles filters against (rt_check.c). */
#ifndef LOOM_RT_CHECK_H
#define LOOM_RT_CHECK_H

#include <stddef.h>

/* The manifest the runtime was built for (its loom-config.h): path and id. */
const char *rt_check_manifest_path(void);
const char *rt_check_manifest_id(void);

/* Does what the runtime does with a pushed image of SIZE bytes at IMAGE
 * (4-byte aligned, as a mapping is) short of evacuating: validates it,
 * copies it into a filter and builds the op table installing that filter
 * alone would build.  Returns 0 (LOOM_OK), or the status the runtime would
 * reply with, its text in WHY (WHYLEN bytes). */
int rt_check_image(const void *image, size_t size, char *why, size_t whylen);

#endif
