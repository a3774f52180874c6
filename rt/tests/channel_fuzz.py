#!/usr/bin/env python3
"""Malformed input on a live runtime's update channel (rt/loom.h).

Talks to the socket of a rewritten program directly and sends broken
messages, broken descriptor sets and broken filter images, half-sent
messages, idle connections and random bytes.  Each must get a REPLY with the
expected non-zero status (or, for truncated input, a closed connection):
never a crash, never a hang, never an installed filter.  Positive controls (a
hand-built image that installs and pops, a LIST sent one byte at a time) show
that the image builder and the framing are right, so that every rejection is
for the reason the case targets.  At the end the program is alive, still
prints BUG lines, has no filter, leaks no descriptor, and a real `loom push`
and `loom pop` work.

usage: channel_fuzz.py --rewrite BUILD/rewriter/loom-rewrite --loom BUILD/cli/loom
                       --src corpus/js-destroy-context [--seed N]
"""
import argparse
import fcntl
import functools
import json
import os
import random
import socket
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "testlib"))
import loomtest  # noqa: E402
from loomtest import Checks, loom_rows, rewrite_and_build, scratch, start_target, wait_for  # noqa: E402

MAGIC = 0x4D4F4F4C
WIRE_VERSION = 2
IMAGE_MAGIC = 0x49464D4C
HELLO, PUSH, POP, LIST, REPLY, LISTING = 1, 2, 3, 4, 5, 6
OK, E_MALFORMED, E_MANIFEST, E_TIMEOUT, E_NOFILTER, E_LIMIT, E_ABORTED = 0, 1, 2, 3, 4, 5, 6
OP_ENTER, OP_LEAVE, OP_ENTER_RANGE, OP_LEAVE_RANGE = 1, 2, 3, 4
OP_WAIT, OP_POST, OP_MARK, OP_POST_MARKED = 5, 6, 7, 8
OP_SOLO = 0x100
MAX_PAYLOAD = 64  # what loom__serve reads into (its payload buffer)

HDR = struct.Struct("<IHHI")
HELLO_S = struct.Struct("<II16sI")
POP_S = struct.Struct("<II")
REPLY_S = struct.Struct("<iIIIQ")
REPORT_S = struct.Struct("<III")
LISTING_S = struct.Struct("<IIQQQ")
IMAGE_FIELDS = ["magic", "version", "size", "nhooks", "manifest_id", "timeout_ms", "text_off",
                "text_len", "nlocks", "nregions", "ops_off", "nops", "danger_off", "ndanger",
                "fns_off", "nfns"]
IMAGE_S = struct.Struct("<IIII16sIIIIIIIIIII")
IMAGE_VERSION = 4
FN_WRAP = 0x80000000  # loom_image.fns: run wrapped (LOOM_FN_WRAP)
OP_S = struct.Struct("<IHHI")

F_ADD_SEALS = 1033
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1, 2, 4, 8
ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE

IO_TIMEOUT = 15  # seconds: any read longer than this is a hang

RUN_TIMEOUT = 30  # seconds, for every command but the build
run = functools.partial(loomtest.run, timeout=RUN_TIMEOUT)
check = Checks()


# ------------------------------------------------------------------ the wire

class Closed(Exception):
    pass


def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within {IO_TIMEOUT} s")
        s.settimeout(left)
        try:
            chunk = s.recv(n - len(buf))
        except socket.timeout:
            raise TimeoutError(f"no answer within {IO_TIMEOUT} s")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(len(buf))
        buf += chunk
    return buf


def read_msg(s, timeout=IO_TIMEOUT):
    """One message: (type, payload); raises Closed at EOF, TimeoutError,
    or ValueError for a malformed header."""
    deadline = time.monotonic() + timeout
    magic, version, typ, length = HDR.unpack(recv_exact(s, HDR.size, deadline))
    if magic != MAGIC or version != WIRE_VERSION or length > (4 << 20):
        raise ValueError(f"bad header from the runtime: magic {magic:#x} version {version} length {length}")
    return typ, recv_exact(s, length, deadline) if length else b""


def hdr(typ, length=0, magic=MAGIC, version=WIRE_VERSION):
    return HDR.pack(magic, version, typ, length)


def send_quietly(s, data, fds=None):
    """Sends; the runtime may already have answered and closed (EPIPE)."""
    try:
        if fds:
            socket.send_fds(s, [data], fds)
        else:
            s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def outcome(s, timeout=IO_TIMEOUT):
    """What the runtime did after our message: ('reply', status, text),
    ('listing', count), ('eof',), ('hang',) or ('bad', why).  A reply must be
    well framed and followed by the end of the connection."""
    try:
        typ, p = read_msg(s, timeout)
    except Closed as e:
        return ("eof",) if e.args[0] == 0 else ("bad", f"connection closed {e.args[0]} bytes into a header")
    except TimeoutError:
        return ("hang",)
    except ValueError as e:
        return ("bad", str(e))
    if typ == REPLY:
        if len(p) < REPLY_S.size:
            return ("bad", f"reply of {len(p)} bytes")
        status, fid, text_len, nthreads, in_force = REPLY_S.unpack_from(p)
        if len(p) != REPLY_S.size + text_len + nthreads * REPORT_S.size:
            return ("bad", f"reply length {len(p)} does not match text_len {text_len} nthreads {nthreads}")
        # When the update took effect: by the same clock, before this reply;
        # never for an error, which changed nothing.
        if (status == OK) != (0 < in_force <= time.monotonic_ns()):
            return ("bad", f"status {status} with in_force_ns {in_force} (now {time.monotonic_ns()})")
        off = REPLY_S.size + text_len
        reports = [REPORT_S.unpack_from(p, off + i * REPORT_S.size) for i in range(nthreads)]
        result = ("reply", status, p[REPLY_S.size:off].decode(errors="replace"), fid, reports)
    elif typ == LISTING:
        if len(p) < 4:
            return ("bad", "short listing")
        result = ("listing", struct.unpack_from("<I", p)[0], p)
    else:
        return ("bad", f"unexpected message type {typ}")
    try:
        extra = recv_exact(s, 1, time.monotonic() + timeout)
        return ("bad", f"more data after the answer: {extra!r}")
    except Closed:
        return result
    except TimeoutError:
        return ("bad", "the runtime kept the connection open after answering")


class Channel:
    def __init__(self, path, target, manifest, manifest_path):
        self.path = path
        self.target = target
        self.manifest = manifest
        self.manifest_path = manifest_path

    def connect(self, read_hello=True):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(IO_TIMEOUT)
        s.connect(self.path)
        if read_hello:
            typ, p = read_msg(s)
            if typ != HELLO or len(p) < HELLO_S.size:
                raise ValueError(f"expected HELLO, got type {typ} ({len(p)} bytes)")
            pid, nhooks, mid, path_len = HELLO_S.unpack_from(p)
            path = p[HELLO_S.size:].decode()
            if (pid, nhooks, mid.decode(), path_len, path) != (
                    self.target.pid, self.manifest["hooks"], self.manifest["id"], len(path), self.manifest_path):
                raise ValueError(f"unexpected HELLO {pid} {nhooks} {mid} {path_len} {path}")
        return s


# ----------------------------------------------------------------- the image

def align4(n):
    return (n + 3) & ~3


def op_functions(manifest, ops):
    """The functions (manifest indices) whose slow copies run the OPS (ops
    with out-of-range hooks, made to be rejected, name none)."""
    index = {(fn["name"], fn["file"]): i for i, fn in enumerate(manifest["functions"])}
    slots = manifest["slots"]
    return sorted({index[(slots[op[0] - 1]["function"], slots[op[0] - 1]["file"])]
                   for op in ops if 1 <= op[0] <= len(slots)})


def build_image(manifest, ops, danger, text=b"js_DestroyContext <> self", nlocks=1, nregions=0,
                timeout_ms=5000, fns=None, **override):
    """The image as cli/filter.c lays it out; OVERRIDE replaces header fields
    after the layout is computed."""
    fns = op_functions(manifest, ops) if fns is None else fns
    f = dict(magic=IMAGE_MAGIC, version=IMAGE_VERSION, nhooks=manifest["hooks"],
             manifest_id=manifest["id"].encode(), timeout_ms=timeout_ms, text_off=IMAGE_S.size,
             text_len=len(text), nlocks=nlocks, nregions=nregions, nops=len(ops), ndanger=len(danger),
             nfns=len(fns))
    f["ops_off"] = align4(IMAGE_S.size + len(text))
    f["danger_off"] = f["ops_off"] + OP_S.size * len(ops)
    f["fns_off"] = f["danger_off"] + 4 * len(danger)
    size = f["fns_off"] + 4 * len(fns)
    f["size"] = size
    body = bytearray(size)
    body[IMAGE_S.size:IMAGE_S.size + len(text)] = text
    for i, op in enumerate(ops):
        OP_S.pack_into(body, f["ops_off"] + i * OP_S.size, *op)
    for i, h in enumerate(danger):
        struct.pack_into("<I", body, f["danger_off"] + 4 * i, h)
    for i, fn in enumerate(fns):
        struct.pack_into("<I", body, f["fns_off"] + 4 * i, fn)
    f.update(override)
    IMAGE_S.pack_into(body, 0, *[f[k] for k in IMAGE_FIELDS])
    return bytes(body), f


def memfd(data, seals=ALL_SEALS, size=None):
    fd = os.memfd_create("loom-fuzz", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    if data:
        os.write(fd, data)
    if size is not None:
        os.ftruncate(fd, size)
    if seals:
        fcntl.fcntl(fd, F_ADD_SEALS, seals)
    return fd


def danger_for(manifest, fname):
    """The hooks of FNAME except its entry cond_break, and every hook of
    every function it may call (by name; no indirect calls here)."""
    fns = {f["name"]: f for f in manifest["functions"]}
    seen, queue = set(), [fname]
    while queue:
        f = fns[queue.pop()]
        for c in f["calls"]:
            if c["callee"] in fns and c["callee"] not in seen:
                seen.add(c["callee"])
                queue.append(c["callee"])
    brk = fns[fname]["break"]
    return sorted(s["id"] for s in manifest["slots"]
                  if (s["function"] == fname and s["id"] != brk) or s["function"] in seen)


# ---------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rewrite", required=True)
    ap.add_argument("--loom", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    loom = os.path.abspath(args.loom)
    rewrite = os.path.abspath(args.rewrite)
    src = os.path.abspath(args.src)
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    print(f"random seed {seed} (rerun with --seed {seed})", flush=True)
    rng = random.Random(seed)

    for path, what in ((loom, "loom"), (rewrite, "loom-rewrite")):
        if not check(os.access(path, os.X_OK), f"{what} is an executable at {path}"):
            check.finish()
    if not check(all(hasattr(os, n) for n in ("memfd_create", "eventfd", "eventfd_write"))
                 and hasattr(socket, "send_fds"),
                 "python has os.memfd_create, os.eventfd and socket.send_fds (3.10+)"):
        check.finish()

    with scratch("loom-channel-fuzz-") as tmp:
        target = None
        sock_path = None
        try:
            out = os.path.join(tmp, "out")
            exe = rewrite_and_build(rewrite, src, out, check=check)
            manifest_path = os.path.join(out, "loom-manifest.json")
            manifest = json.load(open(manifest_path))

            # The Python layouts must be rt/loom.h's.
            layout_c = os.path.join(tmp, "layout.c")
            with open(layout_c, "w") as f:
                f.write('#include <stdio.h>\n#include <stddef.h>\n#define LOOM_WIRE_ONLY\n'
                        '#include "out/loom-rt/loom.h"\nint main(void)\n{\n'
                        '\tprintf("%zu %zu %zu %zu %zu %zu %zu %zu", sizeof(struct loom_msg_header),'
                        ' sizeof(struct loom_hello), sizeof(struct loom_pop), sizeof(struct loom_reply),'
                        ' sizeof(struct loom_thread_report), sizeof(struct loom_listing),'
                        ' sizeof(struct loom_image), sizeof(struct loom_image_op));\n')
                for fld in IMAGE_FIELDS:
                    f.write(f'\tprintf(" %zu", offsetof(struct loom_image, {fld}));\n')
                f.write('\tprintf(" %zu %zu %zu\\n", offsetof(struct loom_image_op, kind),'
                        ' offsetof(struct loom_image_op, lock), offsetof(struct loom_image_op, region));\n'
                        '\treturn 0;\n}\n')
            cc = os.environ.get("CC", "cc")
            st, so, se = run([cc, "-o", os.path.join(tmp, "layout"), layout_c])
            if not check(st == 0, "compile a program printing rt/loom.h's wire layouts", se):
                check.finish()
            st, so, se = run([os.path.join(tmp, "layout")])
            offs, o = [], 0
            for fmt in ["I", "I", "I", "I", "16s", "I", "I", "I", "I", "I", "I", "I", "I", "I", "I", "I"]:
                offs.append(o)
                o += struct.calcsize("<" + fmt)
            want = [HDR.size, HELLO_S.size, POP_S.size, REPLY_S.size, REPORT_S.size, LISTING_S.size,
                    IMAGE_S.size, OP_S.size] + offs + [4, 6, 8]
            got = [int(x) for x in so.split()] if st == 0 else None
            if not check(got == want, "the test's wire layouts match rt/loom.h", f"C: {got}\npython: {want}"):
                check.finish()

            target = start_target(check, exe)
            pid = target.pid
            sock_path = target.socket
            ch = Channel(sock_path, target, manifest, manifest_path)

            def ls_rows():
                return loom_rows(loom, pid)[0]

            check(ls_rows() == [], "loom ls: no filter at the start")
            fds_before = target.nfds()

            nhooks = manifest["hooks"]
            fns = {f["name"]: f for f in manifest["functions"]}
            dc = fns["js_DestroyContext"]
            good_ops = [(dc["entry"], OP_ENTER, 0, 0)] + [(x, OP_LEAVE, 0, 0) for x in dc["exits"]]
            good_danger = danger_for(manifest, "js_DestroyContext")
            good_fields_fns = op_functions(manifest, good_ops)
            stmts = [s["id"] for s in manifest["slots"]
                     if s["function"] == "js_DestroyContext" and s["kind"] in ("stmt", "call")]

            def image(**kw):
                ops = kw.pop("ops", good_ops)
                danger = kw.pop("danger", good_danger)
                return build_image(manifest, ops, danger, **kw)

            def expect(name, res, want):
                """WANT: ('reply', status, text-substring) or ('eof',) or ('listing', n)."""
                if want[0] == "reply":
                    ok = res[0] == "reply" and res[1] == want[1] and want[2] in res[2]
                elif want[0] == "eof":
                    ok = res == ("eof",)
                else:
                    ok = res[0] == "listing" and res[1] == want[1]
                return check(ok and target.alive(), name,
                             f"got {res[:3]}\nwanted {want}\nalive {target.alive()}\n{target.stderr()}")

            def case_msg(name, data, want, fds=(), shut=True):
                try:
                    s = ch.connect()
                except Exception as e:  # noqa: BLE001 - any failure to connect is a failure
                    return check(False, name, f"cannot connect: {e!r}")
                with s:
                    send_quietly(s, data, list(fds))
                    if shut:
                        try:
                            s.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    return expect(name, outcome(s), want)

            def case_push(name, fds, want, signal=False, close_after=()):
                """PUSH with FDS; SIGNAL: write the eventfd (fds[0]) first."""
                try:
                    if signal:
                        os.eventfd_write(fds[0], 1)
                    return case_msg(name, hdr(PUSH), want, fds=fds)
                finally:
                    for fd in list(fds) + list(close_after):
                        os.close(fd)

            def push_image(name, data, want, seals=ALL_SEALS, signal=True, size=None):
                efd = os.eventfd(0, os.EFD_CLOEXEC)
                mfd = memfd(data, seals, size)
                return case_push(name, [efd, mfd], want, signal=signal)

            # ---- headers and message types
            case_msg("wrong magic", hdr(LIST, magic=0x12345678),
                     ("reply", E_MALFORMED, f"bad message header (magic 0x12345678, version {WIRE_VERSION})"))
            case_msg("wrong magic (bytes of the right one reversed)", hdr(LIST, magic=0x4C4F4F4D),
                     ("reply", E_MALFORMED, "bad message header"))
            case_msg("wrong version 1 (the previous one)", hdr(LIST, version=1), ("reply", E_MALFORMED, "version 1"))
            case_msg("wrong version 0", hdr(LIST, version=0), ("reply", E_MALFORMED, "version 0"))
            case_msg("huge length 0xffffffff", hdr(POP, 0xFFFFFFFF),
                     ("reply", E_MALFORMED, "message of 4294967295 bytes is too long"))
            case_msg("huge length with the bytes following", hdr(LIST, 1 << 20) + os.urandom(4096),
                     ("reply", E_MALFORMED, "is too long"))
            case_msg(f"length {MAX_PAYLOAD + 1}", hdr(POP, MAX_PAYLOAD + 1) + bytes(MAX_PAYLOAD + 1),
                     ("reply", E_MALFORMED, f"message of {MAX_PAYLOAD + 1} bytes is too long"))
            for typ in (0, HELLO, REPLY, LISTING, 7, 0xFFFF):
                case_msg(f"unknown message type {typ}", hdr(typ), ("reply", E_MALFORMED, f"unknown message type {typ}"))
            case_msg("LIST with a 4-byte payload", hdr(LIST, 4) + b"abcd",
                     ("reply", E_MALFORMED, "unknown message type 4 or bad length 4"))
            case_msg("POP with a short payload (4 bytes)", hdr(POP, 4) + struct.pack("<I", 1),
                     ("reply", E_MALFORMED, "unknown message type 3 or bad length 4"))
            case_msg("POP with a long payload (12 bytes)", hdr(POP, 12) + POP_S.pack(1, 1000) + b"xxxx",
                     ("reply", E_MALFORMED, "bad length 12"))
            case_msg("POP with timeout 0", hdr(POP, 8) + POP_S.pack(1, 0),
                     ("reply", E_MALFORMED, "timeout 0 ms out of range"))
            case_msg("POP with timeout 600001", hdr(POP, 8) + POP_S.pack(1, 600001),
                     ("reply", E_MALFORMED, "timeout 600001 ms out of range"))
            case_msg("POP of filter 0", hdr(POP, 8) + POP_S.pack(0, 1000),
                     ("reply", E_NOFILTER, "no filter 0 is installed"))
            case_msg("POP of filter 0xffffffff", hdr(POP, 8) + POP_S.pack(0xFFFFFFFF, 1000),
                     ("reply", E_NOFILTER, "no filter 4294967295 is installed"))
            case_msg("LIST with nothing else: a listing of 0 filters (control)", hdr(LIST), ("listing", 0))

            # ---- truncated input: the runtime closes without answering
            case_msg("half a header, then end of stream", hdr(LIST)[:6], ("eof",))
            case_msg("a header announcing 8 bytes, 3 sent, then end of stream",
                     hdr(POP, 8) + b"\x01\x00\x00", ("eof",))
            case_msg("end of stream right after the hello", b"", ("eof",))
            for name, data in (("close after half a header", hdr(LIST)[:5]),
                               ("close after a header announcing 8 bytes and 3 of them", hdr(POP, 8) + b"abc"),
                               ("close after a PUSH header without descriptors", hdr(PUSH))):
                try:
                    s = ch.connect()
                    send_quietly(s, data)
                    s.close()
                    check(True, name)
                except Exception as e:  # noqa: BLE001
                    check(False, name, repr(e))
            try:
                s = ch.connect(read_hello=False)
                s.close()
                check(True, "close before reading the hello")
            except Exception as e:  # noqa: BLE001
                check(False, "close before reading the hello", repr(e))

            # ---- a message trickling in one byte at a time (within the 5 s limit)
            try:
                with ch.connect() as s:
                    for b in hdr(LIST):
                        s.sendall(bytes([b]))
                        time.sleep(0.05)
                    expect("LIST sent one byte every 50 ms: answered", outcome(s), ("listing", 0))
            except Exception as e:  # noqa: BLE001
                check(False, "LIST sent one byte every 50 ms", repr(e))

            # ---- descriptors
            def efd():
                return os.eventfd(0, os.EFD_CLOEXEC)

            good_image, good_fields = image()
            case_push("PUSH without descriptors", [], ("reply", E_MALFORMED, "push needs an eventfd and a memfd"))
            case_push("PUSH with only an eventfd", [efd()], ("reply", E_MALFORMED, "push needs an eventfd and a memfd"))
            case_push("PUSH with only a sealed memfd", [memfd(good_image)],
                      ("reply", E_MALFORMED, "push needs an eventfd and a memfd"))
            case_push("PUSH with [memfd, eventfd] (swapped)", [memfd(good_image), efd()],
                      ("reply", E_MALFORMED, "push needs an eventfd and a memfd"))
            r, w = os.pipe()
            case_push("PUSH with [pipe, memfd]", [r, memfd(good_image)],
                      ("reply", E_MALFORMED, "push needs an eventfd and a memfd"), close_after=[w])
            case_push("PUSH with three descriptors", [efd(), memfd(good_image), efd()],
                      ("reply", E_MALFORMED, "bad ancillary data"))
            case_push("PUSH with 20 descriptors (truncated control data)", [efd() for _ in range(20)],
                      ("reply", E_MALFORMED, "bad ancillary data"))
            e1, e2 = efd(), efd()
            try:
                case_msg("LIST carrying two descriptors", hdr(LIST),
                         ("reply", E_MALFORMED, "unexpected file descriptors"), fds=[e1, e2])
            finally:
                os.close(e1)
                os.close(e2)
            e1, m1 = efd(), memfd(good_image)
            try:
                case_msg("PUSH with a 4-byte payload and descriptors", hdr(PUSH, 4) + b"\0\0\0\0",
                         ("reply", E_MALFORMED, "unexpected file descriptors"), fds=[e1, m1])
                case_msg("POP carrying descriptors", hdr(POP, 8) + POP_S.pack(1, 1000),
                         ("reply", E_MALFORMED, "unexpected file descriptors"), fds=[e1, m1])
            finally:
                os.close(e1)
                os.close(m1)
            case_push("PUSH with an eventfd and an UNSEALED memfd", [efd(), memfd(good_image, seals=0)],
                      ("reply", E_MALFORMED, "not a sealed memfd"))
            case_push("PUSH with a memfd sealed against shrink and grow but not write",
                      [efd(), memfd(good_image, seals=F_SEAL_SHRINK | F_SEAL_GROW)],
                      ("reply", E_MALFORMED, "not a sealed memfd"))
            case_push("PUSH with [eventfd, eventfd]", [efd(), efd()], ("reply", E_MALFORMED, "not a sealed memfd"))
            regular = os.path.join(tmp, "image.bin")
            with open(regular, "wb") as f:
                f.write(good_image)
            case_push("PUSH with [eventfd, regular file]", [efd(), os.open(regular, os.O_RDONLY)],
                      ("reply", E_MALFORMED, "not a sealed memfd"))
            r, w = os.pipe()
            case_push("PUSH with [eventfd, pipe]", [efd(), r], ("reply", E_MALFORMED, "not a sealed memfd"),
                      close_after=[w])

            # ---- images
            push_image("image: empty sealed memfd", b"", ("reply", E_MALFORMED, "filter image size 0 out of range"))
            push_image("image: 17 MiB sealed memfd", b"",
                       ("reply", E_MALFORMED, "filter image size 17825792 out of range"), size=17 << 20)
            push_image("image: 64 bytes of garbage", bytes(rng.randrange(256) for _ in range(64)),
                       ("reply", E_MALFORMED, "not a filter image"))
            push_image("image: 4 KiB of garbage", os.urandom(4096), ("reply", E_MALFORMED, "not a filter image"))
            push_image("image: truncated header (20 bytes)", good_image[:20],
                       ("reply", E_MALFORMED, "not a filter image"))
            push_image(f"image: header only ({IMAGE_S.size - 1} bytes)", good_image[:IMAGE_S.size - 1],
                       ("reply", E_MALFORMED, "not a filter image"))
            push_image("image: truncated after the header (sizes lie)", good_image[:IMAGE_S.size + 4],
                       ("reply", E_MALFORMED, f"image size {len(good_image)} does not match its memfd"))
            push_image("image: size field 4 more than the memfd", image(size=len(good_image) + 4)[0],
                       ("reply", E_MALFORMED, "does not match its memfd"))
            push_image("image: size field 4 less than the memfd", image(size=len(good_image) - 4)[0],
                       ("reply", E_MALFORMED, "does not match its memfd"))
            push_image("image: version 3", image(version=3)[0],
                       ("reply", E_MALFORMED, "filter image version 3, this runtime reads 4"))
            push_image("image: function table misaligned", image(fns_off=good_fields["fns_off"] + 1)[0],
                       ("reply", E_MALFORMED, "bad function table"))
            push_image("image: nfns 0xffffffff", image(nfns=0xFFFFFFFF)[0],
                       ("reply", E_MALFORMED, "bad function table"))
            push_image("image: a function index past the last function",
                       build_image(manifest, good_ops, good_danger, fns=[len(manifest["functions"])])[0],
                       ("reply", E_MALFORMED, "bad function 0"))
            push_image("image: another manifest id", image(manifest_id=b"0123456789abcdef")[0],
                       ("reply", E_MANIFEST, "filter compiled against manifest 0123456789abcdef"))
            push_image("image: manifest id of NULs", image(manifest_id=bytes(16))[0],
                       ("reply", E_MANIFEST, "filter compiled against manifest"))
            push_image("image: nhooks off by one", image(nhooks=nhooks + 1)[0],
                       ("reply", E_MANIFEST, "this program was built from manifest " + manifest["id"]))
            push_image("image: timeout 0", image(timeout_ms=0)[0], ("reply", E_MALFORMED, "timeout 0 ms out of range"))
            push_image("image: timeout 600001", image(timeout_ms=600001)[0],
                       ("reply", E_MALFORMED, "timeout 600001 ms out of range"))
            push_image("image: 0 locks", image(nlocks=0)[0], ("reply", E_MALFORMED, "bad lock or region count"))
            push_image("image: 1025 locks", image(nlocks=1025)[0], ("reply", E_MALFORMED, "bad lock or region count"))
            push_image("image: 4097 regions", image(nregions=4097)[0],
                       ("reply", E_MALFORMED, "bad lock or region count"))
            push_image("image: empty text", image(text_len=0)[0], ("reply", E_MALFORMED, "bad filter text"))
            push_image("image: text with a NUL", image(text=b"js_DestroyContext\0<> self")[0],
                       ("reply", E_MALFORMED, "bad filter text"))
            push_image("image: text offset past the end", image(text_off=len(good_image) + 1)[0],
                       ("reply", E_MALFORMED, "bad filter text"))
            push_image("image: text length past the end", image(text_len=len(good_image))[0],
                       ("reply", E_MALFORMED, "bad filter text"))
            push_image("image: text length 0xffffffff", image(text_len=0xFFFFFFFF)[0],
                       ("reply", E_MALFORMED, "bad filter text"))
            push_image("image: text offset 0xffffffff", image(text_off=0xFFFFFFFF)[0],
                       ("reply", E_MALFORMED, "bad filter text"))
            push_image("image: op table misaligned", image(ops_off=good_fields["ops_off"] + 2)[0],
                       ("reply", E_MALFORMED, "bad op table"))
            push_image("image: no ops", image(nops=0)[0], ("reply", E_MALFORMED, "bad op table"))
            push_image("image: more ops than fit", image(nops=len(good_ops) + len(good_danger))[0],
                       ("reply", E_MALFORMED, "bad op table"))
            push_image("image: nops 0xffffffff", image(nops=0xFFFFFFFF)[0], ("reply", E_MALFORMED, "bad op table"))
            push_image("image: op table offset past the end", image(ops_off=align4(len(good_image) + 4))[0],
                       ("reply", E_MALFORMED, "bad op table"))
            push_image("image: danger table misaligned", image(danger_off=good_fields["danger_off"] + 1)[0],
                       ("reply", E_MALFORMED, "bad dangerous-hook table"))
            push_image("image: more dangerous hooks than fit",
                       image(ndanger=len(good_danger) + len(good_fields_fns) + 1)[0],
                       ("reply", E_MALFORMED, "bad dangerous-hook table"))
            push_image("image: ndanger 0xffffffff", image(ndanger=0xFFFFFFFF)[0],
                       ("reply", E_MALFORMED, "bad dangerous-hook table"))
            push_image("image: danger table offset past the end", image(danger_off=align4(len(good_image) + 4))[0],
                       ("reply", E_MALFORMED, "bad dangerous-hook table"))
            leave = good_ops[1]
            for name, op in (("hook id 0", (0, OP_LEAVE, 0, 0)),
                             (f"hook id {nhooks + 1} (> nhooks)", (nhooks + 1, OP_LEAVE, 0, 0)),
                             ("hook id 0xffffffff", (0xFFFFFFFF, OP_LEAVE, 0, 0)),
                             ("lock 1 with 1 lock", (leave[0], OP_LEAVE, 1, 0)),
                             ("lock 0xffff", (leave[0], OP_LEAVE, 0xFFFF, 0)),
                             ("kind 0", (leave[0], 0, 0, 0)),
                             ("kind 9", (leave[0], 9, 0, 0)),
                             ("a wait for 0", (leave[0], OP_WAIT, 0, 0)),
                             ("a wait for 1000001", (leave[0], OP_WAIT, 0, 1000001)),
                             ("a post with region 1", (leave[0], OP_POST, 0, 1)),
                             ("a wait that runs alone", (leave[0], OP_WAIT | OP_SOLO, 0, 1)),
                             ("kind 0x200", (leave[0], 0x200 | OP_LEAVE, 0, 0)),
                             ("kind 0xffff", (leave[0], 0xFFFF, 0, 0)),
                             ("a function op with region 1", (leave[0], OP_LEAVE, 0, 1)),
                             ("a range op with region 0 of 0 regions", (leave[0], OP_LEAVE_RANGE, 0, 0))):
                ops = [good_ops[0], op] + good_ops[2:]
                push_image(f"image: op 1 with {name}", image(ops=ops)[0], ("reply", E_MALFORMED, "bad op 1"))
            push_image("image: lock 0 used as a mutex and a semaphore",
                       image(ops=good_ops + [(stmts[0], OP_POST, 0, 0)])[0],
                       ("reply", E_MALFORMED, "uses lock 0 in two ways"))
            push_image("image: lock 0 used as a mutex and a unilateral one",
                       image(ops=good_ops + [(stmts[0], OP_ENTER_RANGE | OP_SOLO, 0, 0)], nregions=1)[0],
                       ("reply", E_MALFORMED, "uses lock 0 in two ways"))
            push_image("image: a range op with region 1 of 1 region",
                       image(ops=[(stmts[0], OP_ENTER_RANGE, 0, 1), (dc["exits"][0], OP_LEAVE_RANGE, 0, 0)],
                             nregions=1)[0], ("reply", E_MALFORMED, "bad op 0"))
            for name, bad in (("0", 0), (f"{nhooks + 1}", nhooks + 1)):
                d = list(good_danger)
                d[2] = bad
                push_image(f"image: dangerous hook {name}", image(danger=d)[0],
                           ("reply", E_MALFORMED, "bad dangerous hook 2"))

            nfuncs = len(manifest["functions"])
            for name, bad in ((f"{nfuncs}", nfuncs), (f"{nfuncs} to wrap", nfuncs | FN_WRAP)):
                push_image(f"image: slow function {name}", image(fns=[bad])[0],
                           ("reply", E_MALFORMED, "bad function 0"))

            push_image("image: text of 65537 bytes (one more than allowed)", image(text=b"x" * 65537)[0],
                       ("reply", E_MALFORMED, "bad filter text"))

            # ---- valid images the runtime cannot install
            push_image("image: 65 ops at one hook: LIMIT, nothing installed",
                       image(ops=[good_ops[0]] * 65 + good_ops[1:])[0],
                       ("reply", E_LIMIT, "too many operations at one hook"))
            try:
                e1, m1 = efd(), memfd(image(danger=list(range(1, nhooks + 1)), timeout_ms=300)[0])
                os.eventfd_write(e1, 1)
                with ch.connect() as s:
                    socket.send_fds(s, [hdr(PUSH)], [e1, m1])
                    res = outcome(s)
                os.close(e1)
                os.close(m1)
                reports = res[4] if res[0] == "reply" else []
                if expect("image: every hook dangerous, timeout 300 ms: TIMEOUT, nothing installed", res,
                          ("reply", E_TIMEOUT, "evacuation timed out")):
                    check(reports and all(1 <= st_ <= 3 and 0 <= hook <= nhooks and tid > 0
                                          for tid, st_, hook in reports),
                          f"the timeout reply lists {len(reports)} threads held up, each with a state and a hook",
                          reports)
            except Exception as e:  # noqa: BLE001
                check(False, "image: every hook dangerous", repr(e))
            check(ls_rows() == [] and target.bugs_keep_coming(), "nothing installed, BUG lines keep coming")

            # ---- a valid image that is never committed
            push_image("valid image, no commit signal, end of stream: ABORTED, nothing installed",
                       good_image, ("reply", E_ABORTED, "no commit signal: nothing installed"), signal=False)
            try:
                e1, m1 = efd(), memfd(good_image)
                s = ch.connect()
                socket.send_fds(s, [hdr(PUSH)], [e1, m1])
                os.close(m1)
                s.close()
                # The runtime may still hold the memfd; only the eventfd stays ours.
                ok = wait_for(lambda: ls_rows() == [], 15)
                os.eventfd_write(e1, 1)  # a late commit must change nothing
                os.close(e1)
                check(ok and ls_rows() == [] and target.alive(),
                      "valid image, no commit signal, socket closed: nothing installed (also after a late signal)")
            except Exception as e:  # noqa: BLE001
                check(False, "valid image, no commit signal, socket closed", repr(e))

            check(ls_rows() == [], "loom ls: no filter after all the broken pushes")

            # ---- positive controls: the same builder's image installs and pops
            push_image("control: the valid image with its commit signal installs", good_image,
                       ("reply", OK, "installed"))
            rows = ls_rows()
            fid = rows[0].split()[0] if rows and len(rows) == 1 else None
            check(fid is not None and rows[0].endswith("js_DestroyContext <> self"),
                  "control: loom ls shows the hand-built filter", rows)
            if fid:
                try:
                    with ch.connect() as s:
                        s.sendall(hdr(POP, 8) + POP_S.pack(int(fid), 2000))
                        res = outcome(s)
                except Exception as e:  # noqa: BLE001
                    res = ("bad", repr(e))
                expect(f"control: POP {fid} on the wire removes it", res, ("reply", OK, f"filter {fid} removed"))
            range_ops = [(stmts[0], OP_ENTER_RANGE, 0, 0)] + [(x, OP_LEAVE_RANGE, 0, 0) for x in dc["exits"]]
            push_image("control: a range image (region 0 of 1) installs",
                       image(ops=range_ops, nregions=1, text=b"range control")[0],
                       ("reply", OK, "installed"))
            rows = ls_rows()
            if check(rows and len(rows) == 1 and rows[0].endswith("range control"), "control: loom ls shows it", rows):
                st, so, se = run([loom, "pop", str(pid), rows[0].split()[0]])
                check(st == 0, "control: loom pop removes it", se)
            check(ls_rows() == [], "loom ls: no filter after the controls")

            # ---- 200 random byte strings, each on its own connection
            def predict(data):
                if len(data) < HDR.size:
                    return ("eof",)
                magic, version, typ, length = HDR.unpack_from(data)
                if magic != MAGIC or version != WIRE_VERSION or length > MAX_PAYLOAD:
                    return ("reply", E_MALFORMED, "")
                if len(data) - HDR.size < length:
                    return ("eof",)
                if typ == POP and length == POP_S.size:
                    fid_, tmo = POP_S.unpack_from(data, HDR.size)
                    if tmo == 0 or tmo > 600000:
                        return ("reply", E_MALFORMED, "out of range")
                    return ("reply", E_NOFILTER, "is installed")
                if typ == LIST and length == 0:
                    return ("listing", 0)
                return ("reply", E_MALFORMED, "")

            bad_random = 0
            for i in range(200):
                kind = i % 4
                if kind == 0:  # noise
                    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 100)))
                else:  # the right magic and version, the rest random
                    typ = rng.choice([0, HELLO, PUSH, POP, LIST, REPLY, LISTING, rng.randrange(1 << 16)])
                    length = rng.choice([0, 0, 4, 8, 8, rng.randrange(0, 70), rng.randrange(1 << 32)])
                    body = bytes(rng.randrange(256) for _ in range(min(length, 80)))
                    if kind == 2 and rng.random() < 0.5:  # a POP that gets past validation
                        typ, length = POP, 8
                        body = POP_S.pack(rng.randrange(1000, 1 << 32), rng.randrange(1, 600001))
                    data = HDR.pack(MAGIC, 1, typ, length) + body
                    if kind == 3:  # cut anywhere
                        data = data[:rng.randrange(0, len(data) + 1)]
                want = predict(data)
                try:
                    s = ch.connect()
                except Exception as e:  # noqa: BLE001
                    check(False, f"random {i}: connect", repr(e))
                    bad_random += 1
                    continue
                with s:
                    send_quietly(s, data)
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    res = outcome(s)
                ok = (res[0] == want[0] and (want[0] != "reply" or (res[1] == want[1] and want[2] in res[2]))
                      and (want[0] != "listing" or res[1] == 0))
                if not ok or not target.alive():
                    bad_random += 1
                    check(False, f"random {i}: {data.hex()}", f"got {res[:3]}\nwanted {want}\nalive {target.alive()}")
            check(bad_random == 0, "200 random byte strings: each answered as predicted, no crash, no hang")

            # ---- an idle connection: the runtime gives up on it after ~5 s
            try:
                t0 = time.monotonic()
                with ch.connect() as s:
                    res = outcome(s, timeout=12)
                dt = time.monotonic() - t0
                check(res == ("eof",) and 3.5 <= dt <= 8,
                      f"an idle connection is closed by the runtime after {dt:.1f} s (~5 s expected)",
                      f"got {res[:3]}")
            except Exception as e:  # noqa: BLE001
                check(False, "an idle connection", repr(e))
            st, so, se = run([loom, "ls", str(pid)])
            check(st == 0 and so.startswith("ID"), "loom ls answers after the idle connection", se)

            # ---- the end state
            check(target.alive(), f"the target (pid {pid}) is alive", target.stderr())
            try:
                os.kill(pid, 0)
                check(True, "os.kill(pid, 0) succeeds")
            except OSError as e:
                check(False, "os.kill(pid, 0) succeeds", repr(e))
            check(target.bugs_keep_coming(), "the target still prints BUG lines")
            check(ls_rows() == [], "loom ls shows no filter")
            fds_after = wait_for(lambda: target.nfds() == fds_before and fds_before, 5) and target.nfds()
            check(fds_after == fds_before, f"the target leaked no descriptor ({fds_before} open before, "
                                           f"{target.nfds()} after)", os.listdir(f"/proc/{pid}/fd"))
            st, so, se = run([loom, "push", str(pid), "-"], stdin_data=b"js_DestroyContext <> self\n")
            fid = so.strip()
            if check(st == 0 and fid.isdigit(), "a real loom push works", se):
                rows = ls_rows()
                check(rows and len(rows) == 1 and rows[0].split()[0] == fid, "loom ls shows it", rows)
                st, so, se = run([loom, "pop", str(pid), fid])
                check(st == 0, "a real loom pop works", se)
                check(ls_rows() == [], "loom ls: no filter after the pop")
            check(target.alive() and "loom[" not in target.stderr(),
                  "the target is alive and its runtime printed no warning", target.stderr())
        finally:
            if target is not None:
                target.stop()
                # Killed by a signal, the runtime could not remove its socket.
                if sock_path and os.path.exists(sock_path):
                    os.unlink(sock_path)
    check.finish()


if __name__ == "__main__":
    main()
