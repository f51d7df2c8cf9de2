# tests/cli/walks.bash — helpers for walking a playbook of $PB (default
# playbooks/) through its items: run it, decide its items, and look at its
# log, its items and the calls it really made (the witness file).  Source it
# after lib.bash and its use_store (it needs hv, check, out, err and the
# store).  Not a test itself (the Makefile runs tests/cli/*.sh);
# tests/cli/walks.sh and tests/cli/moderation.sh use it.

PB=${PB:-$ROOT/playbooks}
export HITL_WITNESS="$TMP/witness"
: >"$HITL_WITNESS"

# start NAME [RUN-OPTIONS...]: run playbooks/NAME.hitl as agent with its input
# file and its mock file (or $INPUT / $MOCK when set); $INST, $ITEM (the first
# pending item, empty if none)
start() {
  local name=$1; shift
  hv run "$PB/$name.hitl" --input "@${INPUT:-$PB/$name.input.json}" \
    --mock "${MOCK:-$PB/$name.mock.json}" --as agent --json "$@"
  INST=$(jq -r '.instance // empty' out 2>/dev/null)
  ITEM=$(jq -r '.pending[0].id // empty' out 2>/dev/null)
}
# decide ITEM VERDICT [OPTIONS...]: resume with --json; unless refused, $ITEM
# becomes the instance's next pending item (empty if none)
decide() {
  hv resume "$@" --json
  [ "$rc" -ne 2 ] && ITEM=$(jq -r '.pending[0].id // empty' out 2>/dev/null)
  return 0
}
# ev FILTER: jq FILTER over $INST's log as one array (compact)
ev()        { "$HITLVM" log "$INST" --json | jq -sc "$1"; }
ev_is()     { [ "$(ev "$1")" = "$2" ]; }
# calls ACTION: how often $INST really called ACTION; args_of ACTION: the
# arguments of those calls, as a JSON list
calls()     { grep -c "^$INST $1 " "$HITL_WITNESS"; }
args_of()   { grep "^$INST $1 " "$HITL_WITNESS" | cut -d' ' -f3- | jq -sc .; }
calls_are() { [ "$(calls "$1")" = "$2" ]; }
# item ITEM FILTER: jq FILTER over `show ITEM --json`
item()      { "$HITLVM" show "$1" --json | jq -c "$2"; }
item_is()   { [ "$(item "$1" "$2")" = "$3" ]; }
digest_of() { "$HITLVM" show "$1" --json | jq -r .digest; }
# opened_for ITEM: seconds from its creation to its deadline
opened_for() { "$HITLVM" show "$1" --json | jq '(.deadline | fromdateiso8601) - (.created | fromdateiso8601)'; }
# jq -e tests (numbers compared as numbers, whatever jq prints 620.0 as)
out_true()  { jq -e "$1" out >/dev/null 2>&1; }
ev_true()   { "$HITLVM" log "$INST" --json | jq -se "$1" >/dev/null 2>&1; }
item_true() { "$HITLVM" show "$1" --json | jq -e "$2" >/dev/null 2>&1; }
args_true() { args_of "$1" | jq -e "$2" >/dev/null 2>&1; }
# open_items [KIND]: the ids of $INST's open items (of KIND: approval, review), a JSON list
open_items() { "$HITLVM" pending --json | jq -c --arg i "$INST" --arg k "${1:-}" '[.[] | select(.instance == $i and ($k == "" or .kind == $k)) | .id]'; }
# item_titled TITLE: the id of $INST's open item with that title
item_titled() { "$HITLVM" pending --json | jq -r --arg i "$INST" --arg t "$1" '[.[] | select(.instance == $i and .title == $t) | .id][0] // empty'; }
inst_status() { "$HITLVM" instances --json | jq -r --arg i "$INST" '.[] | select(.id == $i) | .status'; }
# deadline ITEM: its deadline in Unix seconds
deadline()  { "$HITLVM" show "$1" --json | jq '.deadline | fromdateiso8601'; }
# expire_at SECONDS: hitlvm expire --now SECONDS --json, the list in out
expire_at() { hv expire --now "$1" --json; }
# variant NAME JQ-PROGRAM FILE: NAME's mock (or input) file changed by a jq program
mock_variant()  { jq "$2" "$PB/$1.mock.json" >"$3"; }
input_variant() { jq "$2" "$PB/$1.input.json" >"$3"; }
WRONG_DIGEST=0000000000000000000000000000000000000000000000000000000000000000
