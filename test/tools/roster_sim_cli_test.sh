#!/usr/bin/env bash
# roster-sim's command line: every bad flag or scenario gets a one-line
# error naming it and exit status 2; a good run writes its outputs.
set -uo pipefail
sim="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

expect_error() {
  local want="$1"; shift
  local out rc
  out="$("$sim" "$@" 2>&1 >/dev/null)"; rc=$?
  if [ "$rc" -ne 2 ] || ! grep -q -- "$want" <<<"$out"; then
    echo "FAIL: roster-sim $* -> rc $rc, stderr: $out (wanted '$want')"
    fail=1
  fi
}

expect_error "--nodes: 'x' is not an integer" --nodes x
expect_error "--nodes: 0 is out of range" --nodes 0
expect_error "unknown flag --bogus" --bogus
expect_error "--seed: '-1' is not a non-negative integer" --seed -1
expect_error "--profile" --profile moon
expect_error "--crash-at: FROM is after TO" --crash-at 50:10
expect_error "--latency-ms: '3' is not of the form A:B" --latency-ms 3
expect_error "--one-way-loss: FRACTION must be in" --one-way-loss 2:1.5
expect_error "--bootstrap: 'hot' is not cold or converged" --bootstrap hot
expect_error "at least one must live" --nodes 5 --crash 5
expect_error "faults\[0\].at_s" --duration 10 --crash-at 20
expect_error "cannot read" --scenario "$tmp/missing.textproto"
expect_error "--slow: needs --slow-delay-ms" --slow 2
expect_error "--partition-at: needs both" --partition-at 10
expect_error "--duration needs a value" --duration
expect_error "unexpected argument 'extra'" extra
expect_error "--latency-model: 'mesh' is not uniform or regions:R" --latency-model mesh
expect_error "--latency-model: R must be a whole number" --latency-model regions:0
printf 'nodes: 10\nfaults { at_s: 5 crash { members { count: 1 } }\n' > "$tmp/bad.textproto"
expect_error "bad.textproto: line" --scenario "$tmp/bad.textproto"
printf 'nodes: 10\nfaults { at_s: 5 pause { members { count: 1 } } }\n' > "$tmp/pause.textproto"
expect_error "faults\[0\].pause.for_s" --scenario "$tmp/pause.textproto"

# A good run writes JSON, CSV and SVG, and the same seed gives the same JSON
# outside "host".
for i in 1 2; do
  "$sim" --quiet --nodes 20 --duration 40 --crash 1 --crash-at 10 \
    --json "$tmp/$i.json" --csv "$tmp/$i.csv" --svg "$tmp/$i.svg" >/dev/null \
    || { echo "FAIL: good run exited $?"; fail=1; }
done
if ! diff <(grep -v '"host"' "$tmp/1.json") <(grep -v '"host"' "$tmp/2.json"); then
  echo "FAIL: JSON differs between identical runs"; fail=1
fi
grep -q '"detected_by_all": 1' "$tmp/1.json" || { echo "FAIL: crash not detected"; fail=1; }
grep -q '"coordinates": {"members": 19, "pairs": 171,' "$tmp/1.json" \
  || { echo "FAIL: no coordinates in the JSON"; fail=1; }
# Regions, and coordinates off: no coordinates section; JSON to stdout.
"$sim" --quiet --nodes 20 --duration 40 --latency-model regions:3 \
  --no-coordinates --json - > "$tmp/off.out" \
  || { echo "FAIL: regions run exited $?"; fail=1; }
grep -q '"bytes_per_node_s"' "$tmp/off.out" || { echo "FAIL: no JSON on stdout"; fail=1; }
if grep -q '"coordinates"' "$tmp/off.out"; then
  echo "FAIL: coordinates reported while off"; fail=1
fi
[ "$(wc -l < "$tmp/1.csv")" -eq 41 ] || { echo "FAIL: CSV rows"; fail=1; }
grep -q '<svg' "$tmp/1.svg" || { echo "FAIL: no SVG"; fail=1; }
exit $fail
