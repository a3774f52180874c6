#!/usr/bin/env python3
"""Which loops get a slow twin in the hybrid rewrite.

A loop that calls a function which may run long gets a twin, so that a
thread that never leaves it picks up a filter on it; a for loop that makes
a fixed number of passes by itself (`for (T v = A; v < B; v++)`, or <=, or
counting down, A and B constants, at most 64 passes, v only read in the
body) cannot run long on its own and gets none.  The conformance program
fixed_pass_loops.c (which also runs, original and rewritten, in the
conformance tests) says on each loop's line `/* twin */` or `/* no twin */`;
so do the loops below, which are only rewritten and compiled (some never
end: a `c <= 255` for an unsigned char is always true; in others the counter
can be written through its address), and so are those with library calls
that cannot keep a thread (BRIEF), or call a header's helpers that cannot
(HELPERS_C, HELPERS_H), or call the tree's external functions that
cannot (EXTERNALS_C, EXT_C, OTHER_C), or functions that do not return
(NORETURN_C).  The manifest's `loops[].twin_exit`
must agree on every marked line, the rewritten text must have one twin
label per twinned loop, and it must compile.
"""
import argparse
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, marked_lines, run, scratch  # noqa: E402

MARK_RE = re.compile(r'/\* (no twin|twin) \*/')

# Rewritten (and compiled) only: loops that would never end, end by
# overflow, or whose counter can be written some other way.
UNBOUNDED = r'''
void work(long v);
void keep(int *p);
void reset(int *p);
#define HEADER int v = 0; v < 8; v++

void loops(void)
{
	for (int v = 8; v >= 0u; v--) work(v); /* twin */
	for (int v = -5; v > 0u; v--) work(v); /* twin */
	for (long long v = -9223372036854775807LL - 1; v < 9223372036854775807LL; v++) work(v); /* twin */
	for (int v = (keep(&v), 0); v < 8; v++) work(v); /* twin */
	for (int v = 0; v < 8; v += (reset(&v), 1)) work(v); /* twin */
	for (int v = 0; v < 8; v += ({ reset(&v); 1; })) work(v); /* twin */
	for (int v = 0; v < 8; v++) { work(v); __builtin_choose_expr(1, v, 0)++; } /* twin */
	for (__typeof__(0) v; v < 8; v++) work(v); /* twin */
	for (HEADER) work(v); /* no twin */
	for (unsigned char c = 250; c <= 255; c++) work(c); /* twin */
	for (signed char c = 100; c < 200; c++) work(c); /* twin */
	for (int i = 0; i < 8; i--) work(i); /* twin */
	for (int i = 8; i > 0; i++) work(i); /* twin */
	for (int i = 0; i != 8; i++) work(i); /* twin */
	for (int i = 0; i < 8; i++) { work(i); --i; } /* twin */
	for (int i = 0, k = 0; i < 8; i++) work(i + k); /* twin */
	for (int i = 0; i < 8;) work(i++); /* twin */
	for (int i = 0; i < 8; i++) work(i); /* no twin */
}
'''

# Library calls that return after bounded work and call nothing back
# (loom_is_brief: memory, strings, allocation, arithmetic, builtins, atomics) are no
# reason for a twin, in the loop or in a static helper it calls; I/O, a
# blocking call, a callback-taking one (qsort) and the tree's own function
# of such a name are.
BRIEF = r'''
#include <ctype.h>
#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void work(long v);
int work_len(int i);
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void drop_all(char **v, int n)
{
	for (int i = 0; i < n; i += 2) free(v[i]); /* no twin */
}

/* glibc's byte order macros call its static inline __bswap_32 and
 * __uint16_identity (and ntohl does under -O2). */
static unsigned get_be(const unsigned *p, int i)
{
	return be32toh(p[i]) + le16toh((unsigned short)i);
}

static void show_all(char **v, int n)
{
	for (int i = 0; i < n; i += 2) puts(v[i]); /* twin */
}

double brief(char **v, int n, const char *s, int *a)
{
	double t = 0;

	for (int i = 0; i < n; i += 2) { free(v[i]); v[i] = malloc(strlen(s) + 1); } /* no twin */
	while (*s) s += isspace((unsigned char)*s) && __builtin_expect(strlen(s) > 3, 1); /* no twin */
	for (int i = 0; i < n; i += 2) t += sqrt((double)i) + fabs(t); /* no twin */
	for (int i = 0; i < n; i += 2) memcpy(v[i], s, strnlen(s, 4)); /* no twin */
	for (int i = 0; i < n; i += 2) drop_all(v, i); /* no twin */
	for (int i = 0; i < n; i += 2) t += get_be((const unsigned *)a, i) + be64toh((unsigned long)t); /* no twin */
	for (int i = 0; i < n; i += 2) { __atomic_thread_fence(__ATOMIC_ACQUIRE); a[i] = __sync_fetch_and_add(a, 1); } /* no twin */
	for (int i = 0; i < n; i += 2) show_all(v, i); /* twin */
	for (int i = 0; i < n; i += 2) { free(v[i]); work(i); } /* twin */
	for (int i = 0; i < n; i += 2) free(strdup(s + work_len(i))); /* twin */
	for (int i = 0; i < n; i += 2) puts(v[i]); /* twin */
	for (int i = 0; i < n; i += 2) qsort(a, (size_t)i, sizeof *a, cmp); /* twin */
	return t;
}
'''

# A function of the tree that has a brief library function's name runs
# whatever the tree says: its calls count.
OWN_FREE = r'''
void free(void *p);

void release(void **v, int n)
{
	for (int i = 0; i < n; i += 2) free(v[i]); /* twin */
}
'''

# The static functions of a header the file includes count as its own do
# (Open vSwitch's cmap.c calls cmap.h's one-line atomic accessors in its
# bucket loops): a loop calling only helpers that cannot run long gets no
# twin, in the C file and in the header.  A helper cannot run long when its
# loops cannot (no call, a fixed number of passes, or calls that cannot run
# long: sum_to) and its calls cannot (four calls work).  So are helpers a
# macro writes (Open vSwitch's unaligned.h accessors), which get no hooks:
# get_l calls nothing, call_l calls work.
HELPERS_H = r'''#ifndef HELPERS_H
#define HELPERS_H
void work(long v);
#define ACCESSOR(T, N) static inline T get_##N(const T *p) { return *p; }
#define CALLER(T, N) static inline T call_##N(const T *p) { work(*p); return *p; }
ACCESSOR(long, l)
CALLER(long, l)
static inline int clamp(int v) { return v < 0 ? 0 : v; }
static inline int twice(int v) { return clamp(v) * 2; }
static inline int sum_to(int n)
{
	int s = 0;

	for (int i = 0; i < n; i += 2) s += twice(i); /* no twin */
	return s;
}
static inline void spin(int n)
{
	for (int i = 0; i < n; i += 2) work(i); /* twin */
}
static inline void through(int n) { spin(n); }
static inline void four(void)
{
	for (int i = 0; i < 4; i++) work(i); /* no twin */
}
#endif
'''
HELPERS_C = r'''#include "helpers.h"

int helpers(int n)
{
	int s = 0;

	for (int i = 0; i < n; i += 2) s += twice(i); /* no twin */
	for (int i = 0; i < n; i += 2) s += sum_to(i); /* no twin */
	for (int i = 0; i < n; i += 2) through(i); /* twin */
	for (int i = 0; i < n; i += 2) four(); /* twin */
	for (int i = 0; i < n; i += 2) { s += clamp(i); work(i); } /* twin */
	for (long l = 0; l < n; l += 2) s += (int)get_l(&l); /* no twin */
	for (long l = 0; l < n; l += 2) s += (int)call_l(&l); /* twin */
	return s;
}
'''


def twins(out, name):
    """{line: has a twin} for every loop of file NAME in OUT's manifest."""
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        m = json.load(f)
    return {l['line']: bool(l['twin_exit']) for fn in m['functions'] if fn['file'] == name
            for l in fn['loops']}


# The tree's external functions count too, whatever file defines them: one
# that cannot run long (no loop that can, no call that can, those of other
# such functions included) is no reason for a twin; one that recurses,
# directly or through another, or that the tree defines twice (two
# programs: ext_twice) is, and so is any of them in an endless loop (`for
# (;;)`, `while (1)`: likely a thread's main loop, whose twin is where the
# thread meets a filter, as the tree's callers call fast entries without
# switch).
EXTERNALS_C = r'''
void work(long v);
int ext_short(int v);
int ext_calls_short(int v);
int ext_long(int v);
int ext_rec(int v);
int ext_mutual_a(int v);
int ext_twice(int v);
int local_ext(int v);

int local_ext(int v)
{
	return v * 2;
}

int externals(int n);
int externals(int n)
{
	int s = 0;

	for (int i = 0; i < n; i += 2) s += ext_short(i); /* no twin */
	for (int i = 0; i < n; i += 2) s += ext_calls_short(i); /* no twin */
	for (int i = 0; i < n; i += 2) s += local_ext(i); /* no twin */
	for (int i = 0; i < n; i += 2) s += ext_long(i); /* twin */
	for (int i = 0; i < n; i += 2) s += ext_rec(i); /* twin */
	for (int i = 0; i < n; i += 2) s += ext_mutual_a(i); /* twin */
	for (int i = 0; i < n; i += 2) s += ext_twice(i); /* twin */
	for (;;) { s += ext_short(s); if (s > n) break; } /* twin */
	while (1) { s += ext_calls_short(s); if (s > n) break; } /* twin */
	return s;
}
'''
EXT_C = r'''
void work(long v);
int ext_short(int v);
int ext_calls_short(int v);
int ext_long(int v);
int ext_rec(int v);
int ext_mutual_a(int v);
int ext_mutual_b(int v);
int ext_twice(int v);

int ext_short(int v) { return v + 1; }
static int helper(int v) { return v * 3; }

int ext_calls_short(int v)
{
	int s = 0;

	for (int i = 0; i < v; i += 2) s += ext_short(i) + helper(i); /* no twin */
	return s;
}

int ext_long(int v)
{
	for (int i = 0; i < v; i += 2) work(i); /* twin */
	return v;
}

int ext_rec(int v) { return v > 0 ? ext_rec(v - 1) : 0; }
int ext_mutual_a(int v) { return v > 0 ? ext_mutual_b(v - 1) : 0; }
int ext_mutual_b(int v) { return v > 0 ? ext_mutual_a(v - 1) : 0; }
int ext_twice(int v) { return v; }
'''
OTHER_C = r'''
void work(long v);
int ext_twice(int v);
int ext_twice(int v) { return -v; }
void other(int n);
void other(int n)
{
	for (int i = 0; i < n; i += 2) work(i + ext_twice(i)); /* twin */
}
'''

# A function that does not return (abort, exit, one declared noreturn in any
# of C's spellings) is no reason for a twin: a thread it keeps never comes
# back to the loop (Open vSwitch's OVS_NOT_REACHED).
NORETURN_C = r'''
#include <stdlib.h>
#include <stdnoreturn.h>

void work(long v);
static void die(int code) __attribute__((noreturn));
static void die(int code) { exit(code); }
_Noreturn void fatal(const char *why);
noreturn void fatal_too(const char *why);
[[noreturn]] void fatal_c23(void);

static int checked(int v)
{
	if (v < 0)
		abort();
	return v;
}

long noreturns(const int *p, int n);
long noreturns(const int *p, int n)
{
	long s = 0;

	for (int i = 0; i < n; i++) s += checked(p[i]); /* no twin */
	for (int i = 0; i < n; i++) if (p[i] < 0) die(i); else s++; /* no twin */
	for (int i = 0; i < n; i++) if (p[i] < 0) fatal("negative"); else s++; /* no twin */
	for (int i = 0; i < n; i++) if (p[i] < 0) fatal_too("negative"); else s++; /* no twin */
	for (int i = 0; i < n; i++) if (p[i] < 0) fatal_c23(); else s++; /* no twin */
	for (int i = 0; i < n; i++) if (p[i] < 0) abort(); else work(i); /* twin */
	return s;
}
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rewrite', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-twins-') as work:
        # Trees: the C file first, then headers it includes.
        trees = {'fixed_pass_loops.c': [('fixed_pass_loops.c', os.path.join(HERE, 'conformance',
                                                                           'fixed_pass_loops.c'))]}
        for name, *files in (('unbounded.c', UNBOUNDED), ('brief.c', BRIEF), ('own_free.c', OWN_FREE),
                             ('helpers.c', HELPERS_C, ('helpers.h', HELPERS_H)),
                             ('externals.c', EXTERNALS_C, ('ext.c', EXT_C), ('other.c', OTHER_C)),
                             ('noreturn.c', NORETURN_C)):
            trees[name] = []
            for fname, text in [(name, files[0]), *files[1:]]:
                trees[name].append((fname, os.path.join(work, fname)))
                with open(trees[name][-1][1], 'w') as f:
                    f.write(text)
        for name, files in trees.items():
            src, out = os.path.join(work, 'src-' + name), os.path.join(work, 'out-' + name)
            os.makedirs(src)
            for _, path in files:
                shutil.copy(path, src)
            r = run([args.rewrite, '--quiet', '--emit', 'hybrid', src, out])
            check.require(r.status == 0, f'loom-rewrite {name}', r.stderr)
            for fname, path in files:
                want, got = marked_lines(path, MARK_RE, 'twin'), twins(out, fname)
                check.require(want, f'{fname} marks its loops')
                for line, twin in sorted(want.items()):
                    check(got.get(line) == twin, f'{fname}:{line}: {"a twin" if twin else "no twin"} '
                          f'(manifest: {got.get(line)})')
                with open(os.path.join(out, fname)) as f:
                    labels = len(re.findall(r'loom__twin_\d+:', f.read()))
                check(labels == sum(got.values()), f'{fname}: the rewritten text has a twin for each twinned loop '
                      f'({labels} twin labels, {sum(got.values())} in the manifest)')
            r = run(['gcc', '-std=gnu11', '-c', '-o', os.devnull, name], cwd=out)
            check(r.status == 0, f'{name}: the rewritten file compiles', r.stderr)
    check.finish()


if __name__ == '__main__':
    main()
