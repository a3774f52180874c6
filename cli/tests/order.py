#!/usr/bin/env python3
"""Execution order (`a > b`) in a live process.

The program: a producer fills the slots of a queue one by one, taking
RACE_WINDOW_US for each (`slot->value = ...`, then `slot->ready = 1`); a
consumer takes them in order and reads each slot without waiting for it to
be ready (the order violation): it prints `BUG` when it read a slot too
early, then waits for the slot and reads it again.  The filter

    order.c:FILLED > order.c:TAKE

makes every read of a slot wait for a slot to be filled since the filter came
(a count: each read consumes one fill), so no read is too early any more.
The test checks: the bug shows without the filter; after `loom push` returns
there is no BUG line for 3 s while the consumer keeps taking slots (the
semaphore's count goes up); `loom ls` shows the waits; after `loom pop` the
bug is back and the program still runs (a consumer that waited at the
removed filter's semaphore goes on).  Then `a{2} > b`: each read waits for
two fills, so the consumer falls behind the producer, never ahead.  And
`loom check` warns about `fill:exit > fill:entry` (a thread would wait for
itself), not about the filter pushed here.

A read that waited for a fill made before the push would wait for the next
one: the program is written the way such programs must be for an order
filter to come in live, with the producer never waiting for the consumer.
"""
import argparse
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (build_program, Checks, Failure, live_env, loom_rows, Program, reported, run,  # noqa: E402
                      scratch, write_file)

PROGRAM = r'''#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NSLOTS 65536

struct slot {
	long value;
	int ready;
};

static struct slot slots[NSLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t filled = PTHREAD_COND_INITIALIZER;
static long window_us;
static volatile long taken;

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

static void fill(struct slot *s, long v)
{
	pause_us(window_us); /* computing the value */
	pthread_mutex_lock(&lock);
	s->value = v;
	s->ready = 1; /* FILLED */
	pthread_cond_broadcast(&filled);
	pthread_mutex_unlock(&lock);
}

static void *producer(void *arg)
{
	(void)arg;
	for (long k = 0; k < NSLOTS; k++) {
		fill(&slots[k], k * 3);
	}
	return NULL;
}

static long take(long k)
{
	struct slot *s = &slots[k];
	long v;

again:
	v = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) ? s->value : -1; /* TAKE */
	if (v < 0) {
		printf("BUG %.6f slot %ld read before it was filled\n", now(), k);
		fflush(stdout);
		pthread_mutex_lock(&lock);
		while (!s->ready)
			pthread_cond_wait(&filled, &lock);
		pthread_mutex_unlock(&lock);
		goto again;
	}
	return v;
}

int main(void)
{
	pthread_t t;
	const char *w = getenv("RACE_WINDOW_US");

	window_us = w ? atol(w) : 0;
	pthread_create(&t, NULL, producer, NULL);
	for (long k = 0; k < NSLOTS; k++) {
		if (take(k) != k * 3) {
			printf("BUG %.6f slot %ld has a wrong value\n", now(), k);
			fflush(stdout);
		}
		taken = k + 1;
	}
	pthread_join(t, NULL);
	return 0;
}
'''
MAKEFILE = '''CC ?= gcc
order: order.c
\t$(CC) $(CFLAGS) -o $@ order.c -pthread
'''


def line_of(marker):
    for i, line in enumerate(PROGRAM.splitlines(), 1):
        if f'/* {marker} */' in line:
            return i
    raise Failure(f'no {marker} line in the program')


def filter_row(loom, pid):
    """The first row of `loom ls`: (hits, waits), or None."""
    rows, _ = loom_rows(loom, pid)
    if not rows:
        return None
    cells = rows[0].split()
    return int(cells[1]), int(cells[2])


def one_filter(check, args, work, prog, spec_text, name, keep_up):
    spec = os.path.join(work, name + '.loom')
    write_file(spec, spec_text)
    r = run([args.loom, 'push', str(prog.pid), spec])
    pushed = time.monotonic()
    check.require(r.status == 0, f'{name}: push "{spec_text.strip()}"', r.stderr)
    filter_id = r.stdout.strip()
    row0 = filter_row(args.loom, prog.pid)
    time.sleep(3)
    row1 = filter_row(args.loom, prog.pid)
    late = prog.bugs_after(pushed)
    check(not late, f'{name}: no BUG line in 3 s after the push returned', '\n'.join(late[:3]))
    check(prog.alive() and row0 and row1 and row1[0] > row0[0] + 10,
          f'{name}: the consumer keeps taking slots under the filter (reads that passed: '
          f'{row0 and row0[0]} -> {row1 and row1[0]})', prog.stderr())
    if keep_up:
        check(row1 and row1[1] > 0, f'{name}: reads waited for fills (waits: {row1 and row1[1]})')
    r = run([args.loom, 'pop', str(prog.pid), filter_id])
    popped = time.monotonic()
    check.require(r.status == 0, f'{name}: pop', r.stderr)
    return popped


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-order-') as work:
        prog = None
        try:
            with reported(check):
                out = build_program(check, args.rewrite, work, {'order.c': PROGRAM, 'Makefile': MAKEFILE})
                fill_line, take = line_of('FILLED'), line_of('TAKE')
                spec = os.path.join(work, 'backwards.loom')
                write_file(spec, 'fill:exit > fill:entry\n')
                r = run([args.loom, 'check', '--manifest', out, spec])
                check(r.status == 0 and "backwards.loom:1:13: warning: in 'fill' the second event" in r.stdout
                      and 'waits for itself' in r.stdout,
                      'loom check warns about an order whose second event always runs first in its function', r.stdout)
                write_file(spec, f'order.c:{fill_line} > order.c:{take}\n')
                r = run([args.loom, 'check', '--manifest', out, spec])
                check(r.status == 0 and 'warning' not in r.stdout, 'and not about the order this test pushes', r.stdout)
                env = live_env(RACE_WINDOW_US='2000')
                prog = Program([os.path.join(out, 'order')], env)
                check.require(prog.wait_for_socket(10), 'the update channel comes up', prog.stderr())
                check.require(prog.wait_for_bug(0, 2.0), 'without a filter the consumer reads slots too early (BUG)',
                              prog.stderr())

                popped = one_filter(check, args, work, prog, f'order.c:{fill_line} > order.c:{take}\n', 'a > b', True)
                again = prog.wait_for_bug(popped, 3.0)
                check(again and prog.alive(), 'after pop the bug is back and the program runs on', prog.stderr())

                one_filter(check, args, work, prog, f'order.c:{fill_line}{{2}} > order.c:{take}\n', 'a{2} > b', True)
                check(prog.alive(), 'the program still runs after the second pop', prog.stderr())
                err = prog.stop()
                check(not re.search(r'loom', err or ''), 'the runtime wrote nothing to stderr', err)
                prog = None
        finally:
            if prog:
                prog.stop()
    check.finish()


if __name__ == '__main__':
    main()
