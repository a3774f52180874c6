#!/usr/bin/env python3
"""Functions defined in the tree's headers (static inline helpers).

A tree whose include/util.h defines static inline functions used by two C
files (and by a third that clang cannot parse), next to include/types.h,
which defines none:

1. util.h is instrumented once: one manifest file entry, its functions
   recorded there, each with an entry switch and its slow copy right after
   it (inside the include guard), and it includes the runtime itself, so
   the file copied unchanged still builds; types.h is copied byte for
   byte.  (With --emit inline, hooks inline, as in C files.)
2. The rewritten tree builds with gcc (-Wall -Wextra) without a warning and
   answers like the original, __LINE__ in the header included; clang
   compiles the files it can parse without a warning.
3. -j 1 and -j 4 write the same bytes.
4. Live: `mix <> self` (mix is defined in util.h and inlined into both C
   files) is pushed into the running program, and its lock is taken.
6. A header function keeps its switch when a file sees it or a caller of
   it under other macros (another call in a body, a definition the file
   that writes the header did not see), but not because another function
   of the header is seen otherwise (KEEPS' third element); when a cleanup attribute calls
   it or an alias attribute names it, when the tree holds a C++ file, when
   a C file includes another, when a parser source includes it through
   another header, and when a body that calls it through a macro also
   names a struct member like it (KEEPS); not for a call through a macro
   alone, nor for a C++ file or a C file including another that do not
   include it (FREES).  Files the compilation database lists outside the
   tree (generated in the build directory) and headers outside it keep
   the switches of the functions they call or see otherwise, and all of a
   header's when they do not parse (OUTSIDERS); so does a C file's static
   function that a generated file the C file includes calls.
7. Headers that call each other's functions (LAYERED): a header's call of
   another header's function below that function's definition switches
   like a C file's (no entry switch, the slow copy calls F__slow), one
   above it does not; a call between a header function's prototype and its
   definition in the same header does, as in a C file, also when the
   definition is in a conditional group the prototype is outside of
   (unless another unit sees the group's other branch: LAYERED_ALT); the tree builds with gcc and clang and answers the
   same, fast and with every function slow.
5. Once nested.c parses too (PARSED), every file that includes util.h
   switches for its functions (work.c calls mix through a macro): they
   have no entry switch, the C files' slow copies call mix__slow (work.c's
   through `#define mix mix__slow`), and nested.c's counted, whose hooks
   stay inline, calls the mix__switch util.h writes after mix's slow copy
   (by `#define mix mix__switch` around its body; tallied's, spelled,
   renamed); the tree builds without a warning with gcc and clang and
   answers the same, and `mix <> self` pushed live takes the lock in all
   five callers, in three files: the CLI makes the callers in other files
   run slow.
"""
import argparse
import filecmp
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (Checks, Program, live_env, make_and_run, push_and_count, reported, run, scratch,  # noqa: E402
                      write_tree)

TREE = {
    'include/util.h': r'''#ifndef UTIL_H
#define UTIL_H

#include "types.h"

/* Used by every file: each gets its own copy. */
static inline long mix(long i)
{
	long v = i * i % 7;

	if (v > 5)
		return v - 1;
	return v;
}

static inline int where(void)
{
	return __LINE__;
}

#endif
''',
    'include/types.h': '''/* No function here: copied as it is. */
typedef long count_t;
''',
    'main.c': r'''#include <stdio.h>
#include "util.h"

count_t work(count_t n);
int apply_twice(int x);

int main(void)
{
	char line[64];

	while (fgets(line, sizeof line, stdin)) {
		long n = 0;

		sscanf(line, "%ld", &n);
		printf("work(%ld) = %ld mix %ld line %d twice %d\n", n, work(n), mix(n), where(),
		       apply_twice((int)n));
		fflush(stdout);
	}
	return 0;
}
''',
    'work.c': r'''#include "util.h"

count_t work(count_t n)
{
	count_t s = 0;

	for (long i = 1; i <= n; i++)
		s += mix(i);
	return s;
}
''',
    # clang cannot parse a GNU nested function: copied unchanged, it still
    # includes the instrumented util.h.
    'nested.c': r'''#include "util.h"

int apply_twice(int x)
{
	int add(int v) { return v + (int)mix(v); }

	return add(add(x));
}
''',
    # Includes util.h and uses none of it: no unused-function warning.
    'quiet.c': r'''#include "util.h"

count_t quiet(void)
{
	return 0;
}
''',
    'Makefile': '''CC ?= gcc
prog: main.o work.o nested.o quiet.o
\t$(CC) $(CFLAGS) -o $@ main.o work.o nested.o quiet.o -lpthread
%.o: %.c
\t$(CC) $(CFLAGS) -Iinclude -c $<
''',
}
# nested.c without the nested function: every C file parses; work.c calls
# mix through a macro, whose name `#define mix mix__slow` renames in its
# slow copy and loop twin.
PARSED = dict(TREE, **{'nested.c': r'''#include "util.h"

#define MIX(i) mix(i)
#define COUNT(p) (++*(p))

int apply_twice(int x);

/* Its hooks stay inline (two statics named alike, counted through a
 * macro, cannot move above it): its calls of mix go to mix__switch. */
static long counted(long x)
{
	if (x % 2) {
		static long seen;
		return (COUNT(&seen), MIX(x));
	} else {
		static long seen;
		return (COUNT(&seen), mix(x + 1));
	}
}

/* The same, its calls of mix spelled: renamed mix__switch. */
static long tallied(long x)
{
	if (x % 3) {
		static long seen;
		long r = mix(x);

		return (COUNT(&seen), r);
	} else {
		static long seen;
		return (COUNT(&seen), mix(x - 1));
	}
}

int apply_twice(int x)
{
	return x + (int)mix(x) + (int)counted(x) + (int)tallied(x);
}
''', 'work.c': r'''#include "util.h"

#define MIX(i) mix(i)

count_t work(count_t n)
{
	count_t s = 0;

	for (long i = 1; i <= n; i++)
		s += MIX(i);
	return s;
}
'''})
# Trees where a header function keeps its entry switch: (files, function).
U_H = r'''#ifndef U_H
#define U_H
#include <stdlib.h>
static inline int helper(int x) { return x + 1; }
static inline int mix(int x)
{
#ifdef ALT
	return helper(x) * 2;
#else
	return x * 2;
#endif
}
static inline void freep(void *p) { free(*(void **)p); }
#endif
'''
A_C = '#include "u.h"\n#define MIX(x) mix(x)\nint a(int x) { return MIX(x) + helper(x); }\n'
# A function only a view other than the writer's has (left uninstrumented in
# the written header) calls base: base keeps its switch, other does not.
V_H = r'''#ifndef V_H
#define V_H
static inline int base(int x) { return x + 3; }
#ifdef ALT
static inline int twist(int x) { return base(x) * 3; }
#endif
static inline int other(int x) { return x - 1; }
#endif
'''
# Functions that keep their switch in these trees, and (after the function)
# those that lose it all the same: each is judged by the views of it and of
# its callers, not by the whole header's.
KEEPS = {
    'another view': ({'u.h': U_H, 'a.c': A_C,
                      'b.c': '#define ALT 1\n#include "u.h"\nint b(int x) { return mix(x); }\n'}, 'helper', 'freep'),
    'a function only another view has':
        ({'v.h': V_H, 'a.c': '#include "v.h"\nint a(int x) { return base(x) + other(x); }\n',
          'b.c': '#define ALT 1\n#include "v.h"\nint b(int x) { return twist(x) + other(x); }\n'}, 'base', 'other'),
    'cleanup attribute': ({'u.h': U_H, 'a.c': A_C,
                           'c.c': '#include "u.h"\nint c(void)\n{\n\tchar *p __attribute__((cleanup(freep))) '
                                  '= malloc(4);\n\treturn p != 0;\n}\n'}, 'freep'),
    'an alias': ({'u.h': U_H, 'a.c': A_C,
                  'd.c': '#include "u.h"\nint twice(int) __attribute__((alias("mix")));\n'}, 'mix'),
    'a C++ file': ({'u.h': U_H, 'a.c': A_C, 'x.cc': '#include "u.h"\nint x() { return mix(1); }\n'}, 'mix'),
    'an included C file': ({'u.h': U_H, 'a.c': A_C, 'i.c': '#include "u.h"\n#include "a.c"\n'}, 'mix'),
    'a parser source including it through another header':
        ({'u.h': U_H, 'a.c': A_C, 'w.h': '#include "u.h"\n',
          'p.y': '%{\n#include "w.h"\n%}\n%%\nstart: ;\n'}, 'mix'),
    'a member named like it': ({'u.h': U_H, 'a.c': A_C,
                                'e.c': '#include "u.h"\n#define MIX(x) mix(x)\nstruct h { int mix; };\n'
                                       'int e(struct h *p) { return p->mix + MIX(2); }\n'}, 'mix'),
}
# Trees where nothing unseen includes u.h: no switch in its functions.
FREES = {
    'control': {'u.h': U_H, 'a.c': A_C},
    'a C++ file that does not include it': {'u.h': U_H, 'a.c': A_C, 'x.cc': 'int x() { return 1; }\n'},
    'a C file including another, neither including it':
        {'u.h': U_H, 'a.c': A_C, 'v.c': 'static int v(void) { return 1; }\n',
         'i.c': '#include "v.c"\nint i(void);\nint i(void) { return v(); }\n'},
}
# Headers calling each other's functions: w.h's function calls u.h's
# helper after its definition, so helper's callers switch for it there too
# (w.h's slow copy calls helper__slow); late.h calls zf before z.h, which
# it includes after, defines it: zf keeps its switch.
LAYERED = {
    'include/u.h': U_H,
    'include/w.h': '#ifndef W_H\n#define W_H\n#include "u.h"\n'
                   'static inline int layered(int x) { return helper(x) * 3; }\n#endif\n',
    'include/late.h': '#ifndef LATE_H\n#define LATE_H\nstatic inline int zf(int);\n'
                      'static inline int yf(int v) { return zf(v) + 1; }\n#include "z.h"\n#endif\n',
    'include/z.h': '#ifndef Z_H\n#define Z_H\nstatic inline int zf(int v) { return v * 5; }\n#endif\n',
    # Prototypes above their caller, in the header that defines them
    # below, one in a group (Open vSwitch's dp-packet.h: `#ifdef
    # DPDK_NETDEV` definitions `#else` others), one with a #define between
    # (pvector.h's iteration macros).
    'include/proto.h': '#ifndef PROTO_H\n#define PROTO_H\nstatic inline int pf(int);\n#define PF_SCALE 7\n'
                       'static inline int qf(int);\n'
                       'static inline int pcall(int v) { return pf(v) - qf(v); }\n'
                       'static inline int pf(int v) { return v * PF_SCALE; }\n'
                       '#ifdef PROTO_ALT\nstatic inline int qf(int v) { return v * 11; }\n'
                       '#else\nstatic inline int qf(int v) { return v * 2; }\n#endif\n#endif\n',
    'main.c': r'''#include <stdio.h>
#include "w.h"
#include "late.h"
#include "proto.h"

int main(void)
{
	char line[64];

	while (fgets(line, sizeof line, stdin)) {
		int n = 0;

		sscanf(line, "%d", &n);
		printf("%d %d %d %d\n", layered(n), yf(n), mix(n), pcall(n));
		fflush(stdout);
	}
	return 0;
}
''',
    'Makefile': '''CC ?= gcc
prog: main.o
\t$(CC) $(CFLAGS) -o $@ main.o -lpthread
%.o: %.c
\t$(CC) $(CFLAGS) -Iinclude -c $<
''',
}
# A second unit that sees proto.h's other branch: qf needs no switch, as
# the fallback `#define qf__slow qf` follows its prototype's copy of the
# group (Open vSwitch's hash.h declares hash_2words above its SSE 4.2
# group); both units build without a warning.
# impl.h defines hf in both branches of a group (Open vSwitch's hash.h, with
# an SSE 4.2 branch for the files compiled for it); alt.c, which writes the
# header, and main.c take different ones: hf needs no switch, hw's slow
# copy calls hf__slow, which is hf itself where main.c compiles it.
IMPL_H = r'''#ifndef IMPL_H
#define IMPL_H
#ifdef IMPL_ALT
static inline int hf(int v) { return v * 13; }
#else
static inline int hf(int v) { return v * 12 + v; }
#endif
static inline int hw(int v) { return hf(v) + 1; }
#endif'''
LAYERED_ALT = dict(LAYERED, **{
    'include/impl.h': IMPL_H,
    'alt.c': '#define PROTO_ALT 1\n#define IMPL_ALT 1\n#include "proto.h"\n#include "impl.h"\nint alt(int v);\n'
             'int alt(int v) { return pcall(v) + qf(v) + hw(v) + hf(v); }\n',
    'main.c': LAYERED['main.c'].replace('#include "proto.h"\n', '#include "proto.h"\n#include "impl.h"\nint alt(int v);\n')
                               .replace('mix(n), pcall(n));', 'mix(n), pcall(n) + alt(n) + hw(n));'),
    'Makefile': LAYERED['Makefile'].replace('prog: main.o\n\t$(CC) $(CFLAGS) -o $@ main.o',
                                            'prog: main.o alt.o\n\t$(CC) $(CFLAGS) -o $@ main.o alt.o'),
})
# Files the compilation database lists outside the tree (generated in the
# build directory): gen.c (compiled with the given flags), and gen.h, a
# generated header a.c includes.  Functions that keep their switch, and
# (after them) those that lose it.
GEN_H = '#ifndef GEN_H\n#define GEN_H\n#include "u.h"\nstatic inline int g2(int x) { return helper(x) * 7; }\n#endif\n'
OUTSIDERS = {
    'a generated file calling mix': ('#include "u.h"\nint gen(int x) { return mix(x); }\n', [], ['mix'],
                                     ['helper', 'freep']),
    'a generated file calling none': ('#include "u.h"\nint gen(int x) { return x; }\n', [], [],
                                      ['helper', 'mix', 'freep']),
    # mix's body calls helper under ALT only: the generated file compiles
    # mix's written slow copy too, where that call is not renamed.
    'a generated file seeing another view': ('#include "u.h"\nint gen(int x) { return x; }\n', ['-DALT'],
                                             ['helper'], ['mix', 'freep']),
    'a generated file that does not parse': ('#include "u.h"\nint gen(void) { return nope; }\n', [],
                                             ['mix', 'helper', 'freep'], []),
    'a generated header calling helper': (None, [], ['helper'], ['mix', 'freep']),
}
CFLAGS = '-O2 -g -Wall -Wextra'
INPUT = b'3\n10\n1000\n'


def rewrite(check, args, src, out, *flags, parsed=False):
    r = run([args.rewrite, '--quiet', *flags, src, out, '--', '-I' + os.path.join(src, 'include')])
    if parsed:
        check.require(r.status == 0, f'loom-rewrite {" ".join(flags)}: every file instrumented', r.stderr)
    else:
        check.require(r.status == 1 and 'nested.c' in r.stderr,
                      f'loom-rewrite {" ".join(flags)}: exit 1, nested.c not instrumented',
                      f'status {r.status}\n{r.stderr}')
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        return json.load(f)


def build(check, tree, cc, what):
    return make_and_run(check, tree, cc, what, CFLAGS, INPUT)


def answers_alike(check, out, want, what):
    """OUT, built with gcc and with clang, answers WANT."""
    for cc in ('gcc', 'clang-19'):
        got = build(check, out, cc, f'{what}: the rewritten tree ({cc})')
        check(got == want, f'{what}: the rewritten program built with {cc} answers like the original',
              f'original:\n{want}rewritten:\n{got}')


def original(check, work, name, files):
    """Writes FILES as WORK/src[-NAME], builds a copy of it as the original,
    and returns the source directory and the original's answers."""
    suffix = '-' + name if name else ''
    src = os.path.join(work, 'src' + suffix)
    write_tree(src, files)
    orig = os.path.join(work, 'orig' + suffix)
    shutil.copytree(src, orig)
    return src, build(check, orig, 'gcc', (name + ': ' if name else '') + 'the original')


def outsiders(check, args, work):
    """What files the database lists outside the tree call keeps switches."""
    for what, (gen_c, flags, keeps, frees) in OUTSIDERS.items():
        src = os.path.join(work, 'outsiders', what.replace(' ', '-'))
        gen = src + '-build'
        a_c = A_C if gen_c else '#include "gen.h"\n' + A_C
        write_tree(src, {'u.h': U_H, 'a.c': a_c})
        write_tree(gen, {'gen.c': gen_c or 'int gen(void) { return 0; }\n', 'gen.h': GEN_H})
        db = [{'directory': gen, 'arguments': ['cc', '-I' + src, '-I' + gen, *more, '-c', path], 'file': path}
              for path, more in ((os.path.join(src, 'a.c'), []), (os.path.join(gen, 'gen.c'), flags))]
        with open(os.path.join(gen, 'compile_commands.json'), 'w') as f:
            json.dump(db, f)
        r = run([args.rewrite, '--quiet', '-p', gen, src, src + '-out'])
        check.require(r.status == 0, f'{what}: loom-rewrite instruments the tree', r.stderr)
        with open(os.path.join(src + '-out', 'loom-manifest.json')) as f:
            fns = {f['name']: f for f in json.load(f)['functions']}
        check(all(fns[n]['entry_switch'] for n in keeps) and not any(fns[n]['entry_switch'] for n in frees),
              f'{what}: ' + (f'{", ".join(keeps)} keep{"s" if len(keeps) == 1 else ""} the switch'
                             if keeps else 'no function keeps its switch')
              + (f', {", ".join(frees)} not' if frees else ''),
              json.dumps([(f['name'], f['entry_switch']) for f in fns.values()]))
    # A file the build generates that a C file includes (Open vSwitch's
    # ofp-actions.inc2) calls the C file's static function st: st keeps its
    # switch, other (called from the C file only) does not.
    src = os.path.join(work, 'outsiders', 'included')
    gen = src + '-build'
    write_tree(src, {'a.c': 'static int st(int x) { return x + 2; }\nstatic int other(int x) { return x * 3; }\n'
                            '#include "gen.inc"\nint a(int x);\nint a(int x) { return gen_call(x) + other(x); }\n'})
    write_tree(gen, {'gen.inc': 'static int gen_call(int x) { return st(x); }\n'})
    path = os.path.join(src, 'a.c')
    with open(os.path.join(gen, 'compile_commands.json'), 'w') as f:
        json.dump([{'directory': gen, 'arguments': ['cc', '-I' + gen, '-c', path], 'file': path}], f)
    r = run([args.rewrite, '--quiet', '-p', gen, src, src + '-out'])
    check.require(r.status == 0, 'a generated file a C file includes: loom-rewrite instruments the tree', r.stderr)
    with open(os.path.join(src + '-out', 'loom-manifest.json')) as f:
        fns = {f['name']: f for f in json.load(f)['functions']}
    check(fns['st']['entry_switch'] and not fns['other']['entry_switch'],
          'a generated file a C file includes calls its static st: st keeps its switch, other has none',
          json.dumps([(f['name'], f['entry_switch']) for f in fns.values()]))


def push_mix(check, args, out, work, want_hits, what):
    """Pushes `mix <> self` into OUT's program and counts the lock's hits
    over one more line of input."""
    prog = Program([os.path.join(out, 'prog')], live_env(), stdin=True)
    try:
        hits = push_and_count(check, args.loom, prog, os.path.join(work, 'mix.loom'), 'mix <> self\n', 10)
        check(hits >= want_hits, f'{what} ({hits} hits for one line, want {want_hits})')
    finally:
        prog.proc.stdin.close()
        prog.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-headers-', keep=os.environ.get('KEEP') == '1') as work, reported(check):
        src, want = original(check, work, '', TREE)
        for emit in ('inline', 'hybrid'):
            out = os.path.join(work, 'out-' + emit)
            m = rewrite(check, args, src, out, '--emit', emit)
            files = [f for f in m['files'] if f['path'].startswith('include/')]
            check([f['path'] for f in files] == ['include/util.h'] and files[0]['instrumented'],
                  f'{emit}: the manifest lists util.h once, instrumented, and not types.h', json.dumps(m['files']))
            fns = {f['name']: f for f in m['functions']}
            check(all(n in fns and fns[n]['file'] == 'include/util.h'
                      and fns[n]['slow_copy'] == fns[n]['entry_switch'] == (emit == 'hybrid')
                      for n in ('mix', 'where')),
                  f'{emit}: mix and where are recorded in util.h, '
                  + ('each with an entry switch and a slow copy' if emit == 'hybrid' else 'with their hooks inline'),
                  json.dumps([(f['name'], f['file'], f['slow_copy'], f['entry_switch']) for f in m['functions']]))
            check(sum(1 for f in m['functions'] if f['name'] == 'mix') == 1, f'{emit}: mix is recorded once')
            mix_lines = {s['line'] for s in m['slots'] if s['function'] == 'mix' and s['kind'] in ('stmt', 'call')}
            check(mix_lines == {9, 11, 12, 13}, f'{emit}: mix has its statement slots on util.h\'s lines 9, 11-13',
                  sorted(mix_lines))
            check(filecmp.cmp(os.path.join(src, 'include/types.h'), os.path.join(out, 'include/types.h'),
                              shallow=False), f'{emit}: types.h is copied byte for byte')
            with open(os.path.join(out, 'include/util.h')) as f:
                util = f.read()
            entries = util.count('LOOM_SLOW_FUNCTION_ENTRY' if emit == 'hybrid' else 'LOOM_FUNCTION_ENTRY')
            guarded = util.rstrip().endswith('#endif') and util.count('#endif') == 1
            check(util.startswith('#include "../loom-rt/loom.h"\n#line 1\n') and entries == 2 and guarded,
                  f'{emit}: util.h includes the runtime itself, hooks both functions, its include guard '
                  'still ends it', util)
            check(filecmp.cmp(os.path.join(src, 'nested.c'), os.path.join(out, 'nested.c'), shallow=False),
                  f'{emit}: nested.c is copied unchanged')
            got = build(check, out, 'gcc', f'{emit}: the rewritten tree')
            check(got == want, f'{emit}: the rewritten program answers like the original (__LINE__ in util.h too)',
                  f'original:\n{want}rewritten:\n{got}')
            # clang cannot compile nested.c: the other files.
            r = run(['clang-19', *CFLAGS.split(), '-Iinclude', '-c', 'main.c', 'work.c', 'quiet.c'], cwd=out)
            check(r.status == 0 and 'warning' not in r.stderr,
                  f'{emit}: clang-19 compiles main.c, work.c and quiet.c without a warning', r.stderr)

        out4 = os.path.join(work, 'out4')
        rewrite(check, args, src, out4, '-j', '4')
        out1 = os.path.join(work, 'out1')
        rewrite(check, args, src, out1, '-j', '1')
        same = all(filecmp.cmp(os.path.join(out1, p), os.path.join(out4, p), shallow=False)
                   for p in ('include/util.h', 'main.c', 'work.c', 'loom-manifest.json'))
        check(same, '-j 1 and -j 4 write the same bytes')

        build(check, out, 'gcc', 'the rewritten tree')
        # work(10) calls mix 10 times, main once, nested.c's copy twice.
        push_mix(check, args, out, work, 11, 'the inlined copies of mix take the filter\'s lock')

        src, want = original(check, work, 'parsed', PARSED)
        out = os.path.join(work, 'out-parsed')
        m = rewrite(check, args, src, out, parsed=True)
        fns = {f['name']: f for f in m['functions']}
        check(all(fns[n]['slow_copy'] and not fns[n]['entry_switch'] for n in ('mix', 'where')),
              'parsed: mix and where have a slow copy and no entry switch',
              json.dumps([(f['name'], f['slow_copy'], f['entry_switch']) for f in m['functions']]))
        calls = {}
        for name in ('main.c', 'work.c', 'nested.c'):
            with open(os.path.join(out, name)) as f:
                text = f.read()
                calls[name] = text.count('mix__slow(') + text.count('\n#define mix mix__slow\n')
        check(all(calls.values()), 'parsed: the slow copies of main, work and apply_twice call mix__slow '
              '(work.c\'s through its macro: #define mix mix__slow around its copies)', calls)
        with open(os.path.join(out, 'nested.c')) as f:
            text = f.read()
        with open(os.path.join(out, 'include/util.h')) as f:
            header = f.read()
        check(fns['counted']['inline_reason'] and re.search(r'static long counted\(long x\)\n\{[^\n]*\n'
                                                             r'#define mix mix__switch\n#line 11\n', text)
              and '}\n#undef mix\n#line 19\n' in text and 'static inline long mix__switch(long i)' in header
              and 'long r = mix__switch(x);' in text and 'return (COUNT(&seen), mix__switch(x - 1));' in text,
              'parsed: counted and tallied, whose hooks stay inline, call mix__switch (counted by a #define '
              'around its body, as a macro writes one of its calls; tallied renamed), which util.h writes after '
              'mix\'s slow copy', text + header)
        answers_alike(check, out, want, 'parsed')
        # work(10) calls mix 10 times, main once, apply_twice, counted and tallied once each.
        push_mix(check, args, out, work, 14, 'parsed: the callers of mix, in three files, run slow and '
                 'take the filter\'s lock, also through counted\'s and tallied\'s mix__switch')
        for what, (files, fn, *frees) in dict(KEEPS, **{w: (f, None) for w, f in FREES.items()}).items():
            src = os.path.join(work, 'keeps', what.replace(' ', '-'))
            write_tree(src, files)
            r = run([args.rewrite, '--quiet', src, src + '-out'])
            check.require(r.status == 0, f'{what}: loom-rewrite instruments the tree', r.stderr)
            with open(os.path.join(src + '-out', 'loom-manifest.json')) as f:
                fns = {f['name']: f for f in json.load(f)['functions']}
            if fn:
                check(fns[fn]['entry_switch'], f'{what}: {fn} keeps its entry switch', json.dumps(fns[fn]))
                for n in frees:
                    check(not fns[n]['entry_switch'], f'{what}: {n} has no entry switch', json.dumps(fns[n]))
            else:
                check(not any(fns[n]['entry_switch'] for n in ('helper', 'mix', 'freep')),
                      f'{what}: helper, mix and freep have no entry switch', json.dumps(list(fns.values())))
        outsiders(check, args, work)
        src, want = original(check, work, 'layered', LAYERED)
        out = os.path.join(work, 'out-layered')
        m = rewrite(check, args, src, out, '--emit', 'hybrid', parsed=True)
        fns = {f['name']: f for f in m['functions']}
        check(not fns['helper']['entry_switch'] and not fns['layered']['entry_switch'],
              'layered: helper, called from w.h below its definition, and layered have no entry switch',
              json.dumps([fns['helper'], fns['layered']]))
        check(fns['zf']['entry_switch'], 'layered: zf, called from late.h above its definition, keeps its switch',
              json.dumps(fns['zf']))
        with open(os.path.join(out, 'include/w.h')) as f:
            check('helper__slow(' in f.read(), "layered: w.h's slow copy of layered calls helper__slow")
        with open(os.path.join(out, 'include/proto.h')) as f:
            text = f.read()
        check(not fns['pf']['entry_switch'] and not fns['qf']['entry_switch']
              and 'return pf__slow(v) - qf__slow(v);' in text,
              'layered: pf and qf, called in their header between their prototypes and their definitions '
              '(qf\'s in a group), have no entry switch, and pcall\'s slow copy calls pf__slow and qf__slow',
              json.dumps([fns['pf'], fns['qf']]) + '\n' + text)
        answers_alike(check, out, want, 'layered')
        got = make_and_run(check, out, 'gcc', 'layered, LOOM_FORCE_SLOW=1', CFLAGS, INPUT,
                           env=dict(os.environ, LOOM_FORCE_SLOW='1'))
        check(got == want, 'layered: every function in its slow copy answers like the original',
              f'original:\n{want}rewritten:\n{got}')
        build(check, out, 'gcc', 'layered: the rewritten tree, again')
        src, want = original(check, work, 'layered-alt', LAYERED_ALT)
        out = os.path.join(work, 'out-layered-alt')
        m = rewrite(check, args, src, out, '--emit', 'hybrid', parsed=True)
        fns = {f['name']: f for f in m['functions']}
        with open(os.path.join(out, 'include/proto.h')) as f:
            text = f.read()
        check(not fns['pf']['entry_switch'] and not fns['qf']['entry_switch']
              and 'return pf__slow(v) - qf__slow(v);' in text
              and '#ifndef qf__slow\n#define qf__slow qf\n#define qf__switch qf\n#endif\n' in text.split('pcall')[0],
              'layered, alt.c seeing the other branch of the group below qf\'s prototype: qf needs no switch, '
              'pcall\'s slow copy calls qf__slow, which is qf after the prototype where the group does not '
              'compile the slow copy',
              json.dumps([fns['pf'], fns['qf']]) + '\n' + text)
        check(not fns['hf']['entry_switch'] and not fns['hw']['entry_switch'],
              'layered, impl.h: hf, defined in both branches of a group, and hw have no entry switch',
              json.dumps([fns['hf'], fns['hw']]))
        answers_alike(check, out, want, 'layered, alt.c')
        got = make_and_run(check, out, 'gcc', 'layered, alt.c, LOOM_FORCE_SLOW=1', CFLAGS, INPUT,
                           env=dict(os.environ, LOOM_FORCE_SLOW='1'))
        check(got == want, 'layered, alt.c: every function in its slow copy answers like the original',
              f'original:\n{want}rewritten:\n{got}')
        for fn, least, how in (('helper', 1, 'through w.h\'s layered'),
                               ('hf', 2, 'in alt.c, directly and through hw'),
                               ('qf', 2, 'in alt.c, directly and through pcall')):
            prog = Program([os.path.join(out, 'prog')], live_env(), stdin=True)
            try:
                hits = push_and_count(check, args.loom, prog, os.path.join(work, fn + '.loom'), fn + ' <> self\n', 10)
                check(hits >= least, f'layered: `{fn} <> self` pushed live takes its lock {how} '
                      f'({hits} hits for one line)')
            finally:
                prog.proc.stdin.close()
                prog.stop()
    check.finish()


if __name__ == '__main__':
    main()
