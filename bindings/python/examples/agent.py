#!/usr/bin/env python3
"""bindings/python/examples/agent.py — an agent that writes a playbook,
runs it at once with Python functions as its actions, and stops at a
checkpoint for a person to approve the refund it drafted.

    python3 agent.py FOLDER [ORDER_ID]

The suspended instance is kept in the store FOLDER/store.db (the program,
the instance's state, the item waiting for a person, the log), as `hitlvm`
keeps it.  examples/resume.py, another process, later gives the verdict from
the store: it imports this file's bind_actions, so the refund is issued
there, by the same Python functions.  `hitlvm pending --store FOLDER/store.db`
shows the item too.  The last line printed is JSON: {"instance", "item",
"status", "pid"}.

(Without a store, hitl.Instance.snapshot() / Instance.restore() carry a
suspended instance as bytes the host keeps itself: docs/embedding.md.)"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hitl  # noqa: E402

PLAYBOOK = """playbook refund_agent "Draft a refund and ask a person before paying it"

input {
  order_id: string
  reason: string = "the item arrived damaged"
}

action lookup_order(id: string) -> map
action draft_refund(order: map, reason: string) -> map
action issue_refund(order_id: string, amount: float, note: string) -> map {
  irreversible
  compliance "payments"
  edit amount
}

rules {
  when approved -> auto
  when irreversible -> approve
  otherwise -> auto
}

let order = lookup_order(order_id)
let draft = draft_refund(order, reason)
let amount: float = draft.amount
checkpoint "Refund {amount} to {order.customer} for order {order_id}?" {
  show order.total, draft.note, reason
  edit amount
} approve {
  let receipt = issue_refund(order_id, amount, draft.note)
  return {status: "refunded", amount: amount, receipt: receipt}
} reject (why) {
  return {status: "declined", reason: why}
}
"""


# ---- the agent's actions: plain Python functions --------------------------

def lookup_order(id):
    return {"id": id, "customer": "Ada Lovelace", "email": "ada@example.com", "total": 120.5}


def draft_refund(order, reason):
    return {"amount": order["total"], "note": f"Full refund for {order['id']}: {reason}"}


def bind_actions(run, folder):
    """Bind every action on a hitl.Store (or an Instance); the resuming
    process calls this too: bindings are the process's functions, not stored."""
    def issue_refund(order_id, amount, note):
        receipt = {"order_id": order_id, "amount": amount, "note": note, "pid": os.getpid()}
        with open(os.path.join(folder, "refunds.jsonl"), "a") as f:
            f.write(json.dumps(receipt) + "\n")
        return {"receipt": f"R-{order_id}", "amount": amount}

    run.bind("lookup_order", lookup_order)
    run.bind("draft_refund", draft_refund)
    run.bind("issue_refund", issue_refund)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: agent.py FOLDER [ORDER_ID]")
    folder = sys.argv[1]
    order_id = sys.argv[2] if len(sys.argv) > 2 else "A-1001"
    os.makedirs(folder, exist_ok=True)

    program = hitl.Program.compile(PLAYBOOK, name="refund_agent.hitl")
    store = hitl.Store(os.path.join(folder, "store.db"))
    bind_actions(store, folder)
    out = store.run(program, {"order_id": order_id}, as_="agent")
    if out["status"] == hitl.SUSPENDED:
        item = out["pending"][0]
        print(f"suspended: {item['title']} (item {item['id']})")
        print(f"waiting for a verdict: python3 resume.py {folder} {item['id']} approve|reject [REASON]|modify AMOUNT")
        print(json.dumps({"instance": out["instance"], "item": item["id"], "status": out["status"],
                          "pid": os.getpid()}))
    elif out["status"] == hitl.FAILED:
        sys.exit(f"failed: {store.error}")
    else:
        print(json.dumps({"status": out["status"], "result": out.get("result")}))

if __name__ == "__main__":
    main()
