#!/bin/sh
# lns-policy.yaml: lensctl policy check and show on the examples
# (etc/lns-policy.yaml, etc/policy-examples/, regress/policy/good/) and
# on every file in regress/policy/bad/, whose exact error line is in
# the .err file beside it; and the JSON Schema (etc/lns-policy.schema.json)
# against the same files: it must accept every good one and refuse every
# bad one, except the bad ones whose first line says "# schema: accepts"
# (what a schema cannot express: duplicate keys, anchors, ...).
# Then the same on a few hundred one-value variants written by
# regress/policy/variants.py.
. "$(dirname "$0")/lib.sh"

LENSCTL=${LENSCTL:-$OBJ/lensctl}
R=$(cd "$(dirname "$0")/.." && pwd)
SCHEMA=$R/etc/lns-policy.schema.json
PY=/usr/bin/python3

GOOD=$(cd "$R" && ls etc/lns-policy.yaml etc/policy-examples/*.yaml \
    regress/policy/good/*.yaml)
BAD=$(cd "$R/regress/policy/bad" && ls *.yaml)
ngood=$(echo $GOOD | wc -w)
nbad=$(echo $BAD | wc -w)
tap_plan $((ngood * 4 + nbad * 2 + 29))
tmpdir_setup

if [ ! -x "$LENSCTL" ]; then
	echo "Bail out! $LENSCTL is not built"
	exit 1
fi
if ! $PY -c 'import jsonschema, yaml' 2>/dev/null; then
	echo "Bail out! $PY lacks jsonschema or yaml (make deps: python3-jsonschema python3-yaml)"
	exit 1
fi

# run lensctl ARGS: sets $rc, $T/out, $T/err
run() {
	"$LENSCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# the schema's verdict on each file, one "FILE valid|invalid: ..." line
cd "$R" || exit 1
$PY regress/policy/schemacheck.py "$SCHEMA" $GOOD >"$T/schema.good" 2>&1
(cd regress/policy/bad && $PY ../schemacheck.py "$SCHEMA" $BAD) \
    >"$T/schema.bad" 2>&1

for f in $GOOD; do
	run policy check "$f"
	# ok, or valid with one warning line per feature not enforced yet
	n=$(grep -c "^lensctl: $f: warning: " "$T/err")
	[ "$rc" -eq 0 ] && { [ "$(cat "$T/out")" = "$f: ok" ] &&
	    [ ! -s "$T/err" ] || { [ "$n" -gt 0 ] &&
	    [ "$n" -eq "$(wc -l <"$T/err")" ] &&
	    grep -Eqx "$f: valid, but $n features? not enforced by lens .* \(warnings above\)" "$T/out"; }; }
	ok $? "check $f: ok ($(cat "$T/out"))"
	[ "$rc" -eq 0 ] || diag "exit $rc" "$(cat "$T/err")"

	run policy show "$f"
	cp "$T/out" "$T/show1"
	$PY -c 'import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t)
assert t == json.dumps(j, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False) + "\n", "not canonical"
assert j["version"] == 1' "$T/out" 2>"$T/py.err"
	[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]
	ok $? "show $f: canonical JSON"
	[ -s "$T/py.err" ] && diag "$(tail -n 1 "$T/py.err")"

	run policy show "$f"
	cmp -s "$T/out" "$T/show1"
	ok $? "show $f: the same twice"

	line=$(grep "^$f " "$T/schema.good")
	[ "$line" = "$f valid" ]
	ok $? "schema accepts $f"
	[ "$line" = "$f valid" ] || diag "$line"
done

cd "$R/regress/policy/bad" || exit 1
for f in $BAD; do
	want=$(cat "${f%.yaml}.err")
	run policy check "$f"
	got=$(cat "$T/err")
	[ "$rc" -eq 1 ] && [ "$got" = "$want" ] && [ ! -s "$T/out" ]
	ok $? "check $f: $want"
	[ "$rc" -eq 1 ] && [ "$got" = "$want" ] ||
	    diag "exit $rc (want 1)" "got:  $got" "want: $want"

	line=$(grep "^$f " "$T/schema.bad")
	if head -n 1 "$f" | grep -q '^# schema: accepts'; then
		[ "$line" = "$f valid" ]
		ok $? "schema accepts $f too ($(head -n 1 "$f" |
		    sed 's/^# schema: accepts //'))"
	else
		case $line in
		"$f invalid: "*) ok 0 "schema refuses $f" ;;
		*) ok 1 "schema refuses $f"; diag "$line" ;;
		esac
	fi
done
cd "$T" || exit 1

# variants: parser and schema agree, or the parser alone refuses
mkdir variants
$PY "$R/regress/policy/variants.py" variants
ok $? "variants written"
(cd variants && $PY "$R/regress/policy/schemacheck.py" "$SCHEMA" *.yaml) \
    >variants.schema 2>&1
while read -r name want; do
	if "$LENSCTL" policy check "variants/$name" >/dev/null 2>&1; then
		echo "$name valid"
	else
		echo "$name invalid"
	fi
done <variants/expect.txt >variants.parser
set -- $($PY -c 'import sys
p = dict(l.split()[:2] for l in open("variants.parser"))
s = dict((l.split()[0], l.split()[1].rstrip(":")) for l in open("variants.schema"))
agree = strict = 0
bad = []
for l in open("variants/expect.txt"):
    n, w = l.split()
    if w == "agree":
        agree += 1
        ok = p[n] == s.get(n)
    else:
        strict += 1
        ok = p[n] == "invalid" and s.get(n) == "valid"
    if not ok:
        bad.append("%s(parser:%s,schema:%s,want:%s)" % (n, p[n], s.get(n), w))
print(agree, strict, *bad)')
nagree=$1 nstrict=$2
shift 2
bad="$*"
[ -z "$bad" ] && [ "$nagree" -gt 200 ]
ok $? "$nagree variants: parser and schema agree; $nstrict refused by the parser alone"
[ -z "$bad" ] || diag $bad
[ "$(grep -c ' valid$' variants.schema)" -gt 50 ] &&
    [ "$(grep -c ' invalid: ' variants.schema)" -gt 100 ]
ok $? "variants: many valid and many invalid ones"

# the model of the commented example, exactly
run policy show "$R/etc/lns-policy.yaml"
cmp -s "$T/out" "$R/regress/policy/lns-policy.json"
ok $? "show etc/lns-policy.yaml: the expected model"
[ $? -eq 0 ] || diff "$R/regress/policy/lns-policy.json" "$T/out" | diag "$(cat)"

# what this version parses but does not enforce: a warning each, exit
# 0; --strict fails; the commented example uses only what works
run policy check "$R/etc/lns-policy.yaml"
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$R/etc/lns-policy.yaml: ok" ] && [ ! -s "$T/err" ]
ok $? "etc/lns-policy.yaml: ok, nothing it shows is unenforced"
A=$R/etc/policy-examples/ask.yaml
run policy check "$A"
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]
ok $? "ask.yaml: no warning: host, tcp and request rule asks are all held ($(head -n 1 "$T/err"))"
run policy check --strict "$A"
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$A: ok" ]
ok $? "--strict: exit $rc ($(tail -n 1 "$T/err"))"
printf '%s\n' 'version: 1' 'network:' '  egress:' '    udp:' \
    '      - {match: "198.18.0.53:5353", verdict: allow}' \
    '      - {match: "198.18.0.54:5353", verdict: deny}' >udp.yaml
run policy check --strict udp.yaml
[ "$rc" -eq 1 ] && grep -q '^lensctl: udp.yaml: warning: network.egress.udp\[0\] (198.18.0.53:5353): udp rules are not enforced' "$T/err" &&
    [ "$(grep -c warning: "$T/err")" -eq 1 ]
ok $? "a udp allow rule: warned (a deny is what happens anyway: not)"
run policy check --strict "$R/etc/policy-examples/minimal.yaml"
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]
ok $? "--strict on a policy of enforced features: exit 0"

# several files: every one reported, exit 1 if any is bad
run policy check "$R/etc/policy-examples/minimal.yaml" \
    "$R/regress/policy/bad/version-2.yaml" "$R/etc/policy-examples/ask.yaml"
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/out")" -eq 2 ] &&
    grep -q "version-2.yaml:1:10: version: 2 is not supported" "$T/err"
ok $? "check good bad good: two ok lines, one error, exit 1"

# size: exactly POLICY_MAXSIZE is read, one byte more is refused
{ echo "version: 1"; i=0; while [ $i -lt 1200 ]; do
	echo "# padding padding padding padding padding padding padding"
	i=$((i + 1)); done; } | head -c 61440 >max.yaml
printf '\n' >>max.yaml
head -c 61440 max.yaml >exact.yaml
run policy check exact.yaml
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "exact.yaml: ok" ]
ok $? "a file of exactly 61440 bytes is read"
run policy check max.yaml
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "max.yaml: larger than 61440 bytes" ]
ok $? "61441 bytes: $(cat "$T/err")"

# a big file from a pipe is refused the same way, without reading it all
yes '# padding' | head -c 10000000 | { echo 'version: 1'; cat; } >big.yaml
run policy check big.yaml
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "big.yaml: larger than 61440 bytes" ]
ok $? "10 MB: refused"
run policy check /dev/stdin <big.yaml
[ "$rc" -eq 1 ] && grep -q "larger than 61440 bytes" "$T/err"
ok $? "10 MB on stdin: refused"

# files that cannot be read
run policy check nonexistent.yaml
[ "$rc" -eq 1 ] &&
    [ "$(cat "$T/err")" = "nonexistent.yaml: No such file or directory" ]
ok $? "missing file: $(cat "$T/err")"
mkdir adir
run policy check adir
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "adir: Is a directory" ]
ok $? "a directory: $(cat "$T/err")"

# UTF-16 with a byte order mark, a NUL byte, a lone surrogate, overlong
printf '\377\376v\000e\000r\000\n\000' >utf16.yaml
run policy check utf16.yaml
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "utf16.yaml:1:1: not UTF-8 (byte 0xff)" ]
ok $? "UTF-16: $(cat "$T/err")"
printf 'version: 1\nnetwork: {defaultVerdict: de\000ny}\n' >nul.yaml
run policy check nul.yaml
[ "$rc" -eq 1 ] && grep -q '^nul.yaml:2:' "$T/err"
ok $? "raw NUL: $(cat "$T/err")"
printf 'version: 1\n# \355\240\200\n' >surrogate.yaml
run policy check surrogate.yaml
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "surrogate.yaml:2:3: not UTF-8 (byte 0xed)" ]
ok $? "UTF-8 surrogate: $(cat "$T/err")"
printf 'version: 1\n# \300\257\n' >overlong.yaml
run policy check overlong.yaml
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "overlong.yaml:2:3: not UTF-8 (byte 0xc0)" ]
ok $? "overlong UTF-8: $(cat "$T/err")"
printf 'version: 1\nnetwork: {defaultVerdict: "de\\0ny"}\n' >escnul.yaml
run policy check escnul.yaml
[ "$rc" -eq 1 ] && grep -q 'contains a NUL byte\|is not one of' "$T/err"
ok $? "escaped NUL: $(cat "$T/err")"

# a billion laughs is refused at its first anchor, quickly
{ echo 'version: 1'; echo 'a: &a ["lol","lol","lol","lol","lol","lol"]'
  p=a; for n in b c d e f g h i j; do
	echo "$n: &$n [*$p,*$p,*$p,*$p,*$p,*$p,*$p,*$p,*$p]"; p=$n; done; } >laughs.yaml
run policy check laughs.yaml
[ "$rc" -eq 1 ] &&
    [ "$(cat "$T/err")" = "laughs.yaml:2:4: anchors (&a) are not allowed" ]
ok $? "billion laughs: $(cat "$T/err")"

# usage
run policy check
[ "$rc" -eq 2 ] && grep -q 'usage: lensctl \[-v\] policy check \[--strict\] file' "$T/err"
ok $? "check without a file: usage, exit 2"
run policy show a b
[ "$rc" -eq 2 ]
ok $? "show with two files: usage, exit 2"
run policy show "$R/regress/policy/bad/verdict-typo.yaml"
[ "$rc" -eq 1 ] && grep -q 'verdict-typo.yaml:8:18: network.egress.http\[1\].verdict: "alow" is not one of allow, deny, ask' "$T/err" &&
    [ ! -s "$T/out" ]
ok $? "show of a bad file: the error, exit 1"
run policy frobnicate x
[ "$rc" -eq 2 ] && grep -q 'unknown command: policy frobnicate' "$T/err"
ok $? "unknown policy command: exit 2"

# lensctl run --policy validates before it talks to lensvmm (exit 125)
mkdir rootfs
run -s "$T/no.sock" run --rootfs "$T/rootfs" \
    --policy "$R/regress/policy/bad/verdict-typo.yaml" -- true
[ "$rc" -eq 125 ] && [ "$(cat "$T/err")" = "$R/regress/policy/bad/verdict-typo.yaml:8:18: network.egress.http[1].verdict: \"alow\" is not one of allow, deny, ask" ]
ok $? "run --policy with a bad file: the error, exit 125"
run -s "$T/no.sock" run --rootfs "$T/rootfs" --policy "$T/none.yaml" -- true
[ "$rc" -eq 125 ] && grep -q -- "--policy $T/none.yaml: No such file" "$T/err"
ok $? "run --policy with a missing file: exit 125"
run -s "$T/no.sock" run --rootfs "$T/rootfs" \
    --policy "$R/etc/lns-policy.yaml" -- true
[ "$rc" -eq 125 ] && grep -q "cannot connect" "$T/err" &&
    ! grep -q policy "$T/err"
ok $? "run --policy with a good file gets as far as connecting"

tap_done
