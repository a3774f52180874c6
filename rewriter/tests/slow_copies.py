#!/usr/bin/env python3
"""Which functions get an outlined slow copy in the hybrid rewrite.

A function without one keeps a hook before every statement of its one body,
on the fast path: each reason to keep a function inline costs the bare
program time wherever it is hot.  The conformance programs below run
original and rewritten in the conformance tests, which shows that the slow
copies they get behave; this test shows that they get them.  Each says on
the first line of every function definition `/* slow copy */` or
`/* inline */`, and the manifest's `functions[].slow_copy` must agree:

- static_locals.c: statics that move to file scope, also one whose name
  functions above it declare too, and the functions whose statics cannot
  move (a declaration of the name below, at file scope or in a function, a
  call in the initializer, a tag, a local type, __func__, a macro);
- variadic_slow_copies.c: variadic functions, but for a va_start a macro
  writes, a promoting last parameter and an always_inline one;
- macro_named_definitions.c: names a macro invocation writes, but for a
  macro that takes the name as its argument;
- knr_definitions.c: K&R definitions, with no declaration above, with a
  prototype F__slow copies, and with one a macro writes (zlib's OF()), for
  which F__slow is declared `__typeof__(F)`; warn_knr_redeclared.c and
  KNR_BLOCK below: K&R definitions declared again below, which keep their
  hooks inline;
- conditional_specifiers.c: a declaration's specifiers under a conditional
  the parse did not take keep the function inline, an `extern "C" {` under
  one does not;
- pure_functions.c: functions that touch no memory but their own
  parameters and locals (`pure`) get no hook, no switch, no slow copy;
- c99_inline_definitions.c: an inline definition keeps its hooks inline,
  an external definition declared inline (its first declaration does not
  say inline) gets its slow copy.

    slow_copies.py --rewrite build/rewriter/loom-rewrite
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

PROGRAMS = ['static_locals.c', 'variadic_slow_copies.c', 'macro_named_definitions.c', 'knr_definitions.c',
            'warn_knr_redeclared.c', 'conditional_specifiers.c', 'pure_functions.c', 'c99_inline_definitions.c']
MARK_RE = re.compile(r'/\* (slow copy|inline|pure) \*/\s*$')

# Only rewritten: a K&R definition declared `()` above and with a prototype
# in a block below, whose slow copies would repeat the warnings about that
# prototype (gcc's has no option to silence it in them).  Calls of blend
# from use_blend's slow copy would not convert 4 to a double if blend had
# a slow copy declared `()`.
KNR_BLOCK = r'''
static double blend();

static double blend(a, d) /* inline */
    int a;
    double d;
{
    return a * 100 + d;
}

double use_blend(void) /* slow copy */
{
    extern double blend(int, double);

    return blend(3, 4);
}
'''


def compare(check, out, paths, expect, what):
    """Checks every function of PATHS ({name: source}) in OUT's manifest
    against the mark on its first line (EXPECT maps a mark to what the
    manifest must say); returns the manifest's functions and slots."""
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        manifest = json.load(f)
    functions = manifest['functions']
    for name, path in paths.items():
        want = marked_lines(path, MARK_RE)
        got = {f['line']: (f['name'], 'pure' if f.get('pure') else 'slow copy' if f['slow_copy'] else 'inline')
               for f in functions if f['file'] == name}
        check.require(want, f'{what}{name} marks its functions')
        check(set(want) == set(got), f'{what}{name}: a mark on the first line of each function definition',
              f'marked lines {sorted(want)}, functions at {sorted(got)}')
        for line, mark in sorted(want.items()):
            fn, has = got.get(line, ('?', None))
            check(has == expect(mark), f'{what}{name}:{line} {fn}: {expect(mark)} (manifest: {has})')
    return functions, manifest['slots']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-slow-copies-') as work:
        src, out = os.path.join(work, 'src'), os.path.join(work, 'out')
        os.makedirs(src)
        paths = {name: os.path.join(HERE, 'conformance', name) for name in PROGRAMS}
        paths['knr_block.c'] = os.path.join(work, 'knr_block.c')
        with open(paths['knr_block.c'], 'w') as f:
            f.write(KNR_BLOCK)
        for path in paths.values():
            shutil.copy(path, src)
        r = run([args.rewrite, '--quiet', '--emit', 'hybrid', src, out])
        check.require(r.status == 0, 'loom-rewrite', r.stderr)
        compare(check, out, paths, lambda mark: 'slow copy' if mark == 'pure' else mark, '')
        # With --skip-pure, the pure functions have no hook.
        src, out = os.path.join(work, 'src-pure'), os.path.join(work, 'out-pure')
        os.makedirs(src)
        shutil.copy(paths['pure_functions.c'], src)
        r = run([args.rewrite, '--quiet', '--emit', 'hybrid', '--skip-pure', src, out])
        check.require(r.status == 0, 'loom-rewrite --skip-pure', r.stderr)
        functions, slots = compare(check, out, {'pure_functions.c': paths['pure_functions.c']}, lambda mark: mark,
                                   '--skip-pure: ')
        with open(os.path.join(out, 'pure_functions.c')) as f:
            text = f.read()
        pure = [f['name'] for f in functions if f.get('pure')]
        hooked = [n for n in pure if re.search(r'\b' + n + r'__slow\b', text)]
        check(pure and not hooked, '--skip-pure: the pure functions have no slow copy in the text', hooked)
        check(not any(s['function'] in pure and s['kind'] in ('stmt', 'call') for s in slots),
              '--skip-pure: the pure functions have no statement slot')
        # It builds without a warning and prints what the original prints.
        answers = []
        for tree in (src, out):
            r = run(['gcc', '-O2', '-Wall', '-Wextra', '-o', 'prog', 'pure_functions.c', '-lpthread'], cwd=tree)
            check.require(r.status == 0 and 'warning' not in r.stderr, f'--skip-pure: {tree} builds', r.stderr)
            answers.append(run([os.path.join(tree, 'prog')]).stdout)
        check(answers[0] == answers[1], '--skip-pure: the rewritten program prints what the original prints',
              answers)
    check.finish()


if __name__ == '__main__':
    main()
