#!/usr/bin/env python3
"""tests/sim/sim.py — the calibration simulation (docs/calibration.md).

An agent labels tickets (tests/sim/sim.hitl, one instance per batch of
calls); each label comes with a synthetic confidence c, and the label is
right with probability P(correct | c), lower confidence meaning more often
wrong.  Simulated reviewers see every routed call (`hitlvm resume`): they
approve a right label, and correct (modify) or reject a wrong one.

  1. learning: the playbook's threshold is 1.0, so every call goes to a person;
  2. `hitlvm calibrate --target T --min-samples N --apply`;
  3. after: the same traffic again, under the calibrated threshold (read from
     the store at each run, recorded in the `started` event).

It reports the share of calls routed to people and the error rate of the
calls that ran unattended (known here: the simulator knows which labels were
wrong), measured before and after, the same for a hand-set threshold, and a
chart of both against the threshold.  Everything goes through bin/hitlvm and
the store, as in production; only the reviewers are simulated.

  python3 tests/sim/sim.py --bindir bin                 # make sim: 10,000 calls
  python3 tests/sim/sim.py --bindir bin --short --check # make check: asserts

Python 3 standard library only; seeded (--seed), so a run repeats exactly.
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["billing", "bug", "account", "shipping", "other"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bindir", default="bin")
    p.add_argument("--store", help="the store (default: a new one in a temporary folder)")
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--learn", type=int, default=2000, help="calls in the learning phase")
    p.add_argument("--after", type=int, default=8000, help="calls after calibration")
    p.add_argument("--batch", type=int, default=100, help="calls per instance")
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--min-samples", type=int, default=50)
    p.add_argument("--hand", type=float, default=0.8, help="a hand-set threshold to compare with")
    p.add_argument("--spread", type=float, default=25.0,
                   help="confidence c = u^(1/spread), u uniform: P(c < t) = t^spread")
    p.add_argument("--slope", type=float, default=60.0, help="P(correct | c) = 1 / (1 + exp(-slope (c - mid)))")
    p.add_argument("--mid", type=float, default=0.87)
    p.add_argument("--modify", type=float, default=0.3, help="share of wrong labels corrected instead of rejected")
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--short", action="store_true", help="the make check version: 300 + 500 calls")
    p.add_argument("--check", action="store_true", help="assert the calibration's effect (exit 1 if not)")
    a = p.parse_args()
    if a.short:
        a.learn, a.after, a.batch = 300, 500, 50
    return a


def p_correct(a, c):
    return 1.0 / (1.0 + math.exp(-a.slope * (c - a.mid)))


def make_calls(a, rng, n, prefix):
    """n calls: id, the proposed label, its confidence; and whether it is right."""
    calls, truth = [], {}
    for i in range(n):
        c = round(rng.random() ** (1.0 / a.spread), 4)
        right = rng.choice(LABELS)
        correct = rng.random() < p_correct(a, c)
        label = right if correct else rng.choice([x for x in LABELS if x != right])
        cid = f"{prefix}{i}"
        calls.append({"id": cid, "label": label, "conf": c})
        truth[cid] = (correct, right, c)
    return calls, truth


class Hitlvm:
    def __init__(self, a, store):
        self.bin = os.path.join(a.bindir, "hitlvm")
        self.store = store
        self.env = dict(os.environ, HITL_STORE_SYNC="NORMAL", HITL_STORE_BUSY_TIMEOUT="60000")

    def __call__(self, *args, ok=(0,)):
        r = subprocess.run([self.bin, *args, "--store", self.store], capture_output=True, text=True, env=self.env)
        if r.returncode not in ok:
            raise RuntimeError(f"hitlvm {' '.join(args[:3])}: exit {r.returncode}: {r.stderr.strip()[:500]}")
        return r.stdout


def run_batch(hv, program, mock, calls, truth, rng_seed, modify_share):
    """One instance over `calls`, every routed call decided as a reviewer would."""
    rng = random.Random(rng_seed)
    out = json.loads(hv("run", program, "--input", json.dumps({"calls": calls}), "--mock", mock,
                        "--as", "agent", "--json", ok=(0, 3)))
    instance, routed = out["instance"], []
    while out["status"] == "suspended":
        item = out["pending"][0]
        cid = item["payload"]["args"]["id"]
        correct, right, _ = truth[cid]
        routed.append(cid)
        if correct:
            verdict = ["approve"]
        elif rng.random() < modify_share:
            verdict = ["modify", "--set", "label=" + json.dumps(right)]
        else:
            verdict = ["reject", "--reason", "wrong label"]
        out = json.loads(hv("resume", str(item["id"]), *verdict, "--digest", item["digest"],
                            "--as", "reviewer", "--json", ok=(0, 3)))
    if out["status"] != "completed":
        raise RuntimeError(f"instance {instance} ended {out['status']}: {out.get('error')}")
    return instance, routed


def phase(a, hv, program, mock, rng, n, prefix):
    calls, truth = make_calls(a, rng, n, prefix)
    batches = [calls[i:i + a.batch] for i in range(0, n, a.batch)]
    seeds = [rng.randrange(1 << 30) for _ in batches]
    routed, instances = set(), []
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for inst, r in ex.map(lambda bs: run_batch(hv, program, mock, bs[0], truth, bs[1], a.modify),
                              zip(batches, seeds)):
            instances.append(inst)
            routed.update(r)
    unattended = [cid for cid in truth if cid not in routed]
    errors = sum(1 for cid in unattended if not truth[cid][0])
    return {"calls": n, "routed": len(routed), "unattended": len(unattended), "errors": errors,
            "share": len(routed) / n, "error_rate": errors / len(unattended) if unattended else 0.0,
            "truth": truth, "instances": instances}


def counterfactual(truth, t):
    """share routed and unattended error rate had the threshold been t"""
    routed = sum(1 for (_, _, c) in truth.values() if c < t)
    un = [ok for (ok, _, c) in truth.values() if c >= t]
    return routed / len(truth), (sum(1 for ok in un if not ok) / len(un)) if un else 0.0, len(un)


def chart(truth, marks):
    lines = ["threshold  routed to people                         unattended errors",
             "           0%       25%       50%       75%  100%"]
    t = 0.70
    while t <= 1.0001:
        share, err, _ = counterfactual(truth, t)
        bar = "#" * round(share * 40)
        mark = "".join(f"  <- {name}" for name, v in marks if abs(v - t) < 0.0125)
        lines.append(f"  {t:5.3f}    {bar:<40} {share * 100:5.1f}%  {err * 100:5.2f}%{mark}")
        t += 0.025
    return "\n".join(lines)


def main():
    a = parse_args()
    tmp = tempfile.mkdtemp(prefix="hitl-sim.")
    store = a.store or os.path.join(tmp, "store.db")
    hv = Hitlvm(a, store)
    program = os.path.join(tmp, "sim.hbc")
    subprocess.run([os.path.join(a.bindir, "hitlc"), os.path.join(HERE, "sim.hitl"), "-o", program], check=True)
    mock = os.path.join(HERE, "sim.mock.json")
    rng = random.Random(a.seed)
    failures = []

    learn = phase(a, hv, program, mock, rng, a.learn, "L")
    stats_before = json.loads(hv("stats", "--json"))
    cal = json.loads(hv("calibrate", "--target", str(a.target), "--min-samples", str(a.min_samples),
                        "--apply", "--json"))
    proposed = cal[0]["proposed"] if cal else None
    after = phase(a, hv, program, mock, rng, a.after, "A")
    stats_after = json.loads(hv("stats", "--json"))
    exported = [json.loads(line) for line in hv("export").splitlines()]

    # the store's own figures for the after phase: every call minus the learning phase's
    s_all = stats_after[0]
    s_learn = stats_before[0]
    store_routed = s_all["routed"] - s_learn["routed"]
    store_auto = s_all["auto"] - s_learn["auto"]
    started = json.loads(hv("log", after["instances"][0], "--json").splitlines()[0])

    all_truth = dict(learn["truth"], **after["truth"])
    hand_share, hand_err, _ = counterfactual(after["truth"], a.hand)
    rows = [
        ("hand-set threshold (no learning)", f"{a.hand:.2f}", hand_share, hand_err, "counterfactual on the after-phase calls"),
        ("learning phase (everything to people)", "1.00", learn["share"], learn["error_rate"], f"measured, {a.learn} calls"),
        ("after `calibrate --apply`", f"{proposed:.4f}" if proposed is not None else "-", after["share"],
         after["error_rate"], f"measured, {a.after} calls"),
    ]
    print(f"seed {a.seed}; {a.learn} + {a.after} calls in batches of {a.batch}; confidence c = u^(1/{a.spread:g}); "
          f"P(correct | c) = 1/(1 + exp(-{a.slope:g} (c - {a.mid:g}))); target {a.target}, min samples {a.min_samples}")
    print()
    print("| phase | threshold | routed to people | errors among unattended calls | |")
    print("|---|---|---|---|---|")
    for name, thr, share, err, note in rows:
        print(f"| {name} | {thr} | {share * 100:.1f}% | {err * 100:.2f}% | {note} |")
    print()
    print(f"calibrate: {json.dumps(cal)}")
    print(f"store after phase: {store_routed} routed, {store_auto} auto; simulator: {after['routed']} routed, "
          f"{after['unattended']} unattended, {after['errors']} wrong")
    print()
    print(chart(all_truth, [("hand-set", a.hand)] + ([("calibrated", proposed)] if proposed is not None else [])))

    if a.check:
        def expect(cond, what):
            if not cond:
                failures.append(what)
            print(f"{'ok' if cond else 'not ok'} - {what}")
        print()
        expect(learn["share"] == 1.0 and s_learn["share_routed"] == 1.0, "learning phase: every call routed (stats agrees)")
        expect(proposed is not None and proposed < 1.0, "calibrate proposes a threshold below 1.0")
        expect(cal and cal[0]["applied"] and cal[0]["samples"] == a.learn, "calibrate --apply, over every decision")
        expect(started.get("calibrated", {}).get("classify") == proposed,
               "the started event records the calibrated threshold")
        expect(after["share"] < 0.5, "after: fewer calls routed to people")
        expect(store_routed == after["routed"] and store_auto == after["unattended"],
               "stats counts the routed and auto calls as the simulator saw them")
        expect(all(0.0 <= s_all[k] <= 1.0 for k in ("share_routed", "approve_rate", "modify_rate", "reject_rate")),
               "stats: share and rates computed")
        expect(after["error_rate"] <= 0.03, f"after: unattended error rate {after['error_rate']:.4f} is small")
        expect(len(exported) == a.learn + a.after, "export: one line per decision and per unattended call")
        expect(sum(1 for e in exported if e["route"] == "auto") == after["unattended"], "export: the auto calls")
    if not a.store:
        subprocess.run(["rm", "-rf", tmp])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
