#!/usr/bin/env bash
# tests/cli/reviewers.sh — the reviewer registry, groups, quorum votes and
# separation of duties (issue 8; TOOLS.md §2, LANGUAGE.md §7,
# docs/hitlvm.md): reviewers add/list/remove, `by` enforced, pending --group
# and --as, quorum N with concurrent voters.
#
#   BINDIR=bin bash tests/cli/reviewers.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store

# ---- playbooks ---------------------------------------------------------------
cat >pay.hitl <<'EOF2'
playbook pay "a payment finance decides"
input { amount: float }
checkpoint "Pay {amount}?" {
  show amount
  edit amount
  by "finance"
}
return amount
EOF2
cat >board.hitl <<'EOF2'
playbook board "a quorum of the board"
input { amount: float }
let v = checkpoint "Spend {amount}?" {
  show amount
  by "board" quorum 3
}
return v
EOF2
cat >pair.hitl <<'EOF2'
playbook pair "two of anyone"
checkpoint "Ship?" {
  quorum 2
} approve {
  return "shipped"
} reject (why) {
  return "not shipped: {why}"
}
return "?"
EOF2
cat >route.hitl <<'EOF2'
playbook route "an approve route by a group"
action wire(amount: float) -> bool { irreversible }
rules {
  when irreversible -> approve by "treasury"
}
return wire(5.0)
EOF2
echo '{"wire": true}' > route.mock.json

# start FILE [INPUT]: run as agent; $INST, $ITEM
start() {
  hv run "$1" --input "${2:-{\}}" --as agent --json ${3:+--mock "$3"}
  INST=$(jq -r .instance out 2>/dev/null)
  ITEM=$(jq -r '.pending[0].id // empty' out 2>/dev/null)
}

# ---- the registry --------------------------------------------------------------
hv reviewers list --json
check "reviewers list: empty" jq_is . '[]'
hv reviewers add bob --group finance
check "reviewers add: exit 0" status_is 0
hv reviewers add carol --group finance --group board
hv reviewers add dave --group board
hv reviewers add erin --group board --group treasury
hv reviewers add bob --group audit --json
check "a second add extends" jq_is . '{"name":"bob","groups":["audit","finance"],"key":null}'
KEY=00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff
hv reviewers add frank --group board --key "$KEY"
hv reviewers list --json
check "reviewers list --json: [{name, groups, key}]" jq_is '.' \
  '[{"name":"bob","groups":["audit","finance"],"key":null},{"name":"carol","groups":["board","finance"],"key":null},{"name":"dave","groups":["board"],"key":null},{"name":"erin","groups":["board","treasury"],"key":null},{"name":"frank","groups":["board"],"key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]'
hv reviewers list
check "reviewers list, human" eval 'status_is 0 && out_has "carol" && out_has "finance"'
refused "add without --group" "needs --group" reviewers add gina
refused "add with a malformed key" "64 hex" reviewers add gina --group x --key abc
refused "add 'timeout'" "not a reviewer name" reviewers add timeout --group x
refused "remove an unknown reviewer" "no reviewer" reviewers remove nobody
refused "remove a membership one lacks" "not a member" reviewers remove dave --group finance
refused "an unknown subcommand" "add, list, remove or group" reviewers promote bob
hv reviewers add gina --group audit
hv reviewers remove gina
check "remove: exit 0" status_is 0
hv reviewers remove bob --group audit
hv reviewers list --json
check "remove NAME and remove NAME --group" jq_is '[.[] | select(.name == "bob" or .name == "gina") | .groups]' '[["finance"]]'

# ---- by "finance" on a checkpoint ------------------------------------------------
start pay.hitl '{"amount": 12.5}'
check "pay: suspended" status_is 3
PAY=$ITEM; PAYINST=$INST
hv pending --group finance --json
check "pending --group finance lists it" jq_is '[.[].id]' "[$PAY]"
hv pending --group board --json
check "pending --group board does not" jq_is '.' '[]'
hv pending --as bob --json
check "pending --as a member lists it" jq_is '[.[].id]' "[$PAY]"
hv pending --as dave --json
check "pending --as a non-member does not" jq_is '.' '[]'
hv pending --as agent --json
check "pending --as the starter does not" jq_is '.' '[]'
refused "a non-member's verdict" "not a member of group finance" resume "$PAY" approve --as dave
refused "an unregistered person's verdict" "not a member of group finance" resume "$PAY" approve --as mallory
refused "the starter's verdict" "may not decide" resume "$PAY" approve --as agent
hv reviewers add agent --group finance
refused "the starter's verdict, even as a member" "may not decide" resume "$PAY" approve --as agent
hv resume "$PAY" modify --set amount=10.0 --as bob --json
check "a member decides (quorum 1: modify allowed)" eval 'status_is 0 && jq_is ".result == 10" true'
refused "a second verdict" "already decided" resume "$PAY" approve --as carol

# ---- by "treasury" on an approve route ---------------------------------------------
start route.hitl '{}' route.mock.json
check "route: suspended" status_is 3
refused "route: a non-member" "not a member of group treasury" resume "$ITEM" approve --as bob
hv resume "$ITEM" approve --as erin --json
check "route: a member approves, the call runs" eval 'status_is 0 && jq_is .result true'

# ---- quorum 3 by "board" ---------------------------------------------------------------
start board.hitl '{"amount": 900.0}'
BOARD=$ITEM
refused "quorum: modify refused" "only approve or reject" resume "$BOARD" modify --set amount=1.0 --as carol
refused "quorum: a non-member" "not a member of group board" resume "$BOARD" approve --as bob
hv resume "$BOARD" approve --as carol --json
check "vote 1 of 3: exit 3, still suspended" eval 'status_is 3 && jq_is .status "\"suspended\"" && jq_is "[.pending[].id]" "[$BOARD]"'
refused "quorum: a second vote of the same reviewer" "already voted" resume "$BOARD" approve --as carol
refused "quorum: a change of mind is a second vote" "already voted" resume "$BOARD" reject --as carol
hv show "$BOARD" --json
check "show: the partial approvals" jq_is '[.approvals, [.votes[].reviewer], .status]' '[1,["carol"],"open"]'
hv show "$BOARD"
check "show, human: 1 of 3 approvals" out_has "votes: 1 of 3 approvals (carol approve)"
hv pending --as carol --json
check "pending --as hides what NAME voted on" jq_is '.' '[]'
hv pending --as dave --json
check "pending --as shows it to the others" jq_is '[.[].id]' "[$BOARD]"
hv resume "$BOARD" approve --as dave
check "vote 2 of 3: exit 3, human message" eval 'status_is 3 && out_has "2 of 3 approvals"'
hv instances --json
check "the instance stays suspended until the quorum" jq_is "[.[] | select(.id == \"$INST\") | .status]" '["suspended"]'
hv resume "$BOARD" approve --as erin --json
check "vote 3 of 3 decides: completed" eval 'status_is 0 && jq_is .result.kind "\"approve\""'
check "the verdict names all three approvers" jq_is '.result.reviewers' '["carol","dave","erin"]'
refused "quorum: a vote after the decision" "already decided" resume "$BOARD" approve --as frank
hv log "$INST" --json
votes=$(jq -sc '[.[] | select(.kind == "verdict") | [.reviewer, .approvals, .quorum]]' out)
check "every vote logs a verdict event" [ "$votes" = '[["carol",1,3],["dave",2,3],["erin",3,3]]' ]

# one rejection decides
start board.hitl '{"amount": 5.0}'
hv resume "$ITEM" approve --as carol
hv resume "$ITEM" reject --reason "no budget" --as dave --json
check "one rejection decides" eval 'status_is 0 && jq_is "[.result.kind, .result.reviewers, .result.reason]" "[\"reject\",[\"dave\"],\"no budget\"]"'

# quorum without a group: anyone but the starter
start pair.hitl
hv resume "$ITEM" approve --as x1
check "pair: first approval, exit 3" status_is 3
refused "pair: the starter" "may not decide" resume "$ITEM" approve --as agent
hv resume "$ITEM" approve --as x2 --json
check "pair: second approval runs the approve block" eval 'status_is 0 && jq_is .result "\"shipped\""'

# ---- concurrent voters ----------------------------------------------------------------
# quorum 3, six members voting at once: exactly three votes are stored, two of
# them exit 3, one decides (exit 0), the other three are told it is decided
for v in v1 v2 v3 v4 v5 v6; do "$HITLVM" reviewers add $v --group board >/dev/null; done
start board.hitl '{"amount": 77.0}'
RACE=$ITEM; RACEINST=$INST
for v in v1 v2 v3 v4 v5 v6; do
  ( "$HITLVM" resume "$RACE" approve --as $v --json >out.$v 2>err.$v; echo $? >rc.$v ) &
done
wait
codes=$(cat rc.v1 rc.v2 rc.v3 rc.v4 rc.v5 rc.v6 | sort | tr -d '\n')
check "concurrent voters: two votes, one decision, three refused ($codes)" [ "$codes" = "022233" ]
check "concurrent voters: three verdict rows" [ "$(sqlite3 "$DB" "select count(*) from verdicts where item = $RACE")" = 3 ]
check "concurrent voters: three verdict events" \
  [ "$(sqlite3 "$DB" "select count(*) from events where instance = '$RACEINST' and kind = 'verdict'")" = 3 ]
check "concurrent voters: completed once" \
  [ "$(sqlite3 "$DB" "select status || count(*) from instances i join events e on e.instance = i.id and e.kind = 'completed' where i.id = '$RACEINST'")" = completed1 ]
check "concurrent voters: the refused were told why" eval 'cat err.v* | grep -c "already decided\|not waiting for a verdict" | grep -qx 3'

# the same reviewer voting twice at once: one vote counts
start board.hitl '{"amount": 78.0}'
for i in 1 2 3 4; do
  ( "$HITLVM" resume "$ITEM" approve --as v1 >/dev/null 2>&1; echo $? >rc.same$i ) &
done
wait
codes=$(cat rc.same1 rc.same2 rc.same3 rc.same4 | sort | tr -d '\n')
check "one reviewer voting four times at once: one vote ($codes)" \
  eval '[ "$codes" = "2223" ] && [ "$(sqlite3 "$DB" "select count(*) from verdicts where item = $ITEM")" = 1 ]'

# ---- the tamper-evident log: audit verify ----------------------------------------------
hv audit verify
check "audit verify: every chain holds (exit 0)" eval 'status_is 0 && out_has "verified"'
hv audit verify "$RACEINST" --json
check "audit verify INSTANCE --json" jq_is '[.ok, .instances, .first_bad]' '[true,1,null]'
expect_bad() {   # NAME WANT-IN-STDERR: audit verify exits 2 naming the bad link
  hv audit verify
  if [ "$rc" -eq 2 ] && err_has "$2"; then ok "$1"; else not_ok "$1 (status $rc)"; fi
}
# each tampering on a copy of the store
tamper() {   # NAME WANT SQL
  cp "$DB" clean.db
  sqlite3 "$DB" "$3"
  expect_bad "$1" "$2"
  cp clean.db "$DB"; rm -f "$DB-wal" "$DB-shm"
}
I=$RACEINST
tamper "altered event fields are detected" "instance $I: event 1 (started) does not match" \
  "UPDATE events SET fields = replace(fields, '77.0', '7.0') WHERE instance = '$I' AND seq = 1"
tamper "an altered time is detected" "event 3" \
  "UPDATE events SET at = at + 1 WHERE instance = '$I' AND seq = 3"
tamper "a deleted middle event is detected" "event 2 is missing" \
  "DELETE FROM events WHERE instance = '$I' AND seq = 2"
tamper "a deleted last event is detected" "events deleted at the end" \
  "DELETE FROM events WHERE instance = '$I' AND seq = (SELECT max(seq) FROM events WHERE instance = '$I')"
tamper "reordered events are detected" "event 3" \
  "UPDATE events SET seq = -1 WHERE instance = '$I' AND seq = 3; UPDATE events SET seq = 3 WHERE instance = '$I' AND seq = 4; UPDATE events SET seq = 4 WHERE instance = '$I' AND seq = -1"
tamper "an altered event with a recomputed-looking hash (copied from another row) is detected" "does not match" \
  "UPDATE events SET fields = (SELECT fields FROM events WHERE instance = '$I' AND seq = 4), hash = (SELECT hash FROM events WHERE instance = '$I' AND seq = 4) WHERE instance = '$I' AND seq = 3"
tamper "an altered verdict row is detected" "verdict" \
  "UPDATE verdicts SET reviewer = 'mallory' WHERE id = (SELECT min(id) FROM verdicts WHERE item = $RACE)"
tamper "a deleted verdict row is detected" "was deleted" \
  "DELETE FROM verdicts WHERE id = (SELECT min(id) FROM verdicts WHERE item = $RACE)"
tamper "a verdict inserted behind the store's back is detected" "not in the decisions chain" \
  "INSERT INTO verdicts(item, instance, verdict, reviewer, at) VALUES ($RACE, '$I', 'approve', 'ghost', 1)"
tamper "reordered decisions are detected" "does not match" \
  "UPDATE decisions SET verdict = -verdict WHERE seq IN (1, 2); UPDATE decisions SET verdict = (SELECT -verdict FROM decisions WHERE seq = 2) WHERE seq = 1 AND verdict < 0; UPDATE decisions SET verdict = (SELECT min(id) FROM verdicts) WHERE verdict < 0"
tamper "a deleted head is detected" "no head record" \
  "DELETE FROM heads WHERE instance = '$I'"
hv audit verify
check "after the tampering tests the store verifies again" status_is 0
hv audit verify 0000000000000000
check "audit verify of an unknown instance: exit 2" eval 'status_is 2 && err_has "unknown instance"'
hv audit check
check "audit without verify: exit 2" status_is 2

finish
