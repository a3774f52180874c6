#!/usr/bin/env python3
"""Drives one corpus entry through the whole Loom loop.

  race.py demo NAME --loom L --rewrite R   narrate it for a person
  race.py test NAME --loom L --rewrite R   the same steps, asserted

Steps: rewrite corpus/NAME with loom-rewrite, build the copy with its own
Makefile, run it with RACE_WINDOW_US so the race shows, push
specs/NAME.loom into the live process, check that no BUG line appears for
5 s while the program keeps working (the filter's HITS in `loom ls` keep
growing: its lock is taken, or, for an execution order, waits pass),
pop the filter and check that the bug comes back.

BUG lines carry CLOCK_MONOTONIC seconds as their second field, so a line can
be compared with the moment `loom push` returned, whatever the pipe's delay.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'testlib'))
from loomtest import ENV, Failure, Program, loom_ls, run  # noqa: E402


def drive(name, loom, rewrite, work, say, check, emit='hybrid'):
    src = os.path.join(ROOT, 'corpus', name)
    spec = os.path.join(ROOT, 'specs', name + '.loom')
    out = os.path.join(work, name)

    say(f'== 1. loom-rewrite --emit {emit} corpus/{name} {out}')
    r = run([rewrite, '--emit', emit, src, out])
    check(r.returncode == 0, 'loom-rewrite failed: ' + r.stderr)
    say('   ' + r.stderr.strip().splitlines()[-1])

    say(f'== 2. make -C {out}   (the program\'s own, unchanged Makefile)')
    r = run(['make', '-C', out], env=dict(os.environ, CFLAGS='-O2 -g -Wall -Wextra'))
    check(r.returncode == 0, 'make failed: ' + r.stdout + r.stderr)
    warnings = [line for line in (r.stdout + r.stderr).splitlines() if 'warning:' in line]
    check(not warnings, 'the rewritten program compiles with warnings:\n' + '\n'.join(warnings))

    window = 2000
    prog = Program([os.path.join(out, name)], env=dict(ENV, RACE_WINDOW_US=str(window)))
    try:
        say(f'== 3. RACE_WINDOW_US={window} ./{name}   (pid {prog.pid})')
        bugs = prog.wait_for_bug(0, 2.0)
        check(bugs, 'no BUG line within 2 s without a filter: the race does not show')
        first = time.monotonic() - prog.started
        time.sleep(0.5)
        n = len(prog.bugs_after(0))
        say(f'   the race shows: first BUG after {first:.2f} s, {n} BUG lines so far, e.g.')
        say('   ' + bugs[0])

        with open(spec) as f:
            say(f'== 4. loom push {prog.pid} specs/{name}.loom   ({f.read().strip()})')
        t0 = time.monotonic()
        r = run([loom, 'push', str(prog.pid), spec])
        pushed = time.monotonic()
        check(r.returncode == 0, 'loom push failed: ' + r.stderr)
        check(pushed - t0 < 1.0, f'loom push took {pushed - t0:.2f} s (must return within 1 s)')
        filter_id = r.stdout.strip()
        say(f'   {r.stderr.strip()}; the command took {(pushed - t0) * 1000:.0f} ms')

        hits0, _ = loom_ls(loom, prog.pid)[::2]
        say('== 5. watching for 5 s with the filter installed ...')
        time.sleep(5.0)
        late = prog.bugs_after(pushed)
        hits1, listing = loom_ls(loom, prog.pid)[::2]
        check(prog.proc.poll() is None, 'the program died with the filter installed')
        check(not late, f'{len(late)} BUG lines after the push returned, e.g. {late[:1]}')
        check(hits1 > hits0, f'the program made no progress under the filter (HITS {hits0} -> {hits1})')
        say(f'   no BUG line in 5 s; the program kept running: the filter\'s HITS grew by '
            f'{hits1 - hits0} meanwhile (locks taken, or waits passed for an order)')
        for line in listing.strip().splitlines():
            say('   ' + line)

        say(f'== 6. loom pop {prog.pid} {filter_id}')
        r = run([loom, 'pop', str(prog.pid), filter_id])
        popped = time.monotonic()
        check(r.returncode == 0, 'loom pop failed: ' + r.stderr)
        say('   ' + r.stderr.strip())
        again = prog.wait_for_bug(popped, 5.0)
        check(again, 'no BUG line within 5 s after loom pop: the bug did not come back')
        say(f'   the race is back after {time.monotonic() - popped:.2f} s:')
        say('   ' + again[0])
    finally:
        err = prog.stop()
    check(not err.strip(), 'the program wrote to stderr: ' + err)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('mode', choices=['demo', 'test'])
    ap.add_argument('name')
    ap.add_argument('--loom', required=True)
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--emit', choices=['inline', 'hybrid'], default='hybrid',
                    help='how loom-rewrite places hooks (default hybrid)')
    ap.add_argument('--work', help='where to rewrite and build (default: a temporary directory)')
    args = ap.parse_args()

    for exe in (args.loom, args.rewrite):
        if not os.access(exe, os.X_OK):
            print(f'race.py: {exe} is not built', file=sys.stderr)
            return 1
    failures = []

    def say(msg):
        print(msg, flush=True)

    def check(ok, msg):
        if not ok:
            failures.append(msg)
            raise Failure(msg, counted=True)

    work = args.work or tempfile.mkdtemp(prefix='loom-race-')
    try:
        drive(args.name, args.loom, args.rewrite, work, say, check, args.emit)
    except Failure as e:
        if not e.counted:
            failures.append(str(e))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.mode == 'test':
        print(f'{0 if failures else 1} passed, {len(failures)} failed')
    for f in failures:
        print('FAILED: ' + f, file=sys.stderr)
    if not failures and args.mode == 'demo':
        print('== The race was bypassed live, without a restart, and came back when the filter was removed.')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
