#!/usr/bin/env bash
# tests/cli/explain.sh — golden `hitlc --explain` tables (TOOLS.md §1,
# docs/explain.md).
#
# Every tests/explain/NAME.hitl is explained twice: the table is compared
# with tests/explain/NAME.expected and the JSON (`--explain --json`, which
# must also parse as JSON) with NAME.json.expected.  Both must exit 0.  After
# an intended change to the analysis or its output, regenerate and review:
#
#   UPDATE_GOLDEN=1 BINDIR=bin bash tests/cli/explain.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLC" python3
cd "$ROOT" || exit 1

for src in tests/explain/*.hitl; do
  name=$(basename "$src" .hitl)
  "$HITLC" --explain "$src" >"$TMP/$name.out" 2>"$TMP/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    not_ok "$name: hitlc --explain exited $rc"
    show "$TMP/err"
    continue
  fi
  golden "$name" table "$TMP/$name.out" "tests/explain/$name.expected"

  "$HITLC" --explain --json "$src" >"$TMP/$name.json" 2>"$TMP/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    not_ok "$name: hitlc --explain --json exited $rc"
    show "$TMP/err"
    continue
  fi
  if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/$name.json" 2>"$TMP/err"; then
    ok "$name: the JSON parses"
  else
    not_ok "$name: the JSON does not parse"
    show "$TMP/err"
  fi
  golden "$name" JSON "$TMP/$name.json" "tests/explain/$name.json.expected"
done

# the exit statuses: 1 for a playbook with errors (and no table), 2 for usage
printf 'playbook bad "an error"\nlet = 5\n' >"$TMP/bad.hitl"
"$HITLC" --explain "$TMP/bad.hitl" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 1 ] && [ ! -s "$TMP/out" ]; then ok "errors: exit 1, no table"
else not_ok "errors: exit $rc (want 1), stdout $(wc -c <"$TMP/out") bytes (want 0)"; fi
"$HITLC" --explain >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 2 ]; then ok "no file: exit 2"; else not_ok "no file: exit $rc (want 2)"; fi
"$HITLC" --explain --json tests/explain/no_such_file.hitl >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 2 ]; then ok "missing file: exit 2"; else not_ok "missing file: exit $rc (want 2)"; fi

# the warnings of --explain are those of --check, and --strict makes them errors
"$HITLC" --explain tests/explain/refund.hitl >"$TMP/out" 2>"$TMP/err"
"$HITLC" --check tests/explain/refund.hitl >/dev/null 2>"$TMP/err.check"
if cmp -s "$TMP/err" "$TMP/err.check" && grep -q ':39:1: warning: irreversible' "$TMP/err"; then
  ok "refund: --explain warns as --check does"
else
  not_ok "refund: --explain and --check warn differently"
  show "$TMP/err"
fi
"$HITLC" --explain --strict tests/explain/refund.hitl >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 1 ]; then ok "refund: --strict --explain exits 1"; else not_ok "refund: --strict --explain exited $rc"; fi

finish
