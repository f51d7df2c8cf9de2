#!/usr/bin/env bash
# tests/cli/learn.sh — hitlvm stats, calibrate and export (TOOLS.md §2,
# docs/calibration.md) on a small store built by running a playbook with
# mocks and resuming with verdicts; the calibrated threshold in later runs
# (LANGUAGE.md §6) and its `started` event; and the short calibration
# simulation (tests/sim/sim.py --short --check).
#
#   BINDIR=bin bash tests/cli/learn.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store --option
need python3
export HITL_STORE_SYNC=NORMAL

cat > label.hitl <<'EOF'
playbook labeler "Label tickets with a confidence each"

input {
  calls: list
}

action classify(id: string, label: string) -> bool {
  edit label
}
action archive(id: string) -> bool

thresholds {
  classify 0.9
  default 0.5
}

rules {
  when action == "archive" and confidence < 0.2 -> deny "too unsure to archive"
  when confidence < threshold -> approve
  otherwise -> auto
}

let ran = 0
for c in calls {
  try {
    classify(c.id, c.label) with confidence c.conf because "model said so"
    ran = ran + 1
  } catch e {
    log "skipped {c.id}: {e.kind}"
  }
}
try {
  archive("batch") with confidence 0.1
} catch e {
  log "not archived"
}
return ran
EOF
echo '{"classify": true, "archive": true}' > mock.json

# run INPUT_CALLS: start an instance, its id in $inst and first item in $item
run() {
  hv run label.hitl --input "{\"calls\":$1}" --mock mock.json --as agent --json
  inst=$(jq -r .instance out)
  item=$(jq -r '.pending[0].id // empty' out)
}
# decide VERDICT [ARGS]: decide $item, the next in $item
decide() {
  local v=$1; shift
  hv resume "$item" "$v" "$@" --as alice --json
  item=$(jq -r '.pending[0].id // empty' out)
}

# ---- empty store ------------------------------------------------------------------
hv stats
check "stats on an empty store" eval 'status_is 0 && out_has "no action calls"'
hv stats --json
check "stats --json on an empty store: []" jq_is . '[]'
hv calibrate --json
check "calibrate --json on an empty store: []" jq_is . '[]'
hv export
check "export on an empty store: nothing" eval 'status_is 0 && [ ! -s out ]'

# ---- a small store: 4 routed (approve, modify, reject, open), 2 auto, 1 deny -----
run '[{"id":"a","label":"bug","conf":0.5},{"id":"b","label":"bug","conf":0.6},{"id":"c","label":"x","conf":0.95},{"id":"d","label":"x","conf":0.7}]'
check "run suspends at the first low-confidence call" eval 'status_is 3 && [ -n "$item" ]'
decide approve
decide modify --set 'label="billing"'
decide reject --reason "wrong label"
check "the instance completes" jq_is .status '"completed"'
run '[{"id":"e","label":"bug","conf":0.99},{"id":"f","label":"bug","conf":0.3}]'
check "a second instance waits for f" eval 'status_is 3 && [ -n "$item" ]'

hv stats --json
check "stats: one row per playbook and action" jq_is '[.[] | [.playbook, .action]]' '[["labeler","archive"],["labeler","classify"]]'
check "stats: classify calls, routed, auto, share" \
  jq_is '.[1] | [.calls, .routed, .auto, .deny, .open, .share_routed]' '[6,4,2,0,1,0.666666666666667]'
check "stats: approve / modify / reject rates over the decided" \
  jq_is '.[1] | [.approve, .modify, .reject, .approve_rate, .reject_rate]' '[1,1,1,0.333333333333333,0.333333333333333]'
check "stats: the threshold the calls were routed with" jq_is '.[1] | [.threshold, .calibrated]' '[0.9,false]'
check "stats: bands by confidence" \
  jq_is '.[1].bands | map([.from, .calls, .routed])' '[[0,1,1],[0.5,2,2],[0.7,1,1],[0.8,0,0],[0.9,0,0],[0.95,2,0]]'
check "stats: archive was denied, without a person" jq_is '.[0] | [.calls, .deny, .routed]' '[1,1,0]'
hv stats
check "stats in text: a table by band" eval 'out_has "labeler / classify: 6 calls, 4 routed to people (66.7%)" && out_has "[0.95, 1.00]"'

hv export
check "export: 4 decisions, then the unattended calls" \
  jq_lines 'map([.item != null, .route, .verdict])' \
  '[[true,"approve","approve"],[true,"approve","modify"],[true,"approve","reject"],[true,"approve",null],[false,"auto",null],[false,"deny",null],[false,"auto",null]]'
check "export: context, confidence, threshold, risk, rule, edits" \
  jq_lines '.[1] | [.action, .args, .confidence, .threshold, .risk.threshold, .rule.line, .because, .edits, .reviewer]' \
  '["classify",{"id":"b","label":"bug"},0.6,0.9,0.9,19,"model said so",{"label":"billing"},"alice"]'
check "export: the open item has no verdict yet" jq_lines '.[3] | [.status, .verdict, .at]' '["open",null,null]'
check "export: an auto call" jq_lines '.[4] | [.action, .args.id, .confidence, .rule.line, .status]' '["classify","c",0.95,20,"ran"]'
check "export: times in ISO 8601" jq_lines '.[0].at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' 'true'

# ---- calibrate --------------------------------------------------------------------
hv calibrate --json
check "calibrate: not enough samples at the default 50" \
  jq_is '.[1] | [.action, .samples, .approved, .current, .proposed, .reason]' '["classify",3,1,0.9,null,"not enough samples"]'
hv calibrate --min-samples 1 --target 0.5 --json
check "calibrate: a target of 0.5 is not reached (1 of 3 approved, 0 of 2 from 0.6 on)" \
  jq_is '.[1] | [.proposed, .reason, .applied]' '[null,"target not reached",false]'
hv calibrate --min-samples 1 --target 0.3 --json
check "calibrate: the lowest threshold reaching the target; modify is not approval" \
  jq_is '.[1] | [.proposed, .above, .approved_share, .applied]' '[0.5,3,0.333333333333333,false]'
hv calibrate --min-samples 1 --target 0.3
check "calibrate in text" out_has "labeler / classify: 3 decisions (1 approved), current threshold 0.9, proposed 0.5"
before=$(sqlite3 "$DB" 'select count(*) from thresholds')
check "calibrate without --apply records nothing" [ "$before" = 0 ]

for bad in "--target 0" "--target 1.5" "--target x" "--min-samples 0" "--min-samples 2x"; do
  # shellcheck disable=SC2086
  hv calibrate $bad
  check "calibrate $bad is refused" eval 'status_is 2 && [ -s err ] && [ ! -s out ]'
done
hv stats --apply
check "--apply belongs to calibrate" eval 'status_is 2 && err_has "--apply is not an option of stats"'
hv stats --target 0.9
check "--target belongs to calibrate" eval 'status_is 2 && err_has "--target is not an option of stats"'

hv calibrate --min-samples 1 --target 0.3 --apply
check "calibrate --apply records it" eval 'status_is 0 && out_has "1 threshold recorded"'
check "the thresholds table holds it" \
  [ "$(sqlite3 "$DB" 'select playbook, action, value, target, samples from thresholds')" = "labeler|classify|0.5|0.3|3" ]
hv stats --json
check "stats: the calibrated threshold" jq_is '.[1] | [.threshold, .calibrated]' '[0.5,true]'

# a later run routes with it: 0.6 now runs unattended, 0.3 still goes to a person
run '[{"id":"g","label":"bug","conf":0.6},{"id":"h","label":"bug","conf":0.3}]'
check "a later run uses the calibrated threshold" eval 'status_is 3 && jq_is ".pending[0].payload.args.id" "\"h\"" && jq_is ".pending[0].payload.risk.threshold" "0.5"'
hv log "$inst" --json
check "the started event records it" jq_lines '.[0] | [.kind, .calibrated]' '["started",{"classify":0.5}]'
check "g ran unattended" jq_lines 'map(select(.kind == "action")) | .[0] | [.args.id, .route]' '["g","auto"]'

# a suspended instance picks it up at its resume (f, then the next routed call)
item=$(sqlite3 "$DB" "select id from items where status = 'open' order by id limit 1")
decide approve
check "resume of an older instance completes under the calibrated threshold" eval 'status_is 0 || status_is 3'

# ---- the schema: a v1 store is migrated ------------------------------------------
check "the store is at schema version 5" [ "$(sqlite3 "$DB" "select value from meta where key = 'schema_version'")" = 5 ]

# ---- the simulation, short --------------------------------------------------------
if python3 "$ROOT/tests/sim/sim.py" --bindir "$BIN" --short --check >sim.out 2>&1; then ok "simulation: calibration moves the threshold down, few routed, few errors"
else not_ok "simulation"; sed 's/^/    # /' sim.out | tail -30; fi

finish
