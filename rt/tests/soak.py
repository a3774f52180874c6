#!/usr/bin/env python3
"""Soak: many push/pop cycles of every constraint kind into a busy process.

The program runs 32 worker threads that keep calling instrumented functions
(each bumps its own counter, and a shared one under the program's mutex), a
consumer thread that waits for the workers' ticks, and an auditor thread
that sums the counters; its main thread answers `p` on stdin with the work
done so far.  Then, for every constraint kind in turn (function <> self, a
line range, an event region, an order, a unilateral region, and all five at
once), the test pushes and pops the filter CYCLES times, each time with no
pause or a short one in between, and checks:

  - every push and pop succeeds (exit 0; each may take up to 10 s on a
    loaded machine) and no cycle takes 15 s;
  - the process stays alive and keeps working after each kind: the work
    done, the consumer's and the auditor's rounds grow, and so does every
    one of the 32 workers' own count (no thread stuck);
  - its open descriptors are the same after the cycles as before them, and
    its resident memory has not grown by more than 4 MiB after a first
    warm-up round.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (build_program, Checks, Failure, live_env, Program, reported, run, scratch, wait_for,  # noqa: E402
                      write_file)

NTHREADS = 32
PROGRAM = r'''#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NTHREADS @NTHREADS@

static long done[NTHREADS];
static long shared;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static long ticks, tocks, audits;

static void pause_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

void account(int i);
void account(int i)
{
	done[i]++;
	pthread_mutex_lock(&shared_lock);
	shared++;
	pthread_mutex_unlock(&shared_lock);
}

void tick(void);
void tick(void)
{
	__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED); /* TICK */
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;

	for (;;) {
		long k = done[i] % 7;                     /* RANGE_START */
		k = k * k + 1;
		if (k > 100)
			k = 0;                                /* RANGE_END */
		account(i);                               /* ACCOUNT */
		tick();
		if (done[i] % 64 == 0)
			pause_us(50);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		__atomic_add_fetch(&tocks, 1, __ATOMIC_RELAXED); /* TOCK */
		pause_us(200);
	}
	return NULL;
}

long audit(void);
long audit(void)
{
	long s = 0;

	for (int i = 0; i < NTHREADS; i++)
		s += done[i];
	audits++;
	return s;
}

static void *auditor(void *arg)
{
	(void)arg;
	for (;;) {
		audit();
		pause_us(1000);
	}
	return NULL;
}

int main(void)
{
	char line[64];
	pthread_t t;

	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t, NULL, worker, (void *)i);
	pthread_create(&t, NULL, consumer, NULL);
	pthread_create(&t, NULL, auditor, NULL);
	while (fgets(line, sizeof line, stdin)) {
		long sum = 0;

		(void)line;
		for (int i = 0; i < NTHREADS; i++)
			sum += __atomic_load_n(&done[i], __ATOMIC_RELAXED);
		printf("work %ld tocks %ld audits %ld done", sum, __atomic_load_n(&tocks, __ATOMIC_RELAXED), audits);
		for (int i = 0; i < NTHREADS; i++)
			printf(" %ld", __atomic_load_n(&done[i], __ATOMIC_RELAXED));
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
'''.replace('@NTHREADS@', str(NTHREADS))
MAKEFILE = '''CC ?= gcc
soak: soak.c
\t$(CC) $(CFLAGS) -o $@ soak.c -pthread
'''


def line_of(marker):
    for i, line in enumerate(PROGRAM.splitlines(), 1):
        if f'/* {marker} */' in line:
            return i
    raise Failure(f'no {marker} line in the program')


def status(prog):
    """(work, tocks, audits, [work of each worker]) from the program."""
    cells = prog.ask('p').split()
    return int(cells[1]), int(cells[3]), int(cells[5]), [int(c) for c in cells[7:]]


def nfds(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    ap.add_argument('--cycles', type=int, default=100, help='push/pop cycles per kind (default 100)')
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-soak-') as work:
        prog = None
        try:
            with reported(check):
                out = build_program(check, args.rewrite, work, {'soak.c': PROGRAM, 'Makefile': MAKEFILE})
                kinds = {
                    'function': 'account <> self',
                    'lines': f'soak.c:{line_of("RANGE_START")}-{line_of("RANGE_END")} <> self',
                    'events': f'{{soak.c:{line_of("RANGE_START")}, soak.c:{line_of("ACCOUNT")}}} <> account',
                    'order': f'soak.c:{line_of("TICK")} > soak.c:{line_of("TOCK")}',
                    'unilateral': 'audit <> *',
                }
                kinds['all five'] = '\n'.join(kinds.values())
                specs = {}
                for name, text in kinds.items():
                    specs[name] = os.path.join(work, name.replace(' ', '-') + '.loom')
                    write_file(specs[name], text + '\n')
                    r = run([args.loom, 'check', '--manifest', out, specs[name]])
                    check.require(r.status == 0, f'{name}: loom check "{text}"', r.stderr)

                env = live_env()
                prog = Program([os.path.join(out, 'soak')], env, stdin=True)
                check.require(prog.wait_for_socket(10), 'the update channel comes up', prog.stderr())
                fds0, rss0 = nfds(prog.pid), None
                started = time.monotonic()
                total = slowest = 0
                for rnd, (name, spec) in enumerate(specs.items()):
                    before = status(prog)
                    failures = []
                    for i in range(args.cycles):
                        t0 = time.monotonic()
                        r = run([args.loom, 'push', '--timeout', '10000', str(prog.pid), spec], timeout=30)
                        if r.status != 0:
                            failures.append(f'push {i}: status {r.status}: {r.stderr}')
                            break
                        if i % 3 == 1:
                            time.sleep(0.005)
                        r2 = run([args.loom, 'pop', '--timeout', '10000', str(prog.pid), r.stdout.strip()], timeout=30)
                        if r2.status != 0:
                            failures.append(f'pop {i}: status {r2.status}: {r2.stderr}')
                            break
                        slowest = max(slowest, time.monotonic() - t0)
                        total += 1
                    check(not failures, f'{name}: {args.cycles} push/pop cycles of "{kinds[name]}"',
                          '\n'.join(failures))
                    after = status(prog)
                    check(prog.alive() and after[0] > before[0] and after[1] > before[1] and after[2] > before[2],
                          f'{name}: the program kept working (work {before[0]} -> {after[0]}, tocks {before[1]} -> '
                          f'{after[1]}, audits {before[2]} -> {after[2]})', prog.stderr())
                    stuck = [i for i, (a, b) in enumerate(zip(before[3], after[3])) if b <= a]
                    check(len(after[3]) == NTHREADS and not stuck,
                          f'{name}: each of the {NTHREADS} workers made progress', f'stuck: {stuck}')
                    if rnd == 0:
                        rss0 = rss_kib(prog.pid)
                # The runtime answers before it closes the connection and frees
                # what the last update left: give it a moment.
                wait_for(lambda: nfds(prog.pid) == fds0, 5)
                fds1, rss1 = nfds(prog.pid), rss_kib(prog.pid)
                check(fds1 == fds0, f'no descriptor leaked ({fds0} before, {fds1} after {total} cycles)')
                check(rss1 - rss0 <= 4096, f'resident memory did not grow (after the first kind {rss0} KiB, at the end '
                      f'{rss1} KiB)')
                check(slowest < 15, f'no push and pop took 15 s or more together (slowest {slowest:.2f} s; '
                      f'{total} cycles in {time.monotonic() - started:.1f} s)')
        finally:
            if prog:
                prog.proc.stdin.close()
                err = prog.stop()
                check('loom' not in err, 'the runtime wrote nothing to stderr', err)
    check.finish()


if __name__ == '__main__':
    main()
