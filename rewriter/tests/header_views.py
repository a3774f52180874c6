#!/usr/bin/env python3
"""Code compiled under other macros than the rewrite saw (docs/design.md,
"Conditional groups").

A header is rewritten once, as the first file that includes it sees it, and
a C file included by another C file is compiled under the includer's
macros too.  The conformance program conditional_groups.c holds the shapes
where that matters: an else-if chain whose links are inside #ifdef (bfd's
coffcode.h, which broke the rewritten binutils built with
--enable-targets=all), a function whose opening brace is in one branch, a
loop whose header is, a blocking call and unbraced bodies split by #else.
Here it is

- views.h (the program without main and its #define), included by a.c
  under WITH_COMMENT, b.c under nothing and c.c under WITH_LIB;
- inner.c (the program itself, plus an apostrophe in a skipped group),
  built alone and included by outer.c under WITH_LIB;
- tmpl.h, a template header that defines a function named and typed by
  macros, included twice by t.c and once by u.c (one rewrite serves all
  three definitions);

and for gcc and clang at -O0 and -O2, the rewritten programs build, give
the original's warnings (-Wall -Wextra) and print what the originals print,
fast and with LOOM_FORCE_SLOW=1.  The manifest says what was left alone:
the chain links inside a group have no slot (a skipped statement each), the
function whose brace is in a branch is not instrumented, the loop whose
header is in a branch has no twin; a statement that another compile takes
for the body of an `if`, `else` or `do` in a group before it (or the end of
a declaration begun there) has no slot, and a loop there no twin.

    header_views.py --rewrite build/rewriter/loom-rewrite [--cc CC ...] [--keep]
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'testlib'))
from loomtest import ENV, Checks, reported, run, scratch, write_tree  # noqa: E402

PROGRAM = os.path.join(HERE, 'conformance', 'conditional_groups.c')
PROGRAMS = {'views': ['a.c', 'b.c', 'c.c'], 'inner': ['inner.c'], 'outer': ['outer.c'],
            'template': ['t.c', 'u.c']}
# A template header: defined once per inclusion, under other macros, twice
# in t.c and once more in u.c.
TEMPLATE = r'''/* Defines FNAME over TYPE. */
#include <string.h>

static TYPE FNAME(const TYPE *v, int n, const char *tag)
{
	TYPE s = 0;

	for (int i = 0; i < n; i++) {
		if (sizeof(TYPE) > sizeof(int))
			s += v[i] / 2;
		else
			s += v[i];
		s += (TYPE)strlen(tag);
	}
	/* Each definition's own name, in its slow copy too (LOOM_STR). */
	return s + (TYPE)strlen(__func__);
}
'''
T_C = r'''#include <stdio.h>

#define TYPE int
#define FNAME sum_int
#include "tmpl.h"
#undef TYPE
#undef FNAME
#define TYPE double
#define FNAME sum_double
#include "tmpl.h"

long sum_long(const long *v, int n);

int main(void)
{
	int a[] = { 1, 2, 3 };
	double d[] = { 0.5, 1.5 };
	long l[] = { 10, 20 };

	printf("%d %g %ld\n", sum_int(a, 3, "ab"), sum_double(d, 2, "c"), sum_long(l, 2));
	return 0;
}
'''
U_C = r'''#define TYPE long
#define FNAME sum_long_t
#include "tmpl.h"

long sum_long(const long *v, int n)
{
	return sum_long_t(v, n, "");
}
'''
# -Wunused-parameter: the hybrid rewrite loses such warnings (docs/design.md).
CFLAGS = ['-g', '-Wall', '-Wextra', '-Wno-unused-parameter']
WARNING = re.compile(r'^(\S+?):(\d+):\d+: warning: (.*)$', re.M)


def tree():
    """The files of the tree, from conditional_groups.c."""
    with open(PROGRAM) as f:
        program = f.read()
    # An apostrophe in a skipped group is no literal: the group scan must
    # still see the #endif after it (gcc warns here; the conformance
    # programs stay warning-free, so it is added here only).
    proto = 'static int later(int x);\n#else\n'
    assert program.count(proto) == 1
    program = program.replace(proto, 'static int later(int x);\n#ifdef NEVER_DEFINED\n'
                              "#error can't build this way\n#endif\n#else\n")
    define = '#define WITH_COMMENT 1\n'
    assert define in program and 'int main(void)' in program
    header = program.replace(define, '').replace('int main(void)', 'static int report(const char *who)')
    header = header.replace('\tfor (size_t i', '\tprintf("%s:\\n", who);\n\tfor (size_t i')
    return {
        'views.h': f'#ifndef VIEWS_H\n#define VIEWS_H\n{header}#endif\n',
        'a.c': '#define WITH_COMMENT 1\n#include "views.h"\nint b(void);\nint c(void);\n'
               'int main(void)\n{\n\treturn report("a") + b() + c();\n}\n',
        'b.c': '#include "views.h"\nint b(void)\n{\n\treturn report("b");\n}\n',
        'c.c': '#define WITH_LIB 1\n#include "views.h"\nint c(void)\n{\n\treturn report("c");\n}\n',
        'inner.c': program,
        'outer.c': '/* inner.c under one more macro */\n#define WITH_LIB 1\n#include "inner.c"\n',
        'tmpl.h': TEMPLATE,
        't.c': T_C,
        'u.c': U_C,
    }


def build(check, root, cc, opt, name, files):
    """Compiles program NAME in ROOT; returns its warnings as a set of
    (file, line, text), or None if it did not build."""
    r = run([cc, opt, *CFLAGS, '-o', name, *files], cwd=root)
    if not check(r.status == 0, f'{cc} {opt}: {name} builds in {os.path.basename(root)}', r.stderr[-3000:]):
        return None
    return set(WARNING.findall(r.stderr))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--cc', action='append', help='compilers (default: gcc and clang-19)')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-views-', args.keep) as work, reported(check):
        src, out = os.path.join(work, 'src'), os.path.join(work, 'out')
        write_tree(src, tree())
        r = run([args.rewrite, '--quiet', src, out])
        check.require(r.status == 0, 'loom-rewrite of the tree', r.stderr)
        with open(os.path.join(out, 'loom-manifest.json')) as f:
            manifest = json.load(f)
        functions = {(fn['file'], fn['name']): fn for fn in manifest['functions']}
        skipped = {(s['file'], s['line']) for s in manifest['macro_skipped']}
        lines = tree()['views.h'].split('\n')
        # a.c, first in path order, writes views.h: under WITH_COMMENT.
        for text in ('else if (!strcmp(name, "comment"))', 'r = twice(x) +'):
            line = next(i + 1 for i, l in enumerate(lines) if text in l)
            check(('views.h', line) in skipped, f'views.h:{line}: `{text}` has no slot (skipped)',
                  f'skipped: {sorted(skipped)}')
        check(('views.h', 'opened') not in functions and ('views.h', 'classify') in functions,
              'views.h: opened (its brace in a branch) is not instrumented, classify is',
              f'functions: {sorted(functions)}')
        loops = functions.get(('views.h', 'looping'), {}).get('loops', [])
        check(len(loops) == 1 and loops[0]['twin_exit'] == 0,
              "views.h: looping's loop (its header in a branch) has no twin", json.dumps(loops))
        tmpl = sorted(name for file, name in functions if file == 'tmpl.h')
        check(tmpl == ['sum_int'], 'tmpl.h: its function is recorded once, as t.c first defines it', str(tmpl))
        # guarded: text in a group that another compile continues with
        # the statement after it (an if's body, a do's, a declaration's end).
        for text in ('s += twice(n);', 'while (s < 100) {', 's += twice(2);', 'int u = (unsigned)s;',
                     's += (int)sleep(0) + 1;'):
            line = next(i + 1 for i, l in enumerate(lines) if l.strip() == text)
            check(('views.h', line) in skipped, f'views.h:{line}: `{text}` (after a group) has no slot (skipped)',
                  f'skipped: {sorted(skipped)}')
        loops = functions.get(('views.h', 'guarded'), {}).get('loops', [])
        line = next(i + 1 for i, l in enumerate(lines) if l.strip() == 'while (s < 100) {')
        check([lp['twin_exit'] for lp in loops if lp['line'] == line] == [0],
              f"views.h:{line}: guarded's loop after `if (use)` in a group has no twin", json.dumps(loops))

        for cc in args.cc or ['gcc', 'clang-19']:
            for opt in ('-O0', '-O2'):
                for name, sources in PROGRAMS.items():
                    want = build(check, src, cc, opt, name, sources)
                    got = build(check, out, cc, opt, name, sources)
                    if want is None or got is None:
                        continue
                    check(got == want, f'{cc} {opt}: {name}: the original\'s warnings, no other',
                          f'original: {sorted(want)}\nrewritten: {sorted(got)}')
                    orig = run([os.path.join(src, name)])
                    for mode, env in (('fast', ENV), ('LOOM_FORCE_SLOW=1', dict(ENV, LOOM_FORCE_SLOW='1'))):
                        r = run([os.path.join(out, name)], env=env)
                        check((r.status, r.stdout) == (orig.status, orig.stdout) and orig.stdout,
                              f'{cc} {opt}: {name} ({mode}) prints what the original prints',
                              f'original ({orig.status}):\n{orig.stdout}\nrewritten ({r.status}):\n'
                              f'{r.stdout}{r.stderr}')
    check.finish()


if __name__ == '__main__':
    main()
