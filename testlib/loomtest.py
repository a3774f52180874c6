"""Helpers shared by Loom's end-to-end tests: counted checks, a test's work
directory and the failures that end its body, commands run with a timeout, a
live program whose output is collected by threads, bounded waits, and `loom`
invocations.

Scripts import it with
    sys.path.insert(0, os.path.join(REPO, 'testlib'))
    from loomtest import ...
"""
import collections
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time


class Failure(Exception):
    """A test step that cannot go on.  COUNTED: the failure was already
    reported as a failed check (Checks.require); otherwise the catcher must
    count it."""

    def __init__(self, msg, counted=False):
        super().__init__(msg)
        self.counted = counted


# Fresh malloc memory filled with garbage (as meson test does), so that a read
# of uninitialised heap memory fails when a test runs by hand too, not only
# under meson.  The default environment of run() and Program.
ENV = dict(os.environ, MALLOC_PERTURB_=os.environ.get('MALLOC_PERTURB_') or '165')


# ------------------------------------------------------------------- checks

class Checks:
    """Counts checks and prints each as `PASS WHAT` or `FAIL WHAT`, a failure
    followed by its DETAIL indented; finish() prints the closing
    `N passed, M failed` line and exits, with status 1 if a check failed or
    none passed."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, ok, what, detail=''):
        if ok:
            self.passed += 1
            print(f'PASS {what}', flush=True)
        else:
            self.failed += 1
            print(f'FAIL {what}', flush=True)
            for line in str(detail).rstrip('\n').split('\n') if detail else []:
                print(f'     {line}', flush=True)
        return bool(ok)

    def require(self, ok, what, detail=''):
        """A check whose failure raises Failure."""
        if not self(ok, what, detail):
            raise Failure(what, counted=True)

    def finish(self):
        print(f'{self.passed} passed, {self.failed} failed', flush=True)
        sys.exit(1 if self.failed or not self.passed else 0)


# ------------------------------------------------------- a test's main body

@contextlib.contextmanager
def scratch(prefix, keep=False):
    """A work directory for the body of a with statement: yields the path of
    a new directory, tempfile.mkdtemp(prefix=PREFIX), and when the body ends,
    however it ends (an exception, sys.exit() from Checks.finish()), removes
    it with all it holds, errors ignored; with KEEP it is left in place
    instead and named on stdout in a line `kept PATH`."""
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        if keep:
            print(f'kept {path}')
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def reported(check):
    """Runs the body of a with statement, which a Failure ends: one not yet
    counted is counted as the failed check CHECK(False, str(failure)), one
    already counted (Checks.require) is only swallowed, and the test goes on
    after the with statement.  Any other exception, SystemExit from
    Checks.finish() too, passes through untouched."""
    try:
        yield
    except Failure as e:
        if not e.counted:
            check(False, str(e))


# ----------------------------------------------------------------- commands

class Result(collections.namedtuple('Result', 'status stdout stderr')):
    """What run() returns: unpacks as (status, stdout, stderr)."""

    @property
    def returncode(self):
        return self.status


def marked_lines(path, pattern, yes=None):
    """{line: whether its mark is YES (or, YES None, the mark)} for the lines
    of PATH on which the regular expression PATTERN (one group: the mark)
    matches."""
    want = {}
    with open(path) as f:
        for number, text in enumerate(f, 1):
            m = re.search(pattern, text)
            if m:
                want[number] = m.group(1) if yes is None else m.group(1) == yes
    return want


def run(argv, timeout=120, cwd=None, env=None, stdin_data=None):
    """Runs ARGV (with STDIN_DATA, bytes, as its input) in the environment ENV
    (default: ENV); returns Result(status, stdout, stderr), the status -SIGNAL
    if a signal killed it and None if it did not end within TIMEOUT seconds
    (the output until then is kept, and stderr ends with a note)."""
    try:
        p = subprocess.run(argv, cwd=cwd, input=stdin_data, capture_output=True, timeout=timeout,
                           env=ENV if env is None else env)
    except subprocess.TimeoutExpired as e:
        return Result(None, (e.stdout or b'').decode(errors='replace'),
                      (e.stderr or b'').decode(errors='replace') + f'\n(timed out after {timeout} s)\n')
    return Result(p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace'))


def wait_for(pred, timeout, period=0.02, give_up=None):
    """Polls PRED until it returns a true value, which is returned, or until
    TIMEOUT seconds have passed, when its last value is returned.  Once
    GIVE_UP() is true, returns PRED's value at once."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        if give_up is not None and give_up():
            return pred()
        time.sleep(period)


def rewrite_and_build(rewrite, src, out, cflags='-O2 -g -Wall -Wextra', check=None, emit='hybrid'):
    """loom-rewrite --emit EMIT SRC OUT, then make -C OUT with CFLAGS; returns the path of
    the program built, OUT/basename(SRC).  Without CHECK a failing step
    raises Failure; with CHECK each step is a check, and a failing one ends
    the test (CHECK.finish())."""
    exe = os.path.join(out, os.path.basename(src.rstrip('/')))

    def step(ok, what, detail):
        if check is None and not ok:
            raise Failure(f'{what}: failed\n{detail}')
        if check is not None and not check(ok, what, detail):
            check.finish()

    r = run([rewrite, '--quiet', '--emit', emit, src, out])
    step(r.status == 0, 'loom-rewrite the corpus program', r.stderr)
    r = run(['make', '-C', out], env=dict(ENV, CFLAGS=cflags))
    step(r.status == 0 and os.access(exe, os.X_OK), f'make -C {out} builds {exe}', r.stdout + r.stderr)
    return exe


def live_env(**extra):
    """ENV for a program whose runtime must start: Loom enabled, the socket
    in /tmp/loom-EUID (not below an XDG_RUNTIME_DIR the caller may have),
    plus EXTRA (e.g. RACE_WINDOW_US='2000')."""
    env = dict(ENV, **extra)
    env.pop('LOOM_DISABLE', None)
    env.pop('XDG_RUNTIME_DIR', None)
    return env


def build_program(check, rewrite, work, files, cflags='-O2 -g -Wall -Wextra'):
    """Writes FILES (name -> text) into WORK/src, rewrites the tree into
    WORK/out and builds it there with its Makefile and CFLAGS; each step is
    a required check (the build must give no warning).  Returns WORK/out."""
    src, out = os.path.join(work, 'src'), os.path.join(work, 'out')
    for name, text in files.items():
        write_file(os.path.join(src, name), text)
    r = run([rewrite, '--quiet', src, out])
    check.require(r.status == 0, 'loom-rewrite', r.stderr)
    r = run(['make', '-C', out], env=dict(ENV, CFLAGS=cflags))
    check.require(r.status == 0 and 'warning' not in r.stderr, 'the rewritten program builds without warnings',
                  r.stdout + r.stderr)
    return out


def make_and_run(check, tree, cc, what, cflags, stdin_data, make_args=(), env=None):
    """Removes TREE's objects and its program `prog`, builds it with
    `make CC=CC MAKE_ARGS` and CFLAGS (a required check; a warning fails a
    check), runs TREE/prog with STDIN_DATA in ENV (default: ENV) and returns
    its standard output (running is a required check)."""
    for name in os.listdir(tree):
        if name.endswith('.o') or name == 'prog':
            os.remove(os.path.join(tree, name))
    r = run(['make', '-C', tree, f'CC={cc}', *make_args], env=dict(ENV, CFLAGS=cflags))
    check.require(r.status == 0, f'{what}: builds with {cc}', r.stdout + r.stderr)
    warnings = [line for line in r.stderr.splitlines() if 'warning' in line]
    check(not warnings, f'{what}: no warning with {cc}', '\n'.join(warnings))
    r = run([os.path.join(tree, 'prog')], stdin_data=stdin_data, env=env)
    check.require(r.status == 0, f'{what}: runs', r.stderr)
    return r.stdout


def push_and_count(check, loom, prog, spec, text, line):
    """With PROG (a Program started with stdin=True, Loom enabled) answering
    one line of input per line: asks LINE, waits for the update channel,
    writes TEXT to the file SPEC and pushes it, then asks LINE again.  A
    required check each step; the answers must agree (a check).  Returns
    the lock hits the second answer took."""
    first = prog.ask(line)
    check.require(prog.wait_for_socket(10), 'the update channel comes up', prog.stderr())
    write_file(spec, text)
    r = run([loom, 'push', str(prog.pid), spec])
    check.require(r.status == 0, f'push {text.strip()!r}', r.stderr)
    hits0 = loom_ls(loom, prog.pid)[0]
    answer = prog.ask(line)
    hits1 = loom_ls(loom, prog.pid)[0]
    check(answer == first, 'with the filter the program answers the same', f'{first}\n{answer}')
    return hits1 - hits0


def write_file(path, text):
    """Writes TEXT to PATH, creating its directories."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def write_tree(root, files):
    """Writes FILES (relative path -> text) under ROOT."""
    for name, text in files.items():
        write_file(os.path.join(root, name), text)


# A two-file program that answers each line N of its stdin with
# `work(N) = ...` (computed in work.c), so that a test decides when work()
# runs; between lines its main thread waits in fgets, in the condition of
# `while (fgets(...)MORE)`.  `make` builds `prog`.
LINE_SERVER = {
    'main.c': r'''#include <stdio.h>

long work(long n);
int keep_going(void);

int main(void)
{
	char line[64];

	/* One answer per input line: the test decides when work() runs, and
	 * in between this thread waits in fgets, in the loop's condition. */
	while (fgets(line, sizeof line, stdin)@MORE@) {
		long n = 0;

		sscanf(line, "%ld", &n);
		printf("work(%ld) = %ld\n", n, work(n));
		fflush(stdout);
	}
	return 0;
}
''',
    'work.c': r'''long work(long n)
{
	long s = 0;

	for (long i = 1; i <= n; i++)
		s += i * i % 7;
	return s;
}

int keep_going(void)
{
	return 1;
}
''',
    'Makefile': '''CC ?= gcc
prog: main.o work.o
\t$(CC) $(CFLAGS) -o $@ main.o work.o -lpthread
%.o: %.c
\t$(CC) $(CFLAGS) -c $<
''',
}


def write_line_server(src, more='', names=tuple(LINE_SERVER)):
    """Writes the files NAMES of LINE_SERVER into SRC, MORE appended to the
    loop condition of main.c (e.g. ' && keep_going()')."""
    for name in names:
        write_file(os.path.join(src, name), LINE_SERVER[name].replace('@MORE@', more))


def loom_rows(loom, pid):
    """`loom ls PID`: (the rows below its header line, the text to show when
    a check on them fails); the rows are None if loom ls failed."""
    st, so, se = run([loom, 'ls', str(pid)])
    lines = so.rstrip('\n').split('\n')
    if st != 0 or not lines[0].startswith('ID'):
        return None, f'loom ls: status {st}\nstdout {so!r}\nstderr {se!r}'
    return lines[1:], so


def loom_ls(loom, pid):
    """Returns (total lock hits, number of filters, listing text)."""
    rows, text = loom_rows(loom, pid)
    if rows is None:
        raise Failure(text)
    rows = [row.split() for row in rows]
    return sum(int(row[1]) for row in rows), len(rows), text


def tamper_manifest(text):
    """TEXT, a manifest, with the column of its first call incremented (a
    number nothing else refers to), or None if it has no call."""
    m = re.search(r'("callee":"[^"]*","line":[0-9]+,"column":)([0-9]+)', text)
    if not m:
        return None
    return text[:m.start(2)] + str(int(m.group(2)) + 1) + text[m.end(2):]


# ---------------------------------------------------------- a live program

def socket_path(pid, env):
    """Where the runtime of process PID, started with ENV, listens
    (rt/loom.h: $XDG_RUNTIME_DIR/loom if that is absolute, else /tmp/loom-EUID)."""
    xdg = env.get('XDG_RUNTIME_DIR')
    if xdg and xdg.startswith('/'):
        return os.path.join(xdg, 'loom', f'{pid}.sock')
    return f'/tmp/loom-{os.geteuid()}/{pid}.sock'


class Program:
    """A running program in the environment ENV (default: ENV) and, unless
    given CWD, in the directory of argv[0].  Threads collect its stdout lines
    and its stderr."""

    def __init__(self, argv, env=None, stdin=False, cwd=None):
        self.env = ENV if env is None else env
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     env=self.env, cwd=cwd or os.path.dirname(argv[0]),
                                     text=True, errors='replace')
        self.pid = self.proc.pid
        self.socket = socket_path(self.pid, self.env)
        self.lines = []
        self.bugs = []  # (the CLOCK_MONOTONIC time a BUG line carries, or inf; the line)
        self.err = []
        self.lock = threading.Lock()
        self.readers = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.readers:
            t.start()

    def _read_out(self):
        for line in self.proc.stdout:
            line = line.rstrip('\n')
            m = re.match(r'BUG (\d+\.\d+) ', line)
            with self.lock:
                self.lines.append(line)
                if line.startswith('BUG '):
                    self.bugs.append((float(m.group(1)) if m else float('inf'), line))

    def _read_err(self):
        for line in self.proc.stderr:
            with self.lock:
                self.err.append(line)

    def output(self):
        with self.lock:
            return list(self.lines)

    def stderr(self):
        """What it has written to stderr so far."""
        with self.lock:
            return ''.join(self.err)

    def alive(self):
        return self.proc.poll() is None

    def nfds(self):
        """How many descriptors it has open, -1 if that cannot be read."""
        try:
            return len(os.listdir(f'/proc/{self.pid}/fd'))
        except OSError:
            return -1

    def nbugs(self):
        with self.lock:
            return len(self.bugs)

    def bugs_after(self, t, pattern=''):
        """BUG lines matching PATTERN whose own CLOCK_MONOTONIC timestamp (the
        second field; time.monotonic() is CLOCK_MONOTONIC too) is after T."""
        with self.lock:
            return [line for stamp, line in self.bugs if pattern in line and stamp > t]

    def bugs_keep_coming(self, more=3, timeout=10):
        """MORE BUG lines come within TIMEOUT seconds, and it is alive."""
        start = self.nbugs()
        return wait_for(lambda: self.nbugs() >= start + more or not self.alive(), timeout) \
            and self.alive() and self.nbugs() >= start + more

    def wait_for(self, predicate, timeout):
        """Polls PREDICATE (returning a true value when done) until TIMEOUT,
        or until the program has ended."""
        return wait_for(predicate, timeout, period=0.01, give_up=lambda: not self.alive())

    def ask(self, line, timeout=10):
        """Sends LINE to the program's stdin (started with stdin=True) and
        returns the next line it prints; raises Failure without one within
        TIMEOUT seconds."""
        before = len(self.output())
        self.proc.stdin.write(f'{line}\n')
        self.proc.stdin.flush()
        if not self.wait_for(lambda: len(self.output()) > before, timeout):
            raise Failure(f'no answer to {line!r} within {timeout} s; stderr: {self.stderr()}')
        return self.output()[before]

    def wait_for_bug(self, after, timeout, pattern=''):
        return self.wait_for(lambda: self.bugs_after(after, pattern), timeout) or []

    def wait_for_socket(self, timeout=10):
        """Its runtime's update channel appears within TIMEOUT seconds."""
        wait_for(lambda: os.path.exists(self.socket) or not self.alive(), timeout)
        return os.path.exists(self.socket)

    def stop(self):
        """Ends it (SIGTERM, then SIGKILL after 5 s); returns its stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(timeout=5)
        for t in self.readers:
            t.join(timeout=5)
        return self.stderr()


def start_target(check, exe, xdg=None):
    """Starts EXE, a rewritten corpus program, with RACE_WINDOW_US=2000 so its
    race shows, Loom enabled, and its update channel below XDG (or, without
    XDG, in /tmp/loom-EUID).  Two checks: it listens on its socket (if not,
    it is stopped and the test ends: CHECK.finish()), and it prints BUG
    lines.  Returns the Program."""
    env = dict(ENV, RACE_WINDOW_US='2000')
    env.pop('LOOM_DISABLE', None)
    if xdg:
        env['XDG_RUNTIME_DIR'] = xdg
    else:
        env.pop('XDG_RUNTIME_DIR', None)
    target = Program([exe], env)
    if not check(target.wait_for_socket(10), f'the target (pid {target.pid}) listens on {target.socket}',
                 target.stderr()):
        target.stop()
        check.finish()
    check(target.bugs_keep_coming(), 'the target prints BUG lines (RACE_WINDOW_US=2000)')
    return target
