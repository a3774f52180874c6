#ifndef LOOM_REWRITE_BLOCKING_H
#define LOOM_REWRITE_BLOCKING_H

#include <stdbool.h>

/* Is NAME a function that may block in the kernel for long (docs/manifest.md
 * lists them)?  Statements calling one get blocking markers, so that a thread
 * parked there at a safe site does not hold up a live update. */
bool loom_is_blocking(const char *name);

/* The stored copy of NAME if it is blocking (valid for the program's life). */
const char *loom_blocking_canonical(const char *name);

/* Is NAME a library function (or a compiler builtin, `__builtin_` or not)
 * that returns after work bounded by its arguments, never waits for another
 * thread, a peer or a timer, and never calls back into the program: memcpy,
 * strlen, malloc, free, sqrt, __builtin_expect?  Only for a function declared
 * in a system header (the caller checks): a loop whose calls are all brief
 * cannot keep a thread longer than one without calls, and gets no loop twin.
 * A name given to loom_blocking_add is never brief. */
bool loom_is_brief(const char *name);

/* Is NAME one of the compiler's atomic builtins (__atomic_*, __sync_*,
 * __c11_atomic_*), which have no declaration in a header? */
bool loom_is_atomic_builtin(const char *name);

/* Adds NAME to the list (from `loom-rewrite --blocking NAME`). */
void loom_blocking_add(const char *name);

#endif
