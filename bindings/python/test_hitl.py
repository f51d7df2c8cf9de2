"""bindings/python/test_hitl.py — the Python binding, as an agent would use
it: compile, bind Python functions, checkpoints, snapshots restored in a
fresh instance, the store (hitl.Store: run, the desk, resume from another
handle and from another process — the examples), errors as HitlError,
`from` actions through libffi.  Run by `make check`:

    HITL_LIB=lib/libhitl.so python3 -m unittest discover bindings/python

HITL_TESTACTIONS names libtestactions.so (tests/ffi/testactions.c) for the
`from` test; without it that test is skipped."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

import hitl

HERE = os.path.dirname(os.path.abspath(__file__))

ACTIONS = """playbook acts "actions bound by Python"
input { order: string }
action lookup(id: string) -> map
action score(o: map) -> float
let o = lookup(order)
return {o: o, s: score(o)}
"""

REFUND = """playbook refund "refund with approval"
input {
  order: string
  amount: float
}
action issue_refund(order: string, amount: float) -> map { irreversible }
rules {
  when approved -> auto
  otherwise -> approve
}
checkpoint "Refund {amount} for {order}?" {
  show order, amount
  edit amount
} approve {
  let r = issue_refund(order, amount)
}
return {refunded: amount}
"""


class TestBasics(unittest.TestCase):
    def test_version(self):
        self.assertRegex(hitl.version(), r"^\d+\.\d+\.\d+$")

    def test_compile_error(self):
        with self.assertRaises(hitl.HitlError) as cm:
            hitl.Program.compile('playbook p "x"\nreturn y\n', name="bad.hitl")
        e = cm.exception
        self.assertEqual(e.kind, "compile")
        self.assertEqual(e.line, 2)
        self.assertIn("bad.hitl:2:", e.message)

    def test_load_bytes(self):
        p = hitl.Program.compile('playbook sum "s"\ninput { n: int }\nreturn n + 1\n')
        self.assertEqual(p.name, "sum")
        q = hitl.Program.load(p.bytes)
        self.assertEqual(p.hash, q.hash)
        run = hitl.Instance(q)
        self.assertEqual(run.start({"n": 41}), hitl.COMPLETED)
        self.assertEqual(run.result, 42)
        with self.assertRaises(hitl.HitlError) as cm:
            hitl.Program.load(b"\x7fHBC garbage")
        self.assertEqual(cm.exception.kind, "load")


class TestActions(unittest.TestCase):
    def setUp(self):
        self.prog = hitl.Program.compile(ACTIONS, name="acts.hitl")

    def test_bind_python_functions(self):
        run = hitl.Instance(self.prog)
        seen = []

        @run.action()
        def lookup(id):
            seen.append(id)
            return {"id": id, "total": 120.5}

        run.bind("score", lambda o: o["total"] / 241)
        self.assertEqual(run.start({"order": "A-1"}), hitl.COMPLETED)
        self.assertEqual(run.result, {"o": {"id": "A-1", "total": 120.5}, "s": 0.5})
        self.assertEqual(seen, ["A-1"])

    def test_exception_is_action_error(self):
        run = hitl.Instance(self.prog)

        def lookup(id):
            raise RuntimeError(f"order {id} is not in the database")

        run.bind("lookup", lookup)
        self.assertEqual(run.start({"order": "Z-9"}), hitl.FAILED)
        self.assertEqual(run.error.kind, "action")
        self.assertIn("order Z-9 is not in the database", run.error.message)
        self.assertEqual(run.error.line, 5)
        self.assertIsInstance(run.action_errors[0], RuntimeError)

    def test_unbound_and_default(self):
        run = hitl.Instance(self.prog)
        self.assertEqual(run.start({"order": "A-1"}), hitl.FAILED)
        self.assertIn("no binding for action 'lookup'", run.error.message)
        run = hitl.Instance(self.prog)
        calls = []
        run.bind_default(lambda name, args: calls.append(name) or ({"x": 1} if name == "lookup" else 0.25))
        self.assertEqual(run.start({"order": "A-1"}), hitl.COMPLETED)
        self.assertEqual(calls, ["lookup", "score"])
        with self.assertRaises(hitl.HitlError):
            run.bind("nosuch", lambda: 1)

    def test_refusals_raise(self):
        run = hitl.Instance(self.prog)
        with self.assertRaises(hitl.HitlError) as cm:
            run.start({"order": 5})
        self.assertEqual(cm.exception.kind, "input")
        self.assertIsNone(run.status)

    def test_mocks_and_events(self):
        run = hitl.Instance(self.prog)
        run.bind_mocks({"lookup": {"id": "A-1"}, "score": {"results": [0.9]}})
        kinds = []
        run.on_event(lambda kind, fields: kinds.append(kind))
        self.assertEqual(run.start({"order": "A-1"}), hitl.COMPLETED)
        self.assertEqual(run.result, {"o": {"id": "A-1"}, "s": 0.9})
        self.assertIn("action", kinds)

    def test_threads(self):
        prog = hitl.Program.compile('playbook t "t"\ninput { n: int }\naction tick() -> int\n'
                                    'let s = 0\nfor i in range(n) { s = s + tick() }\nreturn s\n')
        results = []

        def work(n):
            run = hitl.Instance(prog)
            run.bind("tick", lambda: 1)
            run.start({"n": n})
            results.append(run.result == n)

        threads = [threading.Thread(target=work, args=(200 + i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [True] * 4)


class TestCheckpoints(unittest.TestCase):
    def test_suspend_snapshot_restore(self):
        prog = hitl.Program.compile(REFUND)
        run = hitl.Instance(prog)
        run.bind("issue_refund", lambda order, amount: {"ok": True})
        self.assertEqual(run.start({"order": "A-1", "amount": 120.5}), hitl.SUSPENDED)
        item = run.pending
        self.assertEqual(item["title"], "Refund 120.5 for A-1?")
        self.assertEqual(item["show"], {"order": "A-1", "amount": 120.5})
        self.assertEqual(len(run.pending_digest("i-1", 1)), 64)
        snap = run.snapshot()
        with self.assertRaises(hitl.HitlError) as cm:
            run.resume("modify", edits={"order": "B"})
        self.assertEqual(cm.exception.kind, "verdict")
        self.assertEqual(run.status, hitl.SUSPENDED)

        later = hitl.Instance.restore(hitl.Program.load(prog.bytes), snap)
        self.assertEqual(later.pending, item)
        paid = []
        later.bind("issue_refund", lambda order, amount: paid.append(amount) or {"ok": True})
        self.assertEqual(later.resume("modify", edits={"amount": 99.5}, reviewers=["bob"]), hitl.COMPLETED)
        self.assertEqual(paid, [99.5])
        self.assertEqual(later.result, {"refunded": 99.5})

        rejected = hitl.Instance.restore(prog, snap)
        self.assertEqual(rejected.resume("reject", reason="too much"), hitl.FAILED)
        self.assertEqual(rejected.error.kind, "rejected")

        with self.assertRaises(hitl.HitlError) as cm:
            hitl.Instance.restore(hitl.Program.compile(ACTIONS), snap)
        self.assertEqual(cm.exception.kind, "snapshot")

    def test_reviews(self):
        prog = hitl.Program.compile("""playbook replies "an auto-reply reviewed after it went out"
action send(to: string, text: string) -> bool
let to = "ada"
review "Reply to {to}" within 4h by "support" {
  send(to, "hello")
} flag (why) {
  send(to, "please disregard: {why}")
}
to = "someone else"
return to
""")
        run = hitl.Instance(prog)
        sent = []
        run.bind("send", lambda to, text: sent.append((to, text)) or True)
        self.assertEqual(run.start(), hitl.REVIEWING)
        self.assertEqual(run.result, "someone else")
        [r] = run.reviews
        self.assertEqual(r["item"], 1)
        self.assertEqual(r["payload"]["calls"], [{"action": "send", "args": {"to": "ada", "text": "hello"},
                                                  "result": True}])
        later = hitl.Instance.restore(prog, run.snapshot())
        later.bind("send", lambda to, text: sent.append((to, text)) or True)
        with self.assertRaises(hitl.HitlError) as cm:
            later.review(1, "approve")
        self.assertEqual(cm.exception.kind, "verdict")
        self.assertEqual(later.review(1, "flag", reason="wrong tone"), hitl.COMPLETED)
        self.assertEqual(sent[-1], ("ada", "please disregard: wrong tone"))
        self.assertEqual(later.reviews, [])


@unittest.skipUnless(os.environ.get("HITL_TESTACTIONS"), "HITL_TESTACTIONS (libtestactions.so) not set")
class TestFrom(unittest.TestCase):
    def test_from_actions(self):
        so = os.path.abspath(os.environ["HITL_TESTACTIONS"])
        src = """playbook ffi "from"
action add(a: int, b: int) -> int from "libtestactions.so" symbol "ta_add"
action scale(x: float, k: float) -> float from "libtestactions.so" symbol "ta_scale"
action negate(b: bool) -> bool from "libtestactions.so" symbol "ta_not"
action greet(name: string) -> string from "libtestactions.so" symbol "ta_greet"
action wrap(m: map) -> map from "libtestactions.so" symbol "ta_wrap"
action nosym() -> int from "libtestactions.so" symbol "nope"
let e = nil
try { nosym() } catch err { e = err.kind }
return [add(2, 3), scale(2.0, 0.25), negate(true), greet("py"), wrap({a: 1}), e]
"""
        prog = hitl.Program.compile(src, base_dir=os.path.dirname(so))
        run = hitl.Instance(prog)
        self.assertEqual(run.start(), hitl.COMPLETED)
        self.assertEqual(run.result, [5, 0.5, False, "hello, py",
                                      {"got": {"a": 1}, "bytes": 7}, "action"])


class TestStore(unittest.TestCase):
    """hitl.Store: durable instances, the desk, verdicts from another handle."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "store.db")
        self.prog = hitl.Program.compile(REFUND, name="refund.hitl")

    def tearDown(self):
        self.tmp.cleanup()

    def test_run_pending_resume(self):
        agent = hitl.Store(self.path)
        agent_paid = []
        agent.bind("issue_refund", lambda order, amount: agent_paid.append(amount) or {"ok": True})
        kinds = []
        agent.on_event(lambda kind, fields: kinds.append(kind))
        out = agent.run(self.prog, {"order": "A-1", "amount": 120.5}, as_="agent")
        self.assertEqual(out["status"], hitl.SUSPENDED)
        self.assertIn("checkpoint", kinds)
        item = out["pending"][0]
        self.assertEqual(item["title"], "Refund 120.5 for A-1?")
        self.assertEqual(item["payload"]["show"], {"order": "A-1", "amount": 120.5})
        self.assertEqual([i["id"] for i in agent.pending()], [item["id"]])
        self.assertEqual(agent.pending(as_="agent"), [])
        self.assertEqual(agent.show(item["id"])["digest"], item["digest"])
        self.assertEqual(agent.instances("suspended")[0]["id"], out["instance"])

        refusals = [(item["id"], "approve", "agent", "verdict"),      # the starter
                    (item["id"], "maybe", "bob", "verdict"),
                    (item["id"] + 9, "approve", "bob", "usage"),
                    (item["id"], "modify", "bob", "verdict")]         # modify without edits
        for it, verdict, who, kind in refusals:
            with self.assertRaises(hitl.HitlError) as cm:
                agent.resume(it, verdict, as_=who)
            self.assertEqual(cm.exception.kind, kind)
        with self.assertRaises(hitl.HitlError) as cm:
            agent.resume(item["id"], "approve", digest="0" * 64, as_="bob")
        self.assertIn("digest mismatch", cm.exception.message)

        desk = hitl.Store(self.path)                 # another handle: its own binding runs
        desk_paid = []
        desk.bind("issue_refund", lambda order, amount: desk_paid.append(amount) or {"ok": True})
        done = desk.resume(item["id"], "modify", edits={"amount": 99.5}, reason="partial",
                           digest=item["digest"], as_="alice")
        self.assertEqual(done["status"], hitl.COMPLETED)
        self.assertEqual(done["result"], {"refunded": 99.5})
        self.assertEqual((agent_paid, desk_paid), ([], [99.5]))
        log = agent.log(out["instance"])
        self.assertEqual([e["kind"] for e in log][-4:], ["verdict", "resumed", "action", "completed"])
        self.assertEqual(agent.outcome(out["instance"])["status"], hitl.COMPLETED)
        with self.assertRaises(hitl.HitlError) as cm:
            desk.resume(item["id"], "approve", as_="bob")
        self.assertIn("already decided", cm.exception.message)

    def test_exceptions_mocks_refusals(self):
        with hitl.Store(self.path) as store:
            with self.assertRaises(hitl.HitlError) as cm:
                store.run(self.prog, {"order": 5}, as_="agent")
            self.assertEqual(cm.exception.kind, "input")
            self.assertEqual(store.instances(), [])
            store.bind_mocks({"issue_refund": {"ok": True}, "nosuch": 1})
            out = store.run(self.prog, {"order": "A-2", "amount": 10}, as_="agent")
            self.assertIn("'nosuch' is not an action", store.notes[-1])
            item = out["pending"][0]["id"]

            def boom(order, amount):
                raise RuntimeError("the bank said no")
            store.bind("issue_refund", boom)              # wins over the mock
            out = store.resume(item, "approve", as_="bob")
            self.assertEqual(out["status"], hitl.FAILED)
            self.assertEqual(out["error"]["kind"], "action")
            self.assertIn("the bank said no", store.error.message)
            self.assertIsInstance(store.action_errors[0], RuntimeError)

    def test_expire_and_groups(self):
        prog = hitl.Program.compile('playbook g "grouped"\ncheckpoint "Go?" {\n  by "ops"\n'
                                    '  timeout 1h -> approve\n} approve {\n  log "went"\n}\nreturn 1\n')
        store = hitl.Store(self.path)
        store.reviewers_add("olga", ["ops"])
        out = store.run(prog, as_="agent")
        item = out["pending"][0]["id"]
        with self.assertRaises(hitl.HitlError) as cm:
            store.resume(item, "approve", as_="bob")
        self.assertIn("not a member of group ops", cm.exception.message)
        self.assertEqual(store.expire(), [])
        expired = store.expire(now=2 ** 40)
        self.assertEqual(expired, [{"item": item, "instance": out["instance"], "verdict": "approve",
                                    "status": "completed"}])


class TestExamples(unittest.TestCase):
    """examples/agent.py stops at a checkpoint, its instance in a store;
    examples/resume.py, another process, approves from the store and the
    agent's action runs there."""

    def run_py(self, *args):
        env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=60)

    def refunds(self, d):
        path = os.path.join(d, "refunds.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def test_agent_then_resume(self):
        agent, resume = os.path.join(HERE, "examples", "agent.py"), os.path.join(HERE, "examples", "resume.py")
        with tempfile.TemporaryDirectory() as d:
            a = self.run_py(agent, d, "A-1001")
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertIn("suspended", a.stdout)
            started = json.loads(a.stdout.strip().splitlines()[-1])
            self.assertTrue(os.path.exists(os.path.join(d, "store.db")))
            self.assertEqual(self.refunds(d), [])

            r = self.run_py(resume, d, str(started["item"]), "approve")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("A-1001", r.stdout)
            refunds = self.refunds(d)
            self.assertEqual(len(refunds), 1)
            self.assertEqual(refunds[0]["order_id"], "A-1001")
            self.assertNotEqual(refunds[0]["pid"], started["pid"])      # issued by the resuming process
            self.assertEqual(json.loads(r.stdout.strip().splitlines()[-1])["status"], "completed")

            # decided once: a second verdict is refused, nothing refunded
            r = self.run_py(resume, d, str(started["item"]), "approve")
            self.assertEqual(r.returncode, 2)
            self.assertIn("already decided", r.stderr)
            self.assertEqual(len(self.refunds(d)), 1)

            # another order, rejected in a third process: nothing refunded
            a = self.run_py(agent, d, "A-1002")
            second = json.loads(a.stdout.strip().splitlines()[-1])
            self.assertNotEqual(second["item"], started["item"])
            r = self.run_py(resume, d, str(second["item"]), "reject", "not eligible")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(self.refunds(d)), 1)
            self.assertIn("not eligible", r.stdout)

if __name__ == "__main__":
    unittest.main()
