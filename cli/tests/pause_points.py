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
- forever: the blocking call ends a `for (;;)` body; only the check comes
  next: safe.
- call_tail, call_head: the same with the blocking call inside a function
  the loop calls (wait_tail, wait_head): at the end of the body, safe; at
  its start, before the call of step in the same pass, unsafe (a thread
  inside a call returns into the fast frame).

The same again with step external and small: it has a fast entry
(step__fast, which the callers' fast bodies call), and its callers switch
for it just the same.

Then functions that take another's address (taken.c): passed to a system
function that may call it then (`pthread_once(&once, setup)`, or `qsort`
from a macro that writes the call too), it counts as a call there, of that
function only; passed to a function of the tree,
stored, or passed to one that runs it later (`atexit`, `pthread_create`),
it does not: a call through a pointer of its type reaches it.

Last, calls through pointers go by type (typed.c): a call reaches the
functions whose address is taken as its type, or as a type that the program
converts into it (a cast, void *, a variadic argument read back by va_arg,
a union), and every function named in a way that gives no type (a cleanup
attribute).  A null pointer constant converts nothing.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, reported, run, scratch, write_file  # noqa: E402

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

static void wait_tail(int fd)
{
	char buf[64];

	(void)!read(fd, buf, sizeof buf); /* WAIT_TAIL */
}

static void wait_head(int fd)
{
	char buf[64];

	(void)!read(fd, buf, sizeof buf); /* WAIT_HEAD */
}

int forever(int fd)
{
	char buf[64];
	int s = 0;

	for (;;) {
		s = step(s);
		printf("%d\n", s);
		(void)!read(fd, buf, sizeof buf); /* FOREVER */
	}
	return s;
}

int call_tail(int fd)
{
	int s = 0;

	for (;;) {
		s = step(s);
		printf("%d\n", s);
		wait_tail(fd);
	}
	return s;
}

int call_head(int fd)
{
	int s = 0;

	for (;;) {
		wait_head(fd);
		s = step(s);
		printf("%d\n", s);
	}
	return s;
}

int main(void)
{
	return serve(0) + tail(0) + head(0) + before_do(0) + after(0) + in_condition(0) + in_increment(0)
	       + do_again(0) + forever(0) + call_tail(0) + call_head(0);
}
'''
TAKEN = r'''#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;
static char c;
static void *(*saved)(void *);

static void setup(void)
{
	ready = 1;
}

static void bye(void)
{
	while (read(2, &c, 1) > 0) /* BYE */
		;
}

int init_once(void)
{
	pthread_once(&once, setup);
	return ready;
}

int call_through(void *(*f)(void *))
{
	f(NULL);
	return ready;
}

static int remember(void *(*f)(void *))
{
	saved = f;
	return 0;
}

static void *waiter(void *arg)
{
	while (read(0, &c, 1) > 0) /* WAITER */
		;
	return arg;
}

int hand_over(void)
{
	return call_through(waiter);
}

int keep_only(void)
{
	return remember(waiter);
}

int store(void)
{
	saved = waiter;
	return 0;
}

int at_exit(void)
{
	return atexit(bye);
}

static int by_read(const void *a, const void *b)
{
	while (read(3, &c, 1) > 0) /* BY_READ */
		;
	return *(const int *)a - *(const int *)b;
}

#define SORT_WITH(v, f) qsort(v, 2, sizeof *(v), f)

int sort_macro(int *v)
{
	SORT_WITH(v, by_read);
	return v[0];
}

int sort_var(int *v)
{
	int (*f)(const void *, const void *) = by_read;

	qsort(v, 2, sizeof *v, f);
	return v[0];
}

int sized(void)
{
	return (int)sizeof(waiter(NULL));
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, waiter, NULL);
	int v[2] = { 2, 1 };

	return init_once() + hand_over() + keep_only() + store() + at_exit() + sort_macro(v) + sort_var(v) + sized();
}
'''
# Per filter `F <> self`: whether the read in the thread's start function
# (WAITER) and in the exit handler (BYE) are unsafe, and why.
TAKEN_CASES = {
    'init_once': (set(), 'pthread_once runs setup, whose address it gets, and nothing else'),
    'call_through': ({'WAITER'}, 'it calls through a pointer of waiter\'s type'),
    'hand_over': ({'WAITER'}, 'it passes waiter to call_through, which calls it through a pointer'),
    'keep_only': (set(), 'it passes waiter to remember, a function of the tree that only stores it'),
    'store': (set(), 'it stores waiter\'s address and calls nothing'),
    'at_exit': (set(), 'atexit runs bye at exit, not in its caller\'s frame'),
    'sort_macro': ({'BY_READ'}, 'a macro passes by_read to qsort, which calls it'),
    'sort_var': ({'BY_READ'}, 'a pointer of by_read\'s type passed to qsort, which calls it'),
    'sized': (set(), 'the call of waiter is sizeof\'s operand, which is not evaluated'),
}
TYPED = r'''#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

static char c;

/* Started by pthread_create: taken as void *(void *). */
static void *waiter(void *arg)
{
	while (read(0, &c, 1) > 0) /* WAITER */
		;
	return arg;
}

/* Taken as void *(void *), then cast to void (*)(void). */
static void *cast_waiter(void *arg)
{
	while (read(1, &c, 1) > 0) /* CAST_WAITER */
		;
	return arg;
}

/* Taken as int (int), then kept in a void *. */
static int opaque_waiter(int fd)
{
	while (read(fd, &c, 1) > 0) /* OPAQUE_WAITER */
		;
	return fd;
}

/* Passed through "...", read back by va_arg as another type. */
static int variadic_waiter(int fd)
{
	while (read(fd, &c, 1) > 0) /* VARIADIC_WAITER */
		;
	return fd;
}

/* Stored in a union as one type, read as another. */
static void union_waiter(float x)
{
	while (read((int)x, &c, 1) > 0) /* UNION_WAITER */
		;
}

/* Its address is compared with a null pointer of its type only. */
static void never_called(void)
{
	while (read(5, &c, 1) > 0) /* NEVER_CALLED */
		;
}

/* Named by a cleanup attribute: no type to go by. */
static void release(int *fd)
{
	while (read(*fd, &c, 1) > 0) /* RELEASE */
		;
}

/* Kept in an _Atomic void *, without a cast. */
static unsigned char atomic_waiter(unsigned char fd)
{
	while (read(fd, &c, 1) > 0) /* ATOMIC_WAITER */
		;
	return fd;
}

/* In a structure in a union. */
static double nested_waiter(double fd)
{
	while (read((int)fd, &c, 1) > 0) /* NESTED_WAITER */
		;
	return fd;
}

union events {
	struct { int k; double (*on_fd)(double); } fd;
	struct { int k; float (*on_timer)(float); } timer;
} events;
static _Atomic(void *) atomic_slot;
static void (*typeof_hook)(long);
#define CAST_LIKE(var, p) ((__typeof__(var))(p))

void (*void_fn)(void);
void *kept;
void (*from_va)(double);
union pun { void (*as_float)(float); long (*as_char)(char); } pun;

static void keep(int n, ...)
{
	va_list ap;

	va_start(ap, n);
	from_va = va_arg(ap, void (*)(double));
	va_end(ap);
}

int call_void(void (*f)(void))
{
	f();
	return 0;
}

int call_start(void *(*f)(void *))
{
	f(NULL);
	return 0;
}

int call_long(void)
{
	long (*f)(long) = (long (*)(long))kept;

	return (int)f(1);
}

int call_short(short (*f)(short))
{
	return f ? f(1) : 0;
}

int call_double(void)
{
	from_va(1.0);
	return 0;
}

int call_char(void)
{
	return (int)pun.as_char('x');
}

int call_typeof(void)
{
	typeof_hook = CAST_LIKE(typeof_hook, atomic_slot);
	typeof_hook(1);
	return 0;
}

int call_chosen(void)
{
	char (*f)(char) = __builtin_choose_expr(0, 0, kept);

	return f('x');
}

int main(void)
{
	pthread_t t;
	void (*none)(void) = 0;
	int fd __attribute__((cleanup(release))) = 0;

	pthread_create(&t, NULL, waiter, NULL);
	void_fn = (void (*)(void))cast_waiter;
	kept = (void *)opaque_waiter;
	keep(1, variadic_waiter);
	pun.as_float = union_waiter;
	atomic_slot = atomic_waiter;
	events.fd.on_fd = nested_waiter;
	if (none == never_called || (void *)0 == kept)
		return fd;
	return call_void(void_fn) + call_start(waiter) + call_long() + call_short(0) + call_double() + call_char()
	       + call_typeof() + call_chosen();
}
'''
# Per filter `F <> self`: the blocking reads it reaches through its call
# through a pointer, and why.
THROUGH_OPAQUE = {'OPAQUE_WAITER', 'VARIADIC_WAITER', 'UNION_WAITER', 'ATOMIC_WAITER', 'NESTED_WAITER', 'RELEASE'}
TYPED_CASES = {
    'call_void': ({'WAITER', 'CAST_WAITER', 'NEVER_CALLED', 'RELEASE'},
                  'void (void), and void *(void *), which a cast turns into it'),
    'call_start': ({'WAITER', 'CAST_WAITER', 'RELEASE'}, 'void *(void *) only'),
    'call_long': (THROUGH_OPAQUE, 'every type kept in a void * (a cast, "...", a union), which is cast to it'),
    'call_double': (THROUGH_OPAQUE, 'every type kept in a void *, which va_arg reads as it'),
    'call_char': (THROUGH_OPAQUE, 'every type kept in a void *, which a union member reads as it'),
    'call_short': ({'RELEASE'}, 'no function is taken as short (short)'),
    'call_typeof': (THROUGH_OPAQUE, 'every type kept in a void *, which a cast to __typeof__ reads as it'),
    'call_chosen': (THROUGH_OPAQUE, 'every type kept in a void *, which __builtin_choose_expr (no null '
                    'pointer) gives it'),
}
CASES = {'SERVE': True, 'TAIL': True, 'HEAD': False, 'BEFORE_DO': False, 'AFTER': True,
         'IN_CONDITION': False, 'IN_INCREMENT': False, 'DO_AGAIN': False, 'FOREVER': True, 'WAIT_TAIL': True,
         'WAIT_HEAD': False}


def reached_reads(check, args, work, out, file, lines, cases):
    """For each function F of CASES (F: (markers, why)), `loom check` of
    `F <> self` on the tree OUT must find unsafe exactly the blocking reads
    of FILE at the LINES of those markers.  Returns each F with the check's
    result."""
    results = []
    for fn, (reached, why) in cases.items():
        spec = os.path.join(work, 'reached.loom')
        write_file(spec, f'{fn} <> self\n')
        r = run([args.loom, 'check', '--manifest', out, spec])
        check.require(r.status == 0, f'loom check accepts "{fn} <> self"', r.stderr)
        unsafe = set(int(n) for n in re.findall(re.escape(file) + r':(\d+) \(blocking call read', r.stdout))
        got = {marker for marker, line in lines.items() if line in unsafe}
        check(got == reached, f'{fn} <> self reaches the reads of {", ".join(sorted(reached)) or "no callback"}: '
              f'{why}', f'unsafe: {sorted(got)}\n{r.stdout}')
        results.append((fn, r))
    return results


def rewrite(check, args, work, files):
    """Rewrites a tree of FILES (name: text) under WORK; returns the rewritten
    tree and its manifest."""
    name = os.path.splitext(sorted(files)[0])[0]
    src, out = os.path.join(work, name, 'src'), os.path.join(work, name, 'out')
    for file, text in files.items():
        write_file(os.path.join(src, file), text)
    r = run([args.rewrite, '--quiet', src, out])
    check.require(r.status == 0, f'loom-rewrite instruments {", ".join(sorted(files))}', r.stderr)
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        return out, json.load(f)


def taken(check, args, work):
    out, manifest = rewrite(check, args, work, {'taken.c': TAKEN})
    fns = {fn['name']: fn for fn in manifest['functions']}
    passed = [(c.get('taken'), c.get('passed_to')) for fn in ('init_once', 'keep_only', 'store', 'at_exit')
              for c in fns[fn]['calls'] if c['callee'] is None]
    check(passed == [('setup', None), ('waiter', 'remember')],
          'the manifest has the addresses passed as arguments (to a system function, or with the function of '
          'the tree it is passed to), not those stored or passed to atexit', passed)
    check(fns['by_read']['address_taken'] and fns['by_read']['entry_switch'],
          'by_read, whose address a macro passes along with the call, is address-taken and keeps its entry switch',
          fns['by_read'])
    lines = {marker: next(i for i, text in enumerate(TAKEN.split('\n'), 1) if f'/* {marker} */' in text)
             for marker in ('WAITER', 'BYE', 'BY_READ')}
    for fn, r in reached_reads(check, args, work, out, 'taken.c', lines, TAKEN_CASES):
        if fn == 'hand_over':
            at = {what: next(i for i, text in enumerate(TAKEN.split('\n'), 1) if what in text)
                  for what in ('f(NULL);', 'return call_through(waiter);')}
            want = (f'taken.c:{lines["WAITER"]} (blocking call read, in waiter)\n      reached: hand_over (in the region) '
                    f'-> call_through (called at taken.c:{at["return call_through(waiter);"]}) -> waiter (called at '
                    f'taken.c:{at["f(NULL);"]}, through a pointer to void *(void *))')
            check(want in r.stdout, 'loom check says how the read in waiter came into the region', r.stdout)


KNR_CALLER = r'''#include <unistd.h>

extern int sortit();

static char c;

static int by_read(const void *a, const void *b)
{
	while (read(0, &c, 1) > 0) /* KNR_READ */
		;
	return a < b;
}

int sort_all(int *v)
{
	return sortit(v, 2, by_read);
}
'''
KNR_CALLEE = r'''int sortit(int *v, int n, int (*cmp)(const char *, const char *))
{
	return n > 1 && cmp((const char *)v, (const char *)(v + 1));
}
'''


def unprototyped(check, args, work):
    """A call without prototype in one file passes a function that another
    file's definition reads as a pointer of another type."""
    out, _ = rewrite(check, args, work, {'a.c': KNR_CALLER, 'b.c': KNR_CALLEE})
    line = next(i for i, text in enumerate(KNR_CALLER.split('\n'), 1) if '/* KNR_READ */' in text)
    spec = os.path.join(work, 'knr.loom')
    write_file(spec, 'sort_all <> self\n')
    r = run([args.loom, 'check', '--manifest', out, spec])
    check(f'a.c:{line} (blocking call read' in r.stdout,
          'sort_all <> self reaches the read in by_read: sortit, called without prototype, reads it as '
          'int (*)(const char *, const char *)', r.stdout)


def typed(check, args, work):
    out, manifest = rewrite(check, args, work, {'typed.c': TYPED})
    fns = {fn['name']: fn for fn in manifest['functions']}
    check(fns['waiter'].get('taken_as') == ['void *(void *)'] and 'taken_as' not in fns['release'],
          'the manifest has the type waiter\'s address is taken as, and none for release (a cleanup attribute)',
          (fns['waiter'], fns['release']))
    conversions = {(c['from'], c['to']) for c in manifest.get('conversions', [])}
    want = {('void *(void *)', 'void (void)'), ('int (int)', '*'), ('*', 'long (long)'), ('*', 'void (double)'),
            ('void (float)', '*'), ('*', 'void (float)'), ('long (char)', '*'), ('*', 'long (char)'),
            ('unsigned char (unsigned char)', '*'), ('double (double)', '*'), ('*', 'double (double)'),
            ('float (float)', '*'), ('*', 'float (float)'), ('*', 'void (long)'), ('*', 'char (char)')}
    check(conversions == want, 'the manifest lists the conversions of function pointers, and no null pointer',
          sorted(conversions ^ want))
    lines = {marker: next(i for i, text in enumerate(TYPED.split('\n'), 1) if f'/* {marker} */' in text)
             for marker in ('WAITER', 'CAST_WAITER', 'OPAQUE_WAITER', 'VARIADIC_WAITER', 'UNION_WAITER',
                            'NEVER_CALLED', 'RELEASE', 'ATOMIC_WAITER', 'NESTED_WAITER')}
    reached_reads(check, args, work, out, 'typed.c', lines, TYPED_CASES)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-pause-') as work, reported(check):
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
            listed, more = set(), 0
            for what in ('run their slow copy', 'run wrapped'):
                m = re.search(f'functions that {what}[^:]*: (.*?)(?: and (\\d+) more)?$', r.stdout, re.M)
                listed |= set(re.split(', | and ', m.group(1))) if m else set()
                more += int(m.group(2)) if m and m.group(2) else 0
            callers = {'step', 'serve', 'tail', 'head', 'before_do', 'after', 'in_condition', 'in_increment',
                       'do_again', 'forever', 'call_tail', 'call_head'}
            check(listed <= callers and len(listed) + more == len(callers),
                  f'{kind}: step and its callers, which switch for it, run slow (or step wrapped)', r.stdout)
            unsafe = set(int(n) for n in re.findall(r'pause\.c:(\d+) \(blocking call read', r.stdout))
            lines = program.split('\n')
            for marker, safe in CASES.items():
                line = next(i for i, text in enumerate(lines, 1) if f'/* {marker} */' in text)
                check((line not in unsafe) == safe,
                      f'{kind}, {marker.lower()}: the blocking call at line {line} is {"safe" if safe else "unsafe"}',
                      r.stdout)
        taken(check, args, work)
        typed(check, args, work)
        unprototyped(check, args, work)
    check.finish()


if __name__ == '__main__':
    main()
