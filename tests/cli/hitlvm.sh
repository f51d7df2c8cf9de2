#!/usr/bin/env bash
# tests/cli/hitlvm.sh — hitlvm run as a user runs it: exit statuses, the
# --json object, human output, mocks, inputs and params, bytecode and source
# (TOOLS.md §2, docs/hitlvm.md).
#
#   BINDIR=bin bash tests/cli/hitlvm.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLVM" "$HITLC"

# expect_usage NAME ARGS...: exit 2, a message on stderr, nothing on stdout
expect_usage() {
  local name=$1; shift
  hv "$@"
  if [ "$rc" -eq 2 ] && [ -s err ] && [ ! -s out ] && grep -q '^hitlvm: ' err; then ok "$name"
  else not_ok "$name (status $rc)"; fi
}

# ---- playbooks -------------------------------------------------------------
cat >calc.hitl <<'EOF'
playbook calc "adds two numbers"
input {
  a: int
  b: int = 2
  who: string = "nobody"
}
param scale: int = 1
param label: string = "sum"
param ratio: float = 1.5
log "adding {a} and {b}"
step "Add" {
  let s = (a + b) * scale
}
return {label: label, sum: s, ratio: ratio, who: who}
EOF

cat >fail.hitl <<'EOF'
playbook failing "fails on purpose"
log "about to fail"
fail "boom"
EOF

cat >arith.hitl <<'EOF'
playbook arith "divides by zero"
input { d: int = 0 }
let x = 10 // d
return x
EOF

cat >loop.hitl <<'EOF'
playbook spin "never ends"
let i = 0
while true {
  i = i + 1
}
EOF

cat >acts.hitl <<'EOF'
playbook acts "actions bound by mocks"
action lookup(id: string) -> map
action next_n() -> int
let o = lookup("A-1")
let seq = [next_n(), next_n(), next_n(), next_n()]
return {order: o, seq: seq}
EOF

cat >notify.hitl <<'EOF'
playbook notify "an action that fails"
action notify(to: string) -> bool
let sent = notify("ann@example.com")
return sent
EOF

cat >typed.hitl <<'EOF'
playbook typed "an action result of the wrong type"
action score() -> float
return score()
EOF

cat >gate.hitl <<'EOF'
playbook gate "stops at a checkpoint"
input { amount: float }
step "Decide" {
  checkpoint "Refund {amount}?" {
    show amount, doubled: amount * 2
    edit amount
    by "finance"
  }
}
return amount
EOF

cat >timed.hitl <<'EOF'
playbook timed "a checkpoint with a timeout and a quorum"
checkpoint "Deploy?" {
  by "ops" quorum 2
  timeout 4h -> reject "no answer"
}
return 1
EOF

printf 'playbook bad "a syntax error"\nlet = 5\n' >bad.hitl

# ---- options and commands ------------------------------------------------------
hv --version
check "--version exits 0" status_is 0
check "--version prints 'hitlvm 0.2.0'" out_is "hitlvm 0.2.0"

hv --help
check "--help exits 0 with usage on stdout" eval '[ $rc -eq 0 ] && grep -q "^usage: hitlvm run" out'

expect_usage "no command is a usage error" 
expect_usage "unknown command" frobnicate x.hitl
check "unknown command: says so" err_has "unknown command 'frobnicate'"
expect_usage "unknown option" run calc.hitl --input '{"a":1}' --frob
check "unknown option: says so, with a hint" eval 'err_has "unknown option '"'"'--frob'"'"'" && err_has "hitlvm --help"'
expect_usage "run without a program" run
expect_usage "two programs" run calc.hitl gate.hitl
expect_usage "--input without a value" run calc.hitl --input
expect_usage "--input twice" run calc.hitl --input '{"a":1}' --input '{"a":2}'
expect_usage "--param without =" run calc.hitl --input '{"a":1}' --param scale
expect_usage "--as empty" run calc.hitl --input '{"a":1}' --as ''
mkdir storedir
expect_usage "--store naming a directory" run calc.hitl --input '{"a":1}' --store storedir
hv run calc.hitl --input '{"a":1}' --store "$TMP/s.db" --as alice
check "--store PATH: the store is made there" eval 'status_is 0 && [ -s "$TMP/s.db" ]'
hv run calc.hitl --input '{"a":' --store "$TMP/bad.db"
check "bad input: no store is made" eval 'status_is 2 && [ ! -e "$TMP/bad.db" ]'

expect_usage "show without ITEM" show
expect_usage "resume without a VERDICT" resume 1
expect_usage "log without INSTANCE" log
expect_usage "an option of another command" pending --input '{}'

# ---- completed -------------------------------------------------------------------
hv run calc.hitl --input '{"a": 1}'
check "completed: exit 0" status_is 0
check "completed: the result as JSON on stdout" jq_is . '{"label":"sum","sum":3,"ratio":1.5,"who":"nobody"}'
check "log statements echoed as 'log: TEXT'" err_line "log: adding 1 and 2"
check "steps echoed as 'step: NAME'" err_line "step: Add"

hv run calc.hitl --input '{"a": 1}' --json
check "--json completed: exit 0" status_is 0
check "--json completed: one line" eval '[ "$(wc -l <out)" -eq 1 ]'
check "--json completed: keys" jq_is 'keys' '["instance","pending","result","status"]'
check "--json completed: status" jq_is .status '"completed"'
check "--json completed: result" jq_is .result '{"label":"sum","sum":3,"ratio":1.5,"who":"nobody"}'
check "--json completed: pending is []" jq_is .pending '[]'
check "--json: instance is 16 hex digits" jq_true '.instance | test("^[0-9a-f]{16}$")'
check "--json: events are not printed" eval '! err_has "log: " && ! err_has "step: "'
first=$(jq -r .instance out)
hv run calc.hitl --input '{"a": 1}' --json
check "--json: a fresh instance id each run" eval '[ "$(jq -r .instance out)" != "$first" ]'

# --- input
echo '{"a": 5, "b": 10, "who": "ann"}' >input.json
hv run calc.hitl --input @input.json
check "--input @FILE" jq_is . '{"label":"sum","sum":15,"ratio":1.5,"who":"ann"}'
hv run calc.hitl --input='{"a": 2}'
check "--input=JSON" jq_is .sum 4
expect_usage "--input @FILE that does not exist" run calc.hitl --input @nope.json
check "--input @missing: says it cannot read" err_has "cannot read the input 'nope.json'"
expect_usage "malformed --input" run calc.hitl --input '{"a": '
expect_usage "--input not an object" run calc.hitl --input '[1]'
expect_usage "input of the wrong type" run calc.hitl --input '{"a": "one"}'
check "wrong type: names the input" err_has "a"
expect_usage "missing required input" run calc.hitl
expect_usage "missing required input (explicit {})" run calc.hitl --input '{}'
expect_usage "unknown input" run calc.hitl --input '{"a": 1, "zzz": 2}'
check "unknown input: names it" err_has "zzz"
printf '{"a": 1}\0' >nul.json
expect_usage "--input @FILE with a NUL byte" run calc.hitl --input @nul.json

# --- params
hv run calc.hitl --input '{"a": 1}' --param scale=10 --param label=total --param ratio=2
check "--param: int, string as text, int widened for float" \
  jq_true '. == {"label":"total","sum":30,"ratio":2.0,"who":"nobody"}'
check "--param: the widened param is a float" out_has '"ratio":2.0'
hv run calc.hitl --input '{"a": 1}' --param 'label=a=b c'
check "--param: a string value keeps '=' and spaces" jq_is .label '"a=b c"'
hv run calc.hitl --input '{"a": 1}' --param scale=2 --param scale=3
check "--param: the last one wins" jq_is .sum 9
expect_usage "unknown param" run calc.hitl --input '{"a": 1}' --param nope=1
check "unknown param: names it" err_has "nope"
expect_usage "bad param value (string for int)" run calc.hitl --input '{"a": 1}' --param scale=ten
expect_usage "bad param value (float for int)" run calc.hitl --input '{"a": 1}' --param scale=1.5
expect_usage "an input is not a param" run calc.hitl --input '{"a": 1}' --param a=1

# --- fuel
expect_usage "--fuel 0" run calc.hitl --input '{"a": 1}' --fuel 0
expect_usage "--fuel -5" run calc.hitl --input '{"a": 1}' --fuel -5
expect_usage "--fuel abc" run calc.hitl --input '{"a": 1}' --fuel abc
expect_usage "--fuel overflowing" run calc.hitl --input '{"a": 1}' --fuel 99999999999999999999999
expect_usage "--fuel empty" run calc.hitl --input '{"a": 1}' --fuel ''
hv run loop.hitl --fuel 1000 --json
check "out of fuel: exit 1" status_is 1
check "out of fuel: kind fuel" jq_is .error.kind '"fuel"'
hv run calc.hitl --input '{"a": 1}' --fuel 1000
check "enough fuel: completes" status_is 0

# ---- failed ----------------------------------------------------------------------
hv run fail.hitl
check "fail: exit 1" status_is 1
check "fail: 'error: failed: boom (line 3)' on stderr" err_line "error: failed: boom (line 3)"
check "fail: nothing on stdout" out_empty
check "fail: the log before it is echoed" err_line "log: about to fail"

hv run fail.hitl --json
check "--json failed: exit 1" status_is 1
check "--json failed: keys" jq_is 'keys' '["error","instance","pending","status"]'
check "--json failed: status" jq_is .status '"failed"'
check "--json failed: error object" jq_is .error '{"kind":"failed","message":"boom","line":3}'
check "--json failed: pending is []" jq_is .pending '[]'

hv run arith.hitl --json
check "run-time error: exit 1, kind arith, line 3" \
  eval 'status_is 1 && jq_is .error.kind "\"arith\"" && jq_is .error.line 3'

# ---- mocks -----------------------------------------------------------------------
cat >mocks.json <<'EOF'
{"lookup": {"id": "A-1", "total": 12.5},
 "next_n": {"results": [10, 20, 30]},
 "notify": {"error": "smtp is down"},
 "score": "high"}
EOF
hv run acts.hitl --mock mocks.json --json
check "mocks: exit 0" status_is 0
check "mocks: a VALUE returned" jq_is .result.order '{"id":"A-1","total":12.5}'
check "mocks: results in order, the last repeating" jq_is .result.seq '[10,20,30,30]'
check "mocks: no warning for declared actions only" eval '! err_has "is not an action of playbook \"acts\""'
check "mocks: a warning for each mock the program does not declare" \
  err_has "hitlvm: warning: mocks.json: 'notify' is not an action of playbook 'acts'"

hv run notify.hitl --mock mocks.json --json
check "mock error: exit 1" status_is 1
check "mock error: kind action with the message" \
  eval 'jq_is .error.kind "\"action\"" && jq_true ".error.message | contains(\"smtp is down\")"'
hv run notify.hitl --mock mocks.json
check "mock error, human: 'error: action: … smtp is down (line 3)'" \
  eval 'grep -qx "error: action: .*smtp is down (line 3)" err'

hv run acts.hitl --json
check "no --mock: exit 1" status_is 1
check "no --mock: kind action, no binding" \
  eval 'jq_is .error.kind "\"action\"" && jq_true ".error.message | contains(\"no binding for action '"'"'lookup'"'"'\")"'
echo '{"lookup": {"id": "x"}}' >partial.json
hv run acts.hitl --mock partial.json --json
check "missing binding: kind action naming the action" \
  eval 'status_is 1 && jq_true ".error.message | contains(\"no binding for action '"'"'next_n'"'"'\")"'
hv run typed.hitl --mock mocks.json --json
check "a mock result of the wrong type: kind action" eval 'status_is 1 && jq_is .error.kind "\"action\""'

echo '{"lookup": {"results": [{"error": "not a failure"}]}, "next_n": 1}' >wrapped.json
hv run acts.hitl --mock wrapped.json --json
check "mocks: a results list wraps an object that looks special" \
  jq_is .result '{"order":{"error":"not a failure"},"seq":[1,1,1,1]}'

expect_usage "mock file missing" run acts.hitl --mock nope.json
echo '{"lookup": ' >m1.json
expect_usage "mock file malformed" run acts.hitl --mock m1.json
check "malformed mocks: names the file, line and column" eval 'grep -q "m1.json:[0-9]*:[0-9]*: malformed JSON" err'
echo '[1, 2]' >m2.json
expect_usage "mock file not an object" run acts.hitl --mock m2.json
check "mock not an object: says so" err_has "expected a JSON object"
echo '{"next_n": {"results": []}}' >m3.json
expect_usage "mock with an empty results list" run acts.hitl --mock m3.json
check "empty results: says so" err_has "\"results\" must be a non-empty list"
echo '{"next_n": {"results": 5}}' >m4.json
expect_usage "mock with results not a list" run acts.hitl --mock m4.json
echo '{"notify": {"error": 1}}' >m5.json
expect_usage "mock with a non-string error" run notify.hitl --mock m5.json
echo '{"a": 1, "a": 2}' >m6.json
expect_usage "mock with a duplicate action" run acts.hitl --mock m6.json

# ---- suspended -------------------------------------------------------------------
hv run gate.hitl --input '{"amount": 12.5}'
check "checkpoint: exit 3" status_is 3
check "checkpoint, human: the title" out_has "Refund 12.5?"
check "checkpoint, human: the step" out_has "step: Decide"
check "checkpoint, human: show values" eval 'out_has "amount: 12.5" && out_has "doubled: 25.0"'
check "checkpoint, human: who decides" out_has "decided by: finance"
check "checkpoint, human: how to decide" out_has "hitlvm resume "

hv run gate.hitl --input '{"amount": 12.5}' --json
check "--json suspended: exit 3" status_is 3
check "--json suspended: keys" jq_is 'keys' '["instance","pending","status"]'
check "--json suspended: status" jq_is .status '"suspended"'
check "--json suspended: one item" jq_is '.pending | length' 1
check "--json suspended: item keys" jq_is '.pending[0] | keys_unsorted' \
  '["id","instance","kind","title","payload","digest","by","quorum","editable","created","deadline"]'
check "--json suspended: the item" \
  jq_is '.pending[0] | [(.id | type), .kind, .title, (.digest | test("^[0-9a-f]{64}$")), .by, .quorum, .editable, .deadline]' \
  '["number","approval","Refund 12.5?",true,"finance",1,["amount"],null]'
check "--json suspended: the item names the instance" jq_true '.pending[0].instance == .instance'
check "--json suspended: the payload" \
  jq_true '.pending[0].payload == {"title":"Refund 12.5?","step":"Decide","show":{"amount":12.5,"doubled":25.0},"editable":["amount"],"by":"finance","quorum":1,"deadline":null}'
check "--json suspended: the payload is the VM's text (floats stay floats)" out_has '"show":{"amount":12.5,"doubled":25.0}'
check "--json suspended: created is ISO 8601 UTC" \
  jq_true '.pending[0].created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'

hv run timed.hitl --json
check "quorum and deadline: exit 3" status_is 3
check "quorum and deadline: quorum 2, by ops" jq_is '.pending[0] | [.quorum, .by]' '[2,"ops"]'
check "quorum and deadline: deadline in ISO 8601, after created" \
  jq_true '.pending[0] | (.deadline | test("^[0-9-]{10}T[0-9:]{8}Z$")) and .deadline > .created'

# ---- program files ---------------------------------------------------------------
expect_usage "missing program" run nope.hitl
check "missing program: says it cannot read" err_has "cannot read 'nope.hitl'"
expect_usage "program is a directory" run storedir

hv run bad.hitl
check "compile errors: exit 2" status_is 2
check "compile errors: file:line:col on stderr" err_has "bad.hitl:2:5: error:"
check "compile errors: nothing on stdout" out_empty
"$HITLC" --check bad.hitl >/dev/null 2>hitlc.err
check "compile errors: printed exactly as hitlc prints them" cmp -s err hitlc.err
check "compile errors: no colour when stderr is not a terminal" eval '! grep -q $'"'"'\033'"'"' err'

"$HITLC" calc.hitl -o calc.hbc >/dev/null 2>&1
check "hitlc compiles calc.hitl to calc.hbc" test -s calc.hbc
hv run calc.hitl --input '{"a": 4}' --param scale=2
cp out from_source
hv run calc.hbc --input '{"a": 4}' --param scale=2
check "a .hbc runs as its .hitl does" eval 'status_is 0 && cmp -s out from_source'
check "a .hbc echoes the same events" eval 'err_line "log: adding 4 and 2" && err_line "step: Add"'
cp calc.hbc calc_bytecode
hv run calc_bytecode --input '{"a": 4}' --param scale=2
check "bytecode is recognised by its magic, whatever the name" eval 'status_is 0 && cmp -s out from_source'
"$HITLC" gate.hitl -o gate.hbc >/dev/null 2>&1
hv run gate.hbc --input '{"amount": 1}' --json
check "a .hbc suspends too" eval 'status_is 3 && jq_is ".pending[0].title" "\"Refund 1.0?\""'

head -c 4096 /dev/urandom >garbage.hbc
expect_usage "corrupt .hbc (garbage bytes)" run garbage.hbc
check "corrupt .hbc: the loader's message names the file" err_has "hitlvm: garbage.hbc: "
size=$(wc -c <calc.hbc)
head -c $((size / 2)) calc.hbc >half.hbc
expect_usage "truncated .hbc" run half.hbc
: >empty.hbc
expect_usage "empty .hbc" run empty.hbc
cp calc.hbc flipped.hbc
printf '\x55' | dd of=flipped.hbc bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
expect_usage "a .hbc with one byte changed" run flipped.hbc

finish
