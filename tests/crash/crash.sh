#!/usr/bin/env bash
# tests/crash/crash.sh — kill -9 at random moments, then check the store's
# guarantees (TOOLS.md §3): no committed verdict lost, no irreversible action
# run twice, no instance stuck `running`.
#
#   BINDIR=bin bash tests/crash/crash.sh   (make test-crash runs it)
#   CRASH_SEED=7 CRASH_CYCLES=2000 CRASH_KEEP=1 bash tests/crash/crash.sh
#
# The playbook (transfer.hitl) quotes (reversible), then at each of two
# checkpoints an approve block makes one irreversible call (debit, credit)
# whose arguments are unique to the instance.  The mocks write every call
# they actually make to a witness file (HITL_WITNESS, docs/hitlvm.md) and
# sleep a little after it (HITL_ACTION_DELAY_US), so that kills land between
# a journal's intent and its outcome too.
#
# One cycle: the next hitlvm command — a new `run`, or a verdict on an open
# item — starts in the background; after a random 0–20 ms (bash's RANDOM,
# seeded: a failure reproduces with the same CRASH_SEED) it gets SIGKILL
# unless it has already exited.  Then `hitlvm pending --json` (which recovers
# instances whose process died) lists the open items for the next cycle.
# An item in doubt is decided as its operator would, from the external
# record: if the witness file shows the call happened, `modify` records its
# result; if not, `approve` calls it now.
#
# Afterwards, with nothing killed any more: every instance completed or
# failed, or suspended with an open item; every verdict some `resume`
# acknowledged (exit 0, 1 or 3) in its instance's log; no irreversible call
# witnessed twice.  Then every open item is decided (no kills) and each
# completed instance must have made each irreversible call exactly once.
set -u
# shellcheck source=tests/crash/lib.bash
. "$(dirname "$0")/lib.bash"
HERE=tests/crash
CYCLES=${CRASH_CYCLES:-500}
SEED=${CRASH_SEED:-1}
MAX_MS=${CRASH_MAX_MS:-20}
[ -n "${CRASH_KEEP:-}" ] && trap 'echo "kept $tmp (trace: the commands run, with their exit status)"' EXIT

use_witness
export HITL_ACTION_DELAY_US=${CRASH_DELAY_US:-8000}
: >"$tmp/acks"          # INSTANCE ITEM VERDICT of every acknowledged verdict
: >"$tmp/err"
RANDOM=$SEED

"$HITLC" "$HERE/transfer.hitl" -o "$tmp/transfer.hbc" || { not_ok "hitlc transfer.hitl"; finish; }
MOCK="$HERE/transfer.mock.json"

# witnessed ACTION ARGS_JSON — how many times the witness file shows that call
witnessed() {
  python3 - "$HITL_WITNESS" "$1" "$2" <<'PY'
import json, sys
path, action, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
n = 0
for line in open(path):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3 and parts[1] == action and json.loads(parts[2]) == args:
        n += 1
print(n)
PY
}

cycles=0 kills=0 runs=0 verdicts=0 in_doubt=0 recoveries=0 refused=0
declare -A seen_doubt=()

# running_now — instances the store says are `running` (read directly: no
# hitlvm command may run first, since every command recovers them)
running_now() {
  sqlite3 -readonly "$HITL_STORE" "SELECT count(*) FROM instances WHERE status = 'running'" 2>/dev/null || echo 0
}

# next_command — set CMD (an array) for the next cycle, and VERDICT_OF
# ("INSTANCE ITEM VERDICT") when it is a verdict
next_command() {
  VERDICT_OF=""
  local n
  n=$(jq length <<<"$PENDING")
  if [ "$n" -gt 0 ] && { [ "$n" -ge 8 ] || [ $((RANDOM % 4)) -ne 0 ]; }; then
    local row id inst digest kind action args verdict set=()
    row=$(jq -r --argjson i $((RANDOM % n)) \
      '.[$i] | [.id, .instance, .digest, (.payload.kind // "checkpoint"), (.payload.action // ""), (.payload.args // {} | tojson)] | @tsv' \
      <<<"$PENDING")
    IFS=$'\t' read -r id inst digest kind action args <<<"$row"
    if [ "$kind" = in_doubt ]; then
      [ -z "${seen_doubt[$id]:-}" ] && in_doubt=$((in_doubt + 1))
      seen_doubt[$id]=1
      if [ "$(witnessed "$action" "$args")" -gt 0 ]; then
        verdict=modify
        set=(--set "result=$(jq -c --arg a "$action" '.[$a]' "$MOCK")")
      else
        verdict=approve
      fi
    elif [ $((RANDOM % 10)) -eq 0 ]; then
      verdict=reject
      set=(--reason "no, not now")
    else
      verdict=approve
    fi
    CMD=("$HITLVM" resume "$id" "$verdict" "${set[@]}" --as bob --digest "$digest" --json)
    VERDICT_OF="$inst $id $verdict"
  else
    runs=$((runs + 1))
    CMD=("$HITLVM" run "$tmp/transfer.hbc" --input "{\"ref\": \"T-$runs\", \"amount\": $((runs % 97 + 1))}"
         --mock "$MOCK" --as agent --json)
  fi
}

PENDING=$("$HITLVM" pending --json 2>>"$tmp/err") || { not_ok "hitlvm pending on an empty store"; finish; }
start=$SECONDS
for ((cycles = 1; cycles <= CYCLES; cycles++)); do
  next_command
  "${CMD[@]}" >"$tmp/out" 2>>"$tmp/err" &
  pid=$!
  ms=$((RANDOM % (MAX_MS + 1)))
  sleep "$(printf '0.%03d' "$ms")"
  kill -9 "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null     # (no "Killed" notice from the shell)
  rc=$?
  echo "cycle $cycles: +${ms}ms rc $rc: ${CMD[*]:1}" >>"$tmp/trace"
  if [ $rc -eq 137 ]; then
    kills=$((kills + 1))
    r=$(running_now)
    recoveries=$((recoveries + r))
  elif [ -n "$VERDICT_OF" ]; then
    case $rc in
      0|1|3) echo "$VERDICT_OF" >>"$tmp/acks"; verdicts=$((verdicts + 1)) ;;
      2) refused=$((refused + 1)); echo "refused: ${CMD[*]}" >>"$tmp/refused"; tail -n 1 "$tmp/err" >>"$tmp/refused" ;;
      *) not_ok "cycle $cycles: ${CMD[*]} exited $rc"; tail -n 5 "$tmp/err" ;;
    esac
  elif [ $rc -ne 3 ] && [ $rc -ne 1 ]; then
    not_ok "cycle $cycles: ${CMD[*]} exited $rc (expected 3, suspended)"; tail -n 5 "$tmp/err"
  fi
  if ! PENDING=$("$HITLVM" pending --json 2>>"$tmp/err"); then
    not_ok "cycle $cycles: hitlvm pending failed after ${CMD[*]} (rc $rc)"; tail -n 5 "$tmp/err"; finish
  fi
done
cycles=$((cycles - 1))
elapsed=$((SECONDS - start))

# ---- after the kills: the store's state -----------------------------------
# one command at a time, each item taken from a fresh `pending`: a refusal
# (already decided, digest mismatch) means pending showed a stale item
[ "$refused" = 0 ] && ok "no verdict refused" || { not_ok "$refused verdict(s) refused (exit 2):"; head -n 6 "$tmp/refused"; }
"$HITLVM" instances --json >"$tmp/instances.json" 2>>"$tmp/err" || not_ok "hitlvm instances"
"$HITLVM" pending --json >"$tmp/pending.json" 2>>"$tmp/err" || not_ok "hitlvm pending"
stuck=$(jq -r '[.[] | select(.status == "running")] | length' "$tmp/instances.json")
[ "$stuck" = 0 ] && ok "no instance left running after recovery" || not_ok "$stuck instance(s) still running after recovery"
unresumable=$(jq -r --slurpfile p "$tmp/pending.json" \
  '[.[] | select(.status != "completed" and .status != "failed")
        | select(.id as $i | ($p[0] | map(.instance) | index($i)) == null) | .id] | join(" ")' "$tmp/instances.json")
[ -z "$unresumable" ] && ok "every instance completed, failed or resumable (an open item)" \
  || not_ok "instances neither ended nor with an open item: $unresumable"

# check_store PHASE — acknowledged verdicts in the logs, no call witnessed twice
check_store() {
  local inst
  : >"$tmp/logs"
  for inst in $(jq -r '.[].id' "$tmp/instances.json"); do
    "$HITLVM" log "$inst" --json 2>>"$tmp/err" | jq -c --arg i "$inst" '{instance: $i} + .' >>"$tmp/logs" \
      || not_ok "$1: hitlvm log $inst"
  done
  python3 - "$tmp/acks" "$tmp/logs" "$HITL_WITNESS" "$tmp/instances.json" "$1" <<'PY'
import collections, json, sys
acks_path, logs_path, witness_path, inst_path, phase = sys.argv[1:]
events = collections.defaultdict(list)
for line in open(logs_path):
    e = json.loads(line)
    events[e["instance"]].append(e)

def field(e, k):
    return e.get(k, (e.get("fields") or {}).get(k))

bad = 0
def report(ok, msg):
    global bad
    print(("ok - " if ok else "not ok - ") + phase + ": " + msg)
    bad += not ok

lost = []
acks = [l.split() for l in open(acks_path) if l.strip()]
for inst, item, verdict in acks:
    if not any(e.get("kind") == "verdict" and str(field(e, "item")) == item for e in events[inst]):
        lost.append("%s item %s (%s)" % (inst, item, verdict))
report(not lost, "%d acknowledged verdicts, %d lost%s" % (len(acks), len(lost), (": " + ", ".join(lost[:10])) if lost else ""))

calls = collections.Counter()
for line in open(witness_path):
    who, action, args = line.rstrip("\n").split(" ", 2)
    if action in ("debit", "credit"):
        calls[(action, json.loads(args)["ref"])] += 1
twice = ["%s %s x%d" % (a, r, n) for (a, r), n in sorted(calls.items()) if n > 1]
report(not twice, "%d irreversible calls witnessed, %d made more than once%s"
       % (sum(calls.values()), len(twice), (": " + ", ".join(twice[:10])) if twice else ""))

if phase == "drained":
    # every completed instance made each irreversible call exactly once
    missing = []
    done = 0
    for inst in json.load(open(inst_path)):
        if inst["status"] != "completed":
            continue
        done += 1
        started = [e for e in events[inst["id"]] if e.get("kind") == "started"]
        ref = (field(started[0], "input") or {}).get("ref") if started else None
        for a in ("debit", "credit"):
            if calls[(a, ref)] != 1:
                missing.append("%s %s %s x%d" % (inst["id"], a, ref, calls[(a, ref)]))
    report(not missing, "%d completed instances each debited and credited exactly once%s"
           % (done, (": " + ", ".join(missing[:10])) if missing else ""))
sys.exit(1 if bad else 0)
PY
}

if out=$(check_store "after the kills"); then :; fi
echo "$out"
pass=$((pass + $(grep -c '^ok' <<<"$out"))); fail=$((fail + $(grep -c '^not ok' <<<"$out")))

# ---- drain: decide every open item, nothing killed ------------------------
for ((round = 0; round < 200; round++)); do
  PENDING=$("$HITLVM" pending --json 2>>"$tmp/err") || break
  [ "$(jq length <<<"$PENDING")" -eq 0 ] && break
  next_command
  [ -n "$VERDICT_OF" ] || continue
  rc=0
  "${CMD[@]}" >"$tmp/out" 2>>"$tmp/err" || rc=$?
  case $rc in
    0|1|3) echo "$VERDICT_OF" >>"$tmp/acks" ;;
    *) not_ok "drain: ${CMD[*]} exited $rc"; tail -n 3 "$tmp/err" ;;
  esac
done
"$HITLVM" instances --json >"$tmp/instances.json" 2>>"$tmp/err" || not_ok "hitlvm instances"
open=$(jq -r '[.[] | select(.status != "completed" and .status != "failed")] | length' "$tmp/instances.json")
[ "$open" = 0 ] && ok "drained: every instance completed or failed" || not_ok "drained: $open instance(s) still open"
if out=$(check_store drained); then :; fi
echo "$out"
pass=$((pass + $(grep -c '^ok' <<<"$out"))); fail=$((fail + $(grep -c '^not ok' <<<"$out")))

echo "crash: seed $SEED, $cycles cycles in ${elapsed}s: $runs runs started, $verdicts verdicts acknowledged," \
  "$refused refused, $kills kills, $recoveries recoveries (instances left running by a kill)," \
  "$in_doubt in-doubt items seen; $(jq length "$tmp/instances.json") instances" \
  "($(jq '[.[] | select(.status == "completed")] | length' "$tmp/instances.json") completed," \
  "$(jq '[.[] | select(.status == "failed")] | length' "$tmp/instances.json") failed)"
finish
