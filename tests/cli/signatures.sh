#!/usr/bin/env bash
# tests/cli/signatures.sh — signed verdicts (issue 8; docs/hitlvm.md, "Signed
# verdicts"; docs/SECURITY.md): keygen, keys in the registry, signed groups,
# resume --sign / --signature refused when missing, forged or replayed, and
# audit verify re-verifying the stored signatures.
#
#   BINDIR=bin bash tests/cli/signatures.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
use_store
sig_of()    { sqlite3 "$DB" "SELECT ifnull(signature, 'NULL') FROM verdicts WHERE item = $1"; }

# ---- keygen ----------------------------------------------------------------------------
hv keygen alice
check "keygen: exit 0, the public key on stdout" eval 'status_is 0 && grep -qxE "[0-9a-f]{64}" out'
ALICE=$(cat out)
check "keygen: alice.key, mode 0600, 128 hex digits" \
  eval '[ "$(stat -c %a alice.key)" = 600 ] && grep -qxE "[0-9a-f]{128}" alice.key'
check "keygen: the key file ends with the public key" eval '[ "$(cut -c65-128 alice.key)" = "$ALICE" ]'
check "keygen: no store is made" eval '[ ! -e "$DB" ]'
before=$(cat alice.key)
hv keygen alice
check "keygen refuses to overwrite a key (exit 2, file unchanged)" \
  eval 'status_is 2 && err_has "never overwrites" && [ "$(cat alice.key)" = "$before" ]'
hv keygen mallory --json
MALLORY=$(jq -r .key out)
check "keygen --json" eval 'status_is 0 && [ "$(jq -r .file out)" = mallory.key ] && [ ${#MALLORY} = 64 ]'
hv keygen bob
BOB=$(cat out)
hv keygen
check "keygen without NAME: exit 2" status_is 2
hv keygen carl --sign alice.key
check "keygen takes no --sign: exit 2" status_is 2

# ---- playbooks, registry, signed groups ------------------------------------------------
cat >pay.hitl <<'EOF2'
playbook pay "a payment finance decides, signed"
input { amount: float }
checkpoint "Pay {amount}?" {
  show amount
  edit amount
  by "finance"
}
return amount
EOF2
cat >ship.hitl <<'EOF2'
playbook ship "anyone decides, unsigned"
checkpoint "Ship?" {
}
return "shipped"
EOF2
start() {
  hv run "$1" --input "${2:-{\}}" --as agent --json
  INST=$(jq -r .instance out 2>/dev/null)
  ITEM=$(jq -r '.pending[0].id // empty' out 2>/dev/null)
}

hv reviewers add alice --group finance --key "$ALICE"
hv reviewers add bob --group finance --key "$BOB"
hv reviewers add carol --group finance
hv reviewers group finance --json
check "a group is unsigned until marked" jq_is . '{"group":"finance","signed":false}'
hv reviewers group finance --signed --json
check "reviewers group G --signed" eval 'status_is 0 && jq_is . "{\"group\":\"finance\",\"signed\":true}"'
hv reviewers group finance
check "reviewers group G: its state" eval 'status_is 0 && out_has "finance: signed"'
hv reviewers list --signed
check "--signed goes with reviewers group only" status_is 2
hv pending --signed
check "--signed is no option of pending" status_is 2

start pay.hitl '{"amount": 10.0}'
P1=$ITEM
DIG=$(jq -r '.pending[0].digest' out)
refused "a signed group refuses a verdict without --sign" "requires signed verdicts" \
  resume "$P1" approve --as alice
refused "a member without a registered key cannot sign" "carol has no registered key" \
  resume "$P1" approve --as carol --sign alice.key
refused "another key (not the one registered for alice) is refused" "not the one registered for alice" \
  resume "$P1" approve --as alice --sign mallory.key
refused "bob's key in alice's name is refused" "not the one registered for alice" \
  resume "$P1" approve --as alice --sign bob.key
refused "a forged --signature is refused" "does not verify" \
  resume "$P1" approve --as alice --signature "$(printf '%0128d' 7)"
refused "a --signature that is not hex is refused" "128 hex digits" \
  resume "$P1" approve --as alice --signature xyz
refused "a missing key file is refused" "cannot read the key file" \
  resume "$P1" approve --as alice --sign nosuch.key
echo "not a key" > junk.key
refused "a malformed key file is refused" "not a key file" \
  resume "$P1" approve --as alice --sign junk.key
printf '%s%s\n' "$(cut -c1-64 bob.key)" "$(cut -c65-128 alice.key)" > mixed.key   # bob's seed, alice's public key
refused "a key file whose halves disagree is refused" "not a key file" \
  resume "$P1" approve --as alice --sign mixed.key
hv resume "$P1" approve --as alice --sign alice.key --digest "$DIG" --reason "looks right"
check "a valid signed verdict is accepted (exit 0)" status_is 0
SIG1=$(sig_of "$P1")
check "the signature is stored with the verdict (128 hex)" eval '[[ "$SIG1" =~ ^[0-9a-f]{128}$ ]]'

# the signed message, checked from outside: canonical JSON, sorted keys, no spaces
MSG=$(printf '{"digest":"%s","edits":null,"item":%s,"reason":"looks right","reviewer":"alice","verdict":"approve"}' "$DIG" "$P1")
# (OpenSSL 3 verifies raw Ed25519: the public key as DER, the message as is)
if command -v openssl >/dev/null && command -v xxd >/dev/null; then
  printf '%s' "$MSG" > msg.bin
  echo "$SIG1" | xxd -r -p > sig.bin
  echo "302a300506032b6570032100$ALICE" | xxd -r -p > pub.der
  if openssl pkey -pubin -inform DER -in pub.der -out pub.pem 2>/dev/null; then
    check "the signature verifies over the documented message (openssl)" \
      eval 'openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin >/dev/null 2>&1'
    printf '%s' "${MSG/looks right/looks wrong}" > msg2.bin
    check "openssl: the signature does not verify over another reason" \
      eval '! openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg2.bin -sigfile sig.bin >/dev/null 2>&1'
  fi
fi

# a replayed signature: alice's valid signature of item P1, given for P2
start pay.hitl '{"amount": 20.0}'
P2=$ITEM
refused "a signature replayed on another item is refused" "does not verify" \
  resume "$P2" approve --as alice --signature "$SIG1"
# a tampered message: the signature of "looks right", the reason changed
refused "a signature with a changed --reason is refused" "does not verify" \
  resume "$P2" approve --as alice --signature "$SIG1" --reason "changed"
refused "--sign and --signature together: usage" "together" \
  resume "$P2" approve --as alice --sign alice.key --signature "$SIG1"
hv resume "$P2" modify --set amount=15.5 --as bob --sign bob.key --reason "less"
check "a signed modify is accepted" eval 'status_is 0 && [[ "$(sig_of "$P2")" =~ ^[0-9a-f]{128}$ ]]'

# unsigned groups: no signature needed, but a given one is checked
start ship.hitl
S1=$ITEM
refused "on an unsigned item a bad signature is still refused" "does not verify" \
  resume "$S1" approve --as alice --signature "$SIG1"
refused "on an unsigned item a key not registered is refused" "not the one registered" \
  resume "$S1" approve --as alice --sign mallory.key
hv resume "$S1" approve --as bob --sign bob.key
check "a signed verdict on an unsigned item is accepted and stored" \
  eval 'status_is 0 && [[ "$(sig_of "$S1")" =~ ^[0-9a-f]{128}$ ]]'
start ship.hitl
S2=$ITEM
hv resume "$S2" approve --as carol
check "an unsigned verdict on an unsigned item is accepted" eval 'status_is 0 && [ "$(sig_of "$S2")" = NULL ]'

hv reviewers group finance --unsigned --json
check "reviewers group G --unsigned" jq_is .signed false
start pay.hitl '{"amount": 30.0}'
hv resume "$ITEM" approve --as carol
check "an unsigned group again takes unsigned verdicts" status_is 0

# ---- audit verify re-verifies the signatures -------------------------------------------
hv audit verify --json
check "audit verify: the chains and 3 signatures hold" jq_is '[.ok, .signatures, .bad_signature]' '[true,3,null]'
hv audit verify
check "audit verify (text) counts the signatures" eval 'status_is 0 && out_has "3 signatures valid"'
V1=$(sqlite3 "$DB" "SELECT id FROM verdicts WHERE item = $P1")
cp "$DB" clean.db
# flip the last hex digit of the first signature
sqlite3 "$DB" "UPDATE verdicts SET signature = substr(signature, 1, 127) || CASE substr(signature, 128) WHEN '0' THEN '1' ELSE '0' END WHERE item = $P1"
hv audit verify --json
check "audit verify names a signature altered in the database" \
  eval 'status_is 2 && jq_is "[.ok, .bad_signature.verdict]" "[false,$V1]" && err_has "verdict $V1 (item $P1, approve by alice)" && err_has "does not verify"'
cp clean.db "$DB"; rm -f "$DB-wal" "$DB-shm"
# a re-registered key makes the old signatures fail to verify: audit says so
hv reviewers add bob --key "$MALLORY"
hv audit verify
check "audit verify names a signature that no longer matches the registered key" \
  eval 'status_is 2 && err_has "by bob" && err_has "bob'"'"'s registered key"'
cp clean.db "$DB"; rm -f "$DB-wal" "$DB-shm"
hv audit verify
check "the restored store verifies" status_is 0

finish
