#!/usr/bin/env bash
# The example playbooks in playbooks/ run end to end with their mock and
# input files and give the results their mocks imply.
set -u
HITLVM=${BINDIR:-bin}/hitlvm
HITLC=${BINDIR:-bin}/hitlc
cd "$(dirname "$0")/../.."
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME JQ-FILTER-THAT-MUST-BE-TRUE
expect() {
  local name=$1 filter=$2 args=()
  [ -f "playbooks/$name.input.json" ] && args+=(--input "@playbooks/$name.input.json")
  [ -f "playbooks/$name.mock.json" ] && args+=(--mock "playbooks/$name.mock.json")
  local out rc
  out=$("$HITLVM" run "playbooks/$name.hitl" "${args[@]}" --json --store "$tmp/store.db" 2>"$tmp/err")
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "not ok - $name: exit $rc"; cat "$tmp/err"; echo "$out"; fail=$((fail + 1)); return
  fi
  if ! echo "$out" | jq -e "$filter" >/dev/null; then
    echo "not ok - $name: $filter is false for $out"; fail=$((fail + 1)); return
  fi
  echo "ok - $name"; pass=$((pass + 1))
}

for f in playbooks/*.hitl; do
  if "$HITLC" --check "$f" 2>"$tmp/err"; then echo "ok - $f checks clean"; pass=$((pass + 1));
  else echo "not ok - $f"; cat "$tmp/err"; fail=$((fail + 1)); fi
done

expect refund '.status == "completed" and .result == {"refunded": 120.5, "customer": "Ada Lovelace (A-1001)"}'
expect triage '.result == {"restarted": ["billing", "worker"], "paged": ["api"], "skipped": ["cache"]}'
expect invoices '.result.paid == 2 and .result.total_paid == 1275.5 and .result.tickets == ["T-1", "T-2"]'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
