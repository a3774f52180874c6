"""Real C code for the rewriter's tests and benchmarks: binutils' bfd, from
Debian's binutils-source (/usr/src/binutils/binutils-*.tar.xz), whose ELF
files are 10-21k lines each.

    sys.path.insert(0, os.path.join(REPO, 'testlib'))
    from loombfd import bfd_flags, prepare_bfd
"""
import glob
import os
import subprocess

# The biggest ELF files: elf.c calls functions defined further down in loop
# twins, elf32-arm.c includes elf32-target.h last and undefines macros inside
# function bodies.
FILES = ['elf.c', 'elflink.c', 'elf32-arm.c']
# Smaller files with rarer shapes, each of which a rewrite once broke:
# stab.def and arc-plt.def #included inside function bodies (stab-syms.c,
# elf32-arc.c), `GET_RELOC;` where the macro carries its own ';' (elf32-rx.c,
# elf32-rl78.c), a function declared noreturn in a header only (bfd.c), and
# pe-sh.c including coff-sh.c under COFF_WITH_PE, which makes a function
# static through `#ifdef COFF_WITH_PE static #endif`.
SHAPE_FILES = ['stab-syms.c', 'elf32-arc.c', 'elf32-rx.c', 'elf32-rl78.c', 'bfd.c', 'coff-sh.c', 'pe-sh.c']


class Missing(Exception):
    """binutils-source is not installed."""


def binutils_tarball():
    """The newest /usr/src/binutils/binutils-*.tar.xz; raises Missing if
    there is none."""
    tars = sorted(glob.glob('/usr/src/binutils/binutils-*.tar.xz'))
    if not tars:
        raise Missing('/usr/src/binutils/binutils-*.tar.xz not found: install binutils-source '
                      '(./run installs it)')
    return tars[-1]


def prepare_bfd(work, log=None):
    """Extracts bfd under WORK and configures it for this host (once, about
    10 s; later calls reuse it); returns bfd's directory.  Raises Missing
    without the tarball.  LOG: a file for the progress line."""
    tar = binutils_tarball()
    top = os.path.join(work, os.path.basename(tar)[:-len('.tar.xz')])
    bfd = os.path.join(top, 'bfd')
    if os.path.exists(os.path.join(bfd, 'elf64-target.h')):
        return bfd
    if log:
        print(f'configuring bfd from {tar} in {work} ...', file=log, flush=True)
    name = os.path.basename(top)
    members = [f'{name}/{m}' for m in ('bfd', 'include', 'config', 'zlib', 'config.guess', 'config.sub',
                                        'install-sh', 'ltmain.sh', 'missing', 'mkinstalldirs',
                                        'move-if-change', 'depcomp', 'compile', 'ar-lib', 'libtool.m4',
                                        'ltoptions.m4', 'ltversion.m4', 'lt~obsolete.m4', 'ltsugar.m4')]
    subprocess.run(['tar', 'xJf', tar, '-C', work, *members], check=True)
    subprocess.run(['./configure', '--quiet', '--disable-nls'], cwd=bfd, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(['make', '-s', 'bfd.h', 'bfdver.h', 'elf32-target.h', 'elf64-target.h'], cwd=bfd,
                   check=True, stdout=subprocess.DEVNULL)
    return bfd


def bfd_flags(bfd):
    """The preprocessor flags bfd's own make compiles its files with."""
    return [f'-I{bfd}', f'-I{os.path.join(bfd, "..", "include")}', '-DHAVE_CONFIG_H', '-D_GNU_SOURCE']
