#!/usr/bin/env bash
# tests/cli/moderation.sh — the content moderation playbook
# (playbooks/moderation.hitl) walked through every approval and review item
# with each verdict (issue 6 item 7; LANGUAGE.md §6–7).  The helpers are in
# tests/cli/walks.bash.
#
#   BINDIR=bin bash tests/cli/moderation.sh
#
# What the shipped mock makes happen (fetch_reports gives three reports):
#   P-101 spam, confidence 0.97 >= 0.85: hide_post runs at once; the review
#         route (rule 38) opens a review item for the call; the author is
#         warned (W-1) in a `review … within 4h` block: a second review item
#   P-102 ok: closed, kept
#   P-103 harassment, 0.62: hide_post waits for approval by trust-safety
#         (rule 39); once approved, the warning (W-2) opens a review item and,
#         the author having 2 strikes, ban_author waits for two
#         trust-safety-leads (rule 37)
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store
# shellcheck source=tests/cli/walks.bash
. "$ROOT/tests/cli/walks.bash"

for r in "tom trust-safety" "tia trust-safety" "lee trust-safety-leads" "liv trust-safety-leads"; do
  set -- $r
  "$HITLVM" reviewers add "$1" --group "$2" >/dev/null || not_ok "reviewers add $1"
done
"$HITLVM" reviewers add bob --group audit >/dev/null

HIDE_101='hide_post("P-101", "commercial spam")'
WARN_101='Warning to spamco about post P-101 (commercial spam)'
HIDE_103='hide_post("P-103", "targeted harassment")'
WARN_103='Warning to troll42 about post P-103 (targeted harassment)'

# ---- 1. the whole walk: flag the route's review, pass a statement's review,
# approve the held hide and the ban, flag the last review --------------------------------
start moderation
check "run: suspended on the held hide of P-103 (exit 3)" eval 'status_is 3 && jq_is .status "\"suspended\""'
A=$(item_titled "$HIDE_101"); B=$(item_titled "$WARN_101"); C=$(item_titled "$HIDE_103")
check "run: two review items and one approval item are open" \
  eval '[ -n "$A" ] && [ -n "$B" ] && [ -n "$C" ] && [ "$(open_items review)" = "[$A,$B]" ] && [ "$(open_items approval)" = "[$C]" ]'
check "run: pending --json marks them by kind" \
  eval '"$HITLVM" pending --json | jq -e --argjson a $A --argjson c $C "(map(select(.id == \$a))[0].kind == \"review\") and (map(select(.id == \$c))[0].kind == \"approval\")" >/dev/null'
check "route review item: the call with its args and result, by trust-safety, 1d window" \
  eval 'item_true "$A" ".payload.calls == [{action: \"hide_post\", args: {post_id: \"P-101\", policy: \"commercial spam\"}, result: true}] and .by == \"trust-safety\"" && [ "$(opened_for "$A")" = 86400 ]'
check "statement review item: warn_author's call and result, 4h window" \
  eval 'item_true "$B" ".payload.calls == [{action: \"warn_author\", args: {author: \"spamco\", post_id: \"P-101\", policy: \"commercial spam\"}, result: \"W-1\"}] and .by == \"trust-safety\"" && [ "$(opened_for "$B")" = 14400 ]'
check "approval item: hide of P-103 by trust-safety, rule 39, confidence 0.62" \
  item_true "$C" '.kind == "approval" and .by == "trust-safety" and .payload.rule.line == 39 and .payload.risk.confidence == 0.62'
check "run: P-101 hidden and its author warned; P-103 not hidden yet; nobody banned" \
  eval '[ "$(args_of hide_post | jq -c "map(.post_id)")" = "[\"P-101\"]" ] && calls_are warn_author 1 && calls_are ban_author 0'
check "run: the hide of P-101 logged as routed review (rule 38)" \
  ev_is '[.[] | select(.kind == "action" and .name == "hide_post") | [.args.post_id, .route, .rule]]' '[["P-101","review",38]]'
check "run: two review_opened events" ev_is '[.[] | select(.kind == "review_opened")] | length' 2
refused "review: the starter may not decide it" "may not decide" resume "$A" pass --as agent
refused "review: a non-member of trust-safety" "not a member of group trust-safety" resume "$A" pass --as bob
refused "review: approve is not a review verdict" "" resume "$A" approve --as tom
refused "review: modify is not a review verdict" "" resume "$A" modify --set 'post_id="P-1"' --as tom
refused "review: a digest mismatch" "digest mismatch" resume "$A" pass --as tom --digest $WRONG_DIGEST
refused "approval: pass is not an approval verdict" "" resume "$C" pass --as tom

decide "$A" flag --reason "satire account, not spam" --as tom --digest "$(digest_of "$A")"
check "flag the route's review: the instance is still suspended on P-103 (exit 3)" \
  eval 'status_is 3 && [ "$(inst_status)" = suspended ]'
check "flag the route's review: undo restore_post called with the args and the result" \
  args_true restore_post '. == [{post_id: "P-101", policy: "commercial spam", result: true}]'
check "flag the route's review: an alert, a verdict event flag by tom with the reason, review_closed" \
  ev_true '([.[] | select(.kind == "alert")] | length >= 1) and ([.[] | select(.kind == "verdict") | [.verdict, .reviewer, .reason]] == [["flag","tom","satire account, not spam"]]) and ([.[] | select(.kind == "review_closed")] | length == 1)'
refused "flag: a second verdict on the closed review" "already" resume "$A" pass --as tia

decide "$B" pass --as tia
check "pass the warning's review: nothing undone, still suspended" \
  eval 'status_is 3 && calls_are retract_warning 0 && calls_are restore_post 1 && [ "$(open_items review)" = "[]" ]'

refused "the held hide: a non-member" "not a member of group trust-safety" resume "$C" approve --as lee
decide "$C" approve --as tom
D=$(item_titled "$WARN_103"); E=$(open_items approval | jq '.[0]')
check "approve the hide of P-103: hidden, warned (a review opens), the ban waits for two leads" \
  eval 'status_is 3 && calls_are hide_post 2 && calls_are warn_author 2 && [ -n "$D" ] && item_true "$E" ".payload.action == \"ban_author\" and .by == \"trust-safety-leads\" and .quorum == 2 and .payload.rule.line == 37"'
refused "the ban: a moderator who is not a lead" "not a member of group trust-safety-leads" resume "$E" approve --as tia
decide "$E" approve --as lee
check "the ban: one lead is not enough" eval 'status_is 3 && calls_are ban_author 0'
decide "$E" approve --as liv
check "the ban: two leads — banned; the body has ended with a review open: reviewing, exit 0" \
  eval 'status_is 0 && jq_is .status "\"reviewing\"" && [ "$(inst_status)" = reviewing ] && calls_are ban_author 1'
check "reviewing: the result is the body's" \
  out_true '.result == {hidden: ["P-101", "P-103"], kept: ["P-102"], banned: ["troll42"]}'
hv instances --status reviewing --json
check "instances --status reviewing lists it" jq_is "[.[] | select(.id == \"$INST\") | .status]" '["reviewing"]'
hv pending --as tia --json
check "pending --as tia: the open review" jq_is "[.[] | select(.instance == \"$INST\") | .id]" "[$D]"

decide "$D" flag --reason "the post quoted the harasser; troll42 reported it" --as tia
check "flag the last review: its flag block retracts warning W-2 with the reason; completed" \
  eval 'status_is 0 && args_true retract_warning ". == [{author: \"troll42\", warning: \"W-2\", why: \"the post quoted the harasser; troll42 reported it\"}]" && [ "$(inst_status)" = completed ]'
check "the whole walk: three reviews opened and closed, one completed event" \
  ev_true '([.[] | select(.kind == "review_opened")] | length == 3) and ([.[] | select(.kind == "review_closed")] | length == 3) and ([.[] | select(.kind == "completed")] | length == 1)'

# ---- 2. reject the held hide; the open reviews pass when their windows close -----------
start moderation
A=$(item_titled "$HIDE_101"); B=$(item_titled "$WARN_101"); C=$(item_titled "$HIDE_103")
decide "$C" reject --reason "reclaimed term, used within the community" --as tom
check "reject the hide of P-103: caught, report closed as kept, no warning, no ban; reviewing" \
  eval 'status_is 0 && jq_is .status "\"reviewing\"" && out_true ".result == {hidden: [\"P-101\"], kept: [\"P-102\", \"P-103\"], banned: []}" && calls_are warn_author 1 && calls_are ban_author 0'
check "reject: close_report says who kept it and why" \
  eval 'grep "^$INST close_report " "$HITL_WITNESS" | grep -qF "kept by a moderator: " && grep "^$INST close_report " "$HITL_WITNESS" | grep -qF "reclaimed term"'
TB=$(deadline "$B"); TA=$(deadline "$A")
expire_at $((TB - 1))
check "expire one second before the 4h window closes: nothing" eval 'status_is 0 && jq_is . "[]"'
expire_at "$TB"
check "expire at 4h: the warning's review passes in the name of timeout; still reviewing" \
  eval 'status_is 0 && jq_is "[.[] | [.item, .verdict]]" "[[$B,\"pass\"]]" && [ "$(inst_status)" = reviewing ]'
expire_at "$TA"
check "expire at 1d: the hide's review passes; completed, nothing undone" \
  eval 'status_is 0 && jq_is "[.[] | [.item, .verdict]]" "[[$A,\"pass\"]]" && [ "$(inst_status)" = completed ] && calls_are restore_post 0 && calls_are retract_warning 0'
check "the timeout's verdicts are logged" \
  ev_is '[.[] | select(.kind == "verdict") | [.verdict, .reviewer]]' '[["reject","tom"],["pass","timeout"],["pass","timeout"]]'

# ---- 3. the ban rejected, and its 2-day timeout ----------------------------------------
start moderation
decide "$(item_titled "$HIDE_103")" approve --as tom
E=$(open_items approval | jq '.[0]')
decide "$E" approve --as lee
decide "$E" reject --reason "first offence on this account" --as liv
check "ban rejected by one lead after another approved: caught and logged, reviewing" \
  eval 'status_is 0 && jq_is .status "\"reviewing\"" && calls_are ban_author 0 && out_true ".result.banned == []" && ev_true "[.[] | select(.kind == \"log\") | .message] | any(startswith(\"troll42 not banned\"))"'
for i in $(open_items review | jq '.[]'); do decide "$i" pass --as tia; done
check "all its reviews passed: completed" eval 'status_is 0 && [ "$(inst_status)" = completed ]'

start moderation
decide "$(item_titled "$HIDE_103")" approve --as tom
E=$(open_items approval | jq '.[0]')
expire_at "$(deadline "$E")"
check "ban timeout after 2 days: rejected in the name of timeout, not banned" \
  eval 'status_is 0 && ev_true "[.[] | select(.kind == \"verdict\" and .reviewer == \"timeout\") | .verdict] | index(\"reject\") != null" && calls_are ban_author 0'

hv audit verify
check "every hash chain verifies" status_is 0

finish
