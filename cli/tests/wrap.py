#!/usr/bin/env python3
"""Wrapped functions: a whole-function exclusion runs the function's own code.

When every op a filter has in a function is a lock at its entry and an
unlock at its exits (`f <> self`, `f <> g`), the function's slow copy takes
the locks, calls the function itself, whose switch lets the call through to
its fast body, and releases them (rt/loom.h LOOM_SLOW_FUNCTION_ENTRY_WRAP).
The program has four such functions racing on one account, with a widened
window: `deposit` (returns a value), `withdraw` (void, recursive: the lock
is re-entered), `audit` (returns a struct) and `settle` (a loop with a slow
twin); its main thread answers `modes` on stdin with what the runtime's
switch says for each (0 fast, 1 slow copy, 2 wrapped).

The test checks:
- without a filter the races show (BUG lines);
- `loom check` says the four functions run wrapped;
- after `loom push` they do (modes 2 2 2 2) and no BUG line comes for 3 s
  while the filter's locks keep being taken (`loom ls`);
- a second filter with an op inside `settle`'s loop (a statement) sends
  `settle` to its slow copy (1) and leaves the others wrapped; popping it
  makes `settle` wrapped again; six times, and never a BUG line: the
  frame that was in the loop during the push finishes it in the twin, and
  must keep its lock until it returns;
- after popping the first filter every function runs fast and the races
  are back.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (build_program, Checks, Failure, live_env, loom_rows, Program, reported, run,  # noqa: E402
                      scratch, write_file)

PROGRAM = r'''#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pair {
	long balance, mirror;
};

static long balance, mirror; /* mirror: equal to balance between operations */
static long window_us;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

static void bug(const char *what)
{
	printf("BUG %.6f %s\n", now(), what);
	fflush(stdout);
}

long deposit(long amount)
{
	long b = balance;

	pause_us(window_us);
	if (balance != b) /* DEPOSIT */
		bug("deposit: another operation changed the balance meanwhile");
	balance = b + amount;
	mirror = b + amount;
	return b + amount;
}

void withdraw(int depth)
{
	long b;

	if (depth > 0) {
		withdraw(depth - 1);
		return;
	}
	b = balance;
	pause_us(window_us);
	if (balance != b)
		bug("withdraw: another operation changed the balance meanwhile");
	balance = b - 1;
	mirror = b - 1;
}

/* Its loop has a slow twin (it calls a function of another file): a frame
 * that is in the loop when a filter sends settle slow finishes the loop in
 * the twin, still holding the lock until it returns. */
void settle(int rounds)
{
	long b;

	for (int i = 0; i < rounds; i++) {
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL); /* SETTLE */
	}
	b = balance;
	pause_us(4 * window_us);
	if (balance != b)
		bug("settle: another operation changed the balance meanwhile");
	balance = b;
	mirror = b;
}

struct pair audit(void)
{
	struct pair p;

	p.balance = balance;
	pause_us(window_us);
	p.mirror = mirror;
	if (p.balance != p.mirror)
		bug("audit: saw an operation half done");
	return p;
}

static void *teller(void *arg)
{
	long total = 0;

	for (long i = 0;; i++) {
		if (arg)
			total += deposit(2);
		else
			withdraw((int)(i % 3));
	}
	return (void *)total;
}

static void *settler(void *arg)
{
	(void)arg;
	for (;;)
		settle(50);
	return NULL;
}

static void *auditor(void *arg)
{
	long sum = 0;

	(void)arg;
	for (;;) {
		struct pair p = audit();

		sum += p.balance - p.mirror;
	}
	return (void *)sum;
}

/* The switch of each function named in WRAP_FIDS (manifest indexes), as
 * the runtime set it: only the rewritten program has one. */
static void modes(void)
{
	char line[64] = "modes";
#ifdef LOOM_H
	char *fids = getenv("WRAP_FIDS"), *end;

	while (fids && *fids) {
		unsigned long fid = strtoul(fids, &end, 10);

		snprintf(line + strlen(line), sizeof line - strlen(line), " %d", loom__slow[fid]);
		fids = *end ? end + 1 : end;
	}
#endif
	printf("%s\n", line);
	fflush(stdout);
}

int main(void)
{
	pthread_t t[4];
	char line[64];
	const char *w = getenv("RACE_WINDOW_US");

	window_us = w ? atol(w) : 0;
	pthread_create(&t[0], NULL, teller, "deposit");
	pthread_create(&t[1], NULL, teller, NULL);
	pthread_create(&t[2], NULL, auditor, NULL);
	pthread_create(&t[3], NULL, settler, NULL);
	while (fgets(line, sizeof line, stdin))
		if (!strcmp(line, "modes\n"))
			modes();
	return 0;
}
'''
MAKEFILE = '''CC ?= gcc
wrap: wrap.c
\t$(CC) $(CFLAGS) -o $@ wrap.c -pthread
'''
SPEC = 'deposit <> withdraw <> audit <> settle\n'
FUNCTIONS = ('deposit', 'withdraw', 'audit', 'settle')


def line_of(marker):
    for i, line in enumerate(PROGRAM.splitlines(), 1):
        if f'/* {marker} */' in line:
            return i
    raise Failure(f'no {marker} line in the program')


def modes(prog):
    """The program's answer to `modes` (BUG lines may come first)."""
    before = len(prog.output())
    prog.proc.stdin.write('modes\n')
    prog.proc.stdin.flush()
    answer = lambda: [line for line in prog.output()[before:] if line.startswith('modes')]  # noqa: E731
    if not prog.wait_for(answer, 10):
        raise Failure(f'no answer to "modes" within 10 s; stderr: {prog.stderr()}')
    return answer()[0]


def hits(loom, pid):
    """Locks taken by the first filter `loom ls` lists, or -1."""
    rows, _ = loom_rows(loom, pid)
    return int(rows[0].split()[1]) if rows else -1


def push(check, args, work, pid, name, text):
    spec = os.path.join(work, name + '.loom')
    write_file(spec, text)
    r = run([args.loom, 'push', str(pid), spec])
    check.require(r.status == 0, f'push "{text.strip()}"', r.stderr)
    return r.stdout.strip(), time.monotonic()


def pop(check, args, pid, filter_id):
    r = run([args.loom, 'pop', str(pid), filter_id])
    check.require(r.status == 0, f'pop filter {filter_id}', r.stderr)
    return time.monotonic()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-wrap-') as work:
        prog = None
        try:
            with reported(check):
                out = build_program(check, args.rewrite, work, {'wrap.c': PROGRAM, 'Makefile': MAKEFILE})
                with open(os.path.join(out, 'loom-manifest.json')) as f:
                    functions = json.load(f)['functions']
                index = {fn['name']: i for i, fn in enumerate(functions)}
                fids = ','.join(str(index[name]) for name in FUNCTIONS)

                spec = os.path.join(work, 'check.loom')
                write_file(spec, SPEC)
                r = run([args.loom, 'check', '--manifest', out, spec])
                check(r.status == 0 and 'run wrapped' in r.stdout
                      and all(name in r.stdout.split('run wrapped')[1].splitlines()[0] for name in FUNCTIONS),
                      'loom check says the four functions run wrapped', r.stdout)

                prog = Program([os.path.join(out, 'wrap')], live_env(RACE_WINDOW_US='500', WRAP_FIDS=fids), stdin=True)
                check.require(prog.wait_for_socket(10), 'the update channel comes up', prog.stderr())
                check.require(prog.wait_for_bug(0, 5.0), 'without a filter the operations race (BUG)', prog.stderr())
                check(modes(prog) == 'modes 0 0 0 0', 'every function runs its fast path', prog.output()[-3:])

                first, pushed = push(check, args, work, prog.pid, 'whole', SPEC)
                check(modes(prog) == 'modes 2 2 2 2', f'after "{SPEC.strip()}" the four functions run wrapped',
                      prog.output()[-3:])
                before = hits(args.loom, prog.pid)
                time.sleep(3)
                late = prog.bugs_after(pushed)
                check(not late, 'no BUG line in 3 s after the push returned', '\n'.join(late[:3]))
                after = hits(args.loom, prog.pid)
                check(prog.alive() and after > before + 10,
                      f'the wrapped functions keep taking the lock (hits {before} -> {after})', prog.stderr())

                settle_spec = f'wrap.c:{line_of("SETTLE")} <> self\n'
                for cycle in range(6):
                    second, pushed = push(check, args, work, prog.pid, 'statement', settle_spec)
                    check(modes(prog) == 'modes 2 2 2 1',
                          f'{cycle + 1}: a filter with an op inside settle sends it to its slow copy, the others stay '
                          'wrapped', prog.output()[-3:])
                    time.sleep(0.5)
                    late = prog.bugs_after(pushed)
                    check(not late, f'{cycle + 1}: still no BUG line with both filters', '\n'.join(late[:3]))
                    pop(check, args, prog.pid, second)
                    check(modes(prog) == 'modes 2 2 2 2', f'{cycle + 1}: popping it makes settle wrapped again',
                          prog.output()[-3:])

                popped = pop(check, args, prog.pid, first)
                check(modes(prog) == 'modes 0 0 0 0', 'after the last pop every function runs fast',
                      prog.output()[-3:])
                check(prog.wait_for_bug(popped, 5.0) and prog.alive(), 'and the races are back', prog.stderr())
                err = prog.stop()
                check('loom' not in (err or ''), 'the runtime wrote nothing to stderr', err)
                prog = None
        finally:
            if prog:
                prog.stop()
    check.finish()


if __name__ == '__main__':
    main()
