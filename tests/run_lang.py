#!/usr/bin/env python3
"""tests/run_lang.py — the one runner for annotated language tests.

    python3 tests/run_lang.py --hitlc PATH [--hitlvm PATH] [--stress]
                              [--fail-alloc] DIR_OR_FILE...

Every `*.hitl` under the given folders (and every file named) is a test.
Annotations are comments anywhere in the file (tests/lang/README.md has the
full list):

  compile-time (hitlc --check)
    # error: LINE:COL phrase     an error at LINE:COL whose message contains
                                 phrase (case-sensitive; may be empty)
    # warning: LINE:COL phrase   the same for a warning
    # exit: N                    hitlc's exit status in a check-only test
                                 (default 1 when an error is expected, or a
                                 warning under --strict; else 0)
    # args: --strict             extra hitlc arguments (shell words)

  run-time (hitlvm run --json; a file with any of these is a *run test*)
    # expect: JSON               the result (JSON, types distinguished)
    # error-kind: KIND           the run fails with an error of that kind
    # error-line: N              ... at that line
    # error-message: TEXT        ... whose message contains TEXT (for exit 2:
                                 hitlvm's standard error or JSON contains it)
    # exit: N                    in a run test: hitlvm's exit status (0
                                 completed, 1 failed, 2 bad input, 3 suspended)
    # input: JSON                --input JSON (passed as written)
    # param: NAME=VALUE          --param NAME=VALUE (repeatable)
    # mock: JSON                 written to a file, passed as --mock FILE
    # fuel: N                    --fuel N
    # status: S                  the JSON's status (suspended, completed, ...)
    # pending-title: TEXT        some pending item has exactly this title
    # log: TEXT                  `hitlvm log INSTANCE --json` contains TEXT
                                 (repeatable; while that command is missing,
                                 the events a run without --json prints)

A run test is first checked with `hitlc --check` (it must compile cleanly,
unless it announces `# error:` lines and `# exit: 2`: a compile error that
`hitlvm run` must refuse), then run with `hitlvm run FILE --json --store
TMP/store.db ...`, and the printed object {"instance", "status", "result"?,
"error"?, "pending"} is compared with the annotations.  Without --hitlvm a
run test whose check passes counts as skipped, not passed.

--stress runs hitlvm with HITL_GC_STRESS=1 (collect at every allocation).
--fail-alloc also runs every run test with HITL_FAIL_ALLOC=N for N in a
Fibonacci-like sample up to 2000 and requires an exit status in {0,1,2,3},
no sanitizer report, no crash and no hang (the result may differ).

A crash, a sanitizer report or a hang (20 s) fails a test.  One line per
failure, then as the last line `N passed, M failed` (`, K skipped` added when
K > 0); the exit status is 1 when anything failed or nothing passed.

A test is a list of stages (the check, the run, the failure sweep); each
stage returns the reasons it failed, so a new kind of expectation is a new
stage function.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

TIMEOUT = 20  # seconds per command

DIAG_RE = re.compile(r"^(.*?):(\d+):(\d+): (error|warning): (.*)$")
# a diagnostic without a position (`FILE: error: MESSAGE`)
DIAG_NOPOS_RE = re.compile(r"^(.*?): (error|warning): (.*)$")
ANNOT_RE = re.compile(
    r"(?:^|\s)#\s*(error-kind|error-line|error-message|pending-title|error|warning|"
    r"exit|args|expect|input|param|mock|fuel|status|log):(.*)$")
POS_RE = re.compile(r"^\s*(\d+):(\d+)(?:\s(.*))?$")
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
               "ThreadSanitizer", "MemorySanitizer")
RUN_KINDS = ("expect", "error-kind", "error-line", "error-message", "input",
             "param", "mock", "fuel", "status", "pending-title", "log")
EXIT_NAMES = {0: "completed", 1: "failed", 2: "bad input", 3: "suspended"}


def fail_alloc_sample(limit=2000):
    out, a, b = [], 1, 2
    while a <= limit:
        out.append(a)
        a, b = b, a + b
    return out


class Test:
    """What one file announces."""

    def __init__(self, path):
        self.path = path
        self.diags = []       # (severity, line, col, phrase)
        self.exit = None      # announced exit status, None = default
        self.args = []
        self.problems = []    # malformed annotations
        # run annotations
        self.run_annots = False
        self.expects = []     # JSON texts of `# expect:`
        self.error_kind = None
        self.error_line = None
        self.error_message = None
        self.input = None
        self.params = []
        self.mock = None
        self.fuel = None
        self.status = None
        self.pending_title = None
        self.logs = []

    def is_run_test(self):
        return self.run_annots

    def compile_error_run(self):
        """A run test announcing a compile error that hitlvm must refuse."""
        return self.run_annots and any(s == "error" for s, *_ in self.diags)

    def expected_check_exit(self):
        if self.exit is not None and not self.run_annots:
            return self.exit
        if any(sev == "error" for sev, *_ in self.diags):
            return 1
        if "--strict" in self.args and self.diags:
            return 1
        return 0

    def expected_run_exit(self):
        if self.exit is not None:
            return self.exit
        if self.compile_error_run():
            return 2
        if self.status == "suspended":
            return 3
        if self.status in ("completed", "reviewing"):
            return 0
        if self.pending_title is not None:
            return 3
        if self.status == "failed" or self.error_kind or self.error_line is not None:
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
        text = rest.strip()
        where = f"line {lineno}: '# {kind}:'"
        if kind in RUN_KINDS:
            t.run_annots = True
        if kind in ("error", "warning"):
            p = POS_RE.match(rest)
            if not p:
                t.problems.append(f"{where} needs LINE:COL")
                continue
            phrase = (p.group(3) or "").strip()
            t.diags.append((kind, int(p.group(1)), int(p.group(2)), phrase))
        elif kind in ("exit", "error-line", "fuel"):
            try:
                n = int(text)
            except ValueError:
                t.problems.append(f"{where} needs a number")
                continue
            if kind == "exit":
                t.exit = n
            elif kind == "error-line":
                t.error_line = n
            else:
                t.fuel = n
        elif kind == "args":
            try:
                t.args += shlex.split(rest)
            except ValueError as e:
                t.problems.append(f"{where} {e}")
        elif kind == "expect":
            try:
                json.loads(text)
            except ValueError as e:
                t.problems.append(f"{where} is not JSON: {e}")
                continue
            t.expects.append(text)
        elif kind == "mock":
            try:
                if not isinstance(json.loads(text), dict):
                    raise ValueError("not an object")
            except ValueError as e:
                t.problems.append(f"{where} is not a JSON object: {e}")
                continue
            if t.mock is not None:
                t.problems.append(f"{where} given twice")
            t.mock = text
        elif kind == "input":
            if t.input is not None:
                t.problems.append(f"{where} given twice")
            t.input = text      # as written: a test may pass malformed JSON
        elif kind == "param":
            if "=" not in text:
                t.problems.append(f"{where} needs NAME=VALUE")
                continue
            t.params.append(text)
        elif kind == "error-kind":
            t.error_kind = text
        elif kind == "error-message":
            t.error_message = text
        elif kind == "status":
            t.status = text
        elif kind == "pending-title":
            t.pending_title = text
        elif kind == "log":
            t.logs.append(text)
    if t.run_annots and t.exit is not None and t.exit not in EXIT_NAMES:
        t.problems.append(f"'# exit: {t.exit}' is not a hitlvm run status (0-3)")
    if t.expects and t.run_annots and t.expected_run_exit() != 0:
        t.problems.append("'# expect:' with a run that does not complete")
    return t


def run(cmd, env=None):
    """(returncode, stdout, stderr) or a failure reason for a crash or hang."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT, env=env)
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


def same_json(a, b):
    """Equal as JSON values, with types: 1 and 1.0 and true all differ;
    lists in order, object keys in any order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, float) and a != a and b != b:
        return True   # nan
    return a == b


def short(v, limit=300):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "..."


# ---- stages: each returns (reasons, stderr to show) -----------------------

def stage_check(t, opts):
    res, crash = run([opts.hitlc, "--check", *t.args, t.path])
    if res is None:
        return [crash], ""
    code, _, err = res
    if crash:
        return [crash], err
    reasons = match_diagnostics(t.diags, parse_diagnostics(err))
    want = t.expected_check_exit()
    if code != want:
        reasons.append(f"exit status {code}, expected {want}")
    return reasons, err


def vm_env(opts, extra=None):
    env = dict(os.environ)
    env.pop("HITL_STORE", None)
    env.pop("HITL_FAIL_ALLOC", None)
    if opts.stress:
        env["HITL_GC_STRESS"] = "1"
    if extra:
        env.update(extra)
    return env


def run_command(t, opts, tmp):
    cmd = [opts.hitlvm, "run", t.path, "--json", "--store", os.path.join(tmp, "store.db")]
    if t.input is not None:
        cmd += ["--input", t.input]
    for p in t.params:
        cmd += ["--param", p]
    if t.mock is not None:
        mock = os.path.join(tmp, "mock.json")
        with open(mock, "w", encoding="utf-8") as f:
            f.write(t.mock)
        cmd += ["--mock", mock]
    if t.fuel is not None:
        cmd += ["--fuel", str(t.fuel)]
    return cmd


def check_run_output(t, code, out, err):
    """Reasons the run's exit status and JSON differ from the annotations."""
    reasons = []
    want = t.expected_run_exit()
    got = None
    try:
        got = json.loads(out) if out.strip() else None
    except ValueError:
        got = None
    if got is not None and not isinstance(got, dict):
        got = None
    summary = ""
    if got is not None:
        summary = f"status {got.get('status')!r}"
        if "result" in got:
            summary += f", result {short(got['result'], 120)}"
        if got.get("error") is not None:
            summary += f", error {short(got['error'], 200)}"
    if code != want:
        reasons.append(f"exit status {code} ({EXIT_NAMES.get(code, '?')}), expected {want} "
                       f"({EXIT_NAMES.get(want, '?')})" + (f"; {summary}" if summary else ""))
        return reasons
    if want == 2:
        # bad input: no instance need exist; the message goes to stderr
        if t.error_message and t.error_message not in err + out:
            reasons.append(f"refusal does not mention '{t.error_message}'")
        return reasons
    if got is None:
        return [f"hitlvm printed no JSON object (exit status {code})"]
    for key in ("instance", "status", "pending"):
        if key not in got:
            reasons.append(f"the JSON has no '{key}' ({summary})")
    status = got.get("status")
    want_status = t.status or {0: None, 1: "failed", 3: "suspended"}[want]
    if want_status and status != want_status:
        reasons.append(f"status {status!r}, expected {want_status!r}")
    if want == 0 and t.status is None and status not in ("completed", "reviewing"):
        reasons.append(f"status {status!r}, expected 'completed'")
    for text in t.expects:
        if "result" not in got:
            reasons.append(f"no 'result' in the JSON, expected {text} ({summary})")
        elif not same_json(got["result"], json.loads(text)):
            reasons.append(f"result {short(got['result'])}, expected {text}")
    if want == 1:
        e = got.get("error")
        if not isinstance(e, dict):
            reasons.append(f"no error object in the JSON ({summary})")
        else:
            if t.error_kind and e.get("kind") != t.error_kind:
                reasons.append(f"error kind {e.get('kind')!r}, expected {t.error_kind!r} "
                               f"(message {e.get('message')!r}, line {e.get('line')!r})")
            if t.error_line is not None and e.get("line") != t.error_line:
                reasons.append(f"error line {e.get('line')!r}, expected {t.error_line} "
                               f"(kind {e.get('kind')!r}, message {e.get('message')!r})")
            msg = e.get("message")
            if t.error_message and (not isinstance(msg, str) or t.error_message not in msg):
                reasons.append(f"error message {msg!r} does not contain {t.error_message!r}")
    elif t.error_message and want != 2:
        e = got.get("error") or {}
        if t.error_message not in str(e.get("message", "")):
            reasons.append(f"no error message containing {t.error_message!r}")
    if t.pending_title is not None:
        items = got.get("pending") or []
        titles = [i.get("title") for i in items if isinstance(i, dict)]
        if t.pending_title not in titles:
            reasons.append(f"no pending item titled {t.pending_title!r} (titles {titles!r})")
    if want == 3 and not got.get("pending"):
        reasons.append("suspended, but 'pending' is empty")
    return reasons


def stage_run(t, opts):
    with tempfile.TemporaryDirectory(prefix="run_lang.") as tmp:
        res, crash = run(run_command(t, opts, tmp), env=vm_env(opts))
        if res is None:
            return [crash], ""
        code, out, err = res
        if crash:
            return [crash], err
        reasons = check_run_output(t, code, out, err)
        if reasons or not t.logs:
            return reasons, err + (out if reasons and code != 2 and not out.startswith("{") else "")
        # the event log, through `hitlvm log INSTANCE --json`; while that
        # command is missing, the events hitlvm prints without --json
        # (`log: TEXT`, `step: NAME` on standard error)
        inst = json.loads(out).get("instance")
        lres, lcrash = run([opts.hitlvm, "log", str(inst), "--json", "--store",
                            os.path.join(tmp, "store.db")], env=vm_env(opts))
        if lres is None or lcrash:
            return [f"hitlvm log: {lcrash}"], lres[2] if lres else ""
        lcode, lout, lerr = lres
        where = "`hitlvm log`"
        if lcode != 0:
            cmd = [a for a in run_command(t, opts, tmp) if a != "--json"]
            pres, pcrash = run(cmd, env=vm_env(opts))
            if pres is None or pcrash:
                return [f"run without --json: {pcrash}"], pres[2] if pres else ""
            lout = pres[1] + pres[2]
            lerr = pres[2]
            where = "the events printed without --json"
            t.log_fallback = True
        for text in t.logs:
            if text not in lout:
                reasons.append(f"{where} has no '{text}'")
        return reasons, lerr if reasons else ""


def stage_fail_alloc(t, opts):
    reasons = []
    with tempfile.TemporaryDirectory(prefix="run_lang.") as tmp:
        for n in fail_alloc_sample():
            store = os.path.join(tmp, "store.db")
            for leftover in (store, store + "-wal", store + "-shm", store + "-journal"):
                if os.path.exists(leftover):
                    os.remove(leftover)
            res, crash = run(run_command(t, opts, tmp),
                             env=vm_env(opts, {"HITL_FAIL_ALLOC": str(n)}))
            if res is None:
                return [f"HITL_FAIL_ALLOC={n}: {crash}"], ""
            code, out, err = res
            if crash:
                return [f"HITL_FAIL_ALLOC={n}: {crash}"], err
            if code not in EXIT_NAMES:
                return [f"HITL_FAIL_ALLOC={n}: exit status {code}"], err
    return reasons, ""


def stages_for(t, opts):
    stages = [stage_check]
    if t.is_run_test() and opts.hitlvm:
        stages.append(stage_run)
        if opts.fail_alloc:
            stages.append(stage_fail_alloc)
    return stages


def run_test(t, opts):
    """(path, list of (reason, stderr), skipped) — no reasons: passed."""
    if t.problems:
        return t.path, [("bad annotation: " + p, "") for p in t.problems], False
    failures = []
    for stage in stages_for(t, opts):
        reasons, err = stage(t, opts)
        failures += [(r, err) for r in reasons]
        if reasons:
            break
    skipped = not failures and t.is_run_test() and not opts.hitlvm
    return t.path, failures, skipped


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
    ap.add_argument("--hitlvm", help="the hitlvm binary (for run tests)")
    ap.add_argument("--stress", action="store_true",
                    help="run hitlvm with HITL_GC_STRESS=1")
    ap.add_argument("--fail-alloc", action="store_true",
                    help="also run each run test with HITL_FAIL_ALLOC=N for a sample of N")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    opts = ap.parse_args()
    opts.hitlc = os.path.abspath(opts.hitlc) if os.sep in opts.hitlc else opts.hitlc
    if opts.hitlvm and os.sep in opts.hitlvm:
        opts.hitlvm = os.path.abspath(opts.hitlvm)
    if opts.fail_alloc and not opts.hitlvm:
        ap.error("--fail-alloc needs --hitlvm")

    files = collect(opts.paths)
    results = []
    tests = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = []
        for f in files:
            try:
                t = parse_annotations(f)
            except OSError as e:
                results.append((f, [(f"cannot read: {e}", "")], False))
                continue
            tests.append(t)
            futures.append(pool.submit(run_test, t, opts))
        results += [fu.result() for fu in futures]

    passed = failed = skipped = 0
    for path, failures, skip in sorted(results):
        if skip:
            skipped += 1
            continue
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
    log_fallback = sum(1 for t in tests if getattr(t, "log_fallback", False))
    if log_fallback:
        print(f"note: '# log:' checked against the events printed without --json "
              f"in {log_fallback} test(s): `hitlvm log` unavailable")
    if skipped:
        print(f"note: {skipped} run test(s) skipped: no --hitlvm given")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
