#!/usr/bin/env bash
# Multi-host tests of `roster agent` on Linux network namespaces: five
# agents, each in a namespace of its own, on one bridge (in a namespace
# too), at 198.18.0.1..5:7946; faults are iptables rules inside an agent's
# namespace. Needs root; exits 77 (skipped) saying why when it cannot run.
#
#   netns_test.sh ROSTER_BINARY [CASE]...     (no CASE: all of them, in turn)
#   netns_test.sh ROSTER_BINARY list
#
# Each case is a function case_NAME on a cluster of its own, made and
# removed around it. test/netns/README.md describes them.
set -uo pipefail
# ip and iptables live in sbin, which a root shell may not have on PATH.
PATH=$PATH:/usr/sbin:/sbin

# ------------------------------------------------------------ settings

# How many times the others may declare a UDP-deaf member dead in
# UDP_DEAF_WINDOW_S. Empty: only recorded (the TCP fallback that keeps
# such a member alive is not built yet); set it (e.g. to 0, as
# NETNS_UDP_DEAF_MAX_DEATHS=0 in the environment) to assert it.
UDP_DEAF_MAX_DEATHS=${NETNS_UDP_DEAF_MAX_DEATHS:-}
UDP_DEAF_WINDOW_S=30

# Deadlines (seconds). The local profile: probes every 1 s (200 ms
# timeout), suspicion between 3 s (one confirmation) and 18 s (none) in a
# cluster of five; failed members retried every 5 s.
CRASH_DEADLINE_S=30
PARTITION_DEADLINE_S=40
HEAL_DEADLINE_S=30
# Past the local profile's gossip_to_the_dead (15 s): see case_partition.
PARTITION_HOLD_S=16

# ------------------------------------------------------------ cases

# form: five agents join through the seed and each sees all five alive;
# then one leaves (SIGTERM), exits 0, and the others report it left.
case_form() {
  cluster_up a b c d e
  local start rc name
  start=$(now_ms)
  kill_agent e TERM
  wait_for 15 "e to exit after SIGTERM" eval '! agent_running e'
  rc=$(agent_status e)
  [ "$rc" -eq 0 ] || fail "e exited $rc after SIGTERM (expected 0)"
  for name in a b c d; do
    wait_for 15 "$name to report e left" sees "$name" left e
  done
  say "e left gracefully; all four saw it left after $(secs $(($(now_ms) - start))) s"
}

# crash: SIGKILL one agent; every other one reports it failed (the event
# and its view), within CRASH_DEADLINE_S. Prints each detection time.
case_crash() {
  cluster_up a b c d e
  local others=(a b c d) name killed at first worst=0 line=""
  mark "${others[@]}"
  kill_agent e KILL
  killed=$(now_ms)
  say "killed e (SIGKILL) at $(addr e)"
  wait_for "$CRASH_DEADLINE_S" "every other agent to report e failed" \
    all_report failed e "${others[@]}"
  for name in "${others[@]}"; do
    sees "$name" dead e || fail "$name reported e failed but does not show it dead"
    at=$(events "$name" failed e | head -n 1)
    first=$(events "$name" suspected e | head -n 1)
    line+=" $name:$(secs $((at - killed)))s"
    [ -n "$first" ] && line+="(suspected $(secs $((first - killed)))s)"
    ((at - killed > worst)) && worst=$((at - killed))
  done
  say "crash detection after SIGKILL:$line"
  say "crash detected by all in $(secs "$worst") s (deadline $CRASH_DEADLINE_S s)"
}

side_sees() { # "VIEWERS" STATE SECONDS "TARGETS"
  local viewer
  for viewer in $1; do
    # shellcheck disable=SC2086  # TARGETS is a list
    sees_for "$viewer" "$2" "$3" $4 || return 1
  done
}

# partition: {a,b} and {c,d,e} lose everything between them (iptables in
# every namespace, both directions); each side declares the other failed.
# The partition holds until every death is PARTITION_HOLD_S old, past
# gossip_to_the_dead, so that healing rests on the retries of failed
# members alone. Then the rules go, and all five see everyone alive again.
case_partition() {
  cluster_up a b c d e
  local left="a b" right="c d e" cut start
  partition "$left" "$right"
  cut=$(now_ms)
  say "partitioned {$left} from {$right}"
  wait_for "$PARTITION_DEADLINE_S" "{$left} to show {$right} dead" \
    side_sees "$left" dead 0 "$right"
  wait_for "$PARTITION_DEADLINE_S" "{$right} to show {$left} dead" \
    side_sees "$right" dead 0 "$left"
  say "partition: each side showed the other dead after $(secs $(($(now_ms) - cut))) s"
  wait_for $((PARTITION_HOLD_S + 10)) "every death to be $PARTITION_HOLD_S s old" \
    eval "side_sees '$left' dead $PARTITION_HOLD_S '$right' &&
          side_sees '$right' dead $PARTITION_HOLD_S '$left'"
  # shellcheck disable=SC2086  # lists of names
  heal $left $right
  start=$(now_ms)
  say "healed after $(secs $((start - cut))) s of partition"
  wait_for "$HEAL_DEADLINE_S" "all five to see each other alive after the heal" \
    all_see_alive a b c d e
  say "heal: all five saw everyone alive after $(secs $(($(now_ms) - start))) s (deadline $HEAL_DEADLINE_S s)"
}

# udp_deaf: d drops every inbound UDP datagram (TCP still works). For now
# this records how often the others declare d dead in UDP_DEAF_WINDOW_S;
# with UDP_DEAF_MAX_DEATHS set it asserts a bound.
case_udp_deaf() {
  cluster_up a b c d e
  local others=(a b c e) name deaths=0 suspicions=0 n s by_d=0 line=""
  mark "${others[@]}" d
  ipt d -A INPUT -p udp -j DROP
  say "d drops inbound UDP; watching for $UDP_DEAF_WINDOW_S s"
  observe "$UDP_DEAF_WINDOW_S"
  for name in "${others[@]}"; do
    n=$(count_events "$name" failed d)
    s=$(count_events "$name" suspected d)
    deaths=$((deaths + n))
    suspicions=$((suspicions + s))
    line+=" $name: $n failed, $s suspected;"
  done
  for name in "${others[@]}"; do
    n=$(count_events d failed "$name")
    by_d=$((by_d + n))
  done
  line=${line%;}
  say "udp_deaf: in $UDP_DEAF_WINDOW_S s the others declared d dead $deaths times, suspected it $suspicions times (${line# })"
  say "udp_deaf: d declared the others dead $by_d times; a's view of d: $(view a | grep '^d ' || echo none)"
  if [ -n "$UDP_DEAF_MAX_DEATHS" ] && ((deaths > UDP_DEAF_MAX_DEATHS)); then
    fail "a UDP-deaf member was declared dead $deaths times (at most $UDP_DEAF_MAX_DEATHS allowed)"
  fi
}

# ------------------------------------------------------------ main

# The cases in the order this file defines them.
list_cases() { sed -n 's/^case_\([a-z0-9_]*\)() {$/\1/p' "${BASH_SOURCE[0]}"; }

if [ $# -lt 1 ]; then
  echo "usage: $0 ROSTER_BINARY [CASE]... | list" >&2
  exit 2
fi
export ROSTER
ROSTER=$(realpath -m "$1")
shift
# shellcheck source-path=SCRIPTDIR source=netns_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns_lib.sh"

if [ "${1:-}" = list ]; then
  list_cases
  exit 0
fi
cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(list_cases)
for c in "${cases[@]}"; do
  declare -F "case_$c" >/dev/null || {
    echo "netns: unknown case '$c' (cases: $(list_cases | tr '\n' ' '))" >&2
    exit 2
  }
done

NETNS_LOGBASE=$(mktemp -d "${TMPDIR:-/tmp}/roster-netns.$$.XXXXXX")
NETNS_LOGDIR=$NETNS_LOGBASE
trap netns_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
netns_preflight

total=$(now_ms)
for c in "${cases[@]}"; do
  NETNS_LOGDIR="$NETNS_LOGBASE/$c"
  mkdir -p "$NETNS_LOGDIR"
  say "case $c (prefix $NETNS_PREFIX)"
  started=$(now_ms)
  "case_$c"
  cluster_down
  say "case $c passed in $(secs $(($(now_ms) - started))) s"
done
NETNS_LOGDIR=$NETNS_LOGBASE
say "${#cases[@]} cases passed in $(secs $(($(now_ms) - total))) s"
