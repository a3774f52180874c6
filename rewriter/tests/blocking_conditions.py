#!/usr/bin/env python3
"""Blocking calls in the conditions of if, while, do-while and for.

1. The manifest of each conformance/blocking_conditions*.c program, with
   either emitter, has a blocking slot on exactly the lines its comments name
   (`cond: F` or `stmt: F`), with callee F; a condition's slot is at the
   condition's own column, and its markers are in the rewritten text once per
   copy: the fast path and the slow copy (hybrid), a loop twin as well
   (`twin`), all with the same id.
2. -Wpedantic: the rewritten programs give no warning the originals do not
   (gcc and clang; the C90 one with -std=c89).
3. Live: a two-file program whose main thread waits in
   `while (fgets(line, sizeof line, stdin))` and calls work() (another file)
   for each line accepts `loom push PID 'work <> self'` while it waits there,
   and work() then runs under the filter.  The same program whose loop
   condition also calls a function of the tree (which no marker may cover)
   makes that push time out: the marker is what lets it through.
"""
import argparse
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import (Checks, ENV, Failure, Program, loom_ls, reported, rewrite_and_build, run, scratch,  # noqa: E402
                      wait_for, write_line_server)

PROGRAMS = {  # conformance program: the -std it is written in
    'blocking_conditions.c': 'gnu11',
    'blocking_conditions_c90.c': 'c89',
}
EMITS = ('inline', 'hybrid')

MARK_RE = re.compile(r'/\* (cond|stmt): (\w+)(, twin)? \*/')
KEYWORD_RE = re.compile(r'\b(while|if|for)\s*\(')
WARNING_RE = re.compile(r'^[^:\s]+:(\d+):(?:\d+:)? warning: (.*)$')


def expected_marks(path):
    """{line: (kind, callee, twin, column of the condition or None)} from
    the program's comments."""
    marks = {}
    with open(path) as f:
        for number, text in enumerate(f, 1):
            m = MARK_RE.search(text)
            if not m:
                continue
            column = None
            if m.group(1) == 'cond':
                k = KEYWORD_RE.search(text)
                if not k:
                    raise Failure(f'{path}:{number}: a cond: comment on a line without if/while/for')
                at = k.end()
                if k.group(1) == 'for':
                    at = text.index(';', at) + 1
                while text[at] in ' \t':
                    at += 1
                column = at + 1  # libclang's columns count bytes from 1
            marks[number] = (m.group(1), m.group(2), bool(m.group(3)), column)
    return marks


def check_manifest(check, args, work, name, emit):
    src = os.path.join(work, f'src-{emit}-{name}')
    out = os.path.join(work, f'out-{emit}-{name}')
    os.makedirs(src)
    shutil.copy(os.path.join(HERE, 'conformance', name), src)
    r = run([args.rewrite, '--quiet', '--emit', emit, src, out])
    check.require(r.status == 0, f'{emit}: loom-rewrite {name}', r.stderr)
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        manifest = json.load(f)
    with open(os.path.join(out, name)) as f:
        text = f.read()
    marks = expected_marks(os.path.join(src, name))
    slots = {s['line']: s for s in manifest['slots'] if s['kind'] == 'blocking'}
    got = sorted((line, s['callee']) for line, s in slots.items())
    want = sorted((line, mark[1]) for line, mark in marks.items())
    check(got == want, f'{emit} {name}: blocking slots on exactly the marked lines, with their callees',
          f'want {want}\ngot  {got}')
    want_copy = 'both' if emit == 'hybrid' else 'inline'
    for line, (kind, callee, twin, column) in sorted(marks.items()):
        s = slots.get(line)
        if not s or kind != 'cond':
            continue
        copies = (2 if emit == 'hybrid' else 1) + (1 if twin and emit == 'hybrid' else 0)
        begins = text.count(f'LOOM_BLOCKING_COND({s["id"]}), (')
        ends = (text.count(f'LOOM_BLOCKING_COND_END({s["id"]}, 1)'),
                text.count(f'LOOM_BLOCKING_COND_END({s["id"]}, 0)'))
        check(s['column'] == column and s['copy'] == want_copy and begins == copies
              and ends == (copies, copies),
              f'{emit} {name}:{line}: the condition calling {callee} is marked at column {column}, '
              f'{copies} time(s) with id {s["id"]} (copy "{want_copy}")',
              f'slot {s}\nbegin markers {begins}, end markers {ends}')
    return os.path.join(src, name), os.path.join(out, name)


def warnings(cc, std, path):
    """{(line, text)} of the warnings CC gives for PATH with -Wpedantic."""
    r = run([cc, f'-std={std}', '-Wall', '-Wextra', '-Wpedantic', '-pthread', '-c', os.path.basename(path),
             '-o', '/dev/null'], cwd=os.path.dirname(path), env=dict(ENV, LC_ALL='C', LANG='C'))
    if r.status != 0:
        raise Failure(f'{cc} -std={std} {path} does not compile:\n{r.stderr}')
    found = set()
    for text in r.stderr.splitlines():
        m = WARNING_RE.match(text)
        if m:
            found.add((int(m.group(1)), m.group(2)))
    return found


def main_thread_sleeps(pid):
    """The main thread of PID is asleep (waiting in a system call)."""
    try:
        with open(f'/proc/{pid}/task/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'S'
    except OSError:
        return False


def live(check, args, work, emit, marked):
    what = f'{emit}, {"while (fgets(...))" if marked else "while (fgets(...) && keep_going())"}'
    src = os.path.join(work, f'live-{emit}-{int(marked)}', 'prog')
    write_line_server(src, '' if marked else ' && keep_going()')
    out = os.path.join(os.path.dirname(src), 'out')
    exe = rewrite_and_build(args.rewrite, src, out, emit=emit)
    with open(os.path.join(out, 'loom-manifest.json')) as f:
        blocking = [(s['file'], s['line'], s['callee']) for s in json.load(f)['slots'] if s['kind'] == 'blocking']
    check(blocking == ([('main.c', 12, 'fgets')] if marked else []),
          f'{what}: the loop condition is {"" if marked else "not "}marked', blocking)

    env = dict(ENV)
    env.pop('LOOM_DISABLE', None)
    env.pop('XDG_RUNTIME_DIR', None)
    prog = Program([exe], env, stdin=True)
    try:
        first = prog.ask(1000)
        check.require(prog.wait_for_socket(10), f'{what}: the update channel comes up', prog.stderr())
        # Between lines the main thread waits in fgets.
        check.require(wait_for(lambda: main_thread_sleeps(prog.pid), 10),
                      f'{what}: the main thread waits for input')
        time.sleep(0.2)
        spec = os.path.join(work, 'work.loom')
        with open(spec, 'w') as f:
            f.write('work <> self\n')
        r = run([args.loom, 'push', str(prog.pid), spec])
        if not marked:
            check(r.status != 0 and 'evacuation timed out' in r.stderr and f'thread {prog.pid}:' in r.stderr,
                  f'{what}: the push times out, held up by the main thread', r.stdout + r.stderr)
            check(prog.ask(1000) == first, f'{what}: the program goes on unchanged')
            return
        check.require(r.status == 0, f'{what}: push "work <> self" succeeds while main waits in fgets',
                      r.stdout + r.stderr)
        hits0 = loom_ls(args.loom, prog.pid)[0]
        answer = prog.ask(1000)
        hits1 = loom_ls(args.loom, prog.pid)[0]
        check(answer == first, f'{what}: with the filter work() answers the same', f'{first!r} then {answer!r}')
        check(hits1 > hits0, f'{what}: work() runs under the filter (lock hits {hits0} -> {hits1})')
    finally:
        prog.proc.stdin.close()
        ended = prog.wait_for(lambda: not prog.alive(), 10) or not prog.alive()
        prog.stop()
    check(ended and prog.proc.returncode == 0, f'{what}: the program ends normally when its input does',
          prog.stderr())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--loom', required=True)
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-blocking-conditions-') as work, reported(check):
        for emit in EMITS:
            for name, std in PROGRAMS.items():
                original, rewritten = check_manifest(check, args, work, name, emit)
                for cc in ('gcc', 'clang-19'):
                    new = warnings(cc, std, rewritten) - warnings(cc, std, original)
                    check(not new, f'{emit} {name}: {cc} -std={std} -Wpedantic: no new warning',
                          '\n'.join(f'{line}: {text}' for line, text in sorted(new)))
        for emit in EMITS:
            live(check, args, work, emit, marked=True)
        live(check, args, work, 'hybrid', marked=False)
    check.finish()


if __name__ == '__main__':
    main()
