#!/usr/bin/env python3
"""The manifest's control-flow edges hold for every path a program takes.

Each conformance program is rewritten (inline and hybrid), and its runtime
header loom-rt/loom.h is replaced by a tracing one: every hook appends
`PID TID ID` to the file named by LOOM_TRACE, and in the hybrid rewrite
every entry switch takes the slow copy (where all hooks are).  The program
is built with gcc -O0 and run, and the trace is checked against the
manifest, per thread, with a stack of calls:

  - a function's entry cond_break starts a call of it;
  - every other hook belongs to the function of the innermost call, and
    the hook before it in that call has an edge to it (`functions[].edges`);
  - an exit hook ends the call.

longjmp leaves calls without their exit hooks: a hook of an outer call pops
the inner ones, and is then not checked against its predecessor (it comes
after setjmp's second return, which no edge describes).

A small program's edges are also compared with the exact list, so that
edges are not only sound but tight: a loop without a condition has no exit
but its break, a switch without default may skip its body, a statement
after a goto is reached from its label only, do ... while (0) does not loop.

Besides, every call site names the slot of a statement of its function on
the call's line (or the line where that statement starts), and a slot of
kind `call` is named by some call site.  The last line is `N passed,
M failed`; the share of edges the runs took is printed for information.
"""
import argparse
import collections
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, ENV, Failure, reported, run, scratch, write_file  # noqa: E402

PROGRAM_DIR = os.path.join(HERE, 'conformance')
EMITS = ('inline', 'hybrid')
CFLAGS_RE = re.compile(r'conformance-cflags:\s*(.*?)\s*\*/')

# The hooks loom-rewrite writes, each tracing its id; entry switches always
# go slow, so a loop twin is never entered.
TRACE_HEADER = r'''
#ifndef LOOM_TRACE_H
#define LOOM_TRACE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int loom__trace_fd = -1, loom__trace_threads;
static __thread int loom__trace_tid;
static __attribute__((unused)) void loom__trace(unsigned id)
{
	char line[64];
	int n;

	if (loom__trace_fd < 0) {
		const char *path = getenv("LOOM_TRACE");

		loom__trace_fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT, 0600) : 2;
	}
	if (!loom__trace_tid)
		loom__trace_tid = __atomic_add_fetch(&loom__trace_threads, 1, __ATOMIC_SEQ_CST);
	n = snprintf(line, sizeof line, "%d %d %u\n", (int)getpid(), loom__trace_tid, id);
	if (write(loom__trace_fd, line, (size_t)n) != n)
		abort();
}
static __attribute__((unused)) void loom__trace_exit(const unsigned *id)
{
	loom__trace(*id);
}
#define LOOM__T(name, id) __attribute__((unused)) const char name = (char)(loom__trace(id), 0)
#define LOOM_SLOT(id) loom__trace(id)
#define LOOM_SLOT_D(id) LOOM__T(loom__s##id, id)
#define LOOM_COND_BREAK(id) loom__trace(id)
#define LOOM_COND_BREAK_D(id) LOOM__T(loom__c##id, id)
#define LOOM_SLOW_SLOT LOOM_SLOT
#define LOOM_SLOW_SLOT_D LOOM_SLOT_D
#define LOOM_SLOW_COND_BREAK LOOM_COND_BREAK
#define LOOM_SLOW_COND_BREAK_D LOOM_COND_BREAK_D
#define LOOM_FUNCTION_ENTRY(brk, entry, falloff) \
	__attribute__((cleanup(loom__trace_exit), unused)) unsigned loom__exit_id = (falloff); \
	LOOM_COND_BREAK_D(brk); LOOM_SLOT_D(entry)
#define LOOM_SLOW_FUNCTION_ENTRY LOOM_FUNCTION_ENTRY
#define LOOM_SLOW_FUNCTION_ENTRY_WRAP(brk, entry, falloff, fid, self) LOOM_FUNCTION_ENTRY(brk, entry, falloff)
#define LOOM_SLOW_FUNCTION_ENTRY_WRAP_VOID LOOM_SLOW_FUNCTION_ENTRY_WRAP
#define LOOM_RETURN(exit) (loom__exit_id = (exit))
#define LOOM_SWITCH(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ if (1) return call; (char)0; })
#define LOOM_SWITCH_NORETURN(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ call; __builtin_unreachable(); (char)0; })
#define LOOM_SWITCH_VOID(fid, call) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ if (1) { call; return; } (char)0; })
#define LOOM__VA_SWITCH(last, body) \
	__attribute__((unused)) const char loom__switch = __extension__ ({ if (1) { \
		__builtin_va_list loom__ap; __builtin_va_start(loom__ap, last); body } (char)0; })
#define LOOM_SWITCH_VARIADIC(fid, last, call) \
	LOOM__VA_SWITCH(last, __typeof__(call) loom__r = call; __builtin_va_end(loom__ap); return loom__r;)
#define LOOM_SWITCH_VARIADIC_VOID(fid, last, call) \
	LOOM__VA_SWITCH(last, call; __builtin_va_end(loom__ap); return;)
#define LOOM_SWITCH_VARIADIC_NORETURN(fid, last, call) \
	LOOM__VA_SWITCH(last, call; __builtin_unreachable();)
#define LOOM_VA_START(ap, ...) __extension__ ({ __builtin_va_list loom__own; \
	__builtin_va_start(loom__own, __VA_ARGS__); \
	__builtin_va_copy(ap, *__builtin_va_arg(loom__own, __builtin_va_list *)); \
	__builtin_va_end(loom__own); (void)0; })
#define LOOM_SWITCH_WRAPPED LOOM_SWITCH
#define LOOM_CAT(a, b) LOOM__CAT(a, b)
#define LOOM__CAT(a, b) a##b
#define LOOM_STR(a) LOOM__STR(a)
#define LOOM__STR(a) #a
#define LOOM_SWITCH_WRAPPED_VOID LOOM_SWITCH_VOID
#define LOOM_BACKEDGE(fid, n) do { if (0) goto loom__twin_##n; } while (0)
#define LOOM_BACKEDGE_BACK(fid, n) do { if (0) goto loom__fast_##n; } while (0)
#define LOOM_BACKEDGE_COND(fid, n) __extension__ ({ if (0) goto loom__twin_##n; 1; })
#define LOOM_FALLTHROUGH
#define LOOM_FAST_ENTRY
#define LOOM_QUIET_PUSH
#define LOOM_QUIET_POP
#define LOOM_BLOCKING_BEGIN(id) loom__trace(id)
#define LOOM_BLOCKING_END(id) ((void)0)
#define LOOM_BLOCKING_BEGIN_D(id) LOOM__T(loom__bb##id, id)
#define LOOM_BLOCKING_END_D(id) __attribute__((unused)) const char loom__be##id = 0
#define LOOM_BLOCKING_COND(id) loom__trace(id)
#define LOOM_BLOCKING_COND_END(id, truth) (truth)
#endif
'''


# Lines 5-29: each kind of statement that changes the flow.
PRECISE = """/* Loom's control-flow test */
int g(int);
int f(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++) {
		if (i == 3)
			continue;
		s += g(i);
		if (s > 100)
			break;
	}
	for (;;) {
		s--;
		if (s < 0)
			goto out;
	}
out:
	switch (x) {
	case 1:
		s++;
	case 2:
		s += 2;
		break;
	}
	do {
		s++;
	} while (0);
	return s;
}
"""
# KIND LINE > KIND LINE; kinds: B break, E entry, s stmt, c call, L backedge,
# x exit.
PRECISE_EDGES = """B3>E3 E3>s5 s5>s6 s6>L6 s6>s13 L6>s7 s7>s8 s7>c9 s8>L6 s8>s13 c9>s10 s10>L6
s10>s11 s10>s13 s11>s13 s13>L13 L13>s14 s14>s15 s15>L13 s15>s16 s16>s19 s19>s21 s19>s23 s19>s26
s21>s23 s23>s24 s24>s26 s26>L26 L26>s27 s27>s29 s29>x29""".split()
KIND_CODE = {'break': 'B', 'entry': 'E', 'stmt': 's', 'call': 'c', 'backedge': 'L', 'exit': 'x',
             'blocking': 'k'}


def check_precise(check, rewrite, work):
    src, out = os.path.join(work, 'src'), os.path.join(work, 'out')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(src)
    write_file(os.path.join(src, 'f.c'), PRECISE)
    r = run([rewrite, '--quiet', '--emit', 'inline', src, out])
    check.require(r.status == 0, 'precise: loom-rewrite', r.stderr)
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        m = json.load(f)
    slots = {s['id']: s for s in m['slots']}

    def code(i):
        return f'{KIND_CODE[slots[i]["kind"]]}{slots[i]["line"]}'
    got = [f'{code(a)}>{code(b)}' for a, b in m['functions'][0]['edges']]
    check(got == PRECISE_EDGES, 'precise: the edges of a program with every kind of jump are exactly the '
          'expected ones', f'missing {sorted(set(PRECISE_EDGES) - set(got))}\n'
          f'extra {sorted(set(got) - set(PRECISE_EDGES))}')


def check_trace(manifest, trace):
    """Problems of TRACE (lines `PID TID ID`) against MANIFEST, and the set of
    edges taken."""
    slots = {s['id']: s for s in manifest['slots']}
    fns = manifest['functions']
    index = {}  # (file, name, line) -> function index, as slots name them
    for i, f in enumerate(fns):
        index[(f['file'], f['name'])] = index.get((f['file'], f['name']), []) + [i]
    edges = [set(map(tuple, f['edges'])) for f in fns]
    entry_break = {f['break']: i for i, f in enumerate(fns)}

    def function_of(s):
        for i in index[(s['file'], s['function'])]:
            if fns[i]['line'] <= s['line'] <= fns[i]['end_line']:
                return i
        raise Failure(f'hook {s["id"]}: no function {s["function"]} around line {s["line"]}')

    owner = {i: function_of(s) for i, s in slots.items()}
    stacks = collections.defaultdict(list)
    problems, taken = [], set()
    for line in trace.splitlines():
        pid, tid, hook = (int(x) for x in line.split())
        stack = stacks[(pid, tid)]
        if hook not in slots:
            problems.append(f'hook {hook} is not in the manifest')
            continue
        fn = owner[hook]
        if hook in entry_break:
            stack.append([fn, hook])
            continue
        if not stack or stack[-1][0] != fn:
            while stack and stack[-1][0] != fn:
                stack.pop()  # left by longjmp
            if not stack:
                problems.append(f'hook {hook} ({describe(slots[hook])}) runs outside a call of its function')
                continue
            stack[-1][1] = None
        last = stack[-1][1]
        if last is not None:
            if (last, hook) in edges[fn]:
                taken.add((last, hook))
            elif len(problems) < 20:
                problems.append(f'{fns[fn]["name"]}: no edge {last} -> {hook}: '
                                f'{describe(slots[last])} -> {describe(slots[hook])}')
        stack[-1][1] = hook
        if slots[hook]['kind'] == 'exit':
            stack.pop()
    return problems, taken


def describe(s):
    return f'{s["kind"]} at {s["line"]}:{s["column"]}'


def check_calls(manifest):
    """Problems of the call sites' slots and of the slots of kind call."""
    slots = {s['id']: s for s in manifest['slots']}
    problems, named = [], set()
    for f in manifest['functions']:
        for c in f['calls']:
            s = slots.get(c['slot'])
            if not c['slot']:
                continue  # in a statement without a hook of its own
            named.add(c['slot'])
            if s is None or s['function'] != f['name'] or s['kind'] not in ('call', 'stmt') \
                    or s['line'] > c['line']:
                problems.append(f'{f["name"]}: the call at {c["line"]}:{c["column"]} names slot {c["slot"]} '
                                f'({describe(s) if s else "none"})')
    for s in manifest['slots']:
        if s['kind'] == 'call' and s['id'] not in named:
            problems.append(f'slot {s["id"]} ({describe(s)}) is of kind call but no call site names it')
    return problems


def one(check, rewrite, work, path, emit, stats):
    name = os.path.basename(path)
    with open(path) as f:
        text = f.read()
    m = CFLAGS_RE.search(text)
    cflags = m.group(1).split() if m else ['-std=gnu11']
    src, out = os.path.join(work, 'src'), os.path.join(work, 'out')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(src)
    shutil.copy(path, src)
    r = run([rewrite, '--quiet', '--emit', emit, src, out])
    check.require(r.status == 0, f'{emit} {name}: loom-rewrite', r.stderr)
    write_file(os.path.join(out, 'loom-rt', 'loom.h'), TRACE_HEADER)
    exe = os.path.join(out, 'prog')
    r = run(['gcc', *cflags, '-O0', '-w', '-pthread', '-o', exe, name], cwd=out)
    check.require(r.status == 0, f'{emit} {name}: builds with the tracing header', r.stderr)
    trace = os.path.join(work, 'trace')
    run([exe], cwd=out, env=dict(ENV, LOOM_TRACE=trace), timeout=60)
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        manifest = json.load(f)
    with open(trace) if os.path.exists(trace) else open(os.devnull) as f:
        hooks = f.read()
    problems, taken = check_trace(manifest, hooks)
    nedges = sum(len(f['edges']) for f in manifest['functions'])
    stats[0] += len(taken)
    stats[1] += nedges
    check(hooks and not problems, f'{emit} {name}: {len(hooks.splitlines())} hooks run, every step on an '
          f'edge ({len(taken)} of {nedges} edges taken)', '\n'.join(problems) or 'no hook ran')
    problems = check_calls(manifest)
    check(not problems, f'{emit} {name}: call sites name the slots of their statements', '\n'.join(problems))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('names', nargs='*', help='conformance programs (default: all)')
    args = ap.parse_args()
    check = Checks()
    names = args.names or sorted(n for n in os.listdir(PROGRAM_DIR) if n.endswith('.c'))
    stats = [0, 0]
    with scratch('loom-control-flow-') as work:
        with reported(check):
            check_precise(check, args.rewrite, os.path.join(work, 'p'))
        for emit in EMITS:
            for name in names:
                with reported(check):
                    one(check, args.rewrite, os.path.join(work, 'w'), os.path.join(PROGRAM_DIR, name), emit,
                        stats)
        print(f'edges taken: {stats[0]} of {stats[1]}')
    check.finish()


if __name__ == '__main__':
    main()
