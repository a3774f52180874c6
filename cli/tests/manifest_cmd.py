#!/usr/bin/env python3
"""`loom manifest stat|show|diff` against manifests of the corpus program,
checked against the manifest JSON itself: stat's counts are the JSON's, show
lists every source line with exactly the hooks the JSON puts there, diff of a
manifest with itself is silent, and diff after editing a copy of the source
(lines inserted on top, a function added, one removed) reports exactly the
functions that moved, came and went, the hook that went with the removed
call, and how the corpus filter resolves differently.  Then bad input: each
error with its exit status and message.

usage: manifest_cmd.py --loom BUILD/cli/loom --rewrite BUILD/rewriter/loom-rewrite
                       --src corpus/js-destroy-context --spec specs/js-destroy-context.loom
"""
import argparse
import collections
import functools
import json
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "testlib"))
import loomtest  # noqa: E402
from loomtest import Checks, reported, scratch, tamper_manifest  # noqa: E402

RUN_TIMEOUT = 30  # seconds, for every command
run = functools.partial(loomtest.run, timeout=RUN_TIMEOUT)
check = Checks()

KINDS = ("entry", "stmt", "call", "exit", "break", "backedge", "blocking")
COPIES = ("slow", "both", "inline", "twin")
LETTER = {"entry": "e", "stmt": "s", "call": "c", "exit": "x", "break": "b", "backedge": "l",
          "blocking": "k"}


def rewrite(rw, src, out, *opts, status=0):
    st, so, se = run([rw, "--quiet", *opts, src, out])
    path = os.path.join(out, "loom-manifest.json")
    check.require(st == status and os.path.isfile(path), f"loom-rewrite {' '.join(opts)} {src} {out}",
                  f"status {st}\n{se}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def table(lines, head):
    """The rows of the stat table whose header starts with HEAD: {name: {column: int}}."""
    for k, line in enumerate(lines):
        cols = line.split()
        if cols[:2] == ["FILE", head]:
            rows = {}
            for row in lines[k + 1:]:
                if not row.strip():
                    break
                cells = row.split()
                rows[cells[0]] = dict(zip(cols[1:], map(int, cells[1:])))
            return rows
    return None


def expected_counts(m):
    """Per file and 'total': every stat column, from the manifest JSON."""
    def zero():
        return {c: 0 for c in ["SLOTS", *[k.upper() for k in KINDS], *[c.upper() for c in COPIES],
                               "FUNCTIONS", "SLOW_COPY", "ENTRY_SWITCH", "FAST_ENTRY", "STATIC", "ADDRESS_TAKEN",
                               "LOOPS", "TWINS", "MACRO_SKIPPED"]}
    rows = {f["path"]: zero() for f in m["files"]}
    rows["total"] = zero()
    for s in m["slots"]:
        for r in (rows[s["file"]], rows["total"]):
            r["SLOTS"] += 1
            r[s["kind"].upper()] += 1
            r[s["copy"].upper()] += 1
    for f in m["functions"]:
        for r in (rows[f["file"]], rows["total"]):
            r["FUNCTIONS"] += 1
            r["SLOW_COPY"] += f["slow_copy"]
            r["ENTRY_SWITCH"] += f["entry_switch"]
            r["FAST_ENTRY"] += f["fast_entry"]
            r["STATIC"] += f["static"]
            r["ADDRESS_TAKEN"] += f["address_taken"]
            r["LOOPS"] += len(f["loops"])
            r["TWINS"] += sum(1 for loop in f["loops"] if loop["twin_exit"])
    for s in m["macro_skipped"]:
        for r in (rows[s["file"]], rows["total"]):
            r["MACRO_SKIPPED"] += 1
    return rows


def check_stat(loom, out, m, what):
    st, so, se = run([loom, "manifest", "stat", out])
    if not check(st == 0 and se == "", f"stat {what}: exit 0, nothing on stderr",
                 f"status {st}\nstderr {se!r}"):
        return
    lines = so.split("\n")
    slots, fns = table(lines, "SLOTS"), table(lines, "FUNCTIONS")
    if not check(slots is not None and fns is not None, f"stat {what}: prints the slot and function tables", so):
        return
    got = {name: {**slots.get(name, {}), **fns.get(name, {})} for name in set(slots) | set(fns)}
    want = expected_counts(m)
    check(got == want, f"stat {what}: every count per file and in the total row is the manifest JSON's",
          f"got  {got}\nwant {want}\n{so}")
    check(want["total"]["SLOTS"] == m["hooks"] == len(m["slots"]),
          f"stat {what}: the total is the number of hooks ({m['hooks']})")
    # Why the functions without slow copy keep their hooks inline: the
    # manifest's reasons, counted, most frequent first.
    want_why = collections.Counter(f["inline_reason"] for f in m["functions"] if f.get("inline_reason"))
    got_why, counts = {}, []
    k = next((i for i, line in enumerate(lines) if "without slow copy" in line), None)
    for line in lines[k + 1:] if k is not None else []:
        if not re.match(r"^ +\d+  \S", line):
            break
        n, why = line.split(None, 1)
        got_why[why] = int(n)
        counts.append(int(n))
    check(got_why == dict(want_why) and counts == sorted(counts, reverse=True)
          and (k is not None) == bool(want_why),
          f"stat {what}: the reasons functions have no slow copy, counted as in the manifest "
          f"({sum(want_why.values())} functions)", f"got {got_why}\nwant {dict(want_why)}\n{so}")
    # Aligned: every row of a table as long as its header.
    for head in ("SLOTS", "FUNCTIONS"):
        k = next(i for i, line in enumerate(lines) if line.split()[:2] == ["FILE", head])
        widths = {len(line) for line in lines[k:k + 2 + len(m["files"])]}
        check(len(widths) == 1, f"stat {what}: the {head} table is aligned", so)


def parse_show(text):
    """`loom manifest show` output: (header lines, [(line number, marker, notes, source)])."""
    head, rows = [], []
    for line in text.split("\n")[:-1]:
        if line.startswith("# ") and not rows:
            head.append(line)
            continue
        mt = re.match(r"^ *(\d+) ([|>]) ([^|]*)\|(.*)$", line)
        if not mt:
            rows.append((None, None, None, line))
            continue
        src = mt.group(4)
        rows.append((int(mt.group(1)), mt.group(2), mt.group(3).split(), src[1:] if src.startswith(" ") else src))
    return head, rows


def expected_notes(m, path):
    """Per line of PATH: the words show must print, from the manifest JSON."""
    notes = {}
    slots = sorted((s for s in m["slots"] if s["file"] == path), key=lambda s: (s["line"], s["column"], s["id"]))
    for s in slots:
        letter = "t" if s["copy"] == "twin" else LETTER[s["kind"]]
        notes.setdefault(s["line"], []).append(f"{letter}{s['id']}")
    for s in m["macro_skipped"]:
        if s["file"] == path and "m" not in notes.get(s["line"], []):
            notes.setdefault(s["line"], []).append("m")
    return notes


def check_show(loom, out, m, src_file, what, name="js.c", path=None):
    """show OUT NAME, NAME naming the file PATH (default NAME) of M."""
    st, so, se = run([loom, "manifest", "show", out, name])
    name = path or name
    if not check(st == 0 and se == "", f"show {what}: exit 0, nothing on stderr", f"status {st}\nstderr {se!r}"):
        return
    head, rows = parse_show(so)
    with open(src_file, encoding="utf-8") as f:
        source = f.read().split("\n")
    if source and source[-1] == "":
        source.pop()
    check(len(head) == 2 and "e entry" in head[1] and "> a function starts" in head[1],
          f"show {what}: a header and the legend on top", "\n".join(head))
    check([r[0] for r in rows] == list(range(1, len(source) + 1)),
          f"show {what}: one row per source line, numbered 1..{len(source)}", so[:2000])
    check([r[3] for r in rows] == source, f"show {what}: every row shows its original source line")
    want = expected_notes(m, name)
    bad = [(r[0], r[2], want.get(r[0], [])) for r in rows if r[2] != want.get(r[0], [])]
    check(not bad and want, f"show {what}: every row lists exactly the hooks the manifest puts on its line "
          f"({sum(len(v) for v in want.values())} hooks on {len(want)} lines)",
          "\n".join(f"line {n}: shows {g}, manifest says {w}" for n, g, w in bad[:20]))
    starts = {f["line"] for f in m["functions"] if f["file"] == name}
    check({r[0] for r in rows if r[1] == ">"} == starts,
          f"show {what}: '>' marks exactly the {len(starts)} lines where a function starts")
    bars = {len(re.match(r"^ *\d+ [|>] [^|]*\|", line).group(0)) for line in so.split("\n")[2:-1]}
    check(len(bars) == 1, f"show {what}: the source column is aligned", f"bar columns {sorted(bars)}")


def edit_copy(src, dst):
    """DST: a copy of SRC with three lines on top, js_Helper added before
    js_GC (its address kept in a void *), and js_RunScript (and its call in
    worker) removed."""
    shutil.copytree(src, dst)
    path = os.path.join(dst, "js.c")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    a = text.find("/* A few name lookups")
    b = text.find("static void *worker")
    call = "\t\tjs_RunScript(cx);\n"
    check.require(a > 0 and b > a and "void js_GC(JSContext *cx)\n" in text and text.count(call) == 1,
                  "fixture: js.c has js_RunScript before worker, one call to it, and js_GC")
    text = text[:a] + text[b:]
    text = text.replace(call, "")
    text = text.replace("void js_GC(JSContext *cx)\n",
                        "static int js_Helper(int x)\n{\n\treturn x + 1;\n}\n\n"
                        "void *js_helper_kept = (void *)js_Helper;\n\nvoid js_GC(JSContext *cx)\n")
    text = "/* An edited copy:\n * three lines on top,\n * so that everything moves. */\n" + text
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def fns_by_name(m):
    return {f["name"]: f for f in m["functions"]}


def check_diff(loom, out, out2, m, m2, spec, work):
    old, new = fns_by_name(m), fns_by_name(m2)
    st, so, se = run([loom, "manifest", "diff", out, out2, spec])
    check(st == 1 and se == "", "diff after editing the source: exit 1, nothing on stderr",
          f"status {st}\nstderr {se!r}")
    lines = so.split("\n")[:-1]

    def nslots(mm, name):
        return sum(1 for s in mm["slots"] if s["function"] == name)

    f = old["js_RunScript"]
    want = f"- function js_RunScript js.c:{f['line']}-{f['end_line']} ({nslots(m, 'js_RunScript')} slots)"
    check(want in lines, "diff reports the removed function with its old place", f"want {want!r}\n{so}")
    f = new["js_Helper"]
    want = f"+ function js_Helper js.c:{f['line']}-{f['end_line']} ({nslots(m2, 'js_Helper')} slots)"
    check(want in lines, "diff reports the added function with its new place", f"want {want!r}\n{so}")
    moved = {n for n in old.keys() & new.keys() if old[n]["line"] != new[n]["line"]}
    reported = {line.split()[2] for line in lines if line.startswith("~ function ") and ": moved from " in line}
    check(moved and reported == moved, f"diff reports exactly the {len(moved)} functions that moved",
          f"moved {sorted(moved)}\nreported {sorted(reported)}\n{so}")
    a, b = old["js_DestroyContext"], new["js_DestroyContext"]
    want = (f"~ function js_DestroyContext js.c:{b['line']}-{b['end_line']}: "
            f"moved from js.c:{a['line']}-{a['end_line']}")
    check(want in lines, "diff says where js_DestroyContext moved from and to", f"want {want!r}\n{so}")

    # The statement that called js_RunScript in worker went with the call.
    call = [c for c in old["worker"]["calls"] if c["callee"] == "js_RunScript"]
    gone = [s for s in m["slots"] if s["function"] == "worker" and s["kind"] in ("stmt", "call")
            and call and s["line"] == call[0]["line"]]
    if check(len(gone) == 1, "fixture: one statement hook on worker's call to js_RunScript"):
        s = gone[0]
        want = f"- {s['kind']} #{s['id']} js.c:{s['line']}:{s['column']} in worker"
        check(want in lines, "diff reports the hook removed with the call, at its old place",
              f"want {want!r}\n{so}")
    slot_lines = [line for line in lines if re.match(r"^[-+~] (\d+ slots|[a-z ]+ #\d+) ", line)]
    check(slot_lines and all(" in worker" in line for line in slot_lines),
          "only worker's hooks changed place relative to their function", "\n".join(slot_lines))

    # The filter js_DestroyContext <> self: its lock and unlock moved with it.
    exits_old = sorted({s["line"] for s in m["slots"] if s["id"] in a["exits"]})
    exits_new = sorted({s["line"] for s in m2["slots"] if s["id"] in b["exits"]})
    name = spec
    k = next((i for i, line in enumerate(lines) if line.startswith(f"~ spec {name}:1: ")), None)
    if check(k is not None and lines[k] == f"~ spec {name}:1: js_DestroyContext <> self",
             "diff reports that the spec's filter resolves differently", so):
        block = []
        for line in lines[k + 1:]:
            if not line.startswith("    "):
                break
            block.append(line.strip())
        want = ([f"- lock at js.c:{a['line']} (entry of js_DestroyContext)"]
                + [f"- unlock at js.c:{n} (exit of js_DestroyContext)" for n in exits_old]
                + [f"+ lock at js.c:{b['line']} (entry of js_DestroyContext)"]
                + [f"+ unlock at js.c:{n} (exit of js_DestroyContext)" for n in exits_new])
        check(sorted(block) == sorted(want), "the spec's lock and unlock: old places out, new places in",
              "got:\n  " + "\n  ".join(block) + "\nwant:\n  " + "\n  ".join(want))

    # js_Helper's address, kept in a void *: a new conversion.
    check("+ conversion int (int) -> *" in lines and not any(line.startswith("- conversion") for line in lines),
          "diff reports the conversion of function pointers that the edit added", so)
    f = new["js_Helper"]
    check(f.get("taken_as") == ["int (int)"], "fixture: js_Helper is taken as int (int)", f)

    # A filter on the removed function: fine before, an error after.
    gone_spec = os.path.join(work, "gone.loom")
    with open(gone_spec, "w") as f:
        f.write("# the function is gone\njs_RunScript <> self\n")
    st, so, se = run([loom, "manifest", "diff", out, out2, gone_spec])
    want = (f"    + {gone_spec}:2:1: error: unknown function 'js_RunScript': "
            "no function of that name was rewritten")
    check(st == 1 and f"~ spec {gone_spec}:2: js_RunScript <> self\n" in so and want + "\n" in so,
          "a filter on the removed function: diff shows the error it now resolves to", f"status {st}\n{so}")

    # Swapped: what was added is removed.
    st, so, se = run([loom, "manifest", "diff", out2, out])
    f = new["js_Helper"]
    check(st == 1 and f"- function js_Helper js.c:{f['line']}-{f['end_line']} (" in so
          and "+ function js_RunScript " in so, "diff NEW OLD: the added function is removed and back",
          f"status {st}\n{so}")


def check_macros(loom, rw, tmp):
    """A tree with a statement inside a macro and a file that does not
    parse: the m mark, the MACRO_SKIPPED column, the file copied unchanged;
    and two functions without slow copy (a static local that uses
    __func__, a name a macro writes), with their reasons."""
    src, out = os.path.join(tmp, "mac"), os.path.join(tmp, "mac-out")
    os.makedirs(os.path.join(src, "lib"))
    with open(os.path.join(src, "lib", "m.c"), "w") as f:
        f.write("#define TWICE(s) do { s; s; } while (0)\n\n"
                "int bump(int v)\n{\n\tTWICE(v++);\n\treturn v;\n}\n"
                "const char *named(void)\n{\n\tstatic const char *n = __func__;\n\treturn n;\n}\n"
                "#define DEFINE(n) int n(void)\nDEFINE(made)\n{\n\treturn 2;\n}\n")
    with open(os.path.join(src, "bad.c"), "w") as f:
        f.write("int broken( {\n")
    m = rewrite(rw, src, out, status=1)
    reasons = sorted(f.get("inline_reason", "") for f in m["functions"] if not f["slow_copy"])
    if not check(m["macro_skipped"] and [f["path"] for f in m["files"] if not f["instrumented"]] == ["bad.c"]
                 and reasons == ["its name or declaration comes from a macro", "static local variables"],
                 "fixture: a statement skipped inside a macro, bad.c not instrumented, two functions "
                 "without slow copy and with their reasons", json.dumps(m)):
        return
    check_stat(loom, out, m, "of a tree with a macro and a file that does not parse")
    st, so, se = run([loom, "manifest", "stat", out])
    check(so.endswith("\nnot instrumented (copied unchanged): bad.c\n"),
          "stat lists the file copied unchanged", so)
    check_show(loom, out, m, os.path.join(src, "lib", "m.c"), "of a statement inside a macro", "m.c", "lib/m.c")
    st, so, se = run([loom, "manifest", "show", out, "bad.c"])
    check(st == 0 and so.startswith("# bad.c (") and "; not instrumented (copied unchanged)\n" in so
          and so.endswith("\n1 |  | int broken( {\n"), "show of a file copied unchanged: its source, no hooks",
          f"status {st}\n{so}{se}")


def check_errors(loom, rw, out, src, work):
    manifest = os.path.join(out, "loom-manifest.json")
    cases = [
        (["manifest"], 2, "loom: error: manifest needs a command: stat, show or diff\n"),
        (["manifest", "frob", out], 2, "loom: error: unknown manifest command 'frob' (stat, show or diff)\n"),
        (["manifest", "stat"], 2, "loom: error: manifest stat takes M (0 arguments given)\n"),
        (["manifest", "show", out], 2, "loom: error: manifest show takes M FILE (1 argument given)\n"),
        (["manifest", "diff", out], 2, "loom: error: manifest diff takes OLD NEW [SPEC...] (1 argument given)\n"),
        (["manifest", "stat", "--source", src, out], 2, "loom: error: --source is an option of manifest show only\n"),
        (["manifest", "stat", "--frob", out], 2, "loom: error: unknown option '--frob'\n"),
        (["manifest", "stat", "missing.json"], 1,
         "missing.json: error: cannot read manifest: No such file or directory\n"),
        (["manifest", "stat", src], 1, f"{src}: error: not a rewritten tree: it holds no loom-manifest.json\n"),
        (["manifest", "show", out, "nofile.c"], 1, "loom: error: no file 'nofile.c' was rewritten (files: js.c)\n"),
        (["manifest", "show", out, "jss.c"], 1, "loom: error: no file 'jss.c' was rewritten (did you mean 'js.c'?)\n"),
        (["manifest", "show", out, "s.c"], 1, "loom: error: no file 's.c' was rewritten (did you mean 'js.c'?)\n"),
        (["manifest", "show", "--source", work, out, "js.c"], 1,
         f"{work}/js.c: error: cannot read the original source: No such file or directory\n"),
        (["manifest", "diff", out, "missing.json"], 2,
         "missing.json: error: cannot read manifest: No such file or directory\n"),
        (["manifest", "diff", out, out, "missing.loom"], 2,
         "missing.loom: error: cannot read filter: No such file or directory\n"),
    ]
    with open(os.path.join(work, "bad.loom"), "w") as f:
        f.write("js_DestroyContext <>\n")
    cases.append((["manifest", "diff", out, out, "bad.loom"], 2,
                  "bad.loom:2:1: error: expected a region (FUNCTION, FILE:LINE-LINE or {EVENT, EVENT}), "
                  "found end of filter\n"))
    with open(manifest, encoding="utf-8") as f:
        tampered = tamper_manifest(f.read())
    if check(tampered is not None, "the manifest has a call column to tamper with"):
        with open(os.path.join(work, "tampered.json"), "w", encoding="utf-8") as f:
            f.write(tampered)
        for sub, status in (("stat", 1), ("diff", 2)):
            argv = ["manifest", sub, "tampered.json"] + ([out] if sub == "diff" else [])
            st, so, se = run([loom, *argv], cwd=work)
            check(st == status and so == "" and se.startswith("tampered.json: error: manifest id ")
                  and se.endswith("): the file was edited or damaged\n"),
                  f"{sub} of a tampered manifest: exit {status}, its id does not match", f"status {st}\n{se!r}")
    with open(os.path.join(work, "junk.json"), "w") as f:
        f.write('{"format": "loom-manifest", "version": 2,\n')
    cases.append((["manifest", "show", "junk.json", "js.c"], 1, None))
    for argv, status, want in cases:
        st, so, se = run([loom, *argv], cwd=work)
        first = se.split("\n", 1)[0] + "\n"
        if want is None:
            ok = st == status and re.match(r"^junk\.json:\d+(:\d+)?: error: invalid JSON: ", first)
        else:
            ok = st == status and first == want
        # Wrong arguments (not wrong input) show the usage too.
        usage_error = argv[-1] == "manifest" or "takes" in (want or "") or "option" in (want or "") \
            or "command" in (want or "")
        ok = ok and ("\nusage: " in se) == usage_error
        check(ok and so == "", f"loom {' '.join(argv)}: exit {status}, {first.strip()}",
              f"status {st}\nstdout {so!r}\nstderr {se!r}\nwant {want!r}")

    # An ambiguous file name lists the candidates; a longer path picks one.
    amb = os.path.join(work, "amb")
    for d in ("a", "b"):
        os.makedirs(os.path.join(amb, d))
        with open(os.path.join(amb, d, "x.c"), "w") as f:
            f.write(f"int {d}_twice(int v)\n{{\n\treturn 2 * v;\n}}\n")
    amb_out = os.path.join(work, "amb-out")
    rewrite(rw, amb, amb_out)
    st, so, se = run([loom, "manifest", "show", amb_out, "x.c"])
    check(st == 1 and so == "" and se == "loom: error: ambiguous file 'x.c': it names a/x.c, b/x.c; "
          "write a longer path\n", "show of an ambiguous file name lists the candidates", f"status {st}\n{se!r}")
    st, so, se = run([loom, "manifest", "show", amb_out, "b/x.c"])
    check(st == 0 and re.search(r"^1 > b\d+ e\d+ +\| int b_twice\(int v\)$", so, re.M),
          "show of a longer path picks that file", f"status {st}\n{so}{se}")
    st, so, se = run([loom, "manifest", "show", amb_out, "y.c"])
    check(st == 1 and se == "loom: error: no file 'y.c' was rewritten (did you mean 'a/x.c', 'b/x.c'?)\n",
          "show of an unknown file suggests the closest names", f"status {st}\n{se!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", required=True)
    ap.add_argument("--rewrite", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--spec", required=True)
    args = ap.parse_args()
    loom, rw = os.path.abspath(args.loom), os.path.abspath(args.rewrite)
    src, spec = os.path.abspath(args.src), os.path.abspath(args.spec)

    for path, what in ((loom, "loom"), (rw, "loom-rewrite")):
        if not check(os.access(path, os.X_OK), f"{what} is an executable at {path}"):
            check.finish()
    with scratch("loom-manifest-cmd-") as tmp, reported(check):
        out = os.path.join(tmp, "out")
        m = rewrite(rw, src, out)
        check_stat(loom, out, m, "of the rewritten tree")
        st1 = run([loom, "manifest", "stat", out]).stdout
        st2 = run([loom, "manifest", "stat", os.path.join(out, "loom-manifest.json")]).stdout
        check(st1.split("\n", 1)[1] == st2.split("\n", 1)[1],
              "stat of the tree and of its loom-manifest.json print the same tables")
        inline = os.path.join(tmp, "inline")
        mi = rewrite(rw, src, inline, "--emit", "inline")
        check_stat(loom, inline, mi, "of an --emit inline rewrite")
        check_show(loom, out, m, os.path.join(src, "js.c"), "js.c")

        st, so, se = run([loom, "manifest", "diff", out, os.path.join(out, "loom-manifest.json"), spec])
        check(st == 0 and so == "" and se == "", "diff of a manifest with itself (and the spec): exit 0, no output",
              f"status {st}\nstdout {so!r}\nstderr {se!r}")

        src2, out2 = os.path.join(tmp, "src2"), os.path.join(tmp, "out2")
        edit_copy(src, src2)
        m2 = rewrite(rw, src2, out2)
        check_show(loom, out2, m2, os.path.join(src2, "js.c"), "of the edited copy")
        check_diff(loom, out, out2, m, m2, spec, tmp)

        # The source changed after the rewrite: listed anyway, with a warning.
        st, so, se = run([loom, "manifest", "show", "--source", src2, out, "js.c"])
        src_hash = next(f["hash"] for f in m["files"] if f["path"] == "js.c")
        check(st == 0 and se.startswith(f"{src2}/js.c: warning: the source changed since the rewrite (its hash is ")
              and se.endswith(f", the manifest's {src_hash}): hooks may be shown on the wrong lines\n")
              and se.count("\n") == 1 and "| /* An edited copy:" in so,
              "show of a changed source warns, located, and still lists it", f"status {st}\nstderr {se!r}")

        # Only a comment appended after the last function: nothing a hook
        # or a filter sees has changed.
        src3, out3 = os.path.join(tmp, "src3"), os.path.join(tmp, "out3")
        shutil.copytree(src, src3)
        with open(os.path.join(src3, "js.c"), "a") as f:
            f.write("/* a trailing comment */\n")
        rewrite(rw, src3, out3)
        st, so, se = run([loom, "manifest", "diff", out, out3, spec])
        check(st == 0 and so == "" and se == "", "diff after appending a comment at the end: exit 0, no output",
              f"status {st}\nstdout {so!r}\nstderr {se!r}")

        check_macros(loom, rw, tmp)
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        check_errors(loom, rw, out, src, work)
    check.finish()


if __name__ == "__main__":
    main()
