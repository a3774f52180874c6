#!/usr/bin/env python3
"""Differential test of loom-rewrite on random C programs (Csmith).

Csmith writes programs that exercise C's corners (integer promotions,
bit-fields, volatile and const objects, pointers to locals, deep nesting,
goto, loops that break out of loops) and print a checksum of their global
state, with no undefined or unspecified behaviour.  For each seed the
program is rewritten alone, and for every compiler and optimisation level
the original and the rewritten file are compiled with

    CC -std=gnu11 -Wall -Wextra OPT -g -pthread -I CSMITH_INCLUDE

and run: the rewritten program must print what the original prints and exit
with its status, on its fast path and with LOOM_FORCE_SLOW=1 (every function
in its slow copy, every hook called), and the compiler must give it the
original's warnings (file:line text; the hybrid rewrite's forwarding of
parameters to the slow copy loses -Wunused-parameter and
-Wunused-but-set-parameter, docs/design.md).  At -O0 the debug line tables
must keep the original's lines: each line that has code in the original has
code in the rewritten program, and none of its code is on a line past the
end of p.c (what a wrong `#line` would give).

Then the program runs live (the first compiler, the last level): its main
renamed and called by a harness once `loom push` has installed filters that
the seed picks in the manifest: every function, line ranges of one to eight
statements, and event regions (`{p.c:A, FUNCTION:exit}`) that `loom check` accepts,
each excluding `loom_probe`, a function of the harness; an odd seed adds a
unilateral filter (`FUNCTION <> *`: every function slow).  Twice: with the
filters pushed before one run, and pushed and popped again and again for
CHURN_SECONDS while the program runs round after round (up to CHURN_ROUNDS;
the original then runs as many rounds; only for a seed whose original runs
its rounds cleanly under AddressSanitizer: a round may leave a pointer to a
local behind for the next).  Each run must print the original's
output, and afterwards another thread must get into `loom_probe`, which a
lock left taken by a region exit the runtime missed would stop.

A seed whose original does not end within ORIGINAL_TIMEOUT seconds (Csmith
does not promise that it ends) is replaced by the next seed; the test fails
if fewer than --programs programs could be compared, and when Csmith is
missing.  The seeds are fixed, so a run is repeatable with one Csmith
version; `--first-seed` and `--programs` explore further:

    random_programs.py --rewrite build/rewriter/loom-rewrite --loom build/cli/loom [--cc gcc]
        [--opt=-O2] [--programs N] [--first-seed S] [--keep]

(by default gcc and clang-19, each at -O0 and -O2).

The last line printed is `N passed, M failed` (one check per compared seed,
compiler and level, one per seed for the rewrite itself).
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'testlib'))
from loomtest import Checks, ENV, Program, live_env, reported, run, scratch, write_file  # noqa: E402
from conformance import rewrite_emit  # noqa: E402  (beside this file)

ORIGINAL_TIMEOUT = 10
CHURN_SECONDS = 3
CHURN_ROUNDS = 20000
CHURN_CHECK_ROUNDS = 300
REWRITTEN_TIMEOUT = 60   # the slow copies call a hook before every statement
COMPILE_TIMEOUT = 300
DWARFDUMP = 'llvm-dwarfdump-19'
WARNING_RE = re.compile(r'^(?:.*/)?(?P<file>[^/:]+):(?P<line>\d+):(?:\d+:)? warning: (?P<text>.*)$')
LOST_IN_HYBRID = ('[-Wunused-parameter]', '[-Wunused-but-set-parameter]')


HARNESS_C = r'''#define _GNU_SOURCE
/* Runs Csmith's program (its main renamed csmith_main) once the test has
 * pushed its filters: a line N runs it N times, a line -N up to N times,
 * until the next line comes.  Then it checks that the filters left no lock
 * taken: every filter's regions exclude loom_probe. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int csmith_main(int argc, char *argv[]);

int loom_probe(int x)
{
	return x + 1;
}

static void *probe(void *arg)
{
	return (void *)(long)loom_probe((int)(long)arg);
}

static int told_to_stop(void)
{
	struct pollfd in = { 0, POLLIN, 0 };

	return poll(&in, 1, 0) != 0;
}

int main(int argc, char *argv[])
{
	char line[16];
	pthread_t t;
	struct timespec deadline;
	void *v;
	int rc = 0, n, i;

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 2;
	n = atoi(line);
	for (i = 0; i < abs(n) && !(n < 0 && told_to_stop()); i++)
		rc = csmith_main(argc, argv);
	printf("rounds %d\n", i);
	fflush(stdout);
	if (pthread_create(&t, NULL, probe, (void *)1L))
		return 4;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	if (pthread_timedjoin_np(t, &v, &deadline)) {
		printf("a filter's lock is still taken after the run\n");
		return 3;
	}
	return v == (void *)2L ? rc : 5;
}
'''
CSMITH_MAIN = 'int main (int argc, char* argv[])\n'


def warnings(stderr):
    """The warnings of a compiler's output as `file:line: text`, sorted, each
    once: the columns move where a hook precedes an expression on the same
    line, and gcc repeats a warning that no option controls (gcc 12's
    "comparison of distinct pointer types lacks a cast") in each copy of its
    statement, where no pragma can silence it (docs/design.md)."""
    found = []
    for line in stderr.splitlines():
        m = WARNING_RE.match(line)
        if m:
            found.append(f"{m.group('file')}:{m.group('line')}: {m.group('text')}")
    return sorted(set(found))


def differences(what, want, got):
    """A description of how two lists of lines differ, '' if they do not."""
    if want == got:
        return ''
    lost = [w for w in want if w not in got]
    new = [g for g in got if g not in want]
    text = [f'{what}:']
    text += [f'  lost: {w}' for w in lost[:10]]
    text += [f'  new:  {g}' for g in new[:10]]
    return '\n'.join(text) + '\n'


def compile_program(cc, opt, include, directory, binary):
    """Compiles DIRECTORY/p.c (in DIRECTORY, so that the two diagnose alike)
    into BINARY; returns (ok, stderr)."""
    argv = [cc, '-std=gnu11', '-Wall', '-Wextra', opt, '-g', '-pthread', '-I', include,
            '-o', binary, 'p.c']
    r = run(argv, timeout=COMPILE_TIMEOUT, cwd=directory, env=dict(ENV, LC_ALL='C', LANG='C'))
    return r.status == 0, r.stderr


def code_lines(binary):
    """The lines of p.c that BINARY's DWARF line table gives code, or None
    if llvm-dwarfdump cannot read it."""
    r = run([DWARFDUMP, '--debug-line', binary], timeout=120)
    if r.status != 0:
        return None
    names, index, found = {}, None, set()
    for line in r.stdout.splitlines():
        m = re.match(r'file_names\[\s*(\d+)\]:', line)
        if m:
            index = int(m.group(1))
            continue
        m = re.match(r'\s+name: "(.*)"', line)
        if m and index is not None:
            names[index], index = m.group(1), None
            continue
        m = re.match(r'0x[0-9a-f]+\s+(\d+)\s+\d+\s+(\d+)\s', line)
        if m and os.path.basename(names.get(int(m.group(2)), '')) == 'p.c':
            found.add(int(m.group(1)))
    return found


def line_differences(original, rewritten, nlines):
    """How the rewritten program's lines with code (at -O0) break the
    original's: each of the original's lines must have code, and every line
    must be one of p.c's (0 is the compilers' line for code of no line)."""
    if original is None or rewritten is None:
        return f'{DWARFDUMP} cannot read the line tables\n'
    lost = sorted(original - rewritten)
    outside = sorted(n for n in rewritten if n > nlines)
    text = ''
    if lost:
        text += f'lines with code in the original and none in the rewritten program: {lost[:20]}\n'
    if outside:
        text += f'lines past the end of p.c ({nlines} lines) in the rewritten program: {outside[:20]}\n'
    return text


def outcome(binary, timeout, env):
    r = run([binary], timeout=timeout, env=env)
    return r.status, r.stdout


def pick_filters(args, seed, out):
    """The filter text for SEED's live run, from OUT's manifest: every
    function of p.c, up to six line ranges and three event regions from a
    statement to its function's exit (those `loom check` accepts), each
    `<> loom_probe`; an odd seed's first function
    also `<> *`."""
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        manifest = json.load(f)
    rng = random.Random(seed)
    functions = [f['name'] for f in manifest['functions'] if f['file'] == 'p.c']
    lines = {}
    for slot in manifest['slots']:
        if slot['kind'] == 'stmt' and slot['file'] == 'p.c':
            lines.setdefault(slot['function'], set()).add(slot['line'])
    lines = {name: sorted(found) for name, found in sorted(lines.items())}
    constraints = [f'{name} <> loom_probe' for name in functions]
    if seed % 2:
        constraints.append(f'{functions[0]} <> *')
    candidates = []
    for _ in range(6):
        name = rng.choice(list(lines))
        a = rng.randrange(len(lines[name]))
        b = min(len(lines[name]) - 1, a + rng.randrange(8))
        candidates.append(f'p.c:{lines[name][a]}-{lines[name][b]} <> loom_probe')
    # An event region ends at its end event only: one ending at a statement
    # that a path skips stays taken (docs/filters.md), so these end at
    # their function's exit, which every call reaches.
    for _ in range(3):
        name = rng.choice(list(lines))
        candidates.append(f'{{p.c:{rng.choice(lines[name])}, {name}:exit}} <> loom_probe')
    for text in candidates:
        r = run([args.loom, 'check', '--manifest', out, '-'], stdin_data=text.encode(), timeout=60)
        if r.status == 0:
            constraints.append(text)
    return ''.join(c + '\n' for c in constraints)


def start_live(exe):
    """Starts the rewritten harness EXE; returns it once it listens, or
    (None, why)."""
    prog = Program([exe], live_env(), stdin=True)
    if prog.wait_for(lambda: prog.output(), 10) and prog.wait_for_socket(10):
        return prog, ''
    prog.stop()
    return None, f'the rewritten program does not listen: {prog.stderr()}'


def finish_live(prog, line):
    """Writes LINE to PROG and waits for its end; returns (status or None if
    it did not end, its output)."""
    try:
        try:
            prog.proc.stdin.write(line)
            prog.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it has ended: its status says how
        try:
            status = prog.proc.wait(REWRITTEN_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
    finally:
        prog.stop()
    return status, ''.join(line + '\n' for line in prog.output())


def live_run(args, seed, dir_, generated):
    """The live parts (see above): returns a list of (ok, what, detail)."""
    cc, opt = args.cc[0], args.opt[-1]
    what = f'seed {seed} {cc} {opt}: same output with filters pushed before the run'
    churn_what = f'seed {seed} {cc} {opt}: same output with the filters pushed and popped while it runs'
    src, out = os.path.join(dir_, 'live-src'), os.path.join(dir_, 'live-out')
    if generated.count(CSMITH_MAIN) != 1:
        return [(False, what, f"Csmith's main is not `{CSMITH_MAIN.strip()}`")]
    write_file(os.path.join(src, 'p.c'), generated.replace(CSMITH_MAIN, 'int csmith_main (int argc, char* argv[])\n'))
    write_file(os.path.join(src, 'harness.c'), HARNESS_C)
    r = run([args.rewrite] + args.rewrite_arg + ['--quiet', '-j', '1', src, out, '--', '-I', args.include],
            timeout=COMPILE_TIMEOUT)
    if r.status != 0:
        return [(False, what, f'loom-rewrite: exit {r.status}\n{r.stderr}')]
    runs = {}
    for tree in (src, out):
        exe = os.path.join(tree, 'prog')
        r = run([cc, '-std=gnu11', opt, '-pthread', '-I', args.include, '-o', exe, 'p.c', 'harness.c'],
                timeout=COMPILE_TIMEOUT, cwd=tree)
        if r.status != 0:
            return [(False, what, f'{tree} does not build:\n{r.stderr}')]
        runs[tree] = exe
    spec = os.path.join(dir_, 'filters.loom')
    write_file(spec, pick_filters(args, seed, out))
    with open(spec) as f:
        filters = 'filters:\n' + f.read()
    checks = []

    # Filters in place before the run.
    original = run([runs[src]], stdin_data=b'1\n', timeout=ORIGINAL_TIMEOUT)
    prog, why = start_live(runs[out])
    if not prog:
        return [(False, what, why)]
    r = run([args.loom, 'push', str(prog.pid), spec], timeout=60)
    if r.status != 0:
        prog.stop()
        return [(False, what, f'loom push {spec}: exit {r.status}\n{r.stderr}')]
    status, got = finish_live(prog, '1\n')
    same = (status, got) == (original.status, original.stdout)
    checks.append((same, what, '' if same else f'exit {status}, output {got.strip()[:300]!r}; the original: '
                   f'exit {original.status}, output {original.stdout.strip()[:300]!r}\n{filters}'))

    # Pushed and popped while the program runs round after round: each
    # install and removal meets the thread anywhere (in a loop's fast or
    # slow copy, inside a line range); the rounds then run again in the
    # original, which must print the same.  Csmith's programs are not
    # written to run twice: a round may leave the address of a local in a
    # global pointer, which the next round writes through (undefined, and
    # the frames differ between the original and the rewritten program).
    # A seed has no such part unless its original runs CHURN_CHECK_ROUNDS
    # rounds under AddressSanitizer without an error (stack use after
    # return or scope) and CHURN_ROUNDS rounds plainly.
    asan = os.path.join(src, 'prog-asan')
    r = run([cc, '-std=gnu11', '-O1', '-g', '-fsanitize=address', '-fsanitize-address-use-after-scope',
             '-pthread', '-I', args.include, '-o', asan, 'p.c', 'harness.c'], timeout=COMPILE_TIMEOUT, cwd=src)
    if r.status != 0:
        return checks + [(False, churn_what, f'the original does not build with -fsanitize=address:\n{r.stderr}')]
    clean = run([asan], stdin_data=f'{CHURN_CHECK_ROUNDS}\n'.encode(), timeout=REWRITTEN_TIMEOUT,
                env=dict(ENV, ASAN_OPTIONS='detect_stack_use_after_return=1:detect_leaks=0'))
    many = run([runs[src]], stdin_data=f'{CHURN_ROUNDS}\n'.encode(), timeout=REWRITTEN_TIMEOUT)
    if clean.status != 0 or many.status != 0:
        return checks
    prog, why = start_live(runs[out])
    if not prog:
        return checks + [(False, churn_what, why)]
    try:
        prog.proc.stdin.write(f'-{CHURN_ROUNDS}\n')
        prog.proc.stdin.flush()
    except BrokenPipeError:
        pass
    cycles, refused, deadline = 0, [], time.monotonic() + CHURN_SECONDS
    while time.monotonic() < deadline and prog.alive():
        r = run([args.loom, 'push', '--timeout', '1000', str(prog.pid), spec], timeout=60)
        if r.status != 0:
            refused.append(r.stderr.strip())
            continue
        r = run([args.loom, 'pop', '--timeout', '1000', str(prog.pid), r.stdout.strip()], timeout=60)
        if r.status != 0:
            refused.append(r.stderr.strip())
            break
        cycles += 1
    status, got = finish_live(prog, 'stop\n')
    m = re.search(r'^rounds (\d+)$', got, re.M)
    original = run([runs[src]], stdin_data=f'{m.group(1) if m else 1}\n'.encode(), timeout=REWRITTEN_TIMEOUT)
    detail = ''
    if not cycles:
        detail += 'no push and pop while it ran\n' + '\n'.join(refused[:3]) + '\n'
    if (status, got) != (original.status, original.stdout):
        detail += (f'exit {status}, output {got.strip()[:300]!r}; the original, as many rounds: exit '
                   f'{original.status}, output {original.stdout.strip()[:300]!r}\n')
    checks.append((not detail, f'{churn_what} ({cycles} cycles, {len(refused)} pushes refused)',
                   detail + filters if detail else ''))
    return checks


def try_seed(args, seed, work):
    """Generates, builds and compares one program.  Returns (ran, checks):
    RAN false if the original does not end (the seed is not counted); CHECKS
    a list of (ok, what, detail)."""
    tag = f'seed {seed}'
    dir_ = os.path.join(work, str(seed))
    src, out = os.path.join(dir_, 'src'), os.path.join(dir_, 'out')
    os.makedirs(src)
    r = run([args.csmith, '--seed', str(seed), '--output', os.path.join(src, 'p.c')], timeout=60, cwd=dir_)  # its platform.info there
    if r.status != 0:
        return True, [(False, f'{tag}: csmith generates a program', r.stdout + r.stderr)]
    with open(os.path.join(src, 'p.c')) as f:
        generated = f.read()

    originals = {}
    for cc in args.cc:
        for opt in args.opt:
            exe = os.path.join(dir_, f'orig{cc}{opt}')
            ok, err = compile_program(cc, opt, args.include, src, exe)
            if not ok:
                return True, [(False, f'{tag} {cc} {opt}: the original compiles', err)]
            status, stdout = outcome(exe, ORIGINAL_TIMEOUT, ENV)
            if status is None:
                return False, []
            originals[cc, opt] = (status, stdout, warnings(err), code_lines(exe) if opt == '-O0' else None)

    r = run([args.rewrite] + args.rewrite_arg + ['--quiet', '-j', '1', src, out, '--',
                                                 '-I', args.include], timeout=COMPILE_TIMEOUT)
    checks = [(r.status == 0, f'{tag}: loom-rewrite instruments the program',
               f'exit {r.status}\n{r.stdout}{r.stderr}')]
    if r.status != 0:
        return True, checks

    slow_env = dict(ENV, LOOM_FORCE_SLOW='1')
    for (cc, opt), (status, stdout, warned, lines) in originals.items():
        what = f'{tag} {cc} {opt}: same output, exit status and warnings, fast and slow'
        if opt == '-O0':
            what += ', the original lines'
        exe = os.path.join(dir_, f'rewritten{cc}{opt}')
        ok, err = compile_program(cc, opt, args.include, out, exe)
        if not ok:
            checks.append((False, what, 'the rewritten program does not compile:\n' + err))
            continue
        lost_ok = LOST_IN_HYBRID if args.hybrid else ()
        detail = differences('warnings', [w for w in warned if not w.endswith(lost_ok)],
                             [w for w in warnings(err) if not w.endswith(lost_ok)])
        if opt == '-O0':
            detail += line_differences(lines, code_lines(exe), generated.count('\n'))
        for path, env in (('fast path', ENV), ('LOOM_FORCE_SLOW=1', slow_env)):
            got_status, got_stdout = outcome(exe, REWRITTEN_TIMEOUT, env)
            if (got_status, got_stdout) != (status, stdout):
                detail += (f'{path}: exit {got_status}, output {got_stdout.strip()[:200]!r}; '
                           f'the original: exit {status}, output {stdout.strip()[:200]!r}\n')
        checks.append((not detail, what, detail + f'(sources: {dir_}; kept with --keep)' if detail else ''))
    checks += live_run(args, seed, dir_, generated)
    return True, checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--rewrite-arg', action='append', default=[])
    ap.add_argument('--loom', required=True)
    ap.add_argument('--csmith', default='csmith')
    ap.add_argument('--include', default='/usr/include/csmith',
                    help="the directory of csmith.h (Debian's libcsmith-dev)")
    ap.add_argument('--cc', action='append', help='default: gcc, clang-19')
    ap.add_argument('--opt', action='append', help='as --opt=-O2; default: -O0, -O2')
    ap.add_argument('--programs', type=int, default=10)
    ap.add_argument('--first-seed', type=int, default=1)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    args.cc = args.cc or ['gcc', 'clang-19']
    args.opt = args.opt or ['-O0', '-O2']
    args.hybrid = rewrite_emit(args.rewrite_arg) == 'hybrid'

    check = Checks()
    csmith = shutil.which(args.csmith)
    check.require(csmith is not None and os.path.isfile(os.path.join(args.include, 'csmith.h')),
                  f'Csmith is installed ({args.csmith}, {args.include}/csmith.h)',
                  "install Debian's csmith and libcsmith-dev (./run does)")
    with scratch('loom-random-', args.keep) as work, reported(check):
        compared, churned, seed, skipped = 0, 0, args.first_seed, []
        limit = args.first_seed + 4 * args.programs
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            while compared < args.programs and seed < limit:
                batch = list(range(seed, seed + args.programs - compared))
                seed += len(batch)
                for s, (ran, checks) in zip(batch, pool.map(lambda s: try_seed(args, s, work), batch)):
                    if not ran:
                        skipped.append(s)
                        continue
                    compared += 1
                    for ok, what, detail in checks:
                        check(ok, what, detail)
                        churned += 'while it runs' in what
        if skipped:
            print(f'seeds whose original did not end within {ORIGINAL_TIMEOUT} s: '
                  f'{" ".join(map(str, skipped))}')
        check(churned >= args.programs // 3, f'{churned} of {compared} programs can run {CHURN_ROUNDS} rounds, '
              'so filters could come and go while they ran (at least a third must)')
        check(compared >= args.programs, f'{compared} of {args.programs} programs compared',
              f'seeds {args.first_seed}..{seed - 1} tried')
    check.finish()


if __name__ == '__main__':
    main()
