#!/usr/bin/env bash
# Regenerates bench/README.md (and its charts) from roster-sim runs: scale,
# accuracy against SWIM's analysis and the suspicion formula, and the
# Lifeguard experiment. Takes about 20 minutes on 2 cores.
#   bench/sim_report.sh            # everything
#   QUICK=1 bench/sim_report.sh    # 3 seeds instead of 10, no 10k run
set -euo pipefail
cd "$(dirname "$0")/.."
sim="${SIM:-build/tools/roster-sim}"
out=bench/results
mkdir -p "$out"
[ -x "$sim" ] || { echo "build first: cmake --build build" >&2; exit 1; }
seeds=10
[ "${QUICK:-0}" = 1 ] && seeds=3

echo "scale: 1,000 members, cold bootstrap, 10 crashes" >&2
$sim --quiet --nodes 1000 --bootstrap cold --crash 10 --crash-at 30 \
  --duration 120 --json "$out/cold1000.json" --svg bench/cold1000.svg >/dev/null

if [ "${QUICK:-0}" != 1 ]; then
  echo "scale: 10,000 members, converged bootstrap, 100 crashes" >&2
  $sim --quiet --scenario sim/scenarios/scale_10k.textproto \
    --json "$out/scale10k.json" --svg bench/scale10k.svg >/dev/null
fi

echo "accuracy: 100 members, 50 crashes spread over 600 s" >&2
$sim --quiet --nodes 100 --crash 50 --crash-at 30:570 --duration 600 \
  --json "$out/accuracy.json" >/dev/null

for delay in 2000 5000 10000 15000; do
  for seed in $(seq 1 $seeds); do
    for lg in on off; do
      flag=""; [ $lg = off ] && flag="--no-lifeguard"
      echo "lifeguard $lg: slow delay $delay ms, seed $seed" >&2
      $sim --quiet --nodes 100 --slow 5 --slow-delay-ms $delay --crash 5 \
        --crash-at 60:540 --duration 600 --seed $seed $flag \
        --json "$out/lifeguard-$delay-$seed-$lg.json" >/dev/null
    done
  done
done
$sim --quiet --nodes 100 --slow 5 --slow-delay-ms 5000 --crash 5 \
  --crash-at 60:540 --duration 600 --seed 1 --svg bench/lifeguard-on.svg >/dev/null
$sim --quiet --nodes 100 --slow 5 --slow-delay-ms 5000 --crash 5 \
  --crash-at 60:540 --duration 600 --seed 1 --no-lifeguard \
  --svg bench/lifeguard-off.svg >/dev/null

python3 bench/write_report.py "$out" "$seeds" > bench/README.md
echo "wrote bench/README.md" >&2
