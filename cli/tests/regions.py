#!/usr/bin/env python3
"""Unilateral exclusion (`R <> *`) and event regions (`{A, B} <> self`) live.

One program, two races, each with its BUG line:

- `audit`: the main thread sums the workers' counters twice, RACE_WINDOW_US
  apart, and reports `BUG ... audit` when they moved in between (the workers
  ran while it looked).  `audit <> *` pauses every other thread at its next
  hook while main is inside audit, so the sums agree.
- `deposit`: two depositor threads read the balance (line A), take
  RACE_WINDOW_US, and write it back; one inside the read-modify-write while
  the other is reports `BUG ... deposit`.  `{regions.c:A, regions.c:B} <> self`
  makes A..B (B excluded) a critical section.

For each filter: the bug shows without it; after `loom push` returns there
is no BUG line of that kind for 3 s while the program goes on (the lock is
taken); after `loom pop` the bug is back.  `loom check` warns about nothing
for these filters (no wait for another thread inside them).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (build_program, Checks, Failure, live_env, loom_ls, Program, reported, run, scratch,  # noqa: E402
                      write_file)

PROGRAM = r'''#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NWORKERS 2

static volatile long counters[NWORKERS];
static long window_us;
static volatile long balance;
static int inside; /* depositors between A and B */

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

/* Not static: a loop that calls only small static helpers gets no back-edge
 * check (docs/design.md), and a thread that never leaves it never meets a
 * pause point. */
void step(int i);
void step(int i)
{
	counters[i]++;
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;

	for (;;)
		step(i);
	return NULL;
}

static long sum(void)
{
	long s = 0;

	for (int i = 0; i < NWORKERS; i++)
		s += counters[i];
	return s;
}

static void audit(void)
{
	long before = sum();

	pause_us(window_us);
	if (sum() != before) {
		printf("BUG %.6f audit: the counters moved while main looked\n", now());
		fflush(stdout);
	}
}

static void deposit(void)
{
	long v = balance; /* A */

	if (__atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST) > 1) {
		printf("BUG %.6f deposit: two read-modify-writes of the balance at once\n", now());
		fflush(stdout);
	}
	pause_us(window_us);
	balance = v + 1;
	__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
	pause_us(100); /* B */
}

static void *depositor(void *arg)
{
	(void)arg;
	for (;;) {
		deposit();
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	const char *w = getenv("RACE_WINDOW_US");

	window_us = w ? atol(w) : 0;
	for (long i = 0; i < NWORKERS; i++)
		pthread_create(&t, NULL, worker, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, depositor, NULL);
	for (;;) {
		audit();
		pause_us(1000);
	}
	return 0;
}
'''
MAKEFILE = '''CC ?= gcc
regions: regions.c
\t$(CC) $(CFLAGS) -o $@ regions.c -pthread
'''


def line_of(marker):
    for i, line in enumerate(PROGRAM.splitlines(), 1):
        if f'/* {marker} */' in line:
            return i
    raise Failure(f'no {marker} line in the program')


def live(check, args, work, prog, spec_text, kind):
    """Push SPEC_TEXT, watch the KIND bug stay away, pop it, see it back."""
    spec = os.path.join(work, kind + '.loom')
    write_file(spec, spec_text)
    r = run([args.loom, 'check', '--manifest', os.path.join(work, 'out'), spec])
    check(r.status == 0 and 'warning' not in r.stdout, f'{kind}: loom check "{spec_text.strip()}" warns of nothing',
          r.stdout + r.stderr)
    check.require(prog.wait_for_bug(time.monotonic(), 3.0, kind), f'{kind}: the bug shows without the filter')
    r = run([args.loom, 'push', str(prog.pid), spec])
    pushed = time.monotonic()
    check.require(r.status == 0, f'{kind}: push "{spec_text.strip()}"', r.stderr)
    filter_id = r.stdout.strip()
    hits0 = loom_ls(args.loom, prog.pid)[0]
    time.sleep(3)
    hits1 = loom_ls(args.loom, prog.pid)[0]
    late = prog.bugs_after(pushed, kind)
    check(not late, f'{kind}: no BUG line in 3 s after the push returned', '\n'.join(late[:3]))
    check(prog.alive() and hits1 > hits0 + 10, f'{kind}: the program goes on under the filter (lock taken '
          f'{hits0} -> {hits1} times)', prog.stderr())
    r = run([args.loom, 'pop', str(prog.pid), filter_id])
    popped = time.monotonic()
    check.require(r.status == 0, f'{kind}: pop', r.stderr)
    check(prog.wait_for_bug(popped, 3.0, kind), f'{kind}: after pop the bug is back')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-regions-') as work:
        prog = None
        try:
            with reported(check):
                out = build_program(check, args.rewrite, work, {'regions.c': PROGRAM, 'Makefile': MAKEFILE})
                env = live_env(RACE_WINDOW_US='2000')
                prog = Program([os.path.join(out, 'regions')], env)
                check.require(prog.wait_for_socket(10), 'the update channel comes up', prog.stderr())
                live(check, args, work, prog, 'audit <> *\n', 'audit')
                live(check, args, work, prog, f'{{regions.c:{line_of("A")}, regions.c:{line_of("B")}}} <> self\n',
                     'deposit')
                check(prog.alive(), 'the program still runs', prog.stderr())
        finally:
            if prog:
                err = prog.stop()
                check('loom' not in err, 'the runtime wrote nothing to stderr', err)
    check.finish()


if __name__ == '__main__':
    main()
