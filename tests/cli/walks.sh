#!/usr/bin/env bash
# tests/cli/walks.sh — the example playbooks of playbooks/ walked through
# every checkpoint and every approve-route item with each verdict (issue 6
# item 7; LANGUAGE.md §6–7, TOOLS.md §2): approve, modify with --set, reject,
# and the timeout verdict of `hitlvm expire --now`.  After each verdict it
# checks the outcome (exit status, instance status, result), the log events
# (`hitlvm log --json`) and which actions were really called, with which
# arguments: every mock call appends a line to the witness file
# ($HITL_WITNESS, docs/hitlvm.md "Test hooks"), so a call that did not happen
# has no line.  Refusals (a non-member of the item's group, the starter, a
# digest mismatch, an edit of what is not editable) must leave the store
# unchanged.  Variants of a playbook's mock file are made here with jq.
#
# The helpers are in tests/cli/walks.bash.
#
#   BINDIR=bin bash tests/cli/walks.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store
# shellcheck source=tests/cli/walks.bash
. "$ROOT/tests/cli/walks.bash"

# ---- the reviewers ------------------------------------------------------------------
for r in "fay finance" "sam sre" "sue sre" "mia marketing" "lea marketing-leads" \
         "leo marketing-leads" "pat privacy" "dora dpo"; do
  set -- $r
  "$HITLVM" reviewers add "$1" --group "$2" >/dev/null || not_ok "reviewers add $1"
done
"$HITLVM" reviewers add bob --group audit >/dev/null   # registered, in none of the deciding groups

# =====================================================================================
# refund (playbooks/refund.hitl): no checkpoint; rule 26 routes a payments
# refund above 500 to finance, rule 27 an irreversible call whose confidence
# is below its threshold (issue_refund 0.90) to anyone; the rest runs.
# =====================================================================================
start refund
check "refund: within policy, nothing stops (exit 0)" eval 'status_is 0 && jq_is .status "\"completed\""'
check "refund: issue_refund ran auto (rule 28) with confidence 0.95" \
  ev_is '[.[] | select(.kind == "action" and .name == "issue_refund") | [.route, .rule, .confidence]]' '[["auto",28,0.95]]'
check "refund: no checkpoint event" ev_is '[.[] | select(.kind == "checkpoint")] | length' 0

input_variant refund '.amount = 620.0' big.json
INPUT=big.json start refund
check "refund 620: held before the call (exit 3)" eval 'status_is 3 && [ -n "$ITEM" ]'
check "refund 620: routed by rule 26 to finance, amount editable" \
  item_true "$ITEM" '[.kind, .by, .quorum, .editable, .payload.rule.line, .payload.args, .deadline] == ["approval","finance",1,["amount"],26,{"order_id":"A-1001","amount":620},null]'
check "refund 620: issue_refund not called yet, lookup and score were" \
  eval 'calls_are issue_refund 0 && calls_are lookup_order 1 && calls_are score_refund 1'
refused "refund: a reviewer outside finance" "not a member of group finance" resume "$ITEM" approve --as sam
refused "refund: an unregistered person" "not a member of group finance" resume "$ITEM" approve --as mallory
refused "refund: the starter" "may not decide" resume "$ITEM" approve --as agent
refused "refund: a digest that is not the item's" "digest mismatch" resume "$ITEM" approve --as fay --digest $WRONG_DIGEST
refused "refund: modify of a non-editable argument" "not an editable argument" resume "$ITEM" modify --set 'order_id="A-9"' --as fay
refused "refund: modify with the wrong type" "'amount' must be" resume "$ITEM" modify --set 'amount="lots"' --as fay
refused "refund: a review verdict on an approval" "not a verdict for an approval item" resume "$ITEM" pass --as fay
expire_at $(( $(date +%s) + 400 * 86400 ))
check "refund: an item without a timeout never expires" eval 'status_is 0 && jq_is . "[]" && [ "$(inst_status)" = suspended ]'
RF=$ITEM
decide "$ITEM" approve --as fay --digest "$(digest_of "$ITEM")"
check "refund 620 approve (with the digest): completed" eval 'status_is 0 && out_true ".result == {refunded: 620, customer: \"Ada Lovelace (A-1001)\"}"'
check "refund 620 approve: issue_refund called once as proposed, then notify" \
  eval 'args_true issue_refund ". == [{order_id: \"A-1001\", amount: 620}]" && calls_are notify 1'
check "refund 620 approve: the verdict event names fay" \
  ev_is '[.[] | select(.kind == "verdict") | [.item, .verdict, .reviewer]]' "[[$RF,\"approve\",\"fay\"]]"
check "refund 620 approve: the call logged as routed approve" \
  ev_is '[.[] | select(.kind == "action" and .name == "issue_refund") | .route]' '["approve"]'
refused "refund: a second verdict" "already decided" resume "$RF" reject --as fay

INPUT=big.json start refund
decide "$ITEM" modify --set amount=450.0 --reason "partial: one item was used" --as fay
check "refund 620 modify amount=450: completed" status_is 0
check "refund 620 modify: the edit reached issue_refund's arguments" \
  args_true issue_refund '. == [{order_id: "A-1001", amount: 450}]'
check "refund 620 modify: logged with the edit" \
  ev_true '[.[] | select(.kind == "verdict") | [.verdict, .edits, .reason]] == [["modify",{"amount":450},"partial: one item was used"]]'

INPUT=big.json start refund
decide "$ITEM" reject --reason "order was a chargeback" --as fay
check "refund 620 reject: no catch, the instance fails (exit 1, kind rejected)" \
  eval 'status_is 1 && jq_is .error.kind "\"rejected\"" && [ "$(inst_status)" = failed ]'
check "refund 620 reject: the reason is in the error" eval 'jq -e ".error.message | contains(\"order was a chargeback\")" out >/dev/null'
check "refund 620 reject: issue_refund and notify never called" eval 'calls_are issue_refund 0 && calls_are notify 0'
check "refund 620 reject: a failed event, no completed" \
  ev_is '[.[] | select(.kind == "failed" or .kind == "completed") | .kind]' '["failed"]'

mock_variant refund '.score_refund = 0.4' unsure.json
MOCK=unsure.json start refund
check "refund, confidence 0.4: rule 27 holds it for anyone" \
  eval 'status_is 3 && item_is "$ITEM" "[.by, .payload.rule.line, .payload.risk.confidence, .payload.risk.threshold]" "[null,27,0.4,0.9]"'
decide "$ITEM" approve --as bob
check "refund, confidence 0.4: anyone but the starter approves; notify (0.99) runs auto" \
  eval 'status_is 0 && calls_are issue_refund 1 && ev_is "[.[] | select(.kind == \"action\" and .name == \"notify\") | .route]" "[\"auto\"]"'

# =====================================================================================
# deploy (playbooks/deploy.hitl): `deploy` is held for "sre" (rule 42; quorum 2
# above two regions, rule 41), 4h timeout -> reject; a rejection removes the
# canary; an unhealthy rollout opens the roll-back checkpoint (by "sre",
# 30m timeout -> approve).
# =====================================================================================
start deploy
check "deploy: build, tests and canary run, then the rollout is held (exit 3)" \
  eval 'status_is 3 && calls_are build_release 1 && calls_are run_tests 1 && calls_are deploy_canary 1 && calls_are canary_metrics 1'
check "deploy: deploy not called, the canary still up" eval 'calls_are deploy 0 && calls_are remove_canary 0'
check "deploy: the item — sre, quorum 1, regions editable, rule 42, blast 2, the because" \
  item_is "$ITEM" '[.by, .quorum, .editable, .payload.rule.line, .payload.risk.blast, .payload.step, .payload.because]' \
  '["sre",1,["regions"],42,2,"Roll out","412 tests passed; canary at 5% for 30 min, error rate 0.004"]'
check "deploy: the deadline is 4h after the item opened" \
  [ "$(opened_for "$ITEM")" = 14400 ]
refused "deploy: a non-member of sre (fay)" "not a member of group sre" resume "$ITEM" approve --as fay
refused "deploy: a non-member of sre (bob)" "not a member of group sre" resume "$ITEM" reject --as bob
refused "deploy: the starter" "may not decide" resume "$ITEM" approve --as agent
refused "deploy: a digest mismatch" "digest mismatch" resume "$ITEM" approve --as sam --digest $WRONG_DIGEST
refused "deploy: modify of a non-editable argument" "not an editable argument" resume "$ITEM" modify --set 'service="billing"' --as sam
refused "deploy: modify regions with a string" "'regions' must be" resume "$ITEM" modify --set 'regions="eu-west-1"' --as sam
check "deploy: after the refusals still suspended, deploy still not called" eval '[ "$(inst_status)" = suspended ] && calls_are deploy 0'
D=$ITEM
decide "$ITEM" approve --as sam --digest "$(digest_of "$ITEM")"
check "deploy approve: completed, deployed" \
  eval 'status_is 0 && jq_is .result "{\"status\":\"deployed\",\"version\":\"2.14.0\",\"deployment\":\"D-4471\"}"'
check "deploy approve: deploy called once with both regions" \
  eval '[ "$(args_of deploy)" = "[{\"service\":\"checkout\",\"artifact\":\"registry.example.com/checkout:2.14.0\",\"regions\":[\"eu-west-1\",\"us-east-1\"]}]" ]'
check "deploy approve: canary removed, healthy, no roll back" \
  eval 'calls_are remove_canary 1 && calls_are health_check 1 && calls_are roll_back 0'
check "deploy approve: the events — checkpoint, verdict by sam, resumed, the call routed approve, completed" \
  ev_is '[.[] | select(.kind == "checkpoint" or .kind == "verdict" or .kind == "resumed" or .kind == "completed" or (.kind == "action" and .name == "deploy")) | [.kind, .item // .route // null, .reviewer // null]]' \
  "[[\"checkpoint\",$D,null],[\"verdict\",$D,\"sam\"],[\"resumed\",$D,null],[\"action\",\"approve\",null],[\"completed\",null,null]]"
check "deploy approve: #deploys told where it is live" \
  eval 'grep "^$INST notify " "$HITL_WITNESS" | grep -qF "checkout 2.14.0 is live in eu-west-1, us-east-1"'
refused "deploy: a second verdict on the decided item" "already decided" resume "$D" approve --as sue

start deploy
decide "$ITEM" modify --set 'regions=["eu-west-1"]' --as sue
check "deploy modify regions=[eu-west-1]: completed" eval 'status_is 0 && jq_is .result.status "\"deployed\""'
check "deploy modify: the edit reached deploy's arguments (witness and log)" \
  eval '[ "$(args_of deploy | jq -c ".[].regions")" = "[\"eu-west-1\"]" ] && ev_is "[.[] | select(.kind == \"action\" and .name == \"deploy\") | .args.regions]" "[[\"eu-west-1\"]]"'
check "deploy modify: the verdict event carries the edit" \
  ev_is '[.[] | select(.kind == "verdict") | [.verdict, .reviewer, .edits]]' '[["modify","sue",{"regions":["eu-west-1"]}]]'

start deploy
decide "$ITEM" reject --reason "change freeze until Monday" --as sam
check "deploy reject: caught, completed with status rejected and the reason" \
  eval 'status_is 0 && jq_is .result.status "\"rejected\"" && jq -e ".result.reason | contains(\"change freeze until Monday\")" out >/dev/null'
check "deploy reject: deploy never called, no action event with a result for it" \
  eval 'calls_are deploy 0 && ev_is "[.[] | select(.kind == \"action\" and .name == \"deploy\" and has(\"result\"))] | length" 0'
check "deploy reject: the canary removed, nothing after the rollout step ran" \
  eval 'calls_are remove_canary 1 && calls_are health_check 0 && calls_are roll_back 0'

# the 4h timeout: nothing one second before the deadline, reject at it
start deploy
T=$(deadline "$ITEM"); D=$ITEM
expire_at $((T - 1))
check "deploy timeout: one second early nothing expires" eval 'status_is 0 && jq_is . "[]" && [ "$(inst_status)" = suspended ]'
expire_at "$T"
check "deploy timeout: at the deadline the item is rejected in the name of timeout" \
  eval 'status_is 0 && jq_is "[.[] | [.item, .verdict]]" "[[$D,\"reject\"]]"'
check "deploy timeout: completed as rejected with the rule's reason, deploy never called" \
  eval '[ "$(inst_status)" = completed ] && calls_are deploy 0 && calls_are remove_canary 1 && ev_is "[.[] | select(.kind == \"completed\") | .result.reason]" "[\"the call of '"'"'deploy'"'"' was rejected: no SRE answered within 4 hours\"]"'
check "deploy timeout: the verdict event's reviewer is timeout" \
  ev_is '[.[] | select(.kind == "verdict") | [.verdict, .reviewer]]' '[["reject","timeout"]]'

# three regions: quorum 2 (rule 41)
input_variant deploy '.regions = ["eu-west-1", "us-east-1", "ap-south-1"]' three.json
INPUT=three.json start deploy
Q=$ITEM
check "deploy to three regions: quorum 2 by sre (rule 41)" \
  item_is "$Q" '[.by, .quorum, .payload.rule.line, .payload.risk.blast]' '["sre",2,41,3]'
refused "deploy quorum: modify is refused" "only approve or reject" resume "$Q" modify --set 'regions=["eu-west-1"]' --as sam
decide "$Q" approve --as sam
check "deploy quorum: one approval is not enough (exit 3), deploy not called" \
  eval 'status_is 3 && [ "$(inst_status)" = suspended ] && calls_are deploy 0'
refused "deploy quorum: sam's second vote" "already voted" resume "$Q" approve --as sam
decide "$Q" approve --as sue
check "deploy quorum: the second SRE's approval runs it" eval 'status_is 0 && calls_are deploy 1 && jq_is .result.status "\"deployed\""'
check "deploy quorum: two verdict events, 1 then 2 of 2" \
  ev_is '[.[] | select(.kind == "verdict") | [.reviewer, .approvals, .quorum]]' '[["sam",1,2],["sue",2,2]]'
INPUT=three.json start deploy
decide "$ITEM" approve --as sam
decide "$ITEM" reject --reason "ap-south-1 is in its maintenance window" --as sue
check "deploy quorum: one rejection after an approval decides — rejected, never deployed" \
  eval 'status_is 0 && jq_is .result.status "\"rejected\"" && calls_are deploy 0 && calls_are remove_canary 1'

# the canary fails: nothing is asked, deploy never called
mock_variant deploy '.canary_metrics.error_rate = 0.05' badcanary.json
MOCK=badcanary.json start deploy
check "deploy, canary error rate 0.05: canary_failed without an item" \
  eval 'status_is 0 && jq_is "[.result.status, .pending]" "[\"canary_failed\",[]]" && calls_are deploy 0 && calls_are remove_canary 1'
# the tests fail: the run fails
mock_variant deploy '.run_tests.failed = 3' badtests.json
MOCK=badtests.json start deploy
check "deploy, 3 tests failing: the run fails (kind failed) before the canary" \
  eval 'status_is 1 && jq_is .error.kind "\"failed\"" && calls_are deploy_canary 0'
# the deploy itself fails after approval: not caught as a rejection, the instance fails
mock_variant deploy '.deploy = {"error": "registry unreachable"}' deployerr.json
MOCK=deployerr.json start deploy
decide "$ITEM" approve --as sam
check "deploy, the approved call fails: re-raised (kind action), the canary left for a person" \
  eval 'status_is 1 && jq_is .error.kind "\"action\"" && calls_are deploy 1 && calls_are remove_canary 0'

# unhealthy after the rollout: the roll-back checkpoint
mock_variant deploy '.health_check = {"healthy": false, "error_rate": 0.21}' unhealthy.json
MOCK=unhealthy.json start deploy
decide "$ITEM" approve --as sam
RB=$ITEM
check "deploy unhealthy: after the approved rollout it stops at the roll-back checkpoint" \
  eval 'status_is 3 && [ -n "$RB" ] && calls_are deploy 1 && calls_are roll_back 0'
check "deploy unhealthy: the checkpoint — title, sre, nothing editable, what it shows" \
  item_is "$RB" '[.title, .by, .editable, .payload.show.previous, .payload.show.health.error_rate]' \
  '["checkout 2.14.0 is unhealthy after the rollout: roll back to 2.13.2?","sre",[],"2.13.2",0.21]'
check "deploy unhealthy: a 30m deadline" \
  [ "$(opened_for "$RB")" = 1800 ]
refused "roll-back checkpoint: a non-member" "not a member of group sre" resume "$RB" approve --as bob
refused "roll-back checkpoint: modify without --set" "modify needs at least one --set" resume "$RB" modify --as sue
refused "roll-back checkpoint: modify of a name it does not edit" "not editable at this checkpoint" resume "$RB" modify --set 'regions=[]' --as sue
refused "roll-back checkpoint: a digest mismatch" "digest mismatch" resume "$RB" approve --as sue --digest $WRONG_DIGEST
decide "$RB" approve --as sue
check "roll-back approve: rolled back to 2.13.2 by the approve block (auto: approved, rule 40)" \
  eval 'status_is 0 && jq_is .result "{\"status\":\"rolled_back\",\"version\":\"2.13.2\",\"deployment\":\"D-4471\"}" && ev_is "[.[] | select(.kind == \"action\" and .name == \"roll_back\") | [.route, .rule, .args.version]]" "[[\"auto\",40,\"2.13.2\"]]"'
check "roll-back approve: roll_back called once, the channel told who decided" \
  eval 'calls_are roll_back 1 && grep "^$INST notify " "$HITL_WITNESS" | grep -qF "rolled back to 2.13.2, decided by sue"'

MOCK=unhealthy.json start deploy
decide "$ITEM" approve --as sam
decide "$ITEM" reject --reason "the error spike is the dashboard, not checkout" --as sue
check "roll-back reject: the reject block logs why, the release stays (deployed)" \
  eval 'status_is 0 && jq_is .result.status "\"deployed\"" && calls_are roll_back 0 && ev_is "[.[] | select(.kind == \"log\") | .message]" "[\"kept 2.14.0 although the health check failed: the error spike is the dashboard, not checkout\"]"'

MOCK=unhealthy.json start deploy
decide "$ITEM" approve --as sam
T=$(deadline "$ITEM")
expire_at "$T"
check "roll-back timeout: approved by timeout after 30 minutes, rolled back" \
  eval 'status_is 0 && jq_is "[.[].verdict]" "[\"approve\"]" && [ "$(inst_status)" = completed ] && calls_are roll_back 1'
check "roll-back timeout: the reason and the reviewer timeout in the log" \
  ev_is '[.[] | select(.kind == "verdict") | [.verdict, .reviewer, .reason]] | last' '["approve","timeout","unhealthy and no SRE answered within 30 minutes"]'
check "roll-back timeout: the channel names timeout as the decider" \
  eval 'grep "^$INST notify " "$HITL_WITNESS" | grep -qF "decided by timeout"'

# =====================================================================================
# mass-email (playbooks/mass-email.hitl): blast = recipients; rule 41 denies
# above max_recipients, 42 holds above leads_above for two marketing leads
# (1d timeout -> reject), 43 a doubtful content check for marketing, 44 the
# rest for any second person; a content problem first opens a checkpoint
# (expression form, subject editable, by "marketing").
# =====================================================================================
start mass-email
check "mass-email: three consenting recipients; the proof went out; the send held (rule 44, anyone)" \
  eval 'status_is 3 && calls_are send_proof 1 && calls_are send_campaign 0 && item_is "$ITEM" "[.by, .payload.rule.line, .payload.risk.blast, .payload.risk.confidence, .editable]" "[null,44,3,0.96,[\"subject\"]]"'
check "mass-email: the proof went to the seed list only" \
  eval '[ "$(args_of send_proof | jq -c ".[].recipients")" = "[\"proofs@example.com\",\"marketing-qa@example.com\"]" ]'
check "mass-email: who gets it — no one without consent or unsubscribed" \
  item_is "$ITEM" '.payload.args.recipients' '["ada@example.com","grace@example.com","barbara@example.com"]'
refused "mass-email: the starter" "may not decide" resume "$ITEM" approve --as agent
refused "mass-email: modify of the recipients (not editable)" "not an editable argument" resume "$ITEM" modify --set 'recipients=["x@example.com"]' --as mia
decide "$ITEM" approve --as bob
check "mass-email approve: sent to 3, 2 excluded" \
  eval 'status_is 0 && jq_is .result "{\"status\":\"sent\",\"sent\":3,\"excluded\":2,\"batch\":\"B-9081\"}" && calls_are send_campaign 1'

start mass-email
decide "$ITEM" modify --set 'subject="Spring sale: 20% off until Sunday"' --as mia
check "mass-email modify subject: the new subject reached send_campaign" \
  eval 'status_is 0 && [ "$(args_of send_campaign | jq -c ".[].subject")" = "\"Spring sale: 20% off until Sunday\"" ]'

start mass-email
decide "$ITEM" reject --reason "wrong segment" --as mia
check "mass-email reject: caught, status rejected, nothing sent" \
  eval 'status_is 0 && jq_is .result.status "\"rejected\"" && jq -e ".result.reason | contains(\"wrong segment\")" out >/dev/null && calls_are send_campaign 0'

mock_variant mass-email '.check_content.spam_score = 0.3' spammy.json
MOCK=spammy.json start mass-email
check "mass-email, spam score 0.3 (confidence 0.7 < 0.9): rule 43, marketing" \
  item_is "$ITEM" '[.by, .payload.rule.line, .payload.risk.confidence, .payload.risk.threshold]' '["marketing",43,0.7,0.9]'
refused "mass-email, marketing item: a non-member" "not a member of group marketing" resume "$ITEM" approve --as bob
decide "$ITEM" approve --as mia
check "mass-email, marketing item: a marketer approves, sent" eval 'status_is 0 && calls_are send_campaign 1'

# above leads_above (lowered per run): two marketing leads
start mass-email --param leads_above=2
L=$ITEM
check "mass-email, leads_above=2: the param is in the started event" ev_is '[.[] | select(.kind == "started") | .params]' '[{"leads_above":2}]'
check "mass-email, 3 > leads_above: rule 42, two marketing leads, 1d" \
  eval 'item_is "$L" "[.by, .quorum, .payload.rule.line]" "[\"marketing-leads\",2,42]" && [ "$(opened_for "$L")" = 86400 ]'
refused "mass-email, leads item: a marketer who is not a lead" "not a member of group marketing-leads" resume "$L" approve --as mia
decide "$L" approve --as lea
check "mass-email, leads item: one lead is not enough" eval 'status_is 3 && calls_are send_campaign 0'
decide "$L" approve --as leo
check "mass-email, leads item: the second lead sends it" eval 'status_is 0 && calls_are send_campaign 1 && jq_is .result.status "\"sent\""'
start mass-email --param leads_above=2
L=$ITEM
decide "$L" reject --reason "too close to the last campaign" --as leo
check "mass-email, leads item: one lead rejects, nothing sent" eval 'status_is 0 && jq_is .result.status "\"rejected\"" && calls_are send_campaign 0'
start mass-email --param leads_above=2
L=$ITEM
decide "$L" approve --as lea
expire_at "$(deadline "$L")"
check "mass-email, leads timeout: rejected in the name of timeout although one lead approved" \
  eval 'status_is 0 && jq_is "[.[] | [.item, .verdict]]" "[[$L,\"reject\"]]" && [ "$(inst_status)" = completed ] && calls_are send_campaign 0'
check "mass-email, leads timeout: the result carries the rule's reason" \
  ev_is '[.[] | select(.kind == "completed") | .result.reason]' '["the call of '"'"'send_campaign'"'"' was rejected: no two marketing leads signed off within a day"]'

# above max_recipients: denied, caught
start mass-email --param max_recipients=2
check "mass-email, max_recipients=2: denied (rule 41) without asking anyone, caught" \
  eval 'status_is 0 && jq_is "[.result.status, .pending]" "[\"denied\",[]]" && calls_are send_campaign 0'
check "mass-email deny: the action event says deny, rule 41, and the message" \
  ev_is '[.[] | select(.kind == "action" and .name == "send_campaign") | [.route, .rule, .error]]' '[["deny",41,"more than the most one send may reach: split the segment"]]'

# nobody may be mailed
mock_variant mass-email '.fetch_segment |= map(.consent = false)' nobody.json
MOCK=nobody.json start mass-email
check "mass-email, nobody consented: ends at once, no proof, no send" \
  eval 'status_is 0 && jq_is .result "{\"status\":\"nobody_to_mail\",\"sent\":0,\"excluded\":5}" && calls_are send_proof 0'

# the content check finds problems: the checkpoint first
mock_variant mass-email '.check_content.problems = ["2 broken links", "image without alt text"]' problems.json
MOCK=problems.json start mass-email
C=$ITEM
check "mass-email problems: the checkpoint (by marketing, subject editable) before any send" \
  eval 'status_is 3 && item_is "$C" "[.by, .editable, .payload.show[\"report.problems\"], .payload.show.recipients]" "[\"marketing\",[\"subject\"],[\"2 broken links\",\"image without alt text\"],3]" && calls_are send_campaign 0'
refused "mass-email problems: a non-member" "not a member of group marketing" resume "$C" approve --as lea
refused "mass-email problems: a digest mismatch" "digest mismatch" resume "$C" approve --as mia --digest $WRONG_DIGEST
decide "$C" approve --as mia
check "mass-email problems approve: on to the send's own approval" \
  eval 'status_is 3 && [ "$ITEM" != "$C" ] && item_is "$ITEM" ".payload.action" "\"send_campaign\""'
decide "$ITEM" approve --as bob
check "mass-email problems approve, send approve: sent" eval 'status_is 0 && calls_are send_campaign 1'

MOCK=problems.json start mass-email
decide "$ITEM" modify --set 'subject="Spring sale (links fixed)"' --as mia
check "mass-email problems modify: the edited subject is in the send's item" \
  eval 'status_is 3 && item_is "$ITEM" ".payload.args.subject" "\"Spring sale (links fixed)\""'
decide "$ITEM" approve --as bob
check "mass-email problems modify: and in the call" \
  eval 'status_is 0 && [ "$(args_of send_campaign | jq -c ".[].subject")" = "\"Spring sale (links fixed)\"" ]'

MOCK=problems.json start mass-email
decide "$ITEM" reject --reason "fix the links first" --as mia
check "mass-email problems reject: the verdict map says reject; stopped, nothing sent, no second item" \
  eval 'status_is 0 && jq_is "[.result, .pending]" "[{\"status\":\"stopped\",\"sent\":0,\"reason\":\"fix the links first\"},[]]" && calls_are send_campaign 0'

# =====================================================================================
# data-deletion (playbooks/data-deletion.hitl): the checkpoint (by "privacy",
# to_erase editable, 7d timeout -> reject) shows what will be erased and what
# a legal hold keeps; in its approve block one erase_records per system:
# rule 45 denies one touching a held record, 47 holds for the DPO a bulk one
# or one of a weakly matched identity (3d timeout -> reject), 48 runs it.
# =====================================================================================
start data-deletion
E=$ITEM
check "data-deletion: verified, found, stopped at the checkpoint before any erasure" \
  eval 'status_is 3 && calls_are verify_identity 1 && calls_are find_records 1 && calls_are erase_records 0'
check "data-deletion: the checkpoint — privacy, to_erase editable, 4 records to erase, 1 held" \
  item_is "$E" '[.by, .editable, (.payload.show.to_erase | map(.id)), (.payload.show.held | map(.id)), .payload.show["identity.method"]]' \
  '["privacy",["to_erase"],["C-1001","C-1001-notes","N-77812","T-5530"],["INV-2024-118"],"signed-in session"]'
check "data-deletion: a 7-day deadline" \
  [ "$(opened_for "$E")" = 604800 ]
refused "data-deletion: a non-member of privacy" "not a member of group privacy" resume "$E" approve --as dora
refused "data-deletion: the starter" "may not decide" resume "$E" approve --as agent
refused "data-deletion: a digest mismatch" "digest mismatch" resume "$E" approve --as pat --digest $WRONG_DIGEST
refused "data-deletion: modify to_erase with a non-list" "'to_erase' is list" resume "$E" modify --set 'to_erase="all"' --as pat
decide "$E" approve --as pat --digest "$(digest_of "$E")"
check "data-deletion approve: erased per system, the held invoice kept" \
  eval 'status_is 0 && jq_is "[.result.status, (.result.erased | map(.system)), (.result.kept | map(.id)), .result.filed]" "[\"erased\",[\"crm\",\"newsletter\",\"support\"],[\"INV-2024-118\"],\"DPO-REG-0451\"]"'
check "data-deletion approve: three erase calls, none in billing, all auto (rule 48)" \
  eval '[ "$(args_of erase_records | jq -c "map(.system)")" = "[\"crm\",\"newsletter\",\"support\"]" ] && ev_is "[.[] | select(.kind == \"action\" and .name == \"erase_records\") | [.route, .rule]] | unique" "[[\"auto\",48]]"'
check "data-deletion approve: the requester told, the response filed" eval 'calls_are notify_requester 1 && calls_are file_response 1'

start data-deletion
decide "$ITEM" modify --set 'to_erase=[{"system": "crm", "id": "C-1001", "kind": "profile", "legal_hold": false}]' --reason "the rest is covered by request DSR-2290" --as pat
check "data-deletion modify (narrowed to one record): one erase call with exactly that record" \
  eval 'status_is 0 && [ "$(args_of erase_records)" = "[{\"email\":\"ada@example.com\",\"system\":\"crm\",\"records\":[{\"system\":\"crm\",\"id\":\"C-1001\",\"kind\":\"profile\",\"legal_hold\":false}]}]" ]'
check "data-deletion modify: the verdict event carries the edit" \
  ev_is '[.[] | select(.kind == "verdict") | [.verdict, (.edits.to_erase | map(.id))]]' '[["modify",["C-1001"]]]'

# a reviewer's edit cannot erase a held record: rule 45 denies that call
start data-deletion
decide "$ITEM" modify --set 'to_erase=[{"system": "crm", "id": "C-1001", "kind": "profile", "legal_hold": false}, {"system": "billing", "id": "INV-2024-118", "kind": "invoice", "legal_hold": true}]' --as pat
check "data-deletion modify adding the held invoice: crm erased, billing denied and kept" \
  eval 'status_is 0 && [ "$(args_of erase_records | jq -c "map(.system)")" = "[\"crm\"]" ] && jq_is "[(.result.erased | map(.system)), (.result.kept | map([.id, .why]))]" "[[\"crm\"],[[\"INV-2024-118\",\"invoices are kept 10 years (tax law)\"],[\"INV-2024-118\",\"a record under legal hold may not be erased\"]]]"'
check "data-deletion: the billing call logged as denied by rule 45" \
  ev_is '[.[] | select(.kind == "action" and .name == "erase_records") | [.args.system, .route, .rule]]' '[["crm","auto",48],["billing","deny",45]]'

start data-deletion
decide "$ITEM" reject --reason "the requester's identity is disputed" --as pat
check "data-deletion reject: escalated with the reason, nothing erased" \
  eval 'status_is 0 && jq_is "[.result.status, .result.reason, .result.filed]" "[\"escalated\",\"the requester'"'"'s identity is disputed\",\"DPO-REG-0451\"]" && calls_are erase_records 0'
check "data-deletion reject: the requester told why" \
  eval 'grep "^$INST notify_requester " "$HITL_WITNESS" | grep -qF "needs more time: the requester'"'"'s identity is disputed"'

start data-deletion
E=$ITEM
expire_at "$(deadline "$E")"
check "data-deletion timeout: after 7 days rejected and escalated to the DPO" \
  eval 'status_is 0 && jq_is "[.[] | [.item, .verdict]]" "[[$E,\"reject\"]]" && calls_are erase_records 0 && ev_is "[.[] | select(.kind == \"completed\") | .result.reason]" "[\"no privacy officer decided within 7 days; escalated to the DPO\"]"'

# a weakly matched identity: every erasure also waits for the DPO (rule 47)
mock_variant data-deletion '.verify_identity.confidence = 0.7 | .verify_identity.method = "email link"' weakid.json
MOCK=weakid.json start data-deletion
decide "$ITEM" approve --as pat
R1=$ITEM
check "data-deletion, confidence 0.7: after privacy approves, the crm erasure waits for the DPO" \
  eval 'status_is 3 && calls_are erase_records 0 && item_is "$R1" "[.by, .payload.rule.line, .payload.args.system, .payload.risk.confidence, .editable]" "[\"dpo\",47,\"crm\",0.7,[\"records\"]]"'
refused "data-deletion, DPO item: privacy is not the DPO" "not a member of group dpo" resume "$R1" approve --as pat
decide "$R1" approve --as dora
R2=$ITEM
check "data-deletion, DPO approve: crm erased; newsletter waits" \
  eval 'status_is 3 && calls_are erase_records 1 && item_is "$R2" ".payload.args.system" "\"newsletter\""'
decide "$R2" modify --set 'records=[]' --reason "the newsletter provider erases it on its side" --as dora
R3=$ITEM
check "data-deletion, DPO modify: the newsletter call made with no records; support waits" \
  eval 'status_is 3 && [ "$(args_of erase_records | jq -c "map([.system, (.records | length)])")" = "[[\"crm\",2],[\"newsletter\",0]]" ] && item_is "$R3" ".payload.args.system" "\"support\""'
decide "$R3" reject --reason "ticket T-5530 is evidence in a complaint" --as dora
check "data-deletion, DPO reject: support kept with the reason, the run completes" \
  eval 'status_is 0 && calls_are erase_records 2 && jq_is "[(.result.erased | map(.system)), (.result.kept | map(.id))]" "[[\"crm\",\"newsletter\"],[\"INV-2024-118\",\"T-5530\"]]"'
check "data-deletion, DPO reject: the kept record says why" \
  eval 'jq -e ".result.kept[1].why | contains(\"ticket T-5530 is evidence in a complaint\")" out >/dev/null'
check "data-deletion, weak identity: four verdicts, in order" \
  ev_is '[.[] | select(.kind == "verdict") | [.verdict, .reviewer]]' '[["approve","pat"],["approve","dora"],["modify","dora"],["reject","dora"]]'

MOCK=weakid.json start data-deletion
decide "$ITEM" approve --as pat
R1=$ITEM
expire_at "$(deadline "$R1")"
check "data-deletion, DPO timeout: the crm erasure rejected after 3 days, kept; the next waits" \
  eval 'status_is 0 && jq_is "[.[] | [.item, .verdict]]" "[[$R1,\"reject\"]]" && [ "$(inst_status)" = suspended ] && calls_are erase_records 0'
ITEM=$("$HITLVM" pending --json | jq -r --arg i "$INST" '[.[] | select(.instance == $i)][0].id')
decide "$ITEM" reject --as dora
decide "$ITEM" reject --as dora
check "data-deletion, all three rejected: nothing erased, all kept" \
  eval 'status_is 0 && jq_is "[(.result.erased | length), (.result.kept | length)]" "[0,5]" && calls_are erase_records 0'

# bulk: above bulk_limit the DPO confirms although the identity is certain
start data-deletion --param bulk_limit=1
decide "$ITEM" approve --as pat
check "data-deletion, bulk_limit=1: crm (2 records) goes to the DPO (rule 47)" \
  eval 'status_is 3 && item_is "$ITEM" "[.payload.args.system, .payload.risk.blast, .payload.rule.line]" "[\"crm\",2,47]"'
decide "$ITEM" approve --as dora
check "data-deletion, bulk_limit=1: the single-record systems run auto" \
  eval 'status_is 0 && calls_are erase_records 3 && ev_is "[.[] | select(.kind == \"action\" and .name == \"erase_records\") | .route]" "[\"approve\",\"auto\",\"auto\"]"'

# an unverified requester: nothing found, nothing asked
mock_variant data-deletion '.verify_identity.verified = false' unverified.json
MOCK=unverified.json start data-deletion
check "data-deletion, unverified: ends at once, no search, no erasure" \
  eval 'status_is 0 && jq_is .result "{\"request\":\"DSR-2291\",\"status\":\"unverified\"}" && calls_are find_records 0 && calls_are erase_records 0'

# =====================================================================================
# the whole store after the walks
# =====================================================================================
hv pending --json
check "after the walks no item is left open" jq_is 'length' 0
hv audit verify
check "after the walks every hash chain verifies" status_is 0

finish
