#!/usr/bin/env python3
"""The hybrid rewrite of real C code compiles as the original does.

binutils' bfd (from Debian's binutils-source, testlib/loombfd.py) has what
small programs lack: functions called in loops before their definitions
(elf.c), a header included at the end of the file that defines macros named
like struct members (elf32-arm.c includes elf32-target.h last), macros
defined and undefined inside function bodies (elf32-arm.c's group_sections,
whose slow copy puts them back first).  Each of
elf.c, elflink.c and elf32-arm.c is rewritten alone with bfd's flags, and
then compiled original and rewritten with gcc and clang-19 at -O2 with
-W -Wall; a combination passes when both compile, give the same warnings
(line and text), and define the same global functions (the rewritten one
also the runtime's loom_* names and NAME__fast for the manifest's fast
entries).  Then smaller files with rarer shapes
(loombfd.SHAPE_FILES: bodies that #include a file, macros carrying their
own ';', noreturn from a header, a C file included by another under other
macros) are rewritten as one tree and checked with -fsyntax-only: the
same diagnostics as the originals.

    real_code.py --rewrite build/rewriter/loom-rewrite [--cc gcc] [--keep]

Fails (never skips) when binutils-source is not installed.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, reported, run, scratch  # noqa: E402
from loombfd import FILES, SHAPE_FILES, Missing, bfd_flags, prepare_bfd  # noqa: E402

WARNING_RE = re.compile(r'^[^:\s]+:(\d+):(?:\d+:)? warning: (.*)$', re.M)
DIAG_RE = re.compile(r'^[^:\s]+:(\d+):(?:\d+:)? (warning|error): (.*)$', re.M)
CFLAGS = ['-O2', '-g', '-W', '-Wall']


def compile_one(cc, src, obj, flags):
    """(exit status, output, warnings as sorted (line, text), global
    functions defined) of compiling SRC to OBJ."""
    rc, out, err = run([cc, *CFLAGS, *flags, '-c', src, '-o', obj], timeout=600)
    text = out + err
    warnings = sorted((int(m.group(1)), m.group(2)) for m in WARNING_RE.finditer(text))
    functions = set()
    if rc == 0:
        _, nm, _ = run(['nm', '-g', '--defined-only', obj])
        functions = {p[2] for p in (line.split() for line in nm.splitlines())
                     if len(p) == 3 and p[1] == 'T'}
    return rc, text, warnings, functions


def diagnostics(cc, src, flags):
    """(exit status, output, sorted (line, text) of its warnings and errors)
    of CC -fsyntax-only on SRC."""
    rc, out, err = run([cc, '-fsyntax-only', '-W', '-Wall', *flags, src], timeout=300)
    found = sorted((int(m.group(1)), m.group(3)) for m in DIAG_RE.finditer(out + err))
    return rc, out + err, found


def check_shapes(check, args, bfd, flags, work, ccs):
    """SHAPE_FILES rewritten as one tree: the same diagnostics as the
    originals, with every compiler."""
    src, out = os.path.join(work, 'shapes'), os.path.join(work, 'shapes-rw')
    os.makedirs(src)
    for name in SHAPE_FILES:
        shutil.copy(os.path.join(bfd, name), src)
    rc, o, e = run([args.rewrite, '--quiet', src, out, '--', *flags], timeout=600)
    if not check(rc == 0, f'{len(SHAPE_FILES)} files of rare shapes: loom-rewrite exits 0', f'exit {rc}\n{o}{e}'):
        return
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for name in SHAPE_FILES:
            for cc in ccs:
                jobs[(name, cc)] = (pool.submit(diagnostics, cc, os.path.join(src, name), flags),
                                    pool.submit(diagnostics, cc, os.path.join(out, name), flags))
        for (name, cc), (fo, fr) in jobs.items():
            o, r = fo.result(), fr.result()
            check(o[0] == r[0] and o[2] == r[2], f'{name} [{cc} -fsyntax-only]: the same diagnostics',
                  f'original (exit {o[0]}): {o[2][:10]}\nrewritten (exit {r[0]}): {r[2][:10]}\n{r[1][-2000:]}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--cc', action='append', help='compilers (default gcc and clang-19)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()
    ccs = args.cc or ['gcc', 'clang-19']
    check = Checks()
    with scratch('loom-real-code-', args.keep) as work, reported(check):
        try:
            bfd = prepare_bfd(work, log=sys.stdout)
        except Missing as e:
            check.require(False, 'binutils-source is installed', str(e))
        flags = bfd_flags(bfd)
        outs = {}
        for name in FILES:
            src = os.path.join(work, 'src', name[:-2])
            out = os.path.join(work, 'out', name[:-2])
            os.makedirs(src)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy(os.path.join(bfd, name), src)
            rc, o, e = run([args.rewrite, '--quiet', src, out, '--', *flags], timeout=600)
            if check(rc == 0, f'{name}: loom-rewrite exits 0', f'exit {rc}\n{o}{e}'):
                outs[name] = out
        if 'elf32-arm.c' in outs:
            with open(os.path.join(outs['elf32-arm.c'], 'loom-manifest.json')) as f:
                funcs = {fn['name']: fn for fn in json.load(f)['functions']}
            group = funcs.get('group_sections', {})
            with open(os.path.join(outs['elf32-arm.c'], 'elf32-arm.c')) as f:
                text = f.read()
            copy = text.find('\nstatic void\ngroup_sections__slow (struct')
            frame = text[text.rfind('LOOM_QUIET_PUSH\n', 0, copy):copy]
            check(group.get('slow_copy') is True and copy > 0 and '\n#undef NEXT_SEC\n' in frame
                  and '\n#undef PREV_SEC\n#define PREV_SEC(sec) (htab->stub_group[(sec)->id].link_sec)\n' in frame,
                  'elf32-arm.c: group_sections, which defines and undefines macros it uses, has a slow '
                  'copy that first puts PREV_SEC and NEXT_SEC back as they are where it starts',
                  f'manifest entry: {group}')
            check(sum(1 for fn in funcs.values() if fn.get('slow_copy')) > 0.9 * len(funcs),
                     'elf32-arm.c: more than 90% of the functions have a slow copy',
                     f'{sum(1 for fn in funcs.values() if fn.get("slow_copy"))} of {len(funcs)}')
        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for name, out in outs.items():
                for cc in ccs:
                    tag = f'{name[:-2]}-{cc}'
                    jobs[(name, cc)] = (
                        pool.submit(compile_one, cc, os.path.join(bfd, name),
                                    os.path.join(work, f'{tag}.orig.o'), flags),
                        pool.submit(compile_one, cc, os.path.join(out, name),
                                    os.path.join(work, f'{tag}.rw.o'), flags))
            for (name, cc), (fo, fr) in jobs.items():
                o, r = fo.result(), fr.result()
                what = f'{name} [{cc}]'
                if not check(o[0] == 0, f'{what}: the original compiles', o[1][-3000:]):
                    continue
                if not check(r[0] == 0, f'{what}: the rewritten file compiles', r[1][-3000:]):
                    continue
                check(o[2] == r[2], f'{what}: the same warnings (line and text)',
                         f'original: {o[2][:20]}\nrewritten: {r[2][:20]}')
                # Plus NAME__fast for each function with a fast entry.
                with open(os.path.join(outs[name], 'loom-manifest.json')) as f:
                    fast = {fn['name'] + '__fast' for fn in json.load(f)['functions'] if fn['fast_entry']}
                rw_funcs = {f for f in r[3] if not f.startswith('loom_')}
                check(o[3] | fast == rw_funcs,
                      f'{what}: the same global functions ({len(o[3])}), and {len(fast)} fast entries',
                      f'only original: {sorted(o[3] - rw_funcs)[:10]}, '
                      f'only rewritten: {sorted(rw_funcs - o[3] - fast)[:10]}, '
                      f'fast entries missing: {sorted(fast - rw_funcs)[:10]}')
        check_shapes(check, args, bfd, flags, work, ccs)
    check.finish()


if __name__ == '__main__':
    main()
