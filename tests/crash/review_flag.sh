#!/usr/bin/env bash
# tests/crash/review_flag.sh — a reviewer's flag killed in the middle of its
# flag block (TOOLS.md §3; LANGUAGE.md §7): each kill lands while a mocked
# call of the flag block sleeps just after writing its witness line, that is
# after the call happened and before its outcome is journaled.  Recovery
# (the next hitlvm that looks) applies the flag again from the instance's
# last snapshot: the flag's verdict is recorded once, the review item stays
# decided, and no irreversible call is made twice.
#
#   BINDIR=bin bash tests/crash/review_flag.sh   (make test-crash runs it)
set -u
# shellcheck source=tests/crash/lib.bash
. "$(dirname "$0")/lib.bash"
use_witness
witnessed() { grep -c " $1 " "$HITL_WITNESS"; }
events() { "$HITLVM" log "$1" --json | jq -s -c "$2"; }

cat >"$tmp/reply.hitl" <<'EOF2'
playbook reply "a reply reviewed after it went out; its correction is reversible, the refund is not"
action send(to: string, text: string) -> bool
action refund(to: string, amount: float) -> bool { irreversible }
review "Reply to ann" {
  send("ann", "hello")
} flag (why) {
  send("ann", "sorry: {why}")
}
review "Refund note" {
  send("bob", "refunded")
} flag (why) {
  refund("bob", 5.0)
}
checkpoint "Close the case?" { }
return "closed"
EOF2
echo '{"send": true, "refund": true}' >"$tmp/reply.mock.json"

out=$("$HITLVM" run "$tmp/reply.hitl" --mock "$tmp/reply.mock.json" --as agent --json)
inst=$(jq -r .instance <<<"$out")
r1=$(jq -r '[.pending[] | select(.kind == "review")][0].id' <<<"$out")
r2=$(jq -r '[.pending[] | select(.kind == "review")][1].id' <<<"$out")
ap=$(jq -r '[.pending[] | select(.kind == "approval")][0].id' <<<"$out")
check "the run stops at its checkpoint with two reviews open" [ "$(jq -r .status <<<"$out")" = suspended ]

# ---- 1. a reversible correction killed after it was sent ---------------------
stored_status() { sqlite3 "$HITL_STORE" "select status from instances where id = '$1'"; }
kill_after_call "$HITLVM" resume "$r1" flag --reason "too curt" --as sam
check "killed mid-flag: the instance was left running" [ "$(stored_status "$inst")" = running ]
"$HITLVM" pending --json >"$tmp/pending" 2>>"$tmp/err"   # recovers it
check "recovered: the instance is suspended at its checkpoint again" \
  [ "$("$HITLVM" instances --json | jq -r ".[] | select(.id == \"$inst\") | .status")" = suspended ]
check "recovered: the flagged review is decided, once" \
  [ "$(events "$inst" "[.[] | select(.kind == \"verdict\" and .item == $r1)] | length")" = 1 ]
check "recovered: the review is no longer pending" [ "$(jq "[.[] | select(.id == $r1)] | length" "$tmp/pending")" = 0 ]
check "recovered: the correction's action event is logged" \
  [ "$(events "$inst" '[.[] | select(.kind == "action" and .args.text == "sorry: too curt")] | length')" = 1 ]

# ---- 2. an irreversible call of a flag block killed after it happened --------
kill_after_call "$HITLVM" resume "$r2" flag --reason "wrong customer" --as sam
check "killed mid-refund: the instance was left running" [ "$(stored_status "$inst")" = running ]
"$HITLVM" pending --json >"$tmp/pending" 2>>"$tmp/err"
check "the refund was made once, never again by recovery" [ "$(witnessed refund)" = 1 ]
status=$("$HITLVM" instances --json | jq -r ".[] | select(.id == \"$inst\") | .status")
check "a flag block whose call is in doubt fails the instance (a person must look)" [ "$status" = failed ]
check "... with an alert naming the flag block" \
  [ "$(events "$inst" '[.[] | select(.kind == "alert") | .message | test("flag block of review item .* in doubt")] | any')" = true ]
check "... and its approval item is cancelled" \
  [ "$("$HITLVM" show "$ap" --json | jq -r .status)" = cancelled ]

finish
