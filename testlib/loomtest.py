"""Helpers shared by Loom's end-to-end tests: a live program whose stdout is
collected by a thread, bounded waits, and `loom` invocations."""
import os
import re
import subprocess
import threading
import time


class Failure(Exception):
    pass


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def rewrite_and_build(rewrite, src, out, cflags='-O2 -g -Wall -Wextra'):
    """loom-rewrite SRC OUT, then make -C OUT; returns the make output."""
    r = run([rewrite, '--quiet', src, out])
    if r.returncode != 0:
        raise Failure('loom-rewrite failed: ' + r.stderr)
    r = run(['make', '-C', out], env=dict(os.environ, CFLAGS=cflags))
    if r.returncode != 0:
        raise Failure('make failed: ' + r.stdout + r.stderr)
    return r.stdout + r.stderr


class Program:
    """A running program; its stdout lines are collected by a thread."""

    def __init__(self, argv, env=None, stdin=False):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})),
                                     cwd=os.path.dirname(argv[0]), text=True)
        self.pid = self.proc.pid
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip('\n'))

    def output(self):
        with self.lock:
            return list(self.lines)

    def bugs_after(self, t, pattern=''):
        """BUG lines matching PATTERN whose own CLOCK_MONOTONIC timestamp (the
        second field) is after T."""
        out = []
        for line in self.output():
            m = re.match(r'BUG (\d+\.\d+) ', line)
            if line.startswith('BUG ') and pattern in line and (not m or float(m.group(1)) > t):
                out.append(line)
        return out

    def wait_for(self, predicate, timeout):
        """Polls PREDICATE (returning a true value when done) until TIMEOUT."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                return predicate()
            time.sleep(0.01)
        return None

    def wait_for_bug(self, after, timeout, pattern=''):
        return self.wait_for(lambda: self.bugs_after(after, pattern), timeout) or []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        return self.proc.stderr.read()


def loom_ls(loom, pid):
    """Returns (total lock hits, number of filters, listing text)."""
    r = run([loom, 'ls', str(pid)])
    if r.returncode != 0:
        raise Failure('loom ls failed: ' + r.stderr)
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    return sum(int(row[1]) for row in rows), len(rows), r.stdout


class Checks:
    """Counts checks; prints each, and a closing `N passed, M failed` line."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def __call__(self, ok, msg):
        if ok:
            self.passed += 1
            print('ok   ' + msg, flush=True)
        else:
            self.failed.append(msg)
            print('FAIL ' + msg, flush=True)
        return ok

    def require(self, ok, msg):
        if not self(ok, msg):
            raise Failure(msg)

    def finish(self):
        print(f'{self.passed} passed, {len(self.failed)} failed')
        return 1 if self.failed else 0
