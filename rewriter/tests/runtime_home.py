#!/usr/bin/env python3
"""Where the runtime is compiled: once per program, not once per file.

1. A two-file program (main.c, work.c): only main.o defines the runtime's
   functions, work.o just calls them; the program behaves like the original,
   its update channel comes up, and a filter on work() (a function of the
   file without the runtime) is installed and hit.
2. --runtime all: work.o defines them too (weak), and the program still
   links and runs.
3. A library tree without main: every file defines the runtime, so it links
   into a program that is not rewritten, whose runtime then starts (also
   when one of its C files includes another, which could define main).
4. A file that does not parse (built on another host only) keeps the
   runtime in main's file, unless its text may define main and no
   compilation database says the build does not compile it.
5. A file without main that the compilation database compiles with -fPIC
   (for a shared library): loom-rewrite says that a shared library of such
   files alone lacks the runtime and names --runtime all; such a library
   indeed does not link, and with --runtime all it links, without the note.
6. --runtime with a bad value is refused.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (Checks, ENV, Failure, Program, loom_ls, reported, run, scratch, write_file,  # noqa: E402
                      write_line_server)

LIB_USER_C = r'''#include <stdio.h>

long work(long n);

int main(void)
{
	char line[64];

	while (fgets(line, sizeof line, stdin)) {
		printf("work(5) = %ld\n", work(5));
		fflush(stdout);
	}
	return 0;
}
'''

CFLAGS = '-O2 -g -Wall -Wextra'


def defines_runtime(obj):
    """Whether object file OBJ defines the runtime (its engine thread)."""
    r = run(['nm', obj])
    if r.status != 0:
        raise Failure(f'nm {obj}: {r.stderr}')
    return any(line.split()[-2:] == ['W', 'loom__engine'] or line.split()[-2:] == ['T', 'loom__engine']
               for line in r.stdout.splitlines())


def config_everywhere(out):
    with open(os.path.join(out, 'loom-rt', 'loom-config.h')) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith('#define LOOM_RT_EVERYWHERE '):
            return line.split()[-1]
    return None


def make(check, tree, what):
    r = run(['make', '-C', tree], env=dict(ENV, CFLAGS=CFLAGS))
    check.require(r.status == 0, f'{what}: make builds', r.stdout + r.stderr)
    check(not [l for l in r.stderr.splitlines() if 'warning' in l], f'{what}: no warning', r.stderr)


def two_file_program(check, args, work):
    src = os.path.join(work, 'prog')
    # Between lines the main thread waits in fgets, in the loop's condition:
    # its blocking marker lets a push go through meanwhile.
    write_line_server(src)
    expected = run(['sh', '-c', f'cp -r {src} {work}/orig && make -s -C {work}/orig >/dev/null '
                    f'&& printf "10\\n1000\\n" | {work}/orig/prog'], env=dict(ENV, CFLAGS=CFLAGS))
    check.require(expected.status == 0, 'the original two-file program builds and runs', expected.stderr)

    out = os.path.join(work, 'prog-rw')
    r = run([args.rewrite, '--quiet', src, out])
    check.require(r.status == 0, 'loom-rewrite the two-file program', r.stderr)
    check(config_everywhere(out) == '0', 'loom-config.h: the runtime only where main is (LOOM_RT_EVERYWHERE 0)')
    make(check, out, 'the rewritten two-file program')
    check(defines_runtime(os.path.join(out, 'main.o')), 'main.o (it defines main) compiles the runtime')
    check(not defines_runtime(os.path.join(out, 'work.o')), 'work.o (no main) does not compile the runtime')

    env = dict(ENV)
    env.pop('LOOM_DISABLE', None)
    env.pop('XDG_RUNTIME_DIR', None)
    prog = Program([os.path.join(out, 'prog')], env, stdin=True)
    try:
        got = [prog.ask(10), prog.ask(1000)]
        check(got == expected.stdout.splitlines(), 'the rewritten program answers like the original',
              f'original {expected.stdout.splitlines()}\nrewritten {got}')
        check.require(prog.wait_for_socket(10), f'its update channel comes up ({prog.socket})', prog.stderr())
        spec = os.path.join(work, 'work.loom')
        write_file(spec, 'work <> self\n')
        r = run([args.loom, 'push', str(prog.pid), spec])
        check.require(r.status == 0, 'push "work <> self" (work.c has no runtime of its own)', r.stderr)
        hits0 = loom_ls(args.loom, prog.pid)[0]
        answer = prog.ask(1000)
        hits1 = loom_ls(args.loom, prog.pid)[0]
        check(answer == got[1], 'with the filter work() still answers the same', answer)
        check(hits1 > hits0, f'work.c\'s hooks reach the runtime in main.o (lock hits {hits0} -> {hits1})')
    finally:
        prog.proc.stdin.close()
        prog.stop()

    out_all = os.path.join(work, 'prog-all')
    r = run([args.rewrite, '--quiet', '--runtime', 'all', src, out_all])
    check.require(r.status == 0, 'loom-rewrite --runtime all', r.stderr)
    check(config_everywhere(out_all) == '1', 'loom-config.h with --runtime all: LOOM_RT_EVERYWHERE 1')
    make(check, out_all, '--runtime all')
    check(defines_runtime(os.path.join(out_all, 'work.o')), '--runtime all: work.o compiles the runtime too')
    r = run(['sh', '-c', f'printf "10\\n1000\\n" | {out_all}/prog'])
    check(r.status == 0 and r.stdout == expected.stdout,
          '--runtime all: the program links (weak definitions) and answers like the original',
          r.stdout + r.stderr)


def unparsed_files(check, args, work):
    for name, text, want, what in (
            ('win32.c', '#include <windows.h>\nint spawn(void) { return 0; }\n', '0',
             'a file that does not parse and cannot define main: the runtime stays in main\'s file'),
            ('main_win32.c', '#include <windows.h>\nint main (void) { return 0; }\n', '1',
             'a file that does not parse and may define main: every file compiles the runtime')):
        src = os.path.join(work, f'unparsed-{name[:-2]}')
        write_line_server(src)
        write_file(os.path.join(src, name), text)
        out = src + '-rw'
        r = run([args.rewrite, '--quiet', src, out])
        check(r.status == 1 and config_everywhere(out) == want, f'{what} (exit {r.status})', r.stderr)
    # A compilation database that does not list the file: the build does
    # not compile it (binutils has 20 such files with a main).
    src = os.path.join(work, 'unparsed-unlisted')
    write_line_server(src)
    write_file(os.path.join(src, 'tools', 'other_host.c'), '#include <windows.h>\nint main (void) { return 0; }\n')
    with open(os.path.join(src, 'compile_commands.json'), 'w') as f:
        json.dump([{'directory': src, 'arguments': ['gcc', '-c', n], 'file': n}
                   for n in sorted(os.listdir(src)) if n.endswith('.c')], f)
    out = src + '-rw'
    r = run([args.rewrite, '--quiet', src, out])
    check(r.status == 1 and config_everywhere(out) == '0',
          f'a file the database does not list, which does not parse and defines main: the runtime stays '
          f'in main\'s file (exit {r.status})', r.stderr)


def library_tree(check, args, work):
    src = os.path.join(work, 'lib')
    write_line_server(src, names=('work.c',))
    # A C file that includes another (which could have main, but has not).
    write_file(os.path.join(src, 'helpers.inc.c'), 'static int twice(int x)\n{\n\treturn 2 * x;\n}\n')
    write_file(os.path.join(src, 'glue.c'), '#include "helpers.inc.c"\nint glue(int x)\n{\n\treturn twice(x);\n}\n')
    out = os.path.join(work, 'lib-rw')
    r = run([args.rewrite, '--quiet', src, out])
    check.require(r.status == 0, 'loom-rewrite a tree without main', r.stderr)
    check(config_everywhere(out) == '1',
          'a tree without main (one file including another): every file compiles the runtime')
    r = run(['gcc', *CFLAGS.split(), '-c', os.path.join(out, 'work.c'), '-o', os.path.join(out, 'work.o')])
    check.require(r.status == 0, 'the library file compiles', r.stderr)
    check(defines_runtime(os.path.join(out, 'work.o')), 'the library\'s work.o defines the runtime')
    user = os.path.join(work, 'user.c')
    write_file(user, LIB_USER_C)
    exe = os.path.join(work, 'user')
    r = run(['gcc', *CFLAGS.split(), user, os.path.join(out, 'work.o'), '-o', exe, '-lpthread'])
    check.require(r.status == 0, 'a program that is not rewritten links with it', r.stderr)
    env = dict(ENV)
    env.pop('LOOM_DISABLE', None)
    env.pop('XDG_RUNTIME_DIR', None)
    prog = Program([exe], env, stdin=True)
    try:
        answer = prog.ask(5)
        check(answer == f'work(5) = {sum(i * i % 7 for i in range(1, 6))}', 'and runs', answer)
        check(prog.wait_for_socket(10), 'and its update channel comes up', prog.stderr())
    finally:
        prog.proc.stdin.close()
        prog.stop()


def shared_object(check, args, work):
    src = os.path.join(work, 'pic')
    os.makedirs(src)
    write_file(os.path.join(src, 'work.c'), 'long work(long n)\n{\n\tlong s = 0;\n\n'
               '\tfor (long i = 1; i <= n; i++)\n\t\ts += i * i % 7;\n\treturn s;\n}\n')
    write_file(os.path.join(src, 'main.c'), LIB_USER_C)
    write_file(os.path.join(src, 'compile_commands.json'), json.dumps([
        {'directory': src, 'file': 'main.c', 'arguments': ['cc', '-O2', '-c', 'main.c']},
        {'directory': src, 'file': 'work.c', 'arguments': ['cc', '-O2', '-fPIC', '-DPIC', '-c', 'work.c',
                                                           '-o', '.libs/work.o']},
    ]))
    for runtime in ('main', 'all'):
        out = os.path.join(work, f'pic-{runtime}')
        r = run([args.rewrite, '--runtime', runtime, src, out])
        check.require(r.status == 0, f'loom-rewrite --runtime {runtime} of a tree with a -fPIC file', r.stderr)
        noted = 'note: 1 C files without main are compiled for a shared object' in r.stderr \
            and '--runtime all' in r.stderr
        check(noted == (runtime == 'main'),
              f'--runtime {runtime}: ' + ('the note names --runtime all' if runtime == 'main' else 'no note'),
              r.stderr)
        lib = run(['gcc', '-O2', '-shared', '-fPIC', '-o', os.path.join(out, 'libwork.so'),
                   os.path.join(out, 'work.c')])
        check((lib.status == 0) == (runtime == 'all'),
              f'--runtime {runtime}: a shared library of work.c alone ' +
              ('links' if runtime == 'all' else 'does not link (what the note says)'), lib.stderr[-2000:])
    r = run([args.rewrite, '--quiet', src, os.path.join(work, 'pic-quiet')])
    check(r.status == 0 and 'note' not in r.stderr, '--quiet: no note', r.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-runtime-home-') as work, reported(check):
        two_file_program(check, args, work)
        unparsed_files(check, args, work)
        library_tree(check, args, work)
        shared_object(check, args, work)
        r = run([args.rewrite, '--runtime', 'some', os.path.join(work, 'lib'), os.path.join(work, 'x')])
        check(r.status == 2 and "--runtime takes main or all, not 'some'" in r.stderr,
              '--runtime some is refused with a clear error', r.stderr)
    check.finish()


if __name__ == '__main__':
    main()
