#!/usr/bin/env bash
# tests/crash/race.sh — two reviewers deciding the same item at the same
# moment (TOOLS.md §3): exactly one verdict wins, the other is told the item
# is already decided (exit 2), and the log holds one verdict for the item.
#
#   BINDIR=bin bash tests/crash/race.sh           (make test-crash)
#   RACE_ROUNDS=1000 bash tests/crash/race.sh
#
# Each round runs transfer.hitl to its first checkpoint (a fresh item), then
# starts two `hitlvm resume ITEM approve` processes that each spin until a
# file appears; the file is created once both are spinning.
set -u
# shellcheck source=tests/crash/lib.bash
. "$(dirname "$0")/lib.bash"
ROUNDS=${RACE_ROUNDS:-100}

"$HITLC" tests/crash/transfer.hitl -o "$tmp/transfer.hbc" || { not_ok "hitlc"; finish; }
wins=0 losses=0
for ((round = 1; round <= ROUNDS; round++)); do
  rc=0
  out=$("$HITLVM" run "$tmp/transfer.hbc" --input "{\"ref\": \"R-$round\", \"amount\": $round}" \
        --mock tests/crash/transfer.mock.json --as agent --json 2>"$tmp/err") || rc=$?
  if [ $rc -ne 3 ]; then not_ok "round $round: run exited $rc (expected 3)"; cat "$tmp/err"; continue; fi
  inst=$(jq -r .instance <<<"$out")
  item=$(jq -r '.pending[0].id' <<<"$out")
  digest=$(jq -r '.pending[0].digest' <<<"$out")
  rm -f "$tmp/go" "$tmp"/ready.*
  pids=()
  for who in bob carol; do
    (
      : >"$tmp/ready.$who"
      until [ -e "$tmp/go" ]; do :; done
      exec "$HITLVM" resume "$item" approve --as "$who" --digest "$digest" --json \
        >"$tmp/out.$who" 2>"$tmp/err.$who"
    ) &
    pids+=($!)
  done
  until [ -e "$tmp/ready.bob" ] && [ -e "$tmp/ready.carol" ]; do :; done
  : >"$tmp/go"
  codes=()
  for p in "${pids[@]}"; do
    wait "$p"
    codes+=($?)
  done
  won="" lost=""
  for i in 0 1; do
    who=$([ $i -eq 0 ] && echo bob || echo carol)
    case ${codes[$i]} in
      0|3) won="$won $who" ;;
      2) lost="$lost $who" ;;
      *) not_ok "round $round: $who exited ${codes[$i]}"; cat "$tmp/err.$who" ;;
    esac
  done
  if [ "$(wc -w <<<"$won")" -eq 1 ] && [ "$(wc -w <<<"$lost")" -eq 1 ]; then
    loser=${lost# }
    if grep -qi 'already decided' "$tmp/err.$loser"; then ok; else
      not_ok "round $round: $loser exited 2 without saying the item is already decided: $(cat "$tmp/err.$loser")"
    fi
    wins=$((wins + 1))
  else
    not_ok "round $round: exits ${codes[*]} (winners:${won:- none}, refused:${lost:- none})"
    cat "$tmp/err.bob" "$tmp/err.carol"
  fi
  n=$("$HITLVM" log "$inst" --json 2>>"$tmp/err" |
      jq -s --argjson item "$item" '[.[] | select(.kind == "verdict" and ((.item // .fields.item) == $item))] | length')
  if [ "$n" = 1 ]; then ok; else not_ok "round $round: $n verdict events for item $item in the log of $inst"; fi
done
echo "race: $ROUNDS rounds, $wins with exactly one winner"
finish
