#!/usr/bin/env python3
"""bindings/python/examples/resume.py — the other half of agent.py: a
separate process loads the program and the snapshot the agent left in
FOLDER, binds the agent's actions again, and gives the verdict.

    python3 resume.py FOLDER approve
    python3 resume.py FOLDER reject "not eligible"
    python3 resume.py FOLDER modify 99.5

On approve (or modify) the refund is issued here, in this process; the last
line printed is {"status", "result"} as JSON."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import hitl  # noqa: E402
from agent import bind_actions  # noqa: E402


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("approve", "reject", "modify"):
        sys.exit("usage: resume.py FOLDER approve|reject [REASON]|modify AMOUNT")
    folder, kind = sys.argv[1], sys.argv[2]
    with open(os.path.join(folder, "program.hbc"), "rb") as f:
        program = hitl.Program.load(f.read(), base_dir=folder)
    with open(os.path.join(folder, "snapshot.bin"), "rb") as f:
        run = hitl.Instance.restore(program, f.read())
    bind_actions(run, folder)
    print(f"deciding: {run.pending['title']}")

    verdict = {"kind": kind, "reviewers": [os.environ.get("USER", "reviewer")]}
    if kind == "reject":
        verdict["reason"] = sys.argv[3] if len(sys.argv) > 3 else "rejected"
    if kind == "modify":
        verdict["edits"] = {"amount": float(sys.argv[3])}
    status = run.resume(verdict)
    if status == hitl.FAILED:
        print(json.dumps({"status": status, "error": {"kind": run.error.kind, "message": run.error.message}}))
        sys.exit(1)
    print(json.dumps({"status": status, "result": run.result}))


if __name__ == "__main__":
    main()
