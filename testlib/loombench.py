"""What the benchmarks in bench/ share: running a command for its CPU time,
and the geometric mean of ratios."""

import math
import os
import subprocess
import tempfile
import threading
import time


class Failure(Exception):
    """A benchmark cannot go on: what failed, and its output."""


def run_measured(argv, cwd=None, timeout=None, env=None, output=None):
    """Runs ARGV in CWD with ENV (default: this process's), its input
    /dev/null; returns (exit status, stdout, stderr, CPU seconds, wall
    seconds).  The CPU time is user + system of the child and of every
    descendant it waited for (make's compilers).  With OUTPUT, a path, both
    streams go to that file and the two strings are empty.  The streams go
    through files, never pipes, so that a child that writes a lot cannot
    block; one still running after TIMEOUT seconds is killed (status -9)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sink = open(output, 'wb') if output else None
        start = time.perf_counter()
        try:
            p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink or out,
                                 stderr=sink or err, env=env)
        except OSError as e:
            raise Failure(f'cannot run {argv[0]}: {e}') from e
        finally:
            if sink:
                sink.close()
        timer = threading.Timer(timeout, p.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (p.returncode, out.read().decode(errors='replace'), err.read().decode(errors='replace'),
                ru.ru_utime + ru.ru_stime, wall)


def geomean(xs):
    """The geometric mean of the positive numbers XS (NaN if there are none)."""
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float('nan')
