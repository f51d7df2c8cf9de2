#!/usr/bin/env bash
# Hostile input to hitlc: each case must end with a diagnostic (exit 1) or
# success, never a crash, a sanitizer report or a hang.
set -u
HITLC=${BINDIR:-bin}/hitlc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# case NAME EXPECTED-EXIT EXPECTED-STDERR-PHRASE (python3 writes $tmp/NAME.hitl)
check() {
  local name=$1 want=$2 phrase=$3
  timeout 60 "$HITLC" --check "$tmp/$name.hitl" >/dev/null 2>"$tmp/$name.err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "not ok - $name: exit $rc, want $want"; head -5 "$tmp/$name.err"; fail=$((fail + 1)); return
  fi
  if grep -q -e 'Sanitizer' -e 'runtime error:' "$tmp/$name.err"; then
    echo "not ok - $name: sanitizer report"; head -20 "$tmp/$name.err"; fail=$((fail + 1)); return
  fi
  if [ -n "$phrase" ] && ! grep -q -- "$phrase" "$tmp/$name.err"; then
    echo "not ok - $name: stderr lacks '$phrase'"; head -5 "$tmp/$name.err"; fail=$((fail + 1)); return
  fi
  echo "ok - $name"; pass=$((pass + 1))
}

python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
h = 'playbook p "hostile"\n'
def w(name, body, mode='w'):
    with open(f'{d}/{name}.hitl', 'wb') as f:
        f.write(body if isinstance(body, bytes) else body.encode())
w('brackets', h + 'let x = ' + '[' * 10000 + ']' * 10000 + '\n')
w('parens', h + 'let x = ' + '(' * 10000 + '1' + ')' * 10000 + '\n')
w('braces', h + 'if true ' + '{ if true ' * 5000 + '{}' + ' }' * 5000 + '\n')
w('unary', h + 'let x = ' + '- ' * 100000 + '1\n')
w('nots', h + 'let x = ' + 'not ' * 100000 + 'true\n')
w('sum', h + 'let x = ' + '1 + ' * 1000000 + '1\n')
w('long_string', h + 'let x = "' + 'a' * 10_000_000 + '"\nlog x\n')
w('long_comment', h + '#' + 'c' * 10_000_000 + '\nlog 1\n')
w('long_name', h + 'let ' + 'n' * 10_000_000 + ' = 1\n')
w('nul_bytes', (h + 'let x = 1\n').encode() + b'\x00' * 1000 + b'\nlog x\n')
w('bad_utf8', (h + 'let x = "').encode() + bytes(range(0x80, 0x100)) + b'"\n')
w('interp_nest', h + 'let x = ' + '"{' * 5000 + '1' + '}"' * 5000 + '\n')
w('many_errors', h + 'let x x\n' * 100000)
w('empty', '')
w('only_nl', '\n' * 100000)
PY

check brackets 1 "nested too deeply"
check parens 1 "nested too deeply"
check braces 1 "nested too deeply"
check unary 1 "nested too deeply"
check nots 1 "nested too deeply"
check sum 1 "nested too deeply"
check long_string 0 ""
check long_comment 0 ""
check long_name 0 ""
check nul_bytes 1 "NUL byte"
check bad_utf8 1 "invalid UTF-8"
check interp_nest 1 "nested too deeply"
check many_errors 1 "too many errors"
check empty 1 "unexpected end of file"
check only_nl 1 "unexpected end of file"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
