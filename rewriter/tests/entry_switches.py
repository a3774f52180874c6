#!/usr/bin/env python3
"""Which static functions keep an entry switch (docs/design.md, "No switch").

The conformance program prototype_forms.c calls static functions before
their definitions through prototypes of several shapes.  After the rewrite:

1. a function whose prototype declares it alone (split over lines, a
   comment before the ';', a typedef, a K&R definition, an inline one) has
   no entry switch, and the slow copy of its caller calls its slow copy;
2. a function declared by a prototype that declares two (`static int
   pair_a(int), pair_b(int);`), that a macro writes or that has an
   attribute (which F__slow's copy must not repeat) keeps its switch, and
   the caller's slow copy calls the function itself;
3. main, called from outside, keeps its switch.

    entry_switches.py --rewrite build/rewriter/loom-rewrite [--keep]
"""
import argparse
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'testlib'))
from loomtest import Checks, reported, run, scratch  # noqa: E402

PROGRAM = os.path.join(HERE, 'conformance', 'prototype_forms.c')
SWITCHLESS = ['plain', 'split', 'typed', 'knr', 'hinted']
SWITCHED = ['attributed', 'pair_a', 'pair_b', 'declared_by_macro', 'main']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rewrite', required=True)
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    check = Checks()
    with scratch('loom-switches-', args.keep) as work, reported(check):
        src, out = os.path.join(work, 'src'), os.path.join(work, 'out')
        os.makedirs(src)
        shutil.copy(PROGRAM, src)
        r = run([args.rewrite, '--quiet', src, out])
        check.require(r.status == 0, 'loom-rewrite prototype_forms.c', r.stderr)
        with open(os.path.join(out, 'loom-manifest.json')) as f:
            switch = {fn['name']: fn['entry_switch'] for fn in json.load(f)['functions']}
        with open(os.path.join(out, 'prototype_forms.c')) as f:
            text = f.read()
        # run's slow copy: from its definition to the next function's.
        m = re.search(r'run__slow\(int n\)\s*\{(.*?)\n\}', text, re.S)
        check.require(m is not None, "run's slow copy is in the output")
        called = set(re.findall(r'\b(\w+)\(i\b', m.group(1)))
        for name in SWITCHLESS:
            check(switch.get(name) is False, f'{name}: no entry switch (prototype above its callers)',
                  f'manifest: entry_switch {switch.get(name)}')
            check(f'{name}__slow' in called, f"{name}: run's slow copy calls {name}__slow",
                  f'calls: {sorted(called)}')
        for name in SWITCHED:
            check(switch.get(name) is True, f'{name}: keeps its entry switch', f'manifest: entry_switch {switch.get(name)}')
            if name != 'main':
                check(name in called and f'{name}__slow' not in called,
                      f"{name}: run's slow copy calls {name} itself", f'calls: {sorted(called)}')
    check.finish()


if __name__ == '__main__':
    main()
