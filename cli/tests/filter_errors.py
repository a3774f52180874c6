#!/usr/bin/env python3
"""Table-driven test of `loom check`: for every case of filter_errors.txt the
exact error line (file:line:col: error: ...) and exit status 1, or for the
valid filters exit status 0, no stderr and the expected summary line.  A few
extra cases that do not fit the table (NUL bytes, missing files, a damaged
manifest, the filter on stdin) are at the end.

usage: filter_errors.py --loom BUILD/cli/loom --rewrite BUILD/rewriter/loom-rewrite
                        --src corpus/js-destroy-context [--cases FILE]
"""
import argparse
import functools
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "testlib"))
import loomtest  # noqa: E402
from loomtest import Checks, scratch, tamper_manifest  # noqa: E402

RUN_TIMEOUT = 20  # seconds, for every command this test runs
run = functools.partial(loomtest.run, timeout=RUN_TIMEOUT)
check = Checks()


def parse_cases(path):
    """Returns [(name, text, kind, expected)], kind 'error' or 'ok'."""
    cases = []
    block = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    blocks = []
    for line in lines:
        if line.startswith("--- "):
            block = [line[4:].strip()]
            blocks.append(block)
        elif block is not None:
            block.append(line)
    for b in blocks:
        name, body = b[0], b[1:]
        while body and body[-1].strip() == "":
            body.pop()
        if not body or body[0] != "filter:":
            raise ValueError(f"case '{name}': the line after '--- {name}' must be 'filter:'")
        last = body[-1] if len(body) > 1 else ""
        if last.startswith("error: "):
            kind, expected = "error", last[len("error: "):]
        elif last.startswith("ok: "):
            kind, expected = "ok", last[len("ok: "):]
        elif last.startswith("warn: "):
            kind, expected = "warn", last[len("warn: "):]
        else:
            raise ValueError(f"case '{name}': the last line must be 'error: ...', 'ok: ...' or 'warn: ...'")
        text_lines = body[1:-1]
        text = "\n".join(text_lines) + ("\n" if text_lines else "")
        cases.append((name, text, kind, expected))
    return cases


def check_fixture(manifest):
    """The table's expectations assume the corpus as it is; say so clearly
    if it changed rather than fail 50 cases for an unclear reason."""
    files = [f["path"] for f in manifest["files"]]
    fns = {f["name"]: f for f in manifest["functions"]}
    dc = fns.get("js_DestroyContext")
    stmt_lines = sorted({s["line"] for s in manifest["slots"]
                         if s["kind"] in ("stmt", "call") and s["function"] == "js_DestroyContext"})
    want = [196, 197, 199, 200, 201, 202, 203, 205, 206, 208, 209, 211, 212]
    problems = []
    if files != ["js.c"]:
        problems.append(f"files are {files}, expected ['js.c']")
    if not dc or (dc["line"], dc["end_line"]) != (194, 213):
        problems.append("js_DestroyContext does not span lines 194-213")
    if stmt_lines != want:
        problems.append(f"js_DestroyContext statements start on {stmt_lines}, expected {want}")
    all_stmt = sorted({s["line"] for s in manifest["slots"] if s["kind"] in ("stmt", "call")})
    if not all_stmt or all_stmt[0] != 82 or all_stmt[-1] != 310:
        problems.append("the first/last statement lines of js.c are no longer 82/310")
    for name in ("js_GC", "js_NewContext"):
        if name not in fns:
            problems.append(f"no function {name}")
    return check(not problems, "fixture: corpus/js-destroy-context is what filter_errors.txt expects",
                 "\n".join(problems) + "\n(update filter_errors.txt for the new corpus)" if problems else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", required=True)
    ap.add_argument("--rewrite", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "filter_errors.txt"))
    args = ap.parse_args()
    loom = os.path.abspath(args.loom)
    rewrite = os.path.abspath(args.rewrite)

    for path, what in ((loom, "loom"), (rewrite, "loom-rewrite")):
        if not check(os.access(path, os.X_OK), f"{what} is an executable at {path}"):
            check.finish()
    if not check(os.path.isdir(args.src), f"source tree {args.src} exists"):
        check.finish()
    try:
        cases = parse_cases(args.cases)
    except (OSError, ValueError) as e:
        check(False, f"read the cases from {args.cases}", str(e))
        check.finish()
    nerr = sum(1 for c in cases if c[2] == "error")
    nok = len(cases) - nerr
    check(nerr >= 20 and nok >= 3, f"{args.cases}: {nerr} error cases and {nok} valid cases")

    with scratch("loom-filter-errors-") as tmp:
        out = os.path.join(tmp, "out")
        st, so, se = run([rewrite, args.src, out])
        manifest_path = os.path.join(out, "loom-manifest.json")
        if not check(st == 0 and os.path.isfile(manifest_path),
                     f"loom-rewrite {args.src} {out}", f"status {st}\n{se}"):
            check.finish()
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        check_fixture(manifest)

        work = os.path.join(tmp, "cases")
        os.mkdir(work)
        for name, text, kind, expected in cases:
            with open(os.path.join(work, "case.loom"), "w", encoding="utf-8") as f:
                f.write(text)
            st, so, se = run([loom, "check", "--manifest", manifest_path, "case.loom"], cwd=work)
            shown = text.rstrip("\n").replace("\n", " | ") or "(empty file)"
            detail = f"filter: {shown}\nstatus: {st}\nstdout: {so!r}\nstderr: {se!r}"
            if kind == "error":
                ok = st == 1 and se == expected + "\n" and so == ""
                check(ok, f"error: {name}: {shown}",
                      detail + f"\nexpected status 1, no stdout, stderr exactly:\n  {expected}")
            elif kind == "warn":
                ok = st == 0 and se == "" and expected in so.split("\n")
                check(ok, f"warning: {name}: {shown}",
                      detail + f"\nexpected status 0, no stderr, this stdout line:\n  {expected}")
            else:
                first = so.split("\n", 1)[0]
                ok = st == 0 and se == "" and first == expected
                check(ok, f"valid: {name}: {shown}",
                      detail + f"\nexpected status 0, no stderr, first stdout line:\n  {expected}")

        # Cases outside the table.
        with open(os.path.join(work, "nul.loom"), "wb") as f:
            f.write(b"js_DestroyContext <> self\0\n")
        st, so, se = run([loom, "check", "--manifest", manifest_path, "nul.loom"], cwd=work)
        check(st == 1 and se == "nul.loom: error: not a filter: the file contains NUL bytes\n",
              "a filter file with a NUL byte is refused", f"status {st}\nstderr {se!r}")

        st, so, se = run([loom, "check", "--manifest", manifest_path, "missing.loom"], cwd=work)
        check(st == 1 and se == "missing.loom: error: cannot read filter: No such file or directory\n",
              "a missing filter file is named with the reason", f"status {st}\nstderr {se!r}")

        with open(os.path.join(work, "good.loom"), "w") as f:
            f.write("js_DestroyContext <> self\n")
        st, so, se = run([loom, "check", "good.loom"], cwd=work)
        check(st == 1 and se == "loom: error: check needs --manifest M "
                                "(the loom-manifest.json of a rewritten tree)\n",
              "check without --manifest says it needs one", f"status {st}\nstderr {se!r}")

        st, so, se = run([loom, "check", "--manifest", "nonexistent.json", "good.loom"], cwd=work)
        check(st == 1 and se.startswith("nonexistent.json: error: cannot read manifest:")
              and "No such file or directory" in se and se.count("\n") == 1,
              "a missing manifest is named with the reason", f"status {st}\nstderr {se!r}")

        # One number changed in the manifest (a call's column, which nothing
        # else refers to): the manifest still reads, but its id no longer
        # matches its content.
        with open(manifest_path, encoding="utf-8") as f:
            mtext = f.read()
        tampered = tamper_manifest(mtext)
        if check(tampered is not None, "the manifest has a call column to tamper with"):
            with open(os.path.join(work, "tampered.json"), "w", encoding="utf-8") as f:
                f.write(tampered)
            st, so, se = run([loom, "check", "--manifest", "tampered.json", "good.loom"], cwd=work)
            check(st == 1 and se.startswith(f"tampered.json: error: manifest id {manifest['id']} "
                                            "does not match its content (")
                  and se.endswith("): the file was edited or damaged\n"),
                  "a tampered manifest is refused: its id does not match its content",
                  f"status {st}\nstderr {se!r}")

        st, so, se = run([loom, "check", "--manifest", manifest_path, "-"], cwd=work,
                         stdin_data=b"# from stdin\njs_DestroyContext <> self\n")
        check(st == 0 and se == "" and so.startswith("-: 1 constraint, 1 lock, 2 operations:\n"),
              "a valid filter on stdin (-)", f"status {st}\nstdout {so!r}\nstderr {se!r}")
        st, so, se = run([loom, "check", "--manifest", manifest_path, "-"], cwd=work,
                         stdin_data=b"js_DestroyContxt <> self\n")
        check(st == 1 and se == "-:1:1: error: unknown function 'js_DestroyContxt' "
                                "(did you mean 'js_DestroyContext'?)\n",
              "an error in a filter on stdin is located at -:LINE:COL", f"status {st}\nstderr {se!r}")

        # A function that touches no memory but its own, rewritten with
        # --skip-pure, has no hooks: a filter may not name it, by name, by
        # a line of it, or by its entry.
        pure_src, pure_out = os.path.join(tmp, "pure-src"), os.path.join(tmp, "pure-out")
        os.mkdir(pure_src)
        with open(os.path.join(pure_src, "p.c"), "w") as f:
            f.write("int g;\n\nstatic int twice(int x)\n{\n\tint y = x * 2;\n\n\treturn y;\n}\n\n"
                    "int main(void)\n{\n\tg = twice(g);\n\treturn g;\n}\n")
        st, so, se = run([rewrite, "--skip-pure", pure_src, pure_out])
        check(st == 0, "loom-rewrite --skip-pure of a tree with a pure function", se)
        pure_manifest = os.path.join(pure_out, "loom-manifest.json")
        refused = ("error: function 'twice' (p.c:3) touches no memory but its own parameters and locals: "
                   "no race can involve it, and it runs without hooks; name the statements that call it instead\n")
        for text, col in (("twice <> self", 1), ("p.c:5-7 <> self", 1), ("{twice:entry, main:exit} <> self", 2)):
            st, so, se = run([loom, "check", "--manifest", pure_manifest, "-"], cwd=work,
                             stdin_data=(text + "\n").encode())
            check(st == 1 and se == f"-:1:{col}: " + refused, f"a filter naming a pure function is refused: {text}",
                  f"status {st}\nstderr {se!r}")
        st, so, se = run([loom, "check", "--manifest", pure_manifest, "-"], cwd=work,
                         stdin_data=b"p.c:12 <> self\n")
        check(st == 0, "a filter on the statement that calls it is not", f"status {st}\nstderr {se!r}")
    check.finish()


if __name__ == "__main__":
    main()
