#!/usr/bin/env python3
"""loom-rewrite on a whole tree: flags from compile_commands.json, files that
do not parse, and parallel parsing that does not change the output.

1. A file that only parses with its build's flags (-I, -D): without a
   compilation database it is copied unchanged (exit 1, located errors);
   with SRC/build/compile_commands.json (found by default) or -p DIR it is
   instrumented (exit 0), -Werror, -c, -o, -MD/-MF in the command do not
   get in the way, nor a dependency file asked for through -Wp, (whose -D
   counts), and -Wwrite-strings keeps its meaning (string literals are const;
   loom-rewrite parses with -w, which a later -w would cancel).
   Warnings made errors (a `#pragma GCC diagnostic error`, -Werror and
   -pedantic-errors after --) do not stop the rewrite, as with gcc -w.
2. Bad -p: a missing directory and a malformed database are refused (exit
   2) with a located error.
3. A file clang cannot parse but gcc compiles (a GNU nested function): it is
   reported with clang's located diagnostics and copied unchanged (exit 1),
   and OUT still builds and runs like the original.
4. Parsing with 1 or 2 threads gives byte-identical trees and manifests.
5. The manifest's call sites: direct calls by name, indirect ones (through
   a pointer, a typedef, a struct member, a callback passed on) with the
   function type they call through.
6. Times: a file written unchanged (copied, or a C file that does not
   parse) keeps its original access and modification times, a rewritten
   file is newer, so the build's make does not run a generator again on a
   source that was older than its output (bison's gram.y and gram.c).
7. Paths that are not UTF-8 (a Latin-1 file name), which a JSON manifest
   cannot hold: such a C file is copied unchanged with a warning (exit 1),
   such a header is left alone with a warning, the manifest names neither
   and is UTF-8 JSON, a header function that the copied file calls keeps
   its entry switch, and OUT builds and runs like the original.
"""
import argparse
import filecmp
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'testlib'))
from loomtest import Checks, ENV, Failure, reported, run, scratch, write_file  # noqa: E402

CONFIGURED_C = r'''#include "cfg.h"
#ifndef MODE
#error MODE comes from the build
#endif
#include <stdio.h>

/* -Wwrite-strings is no warning option: it makes string literals const. */
_Static_assert(_Generic("", const char *: 1, default: 0), "built with -Wwrite-strings");

static int scale(int x) { return x * WIDTH + MODE; }

int main(void)
{
	printf("%d\n", scale(4));
	return 0;
}
'''

MAIN_C = r'''#include <stdio.h>

int apply_twice(int x);

int main(void)
{
	printf("%d\n", apply_twice(5));
	return 0;
}
'''

NESTED_C = r'''/* A GNU C nested function: gcc compiles it, clang does not. */
int apply_twice(int x)
{
	int add3(int v) { return v + 3; }

	return add3(add3(x));
}
'''

NESTED_MAKEFILE = '''CC ?= gcc
prog: main.o nested.o
\t$(CC) $(CFLAGS) -o $@ main.o nested.o -lpthread
%.o: %.c
\t$(CC) $(CFLAGS) -c $<
'''


def manifest(out):
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        return json.load(f)


def compile_commands(check, args, work):
    src = os.path.join(work, 'cfg')
    write_file(os.path.join(src, 'include', 'cfg.h'), '#define WIDTH 3\n')
    write_file(os.path.join(src, 'prog.c'), CONFIGURED_C)
    build = os.path.join(src, 'build')
    os.makedirs(build)
    db = [{'directory': build,
           'arguments': ['gcc', '-I../include', '-Wp,-MD,nodir/sub/prog.d,-DMODE=2', '-Werror', '-Wstack-usage=262144', '-Wwrite-strings', '-MD', '-MF', 'prog.d',
                         '-c', '-o', 'prog.o', '../prog.c'],
           'file': '../prog.c'}]

    out = os.path.join(work, 'cfg-none')
    r = run([args.rewrite, '--quiet', src, out])
    check(r.status == 1, f'without a compilation database the file does not parse: exit 1 (got {r.status})',
          r.stderr)
    check(f'{src}/prog.c:1:10: error:' in r.stderr and 'copied unchanged' in r.stderr,
          'the parse failure is reported at its line and column', r.stderr)
    with open(os.path.join(out, 'prog.c')) as f:
        check(f.read() == CONFIGURED_C, 'and the file is copied unchanged')

    with open(os.path.join(build, 'compile_commands.json'), 'w') as f:
        json.dump(db, f)
    out = os.path.join(work, 'cfg-default')
    r = run([args.rewrite, src, out])
    check(r.status == 0, f'SRC/build/compile_commands.json is used by default: exit 0 (got {r.status})', r.stderr)
    check(f'flags of 1 of 1 C files from {build}/compile_commands.json' in r.stderr,
          'the summary says where the flags came from', r.stderr)
    check('unknown warning option' not in r.stderr,
          'a gcc-only warning option of the build (-Wstack-usage=N) is not reported', r.stderr)
    functions = [f['name'] for f in manifest(out)['functions']]
    check(functions == ['scale', 'main'], f'both functions are instrumented ({functions})')
    exe = os.path.join(out, 'prog')
    r = run(['gcc', '-O2', '-Wall', '-Wextra', '-Wwrite-strings', '-I', os.path.join(out, 'include'), '-DMODE=2',
             os.path.join(out, 'prog.c'), '-o', exe, '-lpthread'])
    check.require(r.status == 0 and not r.stderr, 'the rewritten file compiles with the build\'s flags', r.stderr)
    r = run([exe])
    check(r.status == 0 and r.stdout == '14\n', 'and runs like the original', r.stdout + r.stderr)

    elsewhere = os.path.join(work, 'elsewhere')
    os.makedirs(elsewhere)
    with open(os.path.join(elsewhere, 'compile_commands.json'), 'w') as f:
        json.dump([{'directory': elsewhere, 'file': os.path.join(src, 'prog.c'),
                    'command': f'cc -I{src}/include -DMODE=2 -Wwrite-strings -c {src}/prog.c'}], f)
    shutil.rmtree(build)
    out = os.path.join(work, 'cfg-p')
    r = run([args.rewrite, '--quiet', '-p', elsewhere, src, out])
    check(r.status == 0 and len(manifest(out)['functions']) == 2,
          f'-p DIR takes the database from DIR (exit {r.status})', r.stderr)

    r = run([args.rewrite, '--quiet', '-p', os.path.join(work, 'nowhere'), src, os.path.join(work, 'x')])
    check(r.status == 2 and f'{work}/nowhere/compile_commands.json: No such file or directory' in r.stderr,
          '-p with no compile_commands.json is refused', r.stderr)
    with open(os.path.join(elsewhere, 'compile_commands.json'), 'w') as f:
        f.write('[{"directory": "/tmp",\n  "file": }]\n')
    r = run([args.rewrite, '--quiet', '-p', elsewhere, src, os.path.join(work, 'x')])
    check(r.status == 2 and f'{elsewhere}/compile_commands.json:2:' in r.stderr,
          'a malformed database is refused with its line', r.stderr)


UNLISTED_C = r'''#ifndef WANT
#error WANT not defined
#endif
void report(const char *file, int line);
#define CHECK(x) do { if (!(x)) report(__FILE__, __LINE__); } while (0)

int first(int *p)
{
	CHECK(p != 0);
	return *p + WANT;
}
'''


def unlisted_files(check, args, work):
    """A file the database does not list is parsed with the command libclang
    infers from a listed one, which ends `-c -- FILE`: the "--" must not
    reach the parser (the CFLAGs after it would be inputs, and the
    do-while of a macro a loop of the file)."""
    src = os.path.join(work, 'unlisted')
    write_file(os.path.join(src, 'listed.c'), 'int listed(void) { return 1; }\n')
    write_file(os.path.join(src, 'unlisted.c'), UNLISTED_C)
    with open(os.path.join(src, 'compile_commands.json'), 'w') as f:
        json.dump([{'directory': src, 'arguments': ['gcc', '-c', 'listed.c'], 'file': 'listed.c'}], f)
    out = os.path.join(work, 'unlisted-out')
    r = run([args.rewrite, '--quiet', src, out, '--', '-DWANT=2'])
    check(r.status == 0, f'an unlisted file gets the CFLAGs after --: exit 0 (got {r.status})', r.stderr)
    funcs = {f['name']: f for f in manifest(out)['functions']} if os.path.exists(out) else {}
    check('first' in funcs, f'and is instrumented ({sorted(funcs)})')
    r = run(['gcc', '-O2', '-Wall', '-Wextra', '-DWANT=2', '-c', os.path.join(out, 'unlisted.c'),
             '-o', os.path.join(work, 'unlisted.o')])
    check(r.status == 0 and not r.stderr, 'and compiles without a warning', r.stderr)


WARNED_C = r'''#pragma GCC diagnostic error "-Wunused-variable"
int unused_kept(int a)
{
	int unused;

	return a + 1;
}
'''


def warnings_made_errors(check, args, work):
    src = os.path.join(work, 'warned')
    write_file(os.path.join(src, 'warned.c'), WARNED_C)
    out = os.path.join(work, 'warned-out')
    r = run([args.rewrite, '--quiet', src, out, '--', '-Wall', '-Werror', '-pedantic-errors'])
    functions = [f['name'] for f in manifest(out)['functions']] if r.status == 0 else []
    check(r.status == 0 and functions == ['unused_kept'],
          'warnings made errors (a diagnostic pragma, -Werror and -pedantic-errors after --) do not stop the '
          f'rewrite, as they would not stop gcc -w (exit {r.status}, {functions})', r.stderr)


def parse_failure(check, args, work):
    src = os.path.join(work, 'nested')
    write_file(os.path.join(src, 'main.c'), MAIN_C)
    write_file(os.path.join(src, 'nested.c'), NESTED_C)
    write_file(os.path.join(src, 'Makefile'), NESTED_MAKEFILE)
    out = os.path.join(work, 'nested-rw')
    r = run([args.rewrite, '--quiet', src, out])
    check(r.status == 1, f'a file clang cannot parse: exit 1 (got {r.status})', r.stderr)
    check(f'{src}/nested.c:4:' in r.stderr and 'error:' in r.stderr
          and f'{src}/nested.c: note: copied unchanged (not instrumented)' in r.stderr,
          'clang\'s located error and a note that the file was copied unchanged', r.stderr)
    m = manifest(out)
    files = {f['path']: f['instrumented'] for f in m['files']}
    check(files == {'main.c': True, 'nested.c': False}, f'the manifest says which file was instrumented ({files})')
    r = run(['make', '-C', out], env=dict(ENV, CFLAGS='-O2 -Wall'))
    check.require(r.status == 0, 'OUT still builds with gcc', r.stdout + r.stderr)
    r = run([os.path.join(out, 'prog')], env=dict(ENV, LOOM_DISABLE='1'))
    check(r.status == 0 and r.stdout == '11\n', 'and runs like the original', r.stdout + r.stderr)


def parallel(check, args, work):
    src = os.path.join(REPO, 'bench')
    outs = []
    out = os.path.join(work, 'bench-rw')
    for jobs in ('1', '2'):
        # The same OUT each time: loom-config.h holds the manifest's path.
        r = run([args.rewrite, '--quiet', '-j', jobs, src, out], timeout=300)
        check.require(r.status == 0, f'rewrite bench/ with -j {jobs}', r.stderr)
        outs.append(os.path.join(work, f'bench-j{jobs}'))
        shutil.move(out, outs[-1])
    cmp = filecmp.dircmp(*outs)
    diffs = []

    def collect(d):
        diffs.extend(os.path.join(d.left, f) for f in d.diff_files + d.left_only + d.right_only)
        for sub in d.subdirs.values():
            collect(sub)
    collect(cmp)
    # dircmp compares shallowly (size, mtime): compare every file's bytes.
    for root, _, names in os.walk(outs[0]):
        for name in names:
            a = os.path.join(root, name)
            b = os.path.join(outs[1], os.path.relpath(a, outs[0]))
            if os.path.isfile(b) and not filecmp.cmp(a, b, shallow=False):
                diffs.append(a)
    check(not diffs, '-j 1 and -j 2 give byte-identical trees and manifests', '\n'.join(diffs))


CALLS_C = r'''#include <stdlib.h>
typedef int (*op_fn)(int);
struct ops { void (*done)(void *); op_fn apply; };
static int twice(int x) { return 2 * x; }
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int run(struct ops *o, op_fn f, int v)
{
	int a[3] = { 3, 1, 2 };
	qsort(a, 3, sizeof a[0], cmp);
	o->done(o);
	return f(v) + o->apply(v) + twice(a[0]);
}
'''


def call_types(check, args, work):
    src = os.path.join(work, 'calls')
    write_file(os.path.join(src, 'calls.c'), CALLS_C)
    out = os.path.join(work, 'calls-rw')
    r = run([args.rewrite, '--quiet', src, out])
    check.require(r.status == 0, 'rewrite the call-site program', r.stderr)
    fn = [f for f in manifest(out)['functions'] if f['name'] == 'run'][0]
    got = [(c['callee'], c.get('type'), c['line'], c['column']) for c in fn['calls']]
    want = [('qsort', None, 9, 2), (None, 'int (const void *, const void *)', 9, 27),
            (None, 'void (void *)', 10, 2), (None, 'int (int)', 11, 9), (None, 'int (int)', 11, 16),
            ('twice', None, 11, 30)]
    check(got == want, 'call sites: callee or the function type of an indirect call', f'got  {got}\nwant {want}')


GRAM_C = '#include <stdio.h>\n\nint main(void)\n{\n\tputs("generated");\n\treturn 0;\n}\n'
GRAM_MAKEFILE = '''prog: gram.c
\t$(CC) $(CFLAGS) -pthread -o prog gram.c

gram.c: gram.y
\tcp gram.y gram.c
'''


def times(check, args, work):
    src = os.path.join(work, 'gram')
    write_file(os.path.join(src, 'gram.y'), 'int main(void) { return 9; }\n')
    write_file(os.path.join(src, 'gram.c'), GRAM_C)
    write_file(os.path.join(src, 'nested.c'), NESTED_C)
    write_file(os.path.join(src, 'Makefile'), GRAM_MAKEFILE)
    t0 = 1_600_000_000_123_456_789
    for name, t in (('gram.y', t0), ('gram.c', t0 + 10**11), ('nested.c', t0 + 5), ('Makefile', t0 + 7)):
        os.utime(os.path.join(src, name), ns=(t - 1000, t))
    out = os.path.join(work, 'gram-rw')
    r = run([args.rewrite, '--quiet', src, out])
    check.require(r.status == 1, 'rewrite the generated-file tree (nested.c does not parse)', r.stderr)
    kept = {name: (os.stat(os.path.join(out, name)).st_atime_ns, os.stat(os.path.join(out, name)).st_mtime_ns)
            for name in ('gram.y', 'nested.c', 'Makefile')}
    check(kept == {'gram.y': (t0 - 1000, t0), 'nested.c': (t0 + 5 - 1000, t0 + 5),
                   'Makefile': (t0 + 7 - 1000, t0 + 7)},
          'files written unchanged keep their access and modification times', kept)
    check(os.stat(os.path.join(out, 'gram.c')).st_mtime_ns > t0 + 10**11, 'the rewritten gram.c is newer')
    r = run(['make', '-C', out, 'prog'], env=dict(ENV, CFLAGS='-O2'))
    check.require(r.status == 0, 'OUT builds', r.stdout + r.stderr)
    check('cp gram.y' not in r.stdout, 'make does not generate gram.c again from gram.y', r.stdout)
    r = run([os.path.join(out, 'prog')], env=dict(ENV, LOOM_DISABLE='1'))
    check(r.status == 0 and r.stdout == 'generated\n', 'the program is the rewritten gram.c', r.stdout + r.stderr)


def non_utf8_paths(check, args, work):
    src, out = os.path.join(work, 'latin1'), os.path.join(work, 'latin1-rw')
    files = {
        b'main.c': b'#include <stdio.h>\n#include "d\xe9f.h"\n#include "h.h"\n\nint cafe(int x);\n\n'
                   b'int main(void)\n{\n\tprintf("%d\\n", cafe(twice(10)) + helper(4));\n\treturn 0;\n}\n',
        b'd\xe9f.h': b'static inline int twice(int x)\n{\n\treturn 2 * x;\n}\n',
        b'h.h': b'static int helper(int x)\n{\n\tint s = 0;\n\n\tfor (int i = 0; i < x; i++)\n\t\ts += i;\n'
                b'\treturn s;\n}\n',
        b'caf\xe9.c': b'#include "h.h"\n\nint cafe(int x);\n\nint cafe(int x)\n{\n\treturn helper(x) + 1;\n}\n',
    }
    os.makedirs(src)
    for name, text in files.items():
        with open(os.path.join(os.fsencode(src), name), 'wb') as f:
            f.write(text)
    r = run([args.rewrite, '--quiet', src, out])
    check(r.status == 1 and 'loom-rewrite: warning: ' in r.stderr
          and 'copied unchanged (not instrumented): its path is not UTF-8, which the manifest cannot hold' in r.stderr,
          f'a C file named in Latin-1: exit 1 (got {r.status}), a warning that it was copied unchanged', r.stderr)
    try:
        with open(os.path.join(out, 'loom-manifest.json'), encoding='utf-8') as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        raise Failure(f'the manifest is UTF-8 JSON: {e}')
    check('warning: ' in r.stderr and 'f.h: header left alone (not instrumented): its path is not UTF-8' in r.stderr,
          'a warning that the header named in Latin-1 is left alone', r.stderr)
    paths = {f['path']: f['instrumented'] for f in m['files']}
    check(paths == {'main.c': True, 'h.h': True}, f'the manifest names main.c and h.h only ({paths})')
    helper = [f for f in m['functions'] if f['name'] == 'helper']
    check(len(helper) == 1 and helper[0]['entry_switch'],
          'helper, which the copied file calls, keeps its entry switch', json.dumps(helper))
    for name in (b'd\xe9f.h', b'caf\xe9.c'):
        with open(os.path.join(os.fsencode(out), name), 'rb') as f:
            check(f.read() == files[name], f'{name!r} is copied unchanged')
    r = run(['sh', '-c', 'cc -O2 -Wall -o prog *.c -lpthread && ./prog'], cwd=out)
    check(r.status == 0 and r.stdout == '197\n' and r.stderr == '', 'OUT builds without warnings and runs like the '
          'original', f'status {r.status}\n{r.stdout}{r.stderr}')
    # SRC itself named so: refused before OUT (an earlier output) is touched.
    latin_src = os.fsdecode(os.path.join(os.fsencode(work), b'l\xe4tin1'))
    shutil.copytree(src, latin_src)
    r = run([args.rewrite, '--quiet', latin_src, out])
    check(r.status == 2 and r.stderr.startswith('loom-rewrite: error: ')
          and r.stderr.endswith(': the path is not UTF-8, which the manifest (JSON) cannot hold\n')
          and os.path.exists(os.path.join(out, 'loom-manifest.json')),
          'a SRC named in Latin-1: exit 2, said so, the earlier OUT left as it was', f'status {r.status}\n{r.stderr}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-tree-options-') as work:
        for part in (compile_commands, unlisted_files, warnings_made_errors, parse_failure, parallel, call_types,
                     times, non_utf8_paths):
            with reported(check):
                part(check, args, work)
    check.finish()


if __name__ == '__main__':
    main()
