#!/usr/bin/env python3
"""Evacuation and exclusion in a live process (rt/tests/evac/evac.c).

1. Without filters both races show (a function and a line range).
2. A thread held inside hold() (sleeping in a blocking call there) makes
   `loom push 'hold <> self'` time out: exit 1, the thread reported at its
   line, nothing installed, the program unchanged.  Once the thread leaves
   (SIGUSR1), the same push succeeds.  The same for a thread spinning in a
   loop inside hold_spin(); and a push with an 8 s timeout issued while it
   spins returns only after the thread was released, installed.
3. `critical <> self` stops the function's race but not the other one, while
   the program keeps running; `evac.c:A-B <> self` stops the line range's race;
   both can be installed at once; `loom pop` brings each race back.
4. A paused thread holding a mutex of the program that a thread inside the
   dangerous region waits for does not make the push or pop time out.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, Failure, Program, loom_ls, reported, rewrite_and_build, run, scratch  # noqa: E402


def marker_line(path, marker):
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if marker in line:
                return number
    raise Failure(f'{marker} not found in {path}')


def push(loom, pid, work, text, timeout_ms=1000):
    spec = os.path.join(work, 'filter.loom')
    with open(spec, 'w') as f:
        f.write(text + '\n')
    t0 = time.monotonic()
    r = run([loom, 'push', '--timeout', str(timeout_ms), str(pid), spec])
    return r, time.monotonic() - t0


def slow_functions(prog, check):
    """How many functions run their slow copy, as the program reports it."""
    before = len(prog.output())
    prog.proc.stdin.write('s')
    prog.proc.stdin.flush()
    line = prog.wait_for(lambda: next((l for l in prog.output()[before:] if l.startswith('SLOW ')), None), 5)
    check.require(line is not None, 'the program reports its slow-copy switches')
    return int(line.split()[1])


def quiet_while_running(prog, loom, check, after, pattern, seconds, what):
    """No BUG line matching PATTERN after AFTER during SECONDS, while the
    filters' locks keep being taken (the program makes progress)."""
    hits0 = loom_ls(loom, prog.pid)[0]
    time.sleep(seconds)
    hits1 = loom_ls(loom, prog.pid)[0]
    late = prog.bugs_after(after, pattern)
    check(not late, f'{what}: no "{pattern}" BUG line for {seconds} s after the push (saw {len(late)})')
    check(hits1 > hits0, f'{what}: the program kept running under the filter (lock hits {hits0} -> {hits1})')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--loom', required=True)
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--emit', choices=['inline', 'hybrid'], default='hybrid')
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-evac-') as work:
        prog = None
        try:
            with reported(check):
                out = os.path.join(work, 'evac')
                rewrite_and_build(args.rewrite, os.path.join(HERE, 'evac'), out, emit=args.emit)
                src = os.path.join(HERE, 'evac', 'evac.c')
                first, last = marker_line(src, 'LINES-START'), marker_line(src, 'LINES-END')
                prog = Program([os.path.join(out, 'evac')], stdin=True)
                loom = args.loom

                check.require(prog.wait_for_bug(0, 5, 'overlap in critical'),
                              'the function race shows without a filter')
                check.require(prog.wait_for_bug(0, 5, 'overlap in lines'),
                              'the line-range race shows without a filter')
                check.require(prog.wait_for_bug(0, 5, 'overlap in bump'),
                              'the static helper\'s race shows without a filter')

                # A thread inside the region, blocked in a call there: the push must time out.
                prog.proc.stdin.write('h')
                prog.proc.stdin.flush()
                check.require(prog.wait_for(lambda: 'HOLDING' in prog.output(), 5), 'the holder thread entered hold()')
                r, took = push(loom, prog.pid, work, 'hold <> self', timeout_ms=300)
                check(r.returncode == 1, f'push while a thread is inside the region fails (exit {r.returncode})')
                check('evacuation timed out' in r.stderr and 'nothing installed' in r.stderr,
                      'the failure says the evacuation timed out and nothing was installed')
                check('in hold)' in r.stderr, 'the report names the thread and where it is: '
                      + next((l.strip() for l in r.stderr.splitlines() if 'thread' in l and 'hold' in l), '(none)'))
                check(took < 3, f'the failed push gave up in time ({took:.2f} s for a 300 ms timeout)')
                check(loom_ls(loom, prog.pid)[1] == 0, 'after the failed push no filter is installed')
                t = time.monotonic()
                check(prog.wait_for_bug(t, 5, 'overlap in critical'),
                      'the program runs on unchanged after the failed push')

                # Once the thread has left the region the same push goes through.
                os.kill(prog.pid, signal.SIGUSR1)
                deadline = time.monotonic() + 10
                while True:
                    r, took = push(loom, prog.pid, work, 'hold <> self', timeout_ms=300)
                    if r.returncode == 0 or time.monotonic() > deadline:
                        break
                check(r.returncode == 0, 'after the thread left the region the push succeeds: ' + r.stderr.strip())
                hold_id = r.stdout.strip()
                check(run([loom, 'pop', str(prog.pid), hold_id]).returncode == 0, 'and pops again')

                # A thread looping inside the region (no blocking call): the same.
                prog.proc.stdin.write('H')
                prog.proc.stdin.flush()
                check.require(prog.wait_for(lambda: 'SPINNING' in prog.output(), 5),
                              'the holder thread spins in hold_spin()')
                r, took = push(loom, prog.pid, work, 'hold_spin <> self', timeout_ms=300)
                check(r.returncode == 1 and 'nothing installed' in r.stderr
                      and ('in hold_spin)' in r.stderr or 'in spin)' in r.stderr),
                      'push while a thread loops inside the region fails cleanly and names it', r.stderr)
                check(loom_ls(loom, prog.pid)[1] == 0, 'after that failed push no filter is installed either')
                # A push with time to spare waits for the thread to leave: it is
                # installed only after the release.
                spec = os.path.join(work, 'spin.loom')
                with open(spec, 'w') as f:
                    f.write('hold_spin <> self\n')
                waiting = subprocess.Popen([loom, 'push', '--timeout', '8000', str(prog.pid), spec],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(0.5)
                check(waiting.poll() is None, 'a push with an 8 s timeout is still waiting 0.5 s later')
                released = time.monotonic()
                os.kill(prog.pid, signal.SIGUSR1)
                so, se = waiting.communicate(timeout=15)
                done = time.monotonic()
                check(waiting.returncode == 0,
                      f'it succeeds once the thread has left ({done - released:.2f} s after)', se)
                check(run([loom, 'pop', str(prog.pid), so.strip()]).returncode == 0, 'and that filter pops again')

                # Function region: stops that race only.
                r, took = push(loom, prog.pid, work, 'critical <> self')
                pushed = fn_pushed = time.monotonic()
                check.require(r.returncode == 0, 'push critical <> self: ' + r.stderr.strip())
                check(took < 1.0, f'push returned within 1 s ({took * 1000:.0f} ms)')
                fn_id = r.stdout.strip()
                quiet_while_running(prog, loom, check, pushed, 'overlap in critical', 2, 'critical <> self')
                check(prog.wait_for_bug(pushed, 5, 'overlap in lines'),
                      'critical <> self leaves the other race alone (it is not stop-the-world)')

                # Line range, installed beside the first filter.
                r, took = push(loom, prog.pid, work, f'# the inline critical section\nevac.c:{first}-{last} <> self')
                pushed = time.monotonic()
                check.require(r.returncode == 0, f'push evac.c:{first}-{last} <> self: ' + r.stderr.strip())
                lines_id = r.stdout.strip()
                check(loom_ls(loom, prog.pid)[1] == 2, 'two filters are installed at once')
                quiet_while_running(prog, loom, check, pushed, 'overlap in lines', 2, 'line range')
                check(not prog.bugs_after(fn_pushed, 'overlap in critical'),
                      'the first filter stayed in force while the second was installed')

                if args.emit == 'hybrid':
                    check(slow_functions(prog, check) == 2,
                          'with both filters, worker() and critical() run their slow copies '
                          '(a loop twin for the workers)')

                # A static helper: in the hybrid rewrite it has no switch of its own.
                r, took = push(loom, prog.pid, work, 'bump <> self')
                pushed = time.monotonic()
                check.require(r.returncode == 0, 'push bump <> self: ' + r.stderr.strip())
                bump_id = r.stdout.strip()
                quiet_while_running(prog, loom, check, pushed, 'overlap in bump', 2, 'bump <> self')
                if args.emit == 'hybrid':
                    check(slow_functions(prog, check) == 3,
                          'with bump <> self too, still worker() and critical() plus bump() switch '
                          '(bump through its caller)')
                r = run([loom, 'pop', str(prog.pid), bump_id])
                popped = time.monotonic()
                check(r.returncode == 0, 'pop of bump <> self: ' + r.stderr.strip())
                check(prog.wait_for_bug(popped, 5, 'overlap in bump'), 'the static helper\'s race comes back after pop')

                # Removing each brings its race back.
                r = run([loom, 'pop', str(prog.pid), lines_id])
                popped = time.monotonic()
                check(r.returncode == 0, 'pop of the line-range filter: ' + r.stderr.strip())
                check(prog.wait_for_bug(popped, 5, 'overlap in lines'), 'the line-range race comes back after pop')
                r = run([loom, 'pop', str(prog.pid), fn_id])
                popped = time.monotonic()
                check(r.returncode == 0, 'pop of the function filter: ' + r.stderr.strip())
                check(prog.wait_for_bug(popped, 5, 'overlap in critical'), 'the function race comes back after pop')
                check(loom_ls(loom, prog.pid)[1] == 0, 'no filter is left')
                if args.emit == 'hybrid':
                    # The workers never left their loop: its back edge took them
                    # into the twin, and takes them back to the fast loop now.
                    check(slow_functions(prog, check) == 0, 'after pop every function runs its fast path again')

                # A thread paused at a safe place may hold a mutex of the program
                # that a thread inside the dangerous region waits for: the gate
                # keeper holds GATE most of the time, and the other gate thread
                # waits for it inside gated().  The evacuation must let the paused
                # threads run on until the waiting one is out.
                prog.proc.stdin.write('g')
                prog.proc.stdin.flush()
                check.require(prog.wait_for(lambda: 'GATE' in prog.output(), 5), 'the gate threads started')
                for attempt in range(4):
                    r, took = push(loom, prog.pid, work, 'gated <> self', timeout_ms=3000)
                    check(r.returncode == 0, f'push gated <> self #{attempt + 1} while the keeper holds GATE '
                          f'({took * 1000:.0f} ms)', r.stderr)
                    if r.returncode:
                        break
                    r2 = run([loom, 'pop', '--timeout', '3000', str(prog.pid), r.stdout.strip()])
                    check(r2.returncode == 0, f'and its pop #{attempt + 1}', r2.stderr)
                    if r2.returncode:
                        break

                prog.proc.stdin.close()
                check(prog.proc.wait(timeout=10) == 0, 'the program exits normally when its input ends')
                err = prog.stop()
                check(not err.strip(), 'the program wrote nothing to stderr: ' + err.strip()[:200])
        finally:
            if prog:
                prog.stop()
    check.finish()


if __name__ == '__main__':
    main()
