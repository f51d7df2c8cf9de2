#!/usr/bin/env bash
# tests/crash/in_doubt.sh — kills aimed at the moments that matter for the
# action journal (TOOLS.md §3, "No action runs twice"), where crash.sh aims
# at random: each kill lands while a mocked call sleeps just after writing
# its witness line (HITL_WITNESS, HITL_ACTION_DELAY_US), that is after the
# call happened and before its outcome is journaled.
#
#   BINDIR=bin bash tests/crash/in_doubt.sh   (make test-crash runs it)
#
# 1. A call killed after it happened is in doubt: recovery opens an in-doubt
#    item and does not call again; `modify` records the result it had.
# 2. An in-doubt item approved (call again) whose new call is killed after it
#    happened: in doubt again, never called a third time by recovery.
set -u
BINDIR=${BINDIR:-bin}
HITLVM=$(cd "$BINDIR" && pwd)/hitlvm
# the repository: the first folder above this script with a Makefile and tests/crash
cd "$(dirname "$0")" && until [ -f Makefile ] && [ -d tests/crash ]; do
  [ "$PWD" != / ] || { echo "$0: not inside the repository" >&2; exit 2; }
  cd ..
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hitl-in-doubt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export HITL_STORE="$tmp/store.db"
export HITL_WITNESS="$tmp/witness"
: >"$HITL_WITNESS"
pass=0 fail=0
check() {   # check WHAT CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
calls() { grep -c " $1 {\"ref\":\"$2\"" "$HITL_WITNESS"; }

# kill_after_call N CMD... — start CMD with each mocked call sleeping 30 s;
# once the witness file has N lines, kill -9 it
kill_after_call() {
  local n=$1
  shift
  HITL_ACTION_DELAY_US=30000000 "$@" >/dev/null 2>>"$tmp/err" &
  local pid=$! i
  for ((i = 0; i < 1000; i++)); do
    [ "$(wc -l <"$HITL_WITNESS")" -ge "$n" ] && break
    sleep 0.01
  done
  kill -9 "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
}

# item_of INSTANCE — the instance's open item: "ID KIND DIGEST"
item_of() {
  "$HITLVM" pending --json | jq -r --arg i "$1" \
    '[.[] | select(.instance == $i)][0] | "\(.id) \(.payload.kind // "checkpoint") \(.digest)"'
}

# ---- 1. killed after the call: in doubt, recorded by modify ----------------
out=$("$HITLVM" run tests/crash/transfer.hitl --input '{"ref": "A", "amount": 1}' \
      --mock tests/crash/transfer.mock.json --as agent --json)
inst=$(jq -r .instance <<<"$out")
read -r item kind digest <<<"$(item_of "$inst")"
lines=$(wc -l <"$HITL_WITNESS")
kill_after_call $((lines + 1)) "$HITLVM" resume "$item" approve --as bob
read -r item kind digest <<<"$(item_of "$inst")"       # recovers the instance
check "1: debit killed after it happened is in doubt (item $item: $kind)" [ "$kind" = in_doubt ]
check "1: recovery did not call debit again" [ "$(calls debit A)" = 1 ]
"$HITLVM" resume "$item" modify --set 'result={"id": "D-1", "ok": true}' --as bob --digest "$digest" \
  >/dev/null 2>>"$tmp/err"
read -r item kind digest <<<"$(item_of "$inst")"
check "1: modify recorded the result; the instance waits at its next checkpoint" [ "$kind" = checkpoint ]
check "1: still one debit" [ "$(calls debit A)" = 1 ]

# ---- 2. an approved retry killed after it happened: in doubt again ----------
out=$("$HITLVM" run tests/crash/transfer.hitl --input '{"ref": "B", "amount": 2}' \
      --mock tests/crash/transfer.mock.json --as agent --json)
inst=$(jq -r .instance <<<"$out")
read -r item kind digest <<<"$(item_of "$inst")"
lines=$(wc -l <"$HITL_WITNESS")
kill_after_call $((lines + 1)) "$HITLVM" resume "$item" approve --as bob
read -r item kind digest <<<"$(item_of "$inst")"
check "2: debit killed after it happened is in doubt (item $item: $kind)" [ "$kind" = in_doubt ]
# an operator without the witness file approves calling it again
lines=$(wc -l <"$HITL_WITNESS")
kill_after_call $((lines + 1)) "$HITLVM" resume "$item" approve --as bob --digest "$digest"
check "2: the approved retry happened (two debits)" [ "$(calls debit B)" = 2 ]
read -r item kind digest <<<"$(item_of "$inst")"       # recovers it again
check "2: recovery of the killed retry did not call debit a third time" [ "$(calls debit B)" = 2 ]
check "2: the killed retry is in doubt again (item $item: $kind)" [ "$kind" = in_doubt ]

if [ "$fail" -ne 0 ] && [ -s "$tmp/err" ]; then echo "stderr:"; tail -n 5 "$tmp/err"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
