#!/usr/bin/env python3
"""bindings/python/examples/resume.py — the other half of agent.py: a
separate process opens the store the agent left in FOLDER, binds the agent's
actions (imported from agent.py: the same Python functions), and gives the
verdict as a reviewer; the instance runs on here and the refund is issued in
this process.

    python3 resume.py FOLDER ITEM approve
    python3 resume.py FOLDER ITEM reject "not eligible"
    python3 resume.py FOLDER ITEM modify 99.5

ITEM is the item's id (agent.py prints it; `pending` lists them).  The
reviewer is $HITL_REVIEWER, else "reviewer" (not "agent": the starter of an
instance may not decide its items).  The last line printed is {"status",
"result"} or {"status", "error"} as JSON; a refused verdict exits 2."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import hitl  # noqa: E402
from agent import bind_actions  # noqa: E402


def main():
    if len(sys.argv) < 4 or sys.argv[3] not in ("approve", "reject", "modify") or not sys.argv[2].isdigit():
        sys.exit("usage: resume.py FOLDER ITEM approve|reject [REASON]|modify AMOUNT")
    folder, item, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = hitl.Store(os.path.join(folder, "store.db"))
    bind_actions(store, folder)
    shown = store.show(item)
    print(f"deciding: {shown['title']}")

    reason = (sys.argv[4] if len(sys.argv) > 4 else "rejected") if kind == "reject" else None
    edits = {"amount": float(sys.argv[4])} if kind == "modify" else None
    try:
        out = store.resume(item, kind, reason=reason, edits=edits, digest=shown["digest"],
                           as_=os.environ.get("HITL_REVIEWER", "reviewer"))
    except hitl.HitlError as e:
        print(f"refused: {e}", file=sys.stderr)
        sys.exit(2)
    if out["status"] == hitl.FAILED:
        print(json.dumps({"status": out["status"], "error": out["error"]}))
        sys.exit(1)
    print(json.dumps({"status": out["status"], "result": out.get("result")}))


if __name__ == "__main__":
    main()
