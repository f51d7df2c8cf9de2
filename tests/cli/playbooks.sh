#!/usr/bin/env bash
# tests/cli/playbooks.sh — the example playbooks in playbooks/ run end to
# end with their mock and input files and give the results their mocks imply.
#
#   BINDIR=bin bash tests/cli/playbooks.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLVM" "$HITLC" jq
cd "$ROOT" || exit 1

# expect NAME JQ-FILTER-THAT-MUST-BE-TRUE [EXIT-STATUS, default 0]
expect() {
  local name=$1 filter=$2 want=${3:-0} args=()
  [ -f "playbooks/$name.input.json" ] && args+=(--input "@playbooks/$name.input.json")
  [ -f "playbooks/$name.mock.json" ] && args+=(--mock "playbooks/$name.mock.json")
  local out rc
  out=$("$HITLVM" run "playbooks/$name.hitl" "${args[@]}" --json --store "$TMP/store.db" 2>"$TMP/err")
  rc=$?
  if [ $rc -ne "$want" ]; then
    not_ok "$name: exit $rc (want $want)"; cat "$TMP/err"; echo "$out"; return
  fi
  if ! echo "$out" | jq -e "$filter" >/dev/null; then
    not_ok "$name: $filter is false for $out"; return
  fi
  ok "$name"
}

for f in playbooks/*.hitl; do
  if "$HITLC" --check "$f" 2>"$TMP/err"; then ok "$f checks clean"
  else not_ok "$f"; cat "$TMP/err"; fi
done

expect refund '.status == "completed" and .result == {"refunded": 120.5, "customer": "Ada Lovelace (A-1001)"}'
expect triage '.result == {"restarted": ["billing", "worker"], "paged": ["api"], "skipped": ["cache"]}'
expect invoices '.result.paid == 2 and .result.total_paid == 1275.5 and .result.tickets == ["T-1", "T-2"]'
# these stop for a person (exit 3); tests/cli/walks.sh walks them through every verdict
expect deploy '.status == "suspended" and (.pending | length) == 1 and .pending[0].by == "sre" and .pending[0].payload.action == "deploy" and .pending[0].payload.args.regions == ["eu-west-1", "us-east-1"]' 3
expect mass-email '.status == "suspended" and .pending[0].payload.action == "send_campaign" and .pending[0].payload.risk.blast == 3 and .pending[0].payload.args.recipients == ["ada@example.com", "grace@example.com", "barbara@example.com"]' 3
expect data-deletion '.status == "suspended" and .pending[0].by == "privacy" and .pending[0].editable == ["to_erase"] and (.pending[0].payload.show.to_erase | length) == 4 and (.pending[0].payload.show.held | map(.id)) == ["INV-2024-118"]' 3
expect moderation '.status == "suspended" and ([.pending[].kind] | sort) == ["approval", "review", "review"]' 3

# the playbooks written for issue 6 item 7 gate every irreversible call: no
# warning from --check, and --explain --strict exits 0
for name in deploy mass-email data-deletion moderation; do
  f=playbooks/$name.hitl
  if "$HITLC" --check "$f" 2>"$TMP/err" && [ ! -s "$TMP/err" ] && "$HITLC" --explain --strict "$f" >/dev/null 2>>"$TMP/err"; then
    ok "$f: no warning, --explain --strict clean"
  else not_ok "$f is not gated"; cat "$TMP/err"; fi
done

finish
