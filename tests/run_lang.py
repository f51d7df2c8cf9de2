#!/usr/bin/env python3
"""tests/run_lang.py — the one runner for annotated language tests.

    python3 tests/run_lang.py --hitlc PATH [--hitlvm PATH] DIR_OR_FILE...

Every `*.hitl` under the given folders (and every file named) is a test.
Annotations are comments anywhere in the file:

    # error: LINE:COL phrase     an error at LINE:COL whose message contains
                                 phrase (case-sensitive; may be empty)
    # warning: LINE:COL phrase   the same for a warning
    # exit: N                    hitlc's exit status (default 1 when an error
                                 is expected, or a warning under --strict;
                                 else 0)
    # args: --strict             extra hitlc arguments (shell words)
    # expect: JSON               the run's result (needs --hitlvm; without
                                 it only the check part runs)

Each file is checked with `hitlc --check`; every diagnostic must be announced
and every announced one must appear, at its position.  A crash, a sanitizer
report or a hang (20 s) fails the test.  One line per failure, then as the
last line `N passed, M failed`; the exit status is 1 when anything failed or
nothing ran.

A test is a list of stages (the check, later the run); each stage returns the
reasons it failed, so a new kind of expectation is a new stage function.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys

TIMEOUT = 20  # seconds per command

DIAG_RE = re.compile(r"^(.*?):(\d+):(\d+): (error|warning): (.*)$")
# a diagnostic without a position (`FILE: error: MESSAGE`)
DIAG_NOPOS_RE = re.compile(r"^(.*?): (error|warning): (.*)$")
ANNOT_RE = re.compile(r"(?:^|\s)#\s*(error|warning|exit|args|expect):(.*)$")
POS_RE = re.compile(r"^\s*(\d+):(\d+)(?:\s(.*))?$")
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


class Test:
    """What one file announces."""

    def __init__(self, path):
        self.path = path
        self.diags = []       # (severity, line, col, phrase)
        self.exit = None      # announced exit status, None = default
        self.args = []
        self.expects = []     # JSON texts of `# expect:` (for the run stage)
        self.problems = []    # malformed annotations

    def expected_exit(self):
        if self.exit is not None:
            return self.exit
        if any(sev == "error" for sev, *_ in self.diags):
            return 1
        if "--strict" in self.args and self.diags:
            return 1
        return 0


def parse_annotations(path):
    t = Test(path)
    with open(path, "rb") as f:
        data = f.read()
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if b"#" not in raw:
            continue
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        m = ANNOT_RE.search(line)
        if not m:
            continue
        kind, rest = m.group(1), m.group(2)
        where = f"line {lineno}: '# {kind}:'"
        if kind in ("error", "warning"):
            p = POS_RE.match(rest)
            if not p:
                t.problems.append(f"{where} needs LINE:COL")
                continue
            phrase = (p.group(3) or "").strip()
            t.diags.append((kind, int(p.group(1)), int(p.group(2)), phrase))
        elif kind == "exit":
            try:
                t.exit = int(rest.strip())
            except ValueError:
                t.problems.append(f"{where} needs a number")
        elif kind == "args":
            try:
                t.args += shlex.split(rest)
            except ValueError as e:
                t.problems.append(f"{where} {e}")
        elif kind == "expect":
            text = rest.strip()
            try:
                json.loads(text)
            except ValueError as e:
                t.problems.append(f"{where} is not JSON: {e}")
                continue
            t.expects.append(text)
    return t


def run(cmd):
    """(returncode, stdout, stderr) or a failure reason for a crash or hang."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"hung (no exit within {TIMEOUT} s)"
    except OSError as e:
        return None, f"cannot run {cmd[0]}: {e}"
    err = p.stderr.decode("utf-8", errors="replace")
    out = p.stdout.decode("utf-8", errors="replace")
    if p.returncode < 0:
        return (p.returncode, out, err), f"crashed (signal {-p.returncode})"
    for mark in CRASH_MARKS:
        if mark in err:
            return (p.returncode, out, err), f"sanitizer report ({mark})"
    return (p.returncode, out, err), None


def parse_diagnostics(stderr):
    found = []
    for line in stderr.splitlines():
        m = DIAG_RE.match(line)
        if m:
            found.append((m.group(4), int(m.group(2)), int(m.group(3)), m.group(5)))
            continue
        m = DIAG_NOPOS_RE.match(line)
        if m and not line.startswith(("hitlc:", "hitlvm:")):
            found.append((m.group(2), 0, 0, m.group(3)))
    return found


def match_diagnostics(expected, found):
    """Reasons the diagnostics differ (empty when they match)."""
    unused = list(found)
    missing = []
    for exp in expected:
        sev, line, col, phrase = exp
        hit = next((f for f in unused
                    if f[0] == sev and f[1] == line and f[2] == col and phrase in f[3]), None)
        if hit:
            unused.remove(hit)
        else:
            missing.append(exp)
    reasons = []
    for sev, line, col, phrase in missing:
        what = f"{sev} at {line}:{col}" + (f" containing '{phrase}'" if phrase else "")
        there = next((f for f in unused if f[0] == sev and f[1] == line and f[2] == col), None)
        if there:
            unused.remove(there)
            reasons.append(f"wrong message: expected {what}, got: {there[3]}")
            continue
        elsewhere = next((f for f in unused if f[0] == sev and phrase and phrase in f[3]), None)
        if elsewhere is None:
            elsewhere = next((f for f in unused if f[0] == sev and f[1] == line), None)
        if elsewhere:
            unused.remove(elsewhere)
            reasons.append(f"misplaced: expected {what}, got {elsewhere[0]} at "
                           f"{elsewhere[1]}:{elsewhere[2]}: {elsewhere[3]}")
        else:
            reasons.append(f"missing: {what}")
    for sev, line, col, msg in unused:
        reasons.append(f"extra: {sev} at {line}:{col}: {msg}")
    return reasons


# ---- stages: each returns (reasons, stderr to show) -----------------------

def stage_check(t, opts):
    res, crash = run([opts.hitlc, "--check", *t.args, t.path])
    if res is None:
        return [crash], ""
    code, _, err = res
    if crash:
        return [crash], err
    reasons = match_diagnostics(t.diags, parse_diagnostics(err))
    want = t.expected_exit()
    if code != want:
        reasons.append(f"exit status {code}, expected {want}")
    return reasons, err


def same_json(a, b):
    """Equal as JSON values, with types: 1 and 1.0 and true all differ."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return a == b


def stage_run(t, opts):
    """Run the playbook with hitlvm (its own store) and compare the result
    with `# expect:`.  A first version: the VM's exact contract for tests
    (inputs, mocks, failing playbooks) is settled when the VM lands."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="run_lang.") as tmp:
        res, crash = run([opts.hitlvm, "run", "--json", "--store",
                          os.path.join(tmp, "store.db"), t.path])
    if res is None:
        return [crash], ""
    code, out, err = res
    if crash:
        return [crash], err
    try:
        got = json.loads(out)
        result = got.get("result") if isinstance(got, dict) else None
    except ValueError:
        return [f"hitlvm printed no JSON (exit status {code})"], err + out
    reasons = []
    for text in t.expects:
        want = json.loads(text)
        if not same_json(result, want):
            reasons.append(f"result {json.dumps(result)}, expected {text} "
                           f"(status {got.get('status')!r}, exit status {code})")
    return reasons, err


def stages_for(t, opts):
    stages = [stage_check]
    if t.expects and opts.hitlvm and t.expected_exit() == 0:
        stages.append(stage_run)
    return stages


def run_test(t, opts):
    """(path, list of (reason, stderr)) — empty when the test passed."""
    if t.problems:
        return t.path, [("bad annotation: " + p, "") for p in t.problems]
    failures = []
    for stage in stages_for(t, opts):
        reasons, err = stage(t, opts)
        failures += [(r, err) for r in reasons]
        if reasons:
            break
    return t.path, failures


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".hitl")]
        elif os.path.isfile(p):
            files.append(p)
        else:
            print(f"run_lang: no such file or folder: {p}", file=sys.stderr)
            sys.exit(2)
    return files


def show_stderr(err, limit=20):
    lines = err.rstrip("\n").splitlines()
    out = ["    | " + l[:300] for l in lines[:limit]]
    if len(lines) > limit:
        out.append(f"    | ... ({len(lines) - limit} more lines)")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description="run annotated .hitl tests")
    ap.add_argument("--hitlc", required=True, help="the hitlc binary")
    ap.add_argument("--hitlvm", help="the hitlvm binary (for '# expect:')")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    opts = ap.parse_args()
    opts.hitlc = os.path.abspath(opts.hitlc) if os.sep in opts.hitlc else opts.hitlc

    files = collect(opts.paths)
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = []
        for f in files:
            try:
                t = parse_annotations(f)
            except OSError as e:
                results.append((f, [(f"cannot read: {e}", "")]))
                continue
            futures.append(pool.submit(run_test, t, opts))
        results += [fu.result() for fu in futures]

    passed = failed = 0
    for path, failures in sorted(results):
        if not failures:
            passed += 1
            continue
        failed += 1
        shown = set()
        for reason, err in failures:
            print(f"FAIL {path}: {reason}")
            if err and err not in shown:
                shown.add(err)
                print(show_stderr(err))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
