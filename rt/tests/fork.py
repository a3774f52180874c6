#!/usr/bin/env python3
"""A process that forks: the child has its own channel, and the filters
installed before the fork stay in force in both.

The program: two racer threads call critical(), which reports `BUG ... pid
P` when both are inside at once (RACE_WINDOW_US widens it).  On `f` from
stdin the main thread forks; the child starts two racers of its own (threads
do not survive fork) and idles; the parent answers `forked CHILD`.

1. The race shows; `critical <> self` is pushed into the parent; it is gone.
2. Fork: the child's update channel comes up (its own socket), `loom ls
   CHILD` lists the filter it inherited, and neither process prints a BUG
   line for 3 s: the filter holds in both.
3. `loom pop CHILD ID` brings the race back in the child only; the parent
   stays clean until its own filter is popped.
"""
import argparse
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (build_program, Checks, live_env, loom_rows, Program, reported, run, scratch,  # noqa: E402
                      socket_path, wait_for, write_file)

PROGRAM = r'''#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long window_us;
static int inside;

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

void critical(void);
void critical(void)
{
	if (__atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST) > 1) {
		printf("BUG %.6f pid %d: two threads inside critical()\n", now(), (int)getpid());
		fflush(stdout);
	}
	pause_us(window_us);
	__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
}

static void *racer(void *arg)
{
	(void)arg;
	for (;;) {
		critical();
		pause_us(50);
	}
	return NULL;
}

static void start_racers(void)
{
	pthread_t t;

	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, racer, NULL);
}

int main(void)
{
	char line[64];
	const char *w = getenv("RACE_WINDOW_US");

	window_us = w ? atol(w) : 0;
	start_racers();
	while (fgets(line, sizeof line, stdin)) {
		pid_t child = fork();

		if (child == 0) {
			/* Threads do not survive fork: the child's own racers. */
			inside = 0;
			start_racers();
			for (;;)
				pause_us(100000);
		}
		printf("forked %d\n", (int)child);
		fflush(stdout);
	}
	return 0;
}
'''
MAKEFILE = '''CC ?= gcc
fork: fork.c
\t$(CC) $(CFLAGS) -o $@ fork.c -pthread
'''


def listed(loom, pid):
    rows, text = loom_rows(loom, pid)
    return rows or [], text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-fork-') as work:
        prog = None
        child = None
        try:
            with reported(check):
                out = build_program(check, args.rewrite, work, {'fork.c': PROGRAM, 'Makefile': MAKEFILE})
                env = live_env(RACE_WINDOW_US='2000')
                prog = Program([os.path.join(out, 'fork')], env, stdin=True)
                parent = prog.pid
                check.require(prog.wait_for_socket(10), 'the parent\'s update channel comes up', prog.stderr())
                check.require(prog.wait_for_bug(0, 3.0, f'pid {parent}'), 'the race shows in the parent')
                spec = os.path.join(work, 'critical.loom')
                write_file(spec, 'critical <> self\n')
                r = run([args.loom, 'push', str(parent), spec])
                check.require(r.status == 0, 'push "critical <> self" into the parent', r.stderr)
                parent_filter = r.stdout.strip()
                pushed = time.monotonic()

                answer = prog.ask('f')
                check.require(answer.startswith('forked '), 'the parent forks', answer)
                child = int(answer.split()[1])
                forked = time.monotonic()
                sock = socket_path(child, env)
                check(wait_for(lambda: os.path.exists(sock), 10), f'the child has its own update channel ({sock})')
                rows, text = listed(args.loom, child)
                check(len(rows) == 1 and rows[0].split()[0] == parent_filter and rows[0].endswith('critical <> self'),
                      'loom ls CHILD lists the filter installed before the fork', text)
                time.sleep(3)
                check(not prog.bugs_after(forked, f'pid {child}'),
                      'no BUG line from the child for 3 s: the filter holds there',
                      '\n'.join(prog.bugs_after(forked, f'pid {child}')[:3]))
                check(not prog.bugs_after(pushed, f'pid {parent}'), 'and none from the parent')
                rows, _ = listed(args.loom, child)
                hits = int(rows[0].split()[1]) if rows else 0
                check(hits > 10, f'the child\'s racers take the inherited filter\'s lock ({hits} times)')

                r = run([args.loom, 'pop', str(child), parent_filter])
                popped = time.monotonic()
                check.require(r.status == 0, 'pop the filter in the child', r.stderr)
                check(prog.wait_for_bug(popped, 3.0, f'pid {child}'), 'the race is back in the child')
                check(not prog.bugs_after(pushed, f'pid {parent}'), 'the parent keeps its filter (no BUG line there)')
                rows, text = listed(args.loom, parent)
                check(len(rows) == 1, 'loom ls PARENT still lists it', text)
                r = run([args.loom, 'pop', str(parent), parent_filter])
                popped = time.monotonic()
                check.require(r.status == 0, 'pop it in the parent', r.stderr)
                check(prog.wait_for_bug(popped, 3.0, f'pid {parent}'), 'the race is back in the parent')
        finally:
            if child:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if prog:
                prog.proc.stdin.close()
                err = prog.stop()
                check('loom' not in err, 'the runtime wrote nothing to stderr', err)
    check.finish()


if __name__ == '__main__':
    main()
