#!/usr/bin/env python3
"""The cursor tree (rewriter/cursors.c) changes nothing but the time.

loom-rewrite visits each translation unit once and answers every later
visit of the walk from that copy, which must yield the cursors libclang
would.  Two checks, on the rewriter's conformance programs (every construct
the rewriter knows), cursor_shapes/ (constant expressions in every place C
has them, which libclang visits in a way of their own), and bfd's files of
rare shapes plus elf.c from Debian's binutils-source (macros writing
callees, function pointers in tables, files included in bodies):

- cursor_check (cursor_check.c) compares every visit of every cursor, the
  tree's against libclang's (every 7th cursor of the bfd files);
- the sources are rewritten twice, once as usual and once with
  LOOM_REWRITE_NO_CURSOR_TREE=1 (libclang answers every visit), into the
  same output directory, and the trees must be byte-identical: every
  rewritten file and the manifest.

A libclang whose cursors carried something the copy does not reproduce
fails here first.

    cursor_tree.py --rewrite build/rewriter/loom-rewrite
                   --check build/rewriter/tests/cursor_check [--keep]

Fails (never skips) when binutils-source is not installed.
"""
import argparse
import filecmp
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'testlib'))
from loomtest import Checks, run, scratch  # noqa: E402
from loombfd import SHAPE_FILES, Missing, bfd_flags, prepare_bfd  # noqa: E402


def differences(a, b):
    """Paths (relative) that differ between directory trees A and B."""
    cmp = filecmp.dircmp(a, b)
    out = [*cmp.left_only, *cmp.right_only, *cmp.funny_files]
    out += [f for f in cmp.common_files if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)]
    for d in cmp.common_dirs:
        out += [os.path.join(d, f) for f in differences(os.path.join(a, d), os.path.join(b, d))]
    return out


def both_ways(check, args, what, src, flags, work):
    """Rewrites SRC with and without the cursor tree; compares."""
    out = os.path.join(work, 'out')
    trees = {}
    for tree in ('with', 'without'):
        env = dict(os.environ)
        env.pop('LOOM_REWRITE_NO_CURSOR_TREE', None)
        if tree == 'without':
            env['LOOM_REWRITE_NO_CURSOR_TREE'] = '1'
        shutil.rmtree(out, ignore_errors=True)
        rc, o, e = run([args.rewrite, '--quiet', '-j', '2', src, out, '--', *flags], timeout=600, env=env)
        if not check(rc == 0, f'{what}: loom-rewrite exits 0 {tree} the cursor tree', f'exit {rc}\n{o}{e}'):
            return
        check(('LOOM_REWRITE_NO_CURSOR_TREE is set' in e) == (tree == 'without'),
              f'{what}: loom-rewrite says the cursor tree is off exactly when it is ({tree})', e[-2000:])
        trees[tree] = os.path.join(work, f'{os.path.basename(src)}-{tree}')
        os.rename(out, trees[tree])
    diff = differences(trees['with'], trees['without'])
    files = sum(len(f) for _, _, f in os.walk(trees['with']))
    check(not diff and files > 2, f'{what}: the same {files} output files, byte for byte, with and without '
          'the cursor tree', f'differ: {diff[:20]}')


def cursor_check(check, args, files, flags, stride):
    """Runs cursor_check on each of FILES."""
    for path in files:
        rc, o, e = run([args.check, '--stride', str(stride), path, '--', *flags], timeout=300)
        check(rc == 0 and ' 0 mismatches' in o, f'{os.path.basename(path)}: every visit of '
              f'{"every" if stride == 1 else f"every {stride}th"} cursor from the tree is libclang\'s',
              f'exit {rc}\n{o}{e[-3000:]}')


def sources(directory):
    return sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith('.c'))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--check', required=True, help='the cursor_check program')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-cursor-tree-', args.keep) as work:
        shapes = os.path.join(HERE, 'cursor_shapes')
        cursor_check(check, args, sources(shapes) + sources(os.path.join(HERE, 'conformance')), [], 1)
        both_ways(check, args, 'the conformance programs', os.path.join(HERE, 'conformance'), [], work)
        both_ways(check, args, 'constant expressions (cursor_shapes)', shapes, [], work)
        try:
            bfd = prepare_bfd(work, log=sys.stdout)
        except Missing as e:
            check.require(False, 'binutils-source is installed', str(e))
        src = os.path.join(work, 'bfd-files')
        os.makedirs(src)
        for name in [*SHAPE_FILES, 'elf.c']:
            shutil.copy(os.path.join(bfd, name), src)
        cursor_check(check, args, [os.path.join(src, n) for n in SHAPE_FILES], bfd_flags(bfd), 7)
        both_ways(check, args, f'bfd\'s {", ".join(SHAPE_FILES)} and elf.c', src, bfd_flags(bfd), work)
    check.finish()


if __name__ == '__main__':
    main()
