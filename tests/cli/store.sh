#!/usr/bin/env bash
# tests/cli/store.sh — hitlvm over the store, as reviewers use it (TOOLS.md
# §2–3, docs/hitlvm.md): run until a checkpoint, pending, show, resume with
# each verdict from another process, every refusal leaving the store as it
# was (sqlite3 .dump before and after), instances, log, expire, mocks kept
# with the instance, the store's location, and an action in doubt after a
# kill -9.
#
#   BINDIR=bin bash tests/cli/store.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store --option
need sha256sum

# ---- playbooks ---------------------------------------------------------------
cat >desk.hitl <<'EOF'
playbook desk "a refund the desk decides"
input {
  amount: float
  customer: string
}
action quote(n: int) -> int
let a = quote(1)
checkpoint "Refund {amount} to {customer}?" {
  show amount, customer
  edit amount
}
let b = quote(2)
return {amount: amount, a: a, b: b}
EOF
cat >desk.mock.json <<'EOF'
{"quote": {"results": [10, 20, 30]}}
EOF
cat >gated.hitl <<'EOF'
playbook gated "a checkpoint with a reject block and a timeout"
let outcome = "start"
checkpoint "Go?" {
  timeout 1h -> reject "no answer"
} approve {
  outcome = "approved"
} reject (why) {
  outcome = "rejected: {why}"
}
return outcome
EOF
INPUT='{"amount": 120.5, "customer": "Ada"}'

# start NAME: run desk.hitl as alice; sets $INST, $ITEM, $DIGEST
start() {
  hv run desk.hitl --input "$INPUT" --mock desk.mock.json --as alice --json
  INST=$(jq -r .instance out 2>/dev/null)
  ITEM=$(jq -r '.pending[0].id' out 2>/dev/null)
  DIGEST=$(jq -r '.pending[0].digest' out 2>/dev/null)
}

# ---- run until the checkpoint ---------------------------------------------------
start
check "run: suspended, exit 3" eval 'status_is 3 && jq_is .status "\"suspended\""'
check "run: one pending item with a digest" \
  jq_true '(.pending | length) == 1 and (.pending[0].digest | test("^[0-9a-f]{64}$")) and .pending[0].instance == .instance'
check "run: the item's fields" \
  jq_is '.pending[0] | [.kind, .title, .by, .quorum, .editable, .deadline, (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))]' \
  '["approval","Refund 120.5 to Ada?",null,1,["amount"],null,true]'
check "run: instance id is 16 hex" eval '[[ $INST =~ ^[0-9a-f]{16}$ ]]'

hv pending --json
check "pending lists the item" jq_is '[.[].id]' "[$ITEM]"
hv pending --json --as alice
check "pending --as the starter hides it" jq_is '.' '[]'
hv pending --json --as bob
check "pending --as someone else shows it" jq_is '[.[].id]' "[$ITEM]"
hv pending --json --group finance
check "pending --group: only items by that group" jq_is '.' '[]'
hv pending
check "pending, human" eval 'status_is 0 && out_has "Refund 120.5 to Ada?"'

hv show "$ITEM" --json
check "show --json: one ITEM" jq_is '[.id, .instance, .digest]' "[$ITEM,\"$INST\",\"$DIGEST\"]"
canon=$(jq -jcS '{instance: .instance, item: .id, payload: .payload}' out)
check "show: the digest is the SHA-256 of the canonical JSON" \
  eval '[ "$(printf %s "$canon" | sha256sum | cut -c1-64)" = "$DIGEST" ]'
hv show "$ITEM"
check "show, human" eval 'status_is 0 && out_has "amount: 120.5" && out_has "editable: amount" && out_has "$DIGEST"'

# ---- refusals: exit 2, the store as it was ---------------------------------------------
refused "refused: wrong digest" "" resume "$ITEM" approve --as bob --digest 0000000000000000000000000000000000000000000000000000000000000000
check "  says digest mismatch" err_has "digest mismatch"
refused "refused: the starter deciding" "" resume "$ITEM" approve --as alice
check "  says who started it" err_has "alice started instance"
refused "refused: unknown item" "" resume 999999 approve --as bob
check "  says unknown item" err_has "unknown item 999999"
refused "refused: item not a number" "" resume abc approve --as bob
refused "refused: modify without --set" "" resume "$ITEM" modify --as bob
refused "refused: --set without modify" "" resume "$ITEM" approve --as bob --set amount=1.0
refused "refused: a verdict not allowed" "" resume "$ITEM" maybe --as bob
refused "refused: a non-editable name" "" resume "$ITEM" modify --as bob --set 'customer="Bob"'
refused "refused: a badly typed edit" "" resume "$ITEM" modify --as bob --set 'amount="lots"'
refused "refused: malformed --set JSON" "" resume "$ITEM" modify --as bob --set 'amount=12..'
refused "refused: show of an unknown item" "" show 424242
refused "refused: log of an unknown instance" "" log 0123456789abcdef
refused "refused: a bad --status" "" instances --status sleeping
refused "refused: a bad --now" "" expire --now yesterday
refused "refused: run with malformed input" "" run desk.hitl --input '{"amount":' --as alice
refused "refused: run with input of the wrong type" "" run desk.hitl --input '{"amount": "x", "customer": "Ada"}'
hv show "$ITEM" --json
check "after the refusals the item is still open and pending" eval 'hv pending --json; jq_is "[.[].id]" "[$ITEM]"'

# ---- modify, from another process; the mocks kept with the instance -------------------
hv resume "$ITEM" modify --set amount=99.5 --reason "partial refund" --digest "$DIGEST" --as bob --json
check "resume modify: completed, exit 0" eval 'status_is 0 && jq_is .status "\"completed\""'
check "resume modify: the edit applied, the mock's later results used" jq_is .result '{"amount":99.5,"a":10,"b":20}'
refused "refused: a second verdict" "" resume "$ITEM" approve --as carol
check "  says already decided" err_has "already decided"
hv show "$ITEM" --json
check "the decided item is still shown" jq_is .id "$ITEM"

# ---- approve ------------------------------------------------------------------------------------
start
hv resume "$ITEM" approve --as bob
check "resume approve: exit 0, the result printed" eval 'status_is 0 && jq_is . "{\"amount\":120.5,\"a\":10,\"b\":20}"'

# ---- reject without a reject block: the run fails with kind rejected ----------------------------
start
hv resume "$ITEM" reject --reason "not this one" --as bob --json
check "resume reject (no reject block): exit 1, error rejected" \
  eval 'status_is 1 && jq_is "[.status, .error.kind]" "[\"failed\",\"rejected\"]"'
check "  carrying the reason" jq_true '.error.message | contains("not this one")'
REJECTED=$INST

# ---- reject with a reject block ------------------------------------------------------------------
hv run gated.hitl --as alice --json
GITEM=$(jq -r '.pending[0].id' out)
check "gated: suspended with a deadline" jq_true '.pending[0].deadline | test("Z$")'
hv resume "$GITEM" reject --reason "too risky" --as bob --json
check "resume reject (reject block): completed" jq_is .result '"rejected: too risky"'

# ---- instances ----------------------------------------------------------------------------------
start
hv instances --json
check "instances --json: the shape" \
  jq_true 'length == 5 and all(.[]; (keys == ["created","id","playbook","starter","status","updated"]))'
hv instances --status suspended --json
check "instances --status suspended" jq_is '[.[].id]' "[\"$INST\"]"
hv instances --status failed --json
check "instances --status failed" jq_is '[.[].id]' "[\"$REJECTED\"]"
hv instances --status completed --json
check "instances --status completed" jq_is 'length' 3

# ---- log -----------------------------------------------------------------------------------------
hv resume "$ITEM" approve --as bob
hv log "$INST" --json
check "log --json: one JSON object a line with seq, at, kind" \
  eval 'jq -se "all(.[]; (.seq|type)==\"number\" and (.at|test(\"^[0-9-]{10}T[0-9:]{8}Z$\")) and (.kind|type)==\"string\")" out >/dev/null'
check "log: seq 1, 2, 3, ..." eval '[ "$(jq -sc "[.[].seq] == [range(1; length+1)]" out)" = true ]'
check "log: the kinds in order" \
  eval 'jq -sc "[.[].kind] | map(select(. != \"action\" and . != \"log\"))" out | grep -qx "\[\"started\",\"checkpoint\",\"verdict\",\"resumed\",\"completed\"\]"'
check "log: started names the requester" jq_any '.kind == "started" and .requester == "alice"'
check "log: the checkpoint names its item and digest" jq_any ".kind == \"checkpoint\" and .item == $ITEM and (.digest | length) == 64"
check "log: the checkpoint shows its item's payload" \
  jq_any ".kind == \"checkpoint\" and .item == $ITEM and .payload == $(sqlite3 "$DB" "SELECT payload FROM items WHERE id = $ITEM")"
check "the store keeps the checkpoint event as {item, digest}: the payload once, in the item" \
  eval '[ "$(sqlite3 "$DB" "SELECT json_group_array(fields) FROM events WHERE instance = '"'$INST'"' AND kind = '"'checkpoint'"'" \
       | jq -c "map(fromjson | keys)")" = "[[\"digest\",\"item\"]]" ]'
check "log: the verdict names the reviewer" jq_any '.kind == "verdict" and .reviewer == "bob" and .verdict == "approve"'
hv log "$INST"
check "log, human" eval 'status_is 0 && out_has "verdict"'

# ---- a new store opened by several processes at once -----------------------------------------------
# (each sets the WAL journal; one that met another mid-way got "database is locked", SQLite's busy
# handler not being called there)
printf 'playbook t "t"\nreturn 1\n' > t.hitl
"$HITLC" t.hitl -o t.hbc >/dev/null 2>&1
: > open_errors
for round in 1 2 3 4 5 6 7 8 9 10; do
  rm -f fresh.db fresh.db-wal fresh.db-shm
  for j in 1 2 3 4 5 6; do
    HITL_STORE_SYNC=NORMAL "$HITLVM" run t.hbc --json --store fresh.db >/dev/null 2>>open_errors &
  done
  wait
done
check "a new store opened by six processes at once, ten times: no one refused" eval '[ ! -s open_errors ]'

# ---- expire ----------------------------------------------------------------------------------------
hv run gated.hitl --as alice --json
GITEM=$(jq -r '.pending[0].id' out)
GINST=$(jq -r .instance out)
now=$(date +%s)
before=$(dump)
hv expire --now "$now" --json
check "expire before the deadline: nothing" eval 'status_is 0 && jq_is . "[]" && [ "$before" = "$(dump)" ]'
hv expire --now "$(date -u -d "@$((now + 7200))" +%Y-%m-%dT%H:%M:%SZ)" --json
check "expire past the deadline (ISO --now): the timeout verdict" \
  jq_is '.' "[{\"item\":$GITEM,\"instance\":\"$GINST\",\"verdict\":\"reject\",\"status\":\"completed\"}]"
hv instances --status completed --json
check "  the instance ran on" jq_true "any(.[]; .id == \"$GINST\")"
hv log "$GINST" --json
check "  logged in the name of timeout" jq_any '.kind == "completed" and .result == "rejected: no answer"'
check "  the verdict by timeout" eval 'jq -se "any(.[]; .kind == \"verdict\" and .reviewer == \"timeout\")" out >/dev/null'
start
hv expire --now $((now + 999999)) --json
check "expire: an item without a timeout waits for ever" jq_is '.' '[]'
refused "refused: resume of an expired item" "" resume "$GITEM" approve --as bob

# ---- the store's location ----------------------------------------------------------------------------
mkdir home && cd home || exit 1
"$HITLVM" run ../gated.hitl --as alice >out 2>err; rc=$?
check "no --store: ./.hitl/store.db, folder mode 0700" \
  eval 'status_is 3 && [ -f .hitl/store.db ] && [ "$(stat -c %a .hitl)" = 700 ]'
HITL_STORE="$TMP/env.db" "$HITLVM" instances --json >out 2>err; rc=$?
check "\$HITL_STORE" eval 'status_is 0 && [ -f "$TMP/env.db" ] && jq_is . "[]"'
cd "$TMP" || exit 1

# ---- an irreversible call in doubt after kill -9 ----------------------------------------------------
cat >pay.hitl <<'EOF'
playbook pay "an irreversible payment"
action pay(amount: float) -> string { irreversible }
rules {
  otherwise -> auto
}
let r = pay(10.0)
return r
EOF
echo '{"pay": "paid"}' >pay.mock.json
HITL_WITNESS="$TMP/witness" HITL_ACTION_DELAY_US=3000000 \
  "$HITLVM" run pay.hitl --mock pay.mock.json --as alice --store "$DB" >out 2>err &
pid=$!
for _ in $(seq 100); do [ -s "$TMP/witness" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
hv instances --json
check "crash mid-call: recovered into an in-doubt item, not re-run" \
  eval 'jq_true "any(.[]; .playbook == \"pay\" and .status == \"suspended\")" && [ "$(wc -l <"$TMP/witness")" -eq 1 ]'
hv pending --json
PITEM=$(jq -r '[.[] | select(.payload.kind == "in_doubt")][0].id' out)
check "  the in-doubt item names the action" jq_true 'any(.[]; .payload.kind == "in_doubt" and .payload.action == "pay")'
hv resume "$PITEM" modify --set 'result="paid"' --as bob --json
check "  modify result=VALUE: the call happened, no second call" \
  eval 'status_is 0 && jq_is .result "\"paid\"" && [ "$(wc -l <"$TMP/witness")" -eq 1 ]'

finish
