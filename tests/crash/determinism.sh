#!/usr/bin/env bash
# tests/crash/determinism.sh — the same input, mocks and verdicts give the
# same event log (LANGUAGE.md §8), apart from times.
#
#   BINDIR=bin bash tests/crash/determinism.sh     (make test-crash)
#
# Each playbook (none calls now()) runs twice, in two fresh stores, to its
# end: every checkpoint gets the same verdict from the same reviewer.  The
# logs are compared event by event as `hitlvm log --json` prints them, with
# `at` removed at every level (the log's and the verdict map's time), and the
# item digests removed too: a digest covers the instance id, which is random
# by design (TOOLS.md §2), so it differs whenever the id does.
set -u
# shellcheck source=tests/crash/lib.bash
. "$(dirname "$0")/lib.bash"

NORM='walk(if type == "object" then del(.at, .digest, .instance) else . end)'

# play STORE PLAYBOOK INPUT MOCK VERDICT... — run, then give each verdict in
# turn to the open item ("approve", "reject", or "modify NAME=JSON");
# prints the instance id
play() {
  local store=$1 pb=$2 input=$3 mock=$4 out rc v
  shift 4
  out=$("$HITLVM" run "$pb" --input "$input" --mock "$mock" --as agent --json --store "$store" 2>>"$tmp/err")
  for v in "$@"; do
    local item kind set
    item=$(jq -r '.pending[0].id // empty' <<<"$out")
    [ -n "$item" ] || { echo "no open item for verdict '$v'" >>"$tmp/err"; return 1; }
    kind=${v%% *}; set=()
    [ "$kind" = modify ] && set=(--set "${v#modify }")
    [ "$kind" = reject ] && set=(--reason "not this one")
    out=$("$HITLVM" resume "$item" "$kind" "${set[@]}" --as bob --json --store "$store" 2>>"$tmp/err")
  done
  jq -r .instance <<<"$out"
}

# same NAME PLAYBOOK INPUT MOCK VERDICT...
same() {
  local name=$1 a b
  shift
  rm -f "$tmp"/a.db* "$tmp"/b.db*
  a=$(play "$tmp/a.db" "$@") && b=$(play "$tmp/b.db" "$@")
  if [ -z "$a" ] || [ -z "$b" ]; then
    not_ok "$name: could not play it through"; cat "$tmp/err"; return
  fi
  "$HITLVM" log "$a" --json --store "$tmp/a.db" | jq -c "$NORM" >"$tmp/a.log"
  "$HITLVM" log "$b" --json --store "$tmp/b.db" | jq -c "$NORM" >"$tmp/b.log"
  local n
  n=$(wc -l <"$tmp/a.log")
  if [ "$n" -lt 3 ]; then
    not_ok "$name: only $n events logged"
  elif diff -u "$tmp/a.log" "$tmp/b.log" >"$tmp/diff"; then
    ok "$name: $n events, the same twice"
  else
    not_ok "$name: the logs differ"; head -n 30 "$tmp/diff"
  fi
}

same "transfer, approved twice" tests/crash/transfer.hitl '{"ref": "D-1", "amount": 40}' \
  tests/crash/transfer.mock.json approve approve
same "transfer, rejected at the second checkpoint" tests/crash/transfer.hitl '{"ref": "D-2", "amount": 41}' \
  tests/crash/transfer.mock.json approve reject
same "refund demo, amount modified" playbooks/refund-demo.hitl @playbooks/refund-demo.input.json \
  playbooks/refund-demo.mock.json 'modify amount=99.5'
finish
