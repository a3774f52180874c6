/* Which functions a call through a pointer may reach, by type
 * (docs/design.md, "Calls through pointers").  The safety analysis
 * (cli/filter.c) asks this for every such call it follows. */
#ifndef LOOM_CLI_INDIRECT_H
#define LOOM_CLI_INDIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

struct loom_indirect;

/* An index of M's address-taken functions by the types they are taken as
 * and of M's conversions between function pointer types.  M must outlive
 * it; free it with loom_indirect_free. */
struct loom_indirect *loom_indirect_new(const struct loom_manifest *m);
void loom_indirect_free(struct loom_indirect *ix);

/* The functions (indices into M's functions, ascending, *N of them) that a
 * call through a pointer to function type TYPE may reach: every one whose
 * address is taken as TYPE, or as a type that a conversion of the program
 * turns into TYPE, directly or through others (an opaque carrier, void *
 * or an integer, among them); every one whose address is taken as a type
 * not known; and, when TYPE is NULL (not known) or M records no
 * conversions (an older manifest), every address-taken function.  The
 * array belongs to IX (computed once per type). */
const unsigned *loom_indirect_targets(struct loom_indirect *ix, const char *type, size_t *n);

/* Whether function FN is one of loom_indirect_targets(IX, TYPE). */
bool loom_indirect_reaches(struct loom_indirect *ix, const char *type, unsigned fn);

#endif
