#!/usr/bin/env python3
"""Which pause points of a fast frame are safe, offline (`loom check`).

`step <> self` makes step run slow; step is static and has no entry switch,
so its callers run slow too, and a thread paused in one of their fast
frames is in danger if that frame would go on to call step's fast body
after the install.  Where a blocking call sits decides (pause.c):

- serve: blocked in its request loop's condition.  The loop has a twin, and
  the next iteration checks first: safe (a server waiting for its next
  request must not make every push time out).
- tail: the blocking call ends the loop body; the condition and the check
  come next: safe.
- head: the blocking call starts the loop body, before the call of step in
  the same iteration: unsafe.
- before_do: the blocking call comes just before a do loop, whose first pass
  is not checked: unsafe.
- after: the blocking call follows the loop, whose twin holds the call of
  step; nothing after it calls step: safe.
- in_condition, in_increment: step is called in the loop's condition or
  increment, which run before the body's check on every pass: unsafe.
- do_again: the blocking call is a do loop's condition, but an enclosing
  loop without twin comes back to the do loop's unchecked first pass:
  unsafe.

The same again with step external and small: it has a fast entry
(step__fast, which the callers' fast bodies call), and its callers switch
for it just the same.

Then a function that takes another's address (`pthread_once(&once,
setup)`, taken.c): the manifest names setup at that call, and
`init_once <> self` reaches setup only, so the blocking read in an
unrelated callback whose address is taken elsewhere (a thread's start
function) stays safe.  An indirect call through a pointer still reaches
every address-taken function.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, Failure, run, write_file  # noqa: E402

PROGRAM = r'''#include <stdio.h>
#include <unistd.h>

static int step(int x)
{
	return x * 3 + 1;
}

int serve(int fd)
{
	char buf[64];
	int s = 0;

	while (read(fd, buf, sizeof buf) > 0) { /* SERVE */
		s += step(buf[0]);
		printf("%d\n", s);
	}
	return s;
}

int tail(int fd)
{
	char buf[64] = { 0 };
	int s = 0;

	while (s < 100) {
		s += step(buf[0]);
		printf("%d\n", s);
		s += (int)read(fd, buf, sizeof buf); /* TAIL */
	}
	return s;
}

int head(int fd)
{
	char buf[64] = { 0 };
	int s = 0;

	while (s < 100) {
		s += (int)read(fd, buf, sizeof buf); /* HEAD */
		s += step(buf[0]);
		printf("%d\n", s);
	}
	return s;
}

int before_do(int fd)
{
	char buf[64] = { 0 };
	int s = 0;

	s += (int)read(fd, buf, sizeof buf); do { /* BEFORE_DO */
		s += step(buf[0]);
		printf("%d\n", s);
	} while (s < 100);
	return s;
}

int after(int fd)
{
	char buf[64] = { 0 };
	int s = 0;

	while (s < 100) {
		s += step(buf[0]);
		printf("%d\n", s);
	}
	s += (int)read(fd, buf, sizeof buf); /* AFTER */
	return s;
}

int in_condition(int fd)
{
	char buf[64];
	int s = 0;

	while (step(s) < 1000000) {
		printf("%d\n", s);
		s += (int)read(fd, buf, sizeof buf); /* IN_CONDITION */
	}
	return s;
}

int in_increment(int fd)
{
	char buf[64];
	int i;

	for (i = 0; i < 100; i = step(i))
	{
		printf("%d\n", i);
		i += (int)read(fd, buf, sizeof buf); /* IN_INCREMENT */
	}
	return i;
}

int do_again(int fd)
{
	char buf[64];
	int s = 0;

	for (int k = 0; k < 3; k++) {
		do {
			s = step(s);
			printf("%d\n", s);
		} while (read(fd, buf, sizeof buf) > 0); /* DO_AGAIN */
	}
	return s;
}

int main(void)
{
	return serve(0) + tail(0) + head(0) + before_do(0) + after(0) + in_condition(0) + in_increment(0)
	       + do_again(0);
}
'''
TAKEN = r'''#include <pthread.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;

static void setup(void)
{
	ready = 1;
}

int init_once(void)
{
	pthread_once(&once, setup);
	return ready;
}

int call_through(void (*f)(void))
{
	f();
	return ready;
}

static void *waiter(void *arg)
{
	char c;

	while (read(0, &c, 1) > 0) /* WAITER */
		;
	return arg;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, waiter, NULL);
	call_through(setup);
	return init_once();
}
'''
CASES = {'SERVE': True, 'TAIL': True, 'HEAD': False, 'BEFORE_DO': False, 'AFTER': True,
         'IN_CONDITION': False, 'IN_INCREMENT': False, 'DO_AGAIN': False}


def taken(check, args, work):
    src, out = os.path.join(work, 'taken', 'src'), os.path.join(work, 'taken', 'out')
    write_file(os.path.join(src, 'taken.c'), TAKEN)
    r = run([args.rewrite, '--quiet', src, out])
    check.require(r.status == 0, 'loom-rewrite instruments taken.c', r.stderr)
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        fns = {fn['name']: fn for fn in json.load(f)['functions']}
    check([c for c in fns['init_once']['calls'] if c['callee'] is None and c.get('taken') == 'setup'],
          'the manifest names setup where init_once takes its address', fns['init_once']['calls'])
    line = next(i for i, text in enumerate(TAKEN.split('\n'), 1) if '/* WAITER */' in text)
    for fn, safe in (('init_once', True), ('call_through', False)):
        spec = os.path.join(work, 'taken.loom')
        write_file(spec, f'{fn} <> self\n')
        r = run([args.loom, 'check', '--manifest', out, spec])
        check.require(r.status == 0, f'loom check accepts "{fn} <> self"', r.stderr)
        unsafe = set(int(n) for n in re.findall(r'taken\.c:(\d+) \(blocking call read', r.stdout))
        check((line not in unsafe) == safe,
              f'{fn} <> self: the read in the thread\'s start function is ' + ('safe: ' if safe else 'unsafe: ')
              + ('init_once passes setup\'s address only' if safe else 'call_through calls through a pointer'),
              r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    work = tempfile.mkdtemp(prefix='loom-pause-')
    try:
        # The external step keeps the lines: its prototype shares the line.
        external = PROGRAM.replace('static int step(int x)', 'int step(int x); int step(int x)')
        for kind, program in (('static', PROGRAM), ('fast entry', external)):
            src, out = os.path.join(work, kind, 'src'), os.path.join(work, kind, 'out')
            write_file(os.path.join(src, 'pause.c'), program)
            r = run([args.rewrite, '--quiet', src, out])
            check.require(r.status == 0, f'{kind}: loom-rewrite instruments pause.c', r.stderr)
            with open(os.path.join(out, 'loom-manifest.json')) as f:
                step = next(fn for fn in json.load(f)['functions'] if fn['name'] == 'step')
            check((step['entry_switch'], step['fast_entry']) == ((False, False) if kind == 'static' else (True, True)),
                  f'{kind}: step has ' + ('no entry switch' if kind == 'static' else 'a fast entry'), step)
            spec = os.path.join(work, 'step.loom')
            write_file(spec, 'step <> self\n')
            r = run([args.loom, 'check', '--manifest', out, spec])
            check.require(r.status == 0, f'{kind}: loom check accepts "step <> self"', r.stderr)
            # An external step with a switch of its own runs wrapped.
            listed = set()
            for what in ('run their slow copy', 'run wrapped'):
                m = re.search(f'functions that {what}[^:]*: (.*)', r.stdout)
                listed |= set(m.group(1).split(', ')) if m else set()
            check(listed == {'step', 'serve', 'tail', 'head', 'before_do', 'after', 'in_condition', 'in_increment',
                             'do_again'},
                  f'{kind}: step and its callers, which switch for it, run slow (or step wrapped)', r.stdout)
            unsafe = set(int(n) for n in re.findall(r'pause\.c:(\d+) \(blocking call read', r.stdout))
            lines = program.split('\n')
            for marker, safe in CASES.items():
                line = next(i for i, text in enumerate(lines, 1) if f'/* {marker} */' in text)
                check((line not in unsafe) == safe,
                      f'{kind}, {marker.lower()}: the blocking call at line {line} is {"safe" if safe else "unsafe"}',
                      r.stdout)
        taken(check, args, work)
    except Failure as e:
        if not e.counted:
            check(False, str(e))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check.finish()


if __name__ == '__main__':
    main()
