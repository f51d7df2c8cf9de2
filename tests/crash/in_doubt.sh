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
# shellcheck source=tests/crash/lib.bash
. "$(dirname "$0")/lib.bash"
use_witness
calls() { grep -c " $1 {\"ref\":\"$2\"" "$HITL_WITNESS"; }

# item_of INSTANCE — the instance's open item: "ID KIND DIGEST"
item_of() {
  "$HITLVM" pending --json | jq -r --arg i "$1" \
    '[.[] | select(.instance == $i)][0] | "\(.id) \(.payload.kind // "checkpoint") \(.digest)"'
}

# killed_debit REF AMOUNT — run transfer.hitl to its first checkpoint, approve
# it and kill the resume after its debit happened; then the instance's open
# item ($inst: $item $kind $digest), which recovers the instance
killed_debit() {
  local out
  out=$("$HITLVM" run tests/crash/transfer.hitl --input "{\"ref\": \"$1\", \"amount\": $2}" \
        --mock tests/crash/transfer.mock.json --as agent --json)
  inst=$(jq -r .instance <<<"$out")
  read -r item kind digest <<<"$(item_of "$inst")"
  kill_after_call "$HITLVM" resume "$item" approve --as bob
  read -r item kind digest <<<"$(item_of "$inst")"
}

# ---- 1. killed after the call: in doubt, recorded by modify ----------------
killed_debit A 1
check "1: debit killed after it happened is in doubt (item $item: $kind)" [ "$kind" = in_doubt ]
check "1: recovery did not call debit again" [ "$(calls debit A)" = 1 ]
"$HITLVM" resume "$item" modify --set 'result={"id": "D-1", "ok": true}' --as bob --digest "$digest" \
  >/dev/null 2>>"$tmp/err"
read -r item kind digest <<<"$(item_of "$inst")"
check "1: modify recorded the result; the instance waits at its next checkpoint" [ "$kind" = checkpoint ]
check "1: still one debit" [ "$(calls debit A)" = 1 ]

# ---- 2. an approved retry killed after it happened: in doubt again ----------
killed_debit B 2
check "2: debit killed after it happened is in doubt (item $item: $kind)" [ "$kind" = in_doubt ]
# an operator without the witness file approves calling it again
kill_after_call "$HITLVM" resume "$item" approve --as bob --digest "$digest"
check "2: the approved retry happened (two debits)" [ "$(calls debit B)" = 2 ]
read -r item kind digest <<<"$(item_of "$inst")"       # recovers it again
check "2: recovery of the killed retry did not call debit a third time" [ "$(calls debit B)" = 2 ]
check "2: the killed retry is in doubt again (item $item: $kind)" [ "$kind" = in_doubt ]

if [ "$fail" -ne 0 ] && [ -s "$tmp/err" ]; then echo "stderr:"; tail -n 5 "$tmp/err"; fi
finish
