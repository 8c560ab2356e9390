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
# UDP_DEAF_WINDOW_S: none, since TCP probes keep such a member alive.
# NETNS_UDP_DEAF_MAX_DEATHS in the environment sets another bound; set to
# the empty string, the case only records.
UDP_DEAF_MAX_DEATHS=${NETNS_UDP_DEAF_MAX_DEATHS-0}
UDP_DEAF_WINDOW_S=30

# Moves and restarts of e. MOVE_DEADLINE_S: from e's new start until every
# other agent shows it alive at its new address (the aim is under 3 s);
# then it must stay so for MOVE_HOLD_S. MOVE_PAUSE_S: in quick_move,
# between e's SIGTERM and its new start (the scenario, not a wait for
# anything). RESTART_DEADLINE_S: from e's SIGKILL until every other agent
# has printed "restarted" for it (the aim is under 2 s).
MOVE_DEADLINE_S=10
MOVE_HOLD_S=15
MOVE_PAUSE_S=0.5
MOVE_HOST_IP=6  # the host e moves to: 198.18.0.6
RESTART_DEADLINE_S=8

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

# udp_deaf: d drops every inbound UDP datagram (TCP still works). The
# others probe it over TCP when UDP fails, so in UDP_DEAF_WINDOW_S they
# declare it dead at most UDP_DEAF_MAX_DEATHS times (none), and at the end
# a shows d alive and tcp-only. Prints the deaths of d and of the others.
case_udp_deaf() {
  cluster_up a b c d e
  local others=(a b c e) name t deaths=0 suspicions=0 n s by_d=0 among=0 line="" of_d tcp_only
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
    for t in "${others[@]}"; do
      [ "$t" = "$name" ] || among=$((among + $(count_events "$name" failed "$t")))
    done
  done
  for name in "${others[@]}"; do
    n=$(count_events d failed "$name")
    by_d=$((by_d + n))
  done
  line=${line%;}
  of_d=$(view_of a d)
  tcp_only=$(views "${others[@]}" | awk '$2 == "d" && $8 == "tcp-only" { printf " %s", $1 }')
  say "udp_deaf: in $UDP_DEAF_WINDOW_S s the others declared d dead $deaths times, suspected it $suspicions times (${line# })"
  say "udp_deaf: deaths of the others: $by_d declared by d, $among by each other; a's view of d: ${of_d:-none}; d is tcp-only to:${tcp_only:- nobody}"
  if [ -n "$UDP_DEAF_MAX_DEATHS" ]; then
    ((deaths <= UDP_DEAF_MAX_DEATHS)) ||
      fail "a UDP-deaf member was declared dead $deaths times (at most $UDP_DEAF_MAX_DEATHS allowed)"
    ((among == 0)) || fail "the members that hear UDP declared each other dead $among times"
    [ "$(field "$of_d" 2)" = alive ] || fail "a does not show d alive: '${of_d:-nothing}'"
    [ "$(field "$of_d" 7)" = tcp-only ] ||
      fail "a shows d's reachability as '$(field "$of_d" 7)', not tcp-only"
  fi
}

# The first event in NAME's lines since its mark that shows MEMBER alive
# at ADDR: "EVENT ADDR LIFE AT".
alive_at_event() { # NAME MEMBER ADDR
  member_events "$1" "$2" |
    awk -v at="$3" '$2 == at && ($1 == "joined" || $1 == "restarted" ||
                                 $1 == "updated" || $1 == "recovered") { print; exit }'
}

# move_e TERM|KILL: e, on its own host, is stopped with SIGTERM (a
# graceful leave; MOVE_PAUSE_S later it starts again) or SIGKILL (it
# starts again at once) on another host, e2, and joins through a. Every
# other agent must show it alive at its new address within MOVE_DEADLINE_S
# of that start, with a new life, and keep doing so for MOVE_HOLD_S.
move_e() {
  local sig=$1 others=(a b c d) name old_addr new_addr old_life new_life
  local old_gen killed started seen ev at worst=0 line="" left_line="" early n
  local left=0 failed=0 suspected=0
  cluster_up a b c d e
  host_add e2 "$MOVE_HOST_IP"
  old_addr=$(addr e)
  old_life=$(field "$(view_of a e)" 6)
  old_gen=${AGENT_GEN[e]}
  mark "${others[@]}"
  kill_agent e "$sig"
  killed=$(now_ms)
  [ "$sig" = TERM ] && sleep "$MOVE_PAUSE_S"  # the scenario: a quick move
  place_agent e e2
  new_addr=$(addr e)
  started=$(now_ms)
  say "e (life $old_life) got SIG$sig at $old_addr; starting it at $new_addr $(secs $((started - killed))) s later"
  start_agent e
  wait_for "$MOVE_DEADLINE_S" "every other agent to show e alive at $new_addr" \
    all_see_at alive e "$new_addr" "${others[@]}"
  seen=$(now_ms)
  for name in "${others[@]}"; do
    ev=$(alive_at_event "$name" e "$new_addr")
    [ -n "$ev" ] || fail "$name shows e alive at $new_addr but printed no event saying so"
    at=$(field "$ev" 4)
    line+=" $name:$(field "$ev" 1)@$(secs $((at - started)))s"
    ((at - started > worst)) && worst=$((at - started))
    # Not after its failure detection: nothing failed before the move.
    early=$(member_events "$name" e | awk -v t="$at" '$1 == "failed" && $4 <= t' | grep -c .)
    ((early == 0)) || fail "$name declared e failed before it took e's new start"
    if [ "$sig" = TERM ]; then
      at=$(member_events "$name" e | awk -v a="$old_addr" '$1 == "left" && $2 == a { print $4; exit }')
      if [ -n "$at" ]; then left_line+=" $name:$(secs $((at - killed)))s"; else left_line+=" $name:none"; fi
    fi
  done
  ((worst <= MOVE_DEADLINE_S * 1000)) || fail "e's move took $(secs "$worst") s (deadline $MOVE_DEADLINE_S s)"
  new_life=$(field "$(view_of a e)" 6)
  [ "$new_life" != "$old_life" ] || fail "a shows e at $new_addr with its old life $old_life"
  [ "$sig" = TERM ] && say "the old e's leave, seen (from the SIGTERM):$left_line"
  say "alive at $new_addr (event, from the new start):$line"
  say "every other agent showed e alive at $new_addr $(secs "$worst") s after its new start, $(secs $((worst + started - killed))) s after the SIG$sig (aim 3 s, deadline $MOVE_DEADLINE_S s; polled: $(secs $((seen - started))) s); life $old_life -> $new_life"

  mark "${others[@]}"
  hold_alive "$MOVE_HOLD_S" e "$new_addr" "${others[@]}"
  for name in "${others[@]}"; do
    n=$(count_events "$name" left e)
    left=$((left + n))
    failed=$((failed + $(count_events "$name" failed e)))
    suspected=$((suspected + $(count_events "$name" suspected e)))
  done
  ((left == 0 && failed == 0)) ||
    fail "during the hold the others printed $left left and $failed failed events for e"
  say "e stayed alive at $new_addr for $MOVE_HOLD_S s in all four views ($HOLD_POLLS rounds of polls): $left left, $failed failed, $suspected suspected events"
  if [ "$sig" = TERM ]; then
    agent_running e "$old_gen" && fail "the old e (SIGTERM at $old_addr) is still running"
    n=$(agent_status e "$old_gen")
    [ "$n" -eq 0 ] || fail "the old e exited $n after SIGTERM (expected 0)"
  fi
}

# quick_move: e leaves gracefully (SIGTERM); half a second later it starts
# on another host and joins through a (move_e).
case_quick_move() {
  move_e TERM
}

# hard_move: e is killed (SIGKILL) and starts at once on another host,
# joining through a: it finds its name held alive at the old address, checks
# that the holder is silent (a takeover) and replaces it, without waiting
# for the others to detect the crash (move_e).
case_hard_move() {
  move_e KILL
}

# fast_restart: e is killed (SIGKILL) and started again at the same address
# as soon as its process is gone (as a supervisor does). Every other agent
# prints "restarted" for it within RESTART_DEADLINE_S of the kill; a shows
# its last change as restarted, and a new life: the one e reports itself.
case_fast_restart() {
  cluster_up a b c d e
  local others=(a b c d) name old_life old_gen killed started at worst=0 line="" of_e self
  old_life=$(field "$(view_of a e)" 6)
  old_gen=${AGENT_GEN[e]}
  mark "${others[@]}"
  kill_agent e KILL
  killed=$(now_ms)
  NETNS_POLL_S=0.01 wait_for 5 "e's killed process to exit" eval "! agent_running e $old_gen"
  started=$(now_ms)
  say "e (life $old_life) killed (SIGKILL) at $(addr e); gone after $(secs $((started - killed))) s, starting it again"
  start_agent e
  wait_for "$RESTART_DEADLINE_S" "every other agent to print restarted for e" \
    all_report restarted e "${others[@]}"
  for name in "${others[@]}"; do
    at=$(events "$name" restarted e | head -n 1)
    line+=" $name:$(secs $((at - killed)))s"
    ((at - killed > worst)) && worst=$((at - killed))
    [ "$(count_events "$name" failed e)" -eq 0 ] || fail "$name declared e failed"
  done
  ((worst <= RESTART_DEADLINE_S * 1000)) ||
    fail "the last restarted event came $(secs "$worst") s after the kill (deadline $RESTART_DEADLINE_S s)"
  of_e=$(view_of a e)
  self=$(field "$(view_of e e)" 6)
  [ "$(field "$of_e" 8)" = restarted ] || fail "a shows e's last change as '$(field "$of_e" 8)', not restarted: $of_e"
  [ "$(field "$of_e" 6)" != "$old_life" ] || fail "a shows e with its old life $old_life: $of_e"
  [ "$(field "$of_e" 6)" = "$self" ] || fail "a shows e's life as $(field "$of_e" 6), e says $self"
  [ "$(field "$of_e" 5)" = "$(addr e)" ] || fail "a shows e at $(field "$of_e" 5), not $(addr e)"
  say "restarted, from the kill:$line"
  say "every other agent printed restarted for e $(secs "$worst") s after the SIGKILL (aim 2 s, deadline $RESTART_DEADLINE_S s); $(secs $((worst + killed - started))) s after the new start; a's view: $of_e (life was $old_life)"
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
