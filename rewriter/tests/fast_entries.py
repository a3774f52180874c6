#!/usr/bin/env python3
"""Fast entries: small external functions called across files without a switch.

A tree where counter.c defines bump (no loop; it may call an observer
through a pointer, so a loop calling it can run long), spread (a loop
calling bump, with a twin), total (a loop that calls nothing, after a call of extra) and a pointer
to bump, and main.c calls them:

1. The manifest gives every external function a fast entry, whatever its
   size or loops (bump, named, pairs, spread, total, and extra, defined by spare.c, which
   the build does not compile: the program links a library's extra
   instead), but main.  bump's original body becomes bump__fast on its
   original line; main.c declares `extern __typeof__(bump) bump__fast;` and
   its fast body calls bump__fast, as spread's does in counter.c; counter.o
   defines bump and bump__fast.  main.c also declares extra__fast's weak
   fallback, which jumps to extra: without it the program would not link.
   bump__fast is hidden (so is total__fast, whose definition follows the
   declaration of the extra__fast it calls), so compiled -fPIC, bump's
   switch inlines it; the
   switches read the thread's state without calling __tls_get_addr.
   named's __func__, which a macro writes, names it in its fast entry and
   its slow copy (`#define __func__ "named"` around them).
2. The rewritten tree builds with gcc and clang (-Wall -Wextra
   -Wmissing-prototypes -Wredundant-decls) without a warning and answers
   like the original, also with LOOM_FORCE_SLOW=1.
   counter.h's bump_pair calls bump__fast too; the weak fallback is in
   its slow copy (a file compiles it only where it uses bump_pair: solo.c,
   which includes counter.h and links nothing of the tree's, links), and
   counter.c, which defines bump__fast, says LOOM_OWN_FAST_bump to keep it
   out.
   by_macro calls bump only through a macro (BUMP): `#define bump
   bump__fast` opens its fast body, and its loop's twin and its slow copy
   open with `#undef bump`; main, which also calls bump in a conditional
   group, gets no such #define.
3. Live: `bump <> self` pushed into the running program takes the lock on
   every call of bump, 32 per line of input: the 10 from main.c's first
   loop and the 10 from spread, which call bump__fast in their fast bodies
   (the CLI makes them run slow), the one through the pointer (bump's own
   switch), the one in a conditional group of main's body (which calls
   bump itself: a compile without the group would not link the weak
   fallback's target), the second loop's 3 (its declaration's call, which the
   fast path moved before the loop, and spread's 2), main's BUMP,
   by_macro's 2, and bump_pair's 2 from main.c and 2 from counter.c.
   After `loom pop`, the program still answers the same.
4. --no-fast-entries: no fast entry, every external function switches.
"""
import argparse
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (Checks, ENV, Program, live_env, loom_ls, loom_rows, make_and_run, push_and_count,  # noqa: E402
                      reported, run, scratch, write_file, write_tree)

TREE = {
    'counter.h': r'''#ifndef COUNTER_H
#define COUNTER_H
long bump(long x);
long spread(long n);
long extra(long x);
long total(long n);
extern long (*const bumper)(long);
extern void (*volatile observer)(long);
/* Callers whose call of bump a macro writes. */
#define BUMP(x) bump(x)
long pairs(long n);
const char *named(void);

/* A header's function calling bump: its fast body calls bump__fast, and
 * its slow copy holds the weak fallback, which a file compiles only where
 * it uses the function (solo.c does not link counter.o). */
static inline long bump_pair(long x)
{
	return bump(x) + bump(x + 1);
}
#endif
''',
    'counter.c': r'''#include "counter.h"

void (*volatile observer)(long);

long bump(long x)
{
	long v = x * 3 % 11;

	if (observer)
		observer(v);
	return v + 1;
}

/* A loop with a twin. */
long spread(long n)
{
	long s = 0;

	for (long i = 0; i < n; i++)
		s += bump(i);
	return s;
}

/* A loop without a twin; the first call in this file of a function of
 * another file (the fast entry's declaration goes above it). */
long total(long n)
{
	long s = extra(0);

	for (long i = 1; i <= n; i++)
		s += i % 7;
	return s;
}

long (*const bumper)(long) = bump;

/* __func__ written by a macro (as assert does): still the function's name
 * in its fast entry and in its slow copy. */
#define WHERE() __func__

const char *named(void)
{
	return WHERE();
}

/* bump_pair in bump's own file, which defines bump's fast entry. */
long pairs(long n)
{
	return bump_pair(n);
}
''',
    'main.c': r'''#include <stdio.h>
#include "counter.h"

/* Every call of bump here a macro writes: its fast body calls bump's fast
 * entry (by a #define around it), its loop's twin bump. */
static long by_macro(long n)
{
	long s = BUMP(n);

	for (long j = 0; j < n % 3; j++)
		s += BUMP(j);
	return s;
}

int main(void)
{
	char line[64];

	while (fgets(line, sizeof line, stdin)) {
		long n = 0, s = 0;

		sscanf(line, "%ld", &n);
		for (long i = 0; i < n; i++)
			s += bump(i);
#ifndef NO_SECOND_BUMP
		s += bump(n);
#endif
		/* A macro's call, where the call in the group above keeps bump. */
		s += BUMP(n) + by_macro(n) + bump_pair(n) + pairs(n);
		/* A twin, and a declaration calling bump's fast entry, which
		 * the fast path moves before the loop. */
		for (long k = bump(n); k > 0; k -= 5)
			s += spread(1);
		printf("%ld %ld %ld %ld %ld %s\n", s, spread(n), bumper(n), extra(n), total(n), named());
		fflush(stdout);
	}
	return 0;
}
''',
    # Includes counter.h, links nothing of the tree's.
    'solo.c': r'''#include "counter.h"

int main(void)
{
	return 0;
}
''',
    # A replacement the build does not compile (as libiberty's for what the
    # C library has): the program links the library's extra.
    'spare.c': r'''#include "counter.h"

long extra(long x)
{
	return x + 1000;
}
''',
    'Makefile': '''prog: main.o counter.o
\t$(CC) $(CFLAGS) -pthread -o prog main.o counter.o $(LDLIBS)

%.o: %.c counter.h
\t$(CC) $(CFLAGS) -c $<
''',
}
CFLAGS = '-O2 -g -Wall -Wextra -Wmissing-prototypes -Wredundant-decls'
INPUT = b'3\n10\n1000\n'
BUMP_LINE = 5  # of `long bump(long x)` in counter.c
LIBEXTRA = None  # the library outside the tree that defines extra (main sets it)


def build(check, tree, cc, what, cflags=CFLAGS):
    """The program's answers, and with LOOM_FORCE_SLOW=1 (every function in
    its slow copy)."""
    make = (f'LDLIBS={LIBEXTRA}',)
    return (make_and_run(check, tree, cc, what, cflags, INPUT, make),
            make_and_run(check, tree, cc, what + ', all slow', cflags, INPUT, make,
                         env=dict(ENV, LOOM_FORCE_SLOW='1')))


def original_line(text, needle):
    """The line TEXT (a rewritten file) gives NEEDLE's first occurrence,
    counting from its `#line 1`."""
    start = text.index('#line 1\n') + len('#line 1\n')
    at = text.index(needle, start)
    return text.count('\n', start, at) + 1


def global_functions(check, obj):
    r = run(['nm', '--defined-only', obj])
    check.require(r.status == 0, f'nm {obj}', r.stderr)
    return {f[2] for f in (line.split() for line in r.stdout.splitlines()) if len(f) == 3 and f[1] == 'T'}


def pic_switch_inlines(check, out, cc):
    """Compiled -fPIC (a shared library's code), bump__fast is hidden, so
    bump's switch inlines it instead of jumping to it: gcc inlines no
    default-visibility global under -fPIC."""
    r = run([cc, '-O2', '-fPIC', '-c', '-o', 'counter-pic.o', 'counter.c'], cwd=out)
    check.require(r.status == 0, f'{cc} -fPIC counter.c', r.stderr)
    obj = os.path.join(out, 'counter-pic.o')
    r = run(['readelf', '-sW', obj])
    check(re.search(r'GLOBAL\s+HIDDEN\s+\S+\s+bump__fast$', r.stdout, re.M)
          and re.search(r'GLOBAL\s+HIDDEN\s+\S+\s+total__fast$', r.stdout, re.M),
          f'{cc} -fPIC: bump__fast is a hidden global, and so is total__fast, whose definition follows '
          'the declaration of the extra__fast it calls', r.stdout)
    r = run(['objdump', '-d', '-r', '--no-show-raw-insn', obj])
    body = re.search(r'^[0-9a-f]+ <bump>:\n(.*?)(?:\n\n|\Z)', r.stdout, re.M | re.S)
    check(body and 'bump__fast' not in body.group(1),
          f'{cc} -fPIC: bump\'s switch inlines bump__fast', body.group(1) if body else r.stdout)
    # A wrapped switch reads the thread's state: a __tls_get_addr call
    # there would make the fast path keep the arguments in saved registers.
    check('__tls_get_addr' not in r.stdout and 'loom__self' in r.stdout,
          f'{cc} -fPIC: the switches read loom__self without calling __tls_get_addr', r.stdout)
    # So does the file that holds the runtime, which defines loom__self.
    r = run([cc, '-O2', '-fPIC', '-c', '-o', 'main-pic.o', 'main.c'], cwd=out)
    check.require(r.status == 0, f'{cc} -fPIC main.c', r.stderr)
    r = run(['objdump', '-d', '-r', '--no-show-raw-insn', os.path.join(out, 'main-pic.o')])
    check('__tls_get_addr' not in r.stdout and 'loom__self' in r.stdout,
          f'{cc} -fPIC: the runtime reads loom__self without calling __tls_get_addr',
          '\n'.join(l for l in r.stdout.splitlines() if 'tls' in l)[:2000])


def push_bump(check, args, out, work):
    prog = Program([os.path.join(out, 'prog')], live_env(), stdin=True)
    try:
        first = prog.ask(10)
        hits = push_and_count(check, args.loom, prog, os.path.join(work, 'bump.loom'), 'bump <> self\n', 10)
        check(hits == 32,
              'every call of bump takes the lock: main.c\'s 10 and spread\'s 10 through bump__fast, '
              'whose callers run slow, 1 through the pointer, 1 in a conditional group, the second '
              'loop\'s 3, main\'s by a macro and by_macro\'s 2 (bump__fast by a #define), and counter.h\'s '
              f'bump_pair\'s 2 from main.c and 2 from counter.c ({hits} hits, want 32)')
        rows, text = loom_rows(args.loom, prog.pid)
        check.require(rows and len(rows) == 1, 'loom ls lists the filter', text)
        r = run([args.loom, 'pop', str(prog.pid), rows[0].split()[0]])
        check.require(r.status == 0, 'loom pop', r.stderr)
        check(loom_ls(args.loom, prog.pid)[1] == 0, 'after the pop no filter is installed')
        answer = prog.ask(10)
        check(answer == first, 'after the pop the program answers the same', f'{first}\n{answer}')
    finally:
        prog.proc.stdin.close()
        prog.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    global LIBEXTRA
    with scratch('loom-fast-entries-') as work, reported(check):
        LIBEXTRA = os.path.join(work, 'lib', 'libextra.a')
        write_file(os.path.join(work, 'lib', 'extra.c'), 'long extra(long x);\nlong extra(long x) { return x + 7; }\n')
        r = run(['gcc', '-O2', '-c', '-o', os.path.join(work, 'lib', 'extra.o'), os.path.join(work, 'lib', 'extra.c')])
        check.require(r.status == 0, 'the library outside the tree compiles', r.stderr)
        r = run(['ar', 'rcs', LIBEXTRA, os.path.join(work, 'lib', 'extra.o')])
        check.require(r.status == 0, 'ar libextra.a', r.stderr)
        src = os.path.join(work, 'src')
        write_tree(src, TREE)
        orig = os.path.join(work, 'orig')
        shutil.copytree(src, orig)
        want, _ = build(check, orig, 'gcc', 'the original')

        out = os.path.join(work, 'out')
        r = run([args.rewrite, '--quiet', src, out])
        check.require(r.status == 0, 'loom-rewrite', r.stderr)
        with open(os.path.join(out, 'loom-manifest.json')) as f:
            m = json.load(f)
        fast = sorted(f['name'] for f in m['functions'] if f['fast_entry'])
        check(fast == ['bump', 'extra', 'named', 'pairs', 'spread', 'total'],
              'bump, extra, named, pairs, spread and total, every external function but main, have a fast entry '
              '(named, whose __func__ a macro writes, too)', fast)
        texts = {}
        for name in ('main.c', 'counter.c'):
            with open(os.path.join(out, name)) as f:
                texts[name] = f.read()
        check(original_line(texts['counter.c'], 'long bump__fast(long x)\n') == BUMP_LINE,
              f'bump\'s body is bump__fast, on its original line {BUMP_LINE}', texts['counter.c'])
        check('extern __typeof__(bump) bump__fast;' in texts['main.c']
              and re.search(r's \+= bump__fast\(i\);', texts['main.c'])
              and re.search(r's \+= bump__fast\(i\);', texts['counter.c'])
              and re.search(r'\{ long k = bump__fast\(n\); for \(; k > 0;', texts['main.c']),
              'main.c declares bump__fast, and main\'s and spread\'s fast bodies call it, also in the '
              'declaration the fast path moves before a loop with a twin', texts['main.c'])
        by_macro = texts['main.c'][texts['main.c'].index('static long by_macro(long n)\n'):
                                   texts['main.c'].index('static long by_macro__slow(long n)\n')]
        twin = by_macro[by_macro.index('if (0) {'):]
        check(re.match(r'static long by_macro\(long n\)\n\{\n#define bump bump__fast\n#line 7\n', by_macro)
              and re.search(r'LOOM_QUIET_PUSH\n#undef bump\n#line 10\nif \(0\)', by_macro)
              and re.search(r'LOOM_QUIET_POP\n#define bump bump__fast\n#line 11\n', twin)
              and by_macro.endswith('LOOM_QUIET_PUSH\n#undef bump\n#line 6\n')
              and '#define bump' not in texts['main.c'][texts['main.c'].index('int main(void)'):],
              'by_macro\'s fast body, whose calls of bump a macro writes, calls bump__fast by a #define '
              'that its loop\'s twin and its slow copy undo; main, which also calls bump in a conditional '
              'group, has none', by_macro)
        with open(os.path.join(out, 'counter.h')) as f:
            header = f.read()
        check('return bump__fast(x) + bump__fast(x + 1);' in header
              and re.search(r'bump_pair__slow\(long x\)\n\{[^\n]*\n#ifndef LOOM_OWN_FAST_bump\n'
                            r'LOOM_FAST_FALLBACK\(bump\)\n#endif\n#line \d+\n', header)
              and 'LOOM_FAST_FALLBACK' not in header[:header.index('bump_pair__slow(long x)\n{')]
              and texts['counter.c'].startswith('#define LOOM_OWN_FAST_bump 1\n'),
              'counter.h\'s bump_pair calls bump__fast, whose weak fallback its slow copy holds, but in '
              'counter.c, which defines bump__fast', header)
        check('\t\ts += bump(n);\n#endif' in texts['main.c'],
              'a call in a conditional group of the body calls bump itself: another compile may not make it, '
              'and the weak fallback would name a function it may not link', texts['main.c'])
        check('extern __typeof__(total) total__fast;' in texts['main.c'] and 'total__fast(n)' in texts['main.c']
              and 'long total__fast(long n)\n' in texts['counter.c'] and 'loom__twin' not in
              texts['counter.c'][texts['counter.c'].index('long total__fast'):],
              'main.c calls total__fast, whose loop has no twin', texts['main.c'])
        check('extern __typeof__(spread) spread__fast;' in texts['main.c'] and 'spread__fast(1)' in texts['main.c']
              and 'loom__twin' in texts['counter.c'][texts['counter.c'].index('long spread__fast'):
                                                     texts['counter.c'].index('spread__slow(long n)\n{')],
              'main.c calls spread__fast, whose loop keeps its twin', texts['main.c'])
        check('extern __typeof__(extra) extra__fast; LOOM_FAST_FALLBACK(extra)' in texts['main.c'],
              'main.c declares extra__fast with its weak fallback', texts['main.c'])
        for cc in ('gcc', 'clang-19'):
            got, slow = build(check, out, cc, f'the rewritten tree ({cc})')
            check(got == want and slow == want,
                  f'the rewritten program built with {cc} answers like the original, also with LOOM_FORCE_SLOW=1',
                  f'original:\n{want}rewritten:\n{got}slow:\n{slow}')
            defined = global_functions(check, os.path.join(out, 'counter.o'))
            check({'bump', 'bump__fast', 'spread'} <= defined,
                  f'{cc}: counter.o defines bump, bump__fast and spread', sorted(defined))
            pic_switch_inlines(check, out, cc)
            r = run([cc, '-O2', '-Wall', '-Wextra', '-pthread', '-o', 'solo', 'solo.c'], cwd=out)
            check(r.status == 0 and not r.stderr,
                  f'{cc}: a program that includes counter.h and links nothing of the tree\'s still links '
                  '(the fallbacks a header writes are in slow copies)', r.stderr)
        build(check, out, 'gcc', 'the rewritten tree, again with gcc')
        push_bump(check, args, out, work)

        out = os.path.join(work, 'out-none')
        r = run([args.rewrite, '--quiet', '--no-fast-entries', src, out])
        check.require(r.status == 0, '--no-fast-entries: loom-rewrite', r.stderr)
        with open(os.path.join(out, 'loom-manifest.json')) as f:
            m = json.load(f)
        texts = ''.join(open(os.path.join(out, n)).read() for n in ('main.c', 'counter.c'))
        check(not any(f['fast_entry'] for f in m['functions']) and not re.search(r'\w__fast\b(?!_)', texts)
              and all(f['entry_switch'] for f in m['functions'] if not f['static']),
              '--no-fast-entries: no fast entry, every external function keeps its switch')
    check.finish()


if __name__ == '__main__':
    main()
