#!/usr/bin/env bash
# tests/cli/reviews.sh — post-action review over the store (issue 6;
# LANGUAGE.md §7, TOOLS.md §2): review statements and review routes open
# review items while the instance runs on; `reviewing` until they close;
# pass and flag (the flag block runs at the reviewer's resume, in another
# process, seeing the variables as they were); undo on a flagged routed
# call; `expire` passes items past their window; pending lists both kinds;
# refusals change nothing; a flag block that fails fails the instance and
# cancels its approval items.
#
#   BINDIR=bin bash tests/cli/reviews.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store

cat >reply.hitl <<'EOF2'
playbook reply "an auto-reply reviewed after it went out"
input { customer: string }
action send_reply(to: string, text: string) -> bool
let reply = "Thanks, {customer}!"
let sent = []
review "Auto-reply to {customer}" within 4h by "support" {
  send_reply(customer, reply)
  append(sent, reply)
} flag (why) {
  log "flagged: {why}; sent was {sent}"
  send_reply(customer, "Please disregard our last message: {why}")
}
reply = "changed after the review"
append(sent, "later")
return len(sent)
EOF2
cat >wait.hitl <<'EOF2'
playbook wait "a review, then a checkpoint"
action send_reply(to: string, text: string) -> bool
action explode(x: string) -> bool
let who = "ann"
review "Sent to {who}" { send_reply(who, "hi") } flag (why) {
  send_reply(who, "sorry: {why}")
}
review "Risky" { send_reply(who, "risky") } flag { explode(who) }
checkpoint "Go on?" { }
return "went on"
EOF2
cat >routed.hitl <<'EOF2'
playbook routed "a call routed to review, with an undo"
action pay(to: string, amount: float) -> map { undo refund }
action refund(to: string, amount: float, paid: map) -> map
rules {
  when action == "pay" -> review within 2h by "finance"
  otherwise -> auto
}
return pay("bob", 12.5)
EOF2
echo '{"send_reply": true}' >reply.mock.json
echo '{"send_reply": true, "explode": {"error": "boom"}}' >wait.mock.json
echo '{"pay": {"paid": 12.5}, "refund": {"refunded": 12.5}}' >routed.mock.json
hv reviewers add sam --group support
hv reviewers add fay --group finance

# start FILE [INPUT]: run as agent; $INST, and the items by kind
start() {
  hv run "$1" --input "${2:-{\}}" --as agent --json --mock "${1%.hitl}.mock.json"
  INST=$(jq -r .instance out 2>/dev/null)
}
items() { "$HITLVM" pending --json | jq -c "[.[] | select(.instance == \"$INST\")]"; }
item_of() { items | jq -r ".[$1].id"; }
events() { "$HITLVM" log "$INST" --json | jq -c -s "$1"; }

# ---- a review statement; the body ends; pass ----------------------------------
start reply.hitl '{"customer": "Ada"}'
check "run: the body ends with a review open: exit 0" status_is 0
check "run: status reviewing" jq_is .status '"reviewing"'
check "run: the result is there" jq_is .result 2
check "run: the review item is pending" jq_is '[.pending[] | .kind]' '["review"]'
check "run: its title" jq_is '.pending[0].title' '"Auto-reply to Ada"'
check "run: its payload lists the call and its result" \
  jq_is '.pending[0].payload.calls' '[{"action":"send_reply","args":{"to":"Ada","text":"Thanks, Ada!"},"result":true}]'
check "run: by and a deadline" jq_is '[.pending[0].by, (.pending[0].deadline | type)]' '["support","string"]'
R1=$(jq -r '.pending[0].id' out)
D1=$(jq -r '.pending[0].digest' out)
hv show "$R1" --json
check "show: the digest is the canonical one" jq_is .digest "\"$D1\""
hv instances --status reviewing --json
check "instances --status reviewing lists it" jq_is "[.[] | .id] | index(\"$INST\") != null" true
hv pending --group support --json
check "pending --group support has the review" jq_is "[.[] | .id] | index($R1) != null" true

refused "approve is not a verdict for a review" "not a verdict for a review item" resume "$R1" approve --as sam
refused "a non-member of support may not decide" "group" resume "$R1" pass --as fay
refused "the starter may not review its own calls" "started" resume "$R1" pass --as agent
refused "a digest mismatch is refused" "digest mismatch" resume "$R1" pass --as sam --digest 00
refused "--set is not for reviews" "--set" resume "$R1" flag --set x=1 --as sam

hv resume "$R1" pass --as sam --digest "$D1" --json
check "pass: exit 0" status_is 0
check "pass: the instance is completed" jq_is .status '"completed"'
check "pass: nothing ran" [ "$(events '[.[] | select(.kind == "action")] | length')" = 1 ]
check "pass: a verdict event and a review_closed event" \
  [ "$(events '[.[] | select(.kind == "verdict" or .kind == "review_closed") | .kind]')" = '["verdict","review_closed"]' ]
refused "a second verdict is refused" "already" resume "$R1" flag --as sam

# ---- flag: the flag block runs at the resume, with the variables as they were ---
start reply.hitl '{"customer": "Bea"}'
R2=$(jq -r '.pending[0].id' out)
hv resume "$R2" flag --reason "wrong tone" --as sam --json
check "flag: exit 0" status_is 0
check "flag: the instance is completed" jq_is .status '"completed"'
check "flag: the flag block saw the variables as they were at the block's end" \
  [ "$(events '[.[] | select(.kind == "log") | .message]')" = '["flagged: wrong tone; sent was [\"Thanks, Bea!\"]"]' ]
check "flag: the correction was sent" \
  [ "$(events '[.[] | select(.kind == "action") | .args.text] | last')" = '"Please disregard our last message: wrong tone"' ]
check "flag: the verdict event carries the reason" \
  [ "$(events '[.[] | select(.kind == "verdict") | .reason]')" = '["wrong tone"]' ]

# ---- flag while the body waits at a checkpoint --------------------------------
start wait.hitl
check "wait: suspended at the checkpoint" jq_is .status '"suspended"'
check "wait: two reviews and one approval pending" \
  jq_is '[.pending[] | .kind] | sort' '["approval","review","review"]'
RA=$(items | jq -r '[.[] | select(.kind == "review")][0].id')
RB=$(items | jq -r '[.[] | select(.kind == "review")][1].id')
AP=$(items | jq -r '[.[] | select(.kind == "approval")][0].id')
hv resume "$RA" flag --reason "too curt" --as sam --json
check "flag while suspended: exit 3 (still waiting)" status_is 3
check "flag while suspended: status suspended" jq_is .status '"suspended"'
check "flag while suspended: the correction ran" \
  [ "$(events '[.[] | select(.kind == "action") | .args.text] | last')" = '"sorry: too curt"' ]
hv resume "$AP" approve --as sam --json
check "the body goes on: reviewing (one review left)" jq_is .status '"reviewing"'
check "the body goes on: its result" jq_is .result '"went on"'
hv resume "$RB" flag --reason "bad" --as sam --json
check "a flag block that fails: exit 1" status_is 1
check "a flag block that fails: the instance failed" jq_is .status '"failed"'
check "a flag block that fails: an alert names it" \
  [ "$(events '[.[] | select(.kind == "alert") | .message | test("flag block of review item")] | any')" = true ]

start wait.hitl
RB=$(items | jq -r '[.[] | select(.kind == "review")][1].id')
AP=$(items | jq -r '[.[] | select(.kind == "approval")][0].id')
hv resume "$RB" flag --as sam --json
check "a failing flag block while suspended fails the instance" jq_is .status '"failed"'
hv show "$AP" --json
check "... and cancels its approval item" jq_is .status '"cancelled"'
hv pending --json
check "... which is no longer pending" jq_is "[.[] | .id] | index($AP)" null
check "... while its other review stays open" jq_is "[.[] | select(.instance == \"$INST\") | .kind]" '["review"]'

# ---- a routed review: flag calls the undo and logs an alert --------------------
start routed.hitl
check "routed: the call ran: reviewing" jq_is .status '"reviewing"'
check "routed: its result" jq_is .result '{"paid":12.5}'
check "routed: the item's title is the call" jq_is '.pending[0].title' '"pay(\"bob\", 12.5)"'
check "routed: by finance" jq_is '.pending[0].by' '"finance"'
RR=$(jq -r '.pending[0].id' out)
hv resume "$RR" flag --reason "wrong account" --as fay --json
check "routed flag: completed" jq_is .status '"completed"'
check "routed flag: the undo ran with the arguments and then the result" \
  [ "$(events '[.[] | select(.kind == "action" and .name == "refund") | .args]')" = '[{"to":"bob","amount":12.5,"paid":{"paid":12.5}}]' ]
check "routed flag: the undo was not routed" \
  [ "$(events '[.[] | select(.kind == "action" and .name == "refund") | .route]')" = '["undo"]' ]
check "routed flag: an alert" [ "$(events '[.[] | select(.kind == "alert")] | length')" = 1 ]

# ---- expire passes a review past its window -----------------------------------
start routed.hitl
RR=$(jq -r '.pending[0].id' out)
hv expire --now "$(( $(date +%s) + 3600 ))" --json
check "expire before the window ends: nothing" jq_is 'length' 0
hv expire --now "$(( $(date +%s) + 3 * 3600 ))" --json
check "expire after the window: the review passes" jq_is ".[] | select(.item == $RR) | .verdict" '"pass"'
hv show "$RR" --json
check "expire: the item is expired" jq_is .status '"expired"'
hv instances --json
check "expire: the instance is completed" jq_is ".[] | select(.id == \"$INST\") | .status" '"completed"'

# ---- a review's window starts when it opens, not when the run stops ----------
cat >slow.hitl <<'EOF2'
playbook slow "a review, then a slow call before the run stops"
action send_reply(to: string, text: string) -> bool
review "Sent" within 2h { send_reply("a", "b") }
send_reply("c", "d")
return 1
EOF2
cp reply.mock.json slow.mock.json
HITL_ACTION_DELAY_US=1100000 "$HITLVM" run slow.hitl --as agent --json --mock slow.mock.json >out 2>err
check "the window is exactly 2h from its opening, though the run stopped later" \
  jq_is '.pending[0] | ((.deadline | fromdateiso8601) - (.created | fromdateiso8601))' 7200

# ---- a signed group signs its reviews too ------------------------------------
PUB=$("$HITLVM" keygen ros 2>/dev/null)
hv reviewers add ros --group audit --key "$PUB"
hv reviewers group audit --signed
cat >signed.hitl <<'EOF2'
playbook signed "a review by a signed group"
action send_reply(to: string, text: string) -> bool
review "Sent" by "audit" { send_reply("a", "b") }
return 1
EOF2
cp reply.mock.json signed.mock.json
start signed.hitl
RS=$(jq -r '.pending[0].id' out)
refused "a signed group's review needs a signature" "signed" resume "$RS" pass --as ros
hv resume "$RS" pass --as ros --sign ros.key --json
check "a signed pass: completed" jq_is .status '"completed"'
hv audit verify
check "audit verify re-verifies the review's signature" eval 'status_is 0 && out_has "signatures valid"'

# ---- an approve route's call in the log: the rule that held it, a rejection ---
cat >held.hitl <<'EOF2'
playbook held "an approve route: the call's action event names its rule; a rejection is logged and carries the reason"
input { amount: float }
action wire(amount: float) -> bool { irreversible }
rules {
  when amount > 100.0 -> approve by "finance"
}
try {
  return wire(amount)
} catch e {
  return {kind: e.kind, reason: e.reason}
}
EOF2
echo '{"wire": true}' >held.mock.json
start held.hitl '{"amount": 500.0}'
HA=$(jq -r '.pending[0].id' out)
hv resume "$HA" approve --as fay --json
check "approved route: the call ran" jq_is .result true
check "approved route: its action event names the rule's line" \
  [ "$(events '[.[] | select(.kind == "action") | [.route, .rule]]')" = '[["approve",5]]' ]
start held.hitl '{"amount": 700.0}'
HA=$(jq -r '.pending[0].id' out)
hv resume "$HA" reject --reason "over budget" --as fay --json
check "rejected route: the error carries the reason" jq_is .result '{"kind":"rejected","reason":"over budget"}'
check "rejected route: an action event with the error, after the resume" \
  [ "$(events '[.[] | select(.kind == "action" or .kind == "resumed") | [.kind, .route, (.error // null | type)]]')" = '[["resumed",null,"null"],["action","approve","string"]]' ]

finish
