# shellcheck shell=bash
# The machinery of the netns suite (sourced by netns_test.sh): a private
# network of Linux network namespaces, `roster agent` processes in them,
# faults made with iptables, views read back with `roster members`, and
# polling with deadlines. Nothing here is in the root namespace: the bridge
# lives in a namespace of its own, and every veth end is created inside a
# namespace the run made. Every name carries this run's prefix (rn<PID>),
# so parallel runs never share one, and everything is removed on exit.
#
# Addresses: 198.18.0.1..N/24 (RFC 2544's benchmarking range), one per
# agent, no default route anywhere and IPv6 off, so nothing can leave the
# bridge.

NETNS_PREFIX="rn$$"
NETNS_BRIDGE_NS="$NETNS_PREFIX-br"
NETNS_SUBNET=198.18.0
NETNS_PORT=7946
NETNS_PROFILE=local
NETNS_POLL_S=0.2

declare -a NETNS_CREATED=()  # namespaces this run made, in order
declare -a AGENTS=()         # agent names, in order of their addresses
declare -A AGENT_NS=() AGENT_IP=()
declare -A AGENT_PID=()      # the roster process
declare -A AGENT_JOB=()      # the subshell that waits for it
declare -A NETNS_DOWN=()     # agents a case stopped on purpose
NETNS_SEED=""
NETNS_LOGBASE=""  # removed on exit
NETNS_LOGDIR=""   # this case's logs, under NETNS_LOGBASE

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
say() { echo "netns: $*"; }

skip() {
  echo "netns: SKIP: $*"
  exit 77
}

# ------------------------------------------------------------ failure, exit

dump_logs() {
  local name
  for name in "${AGENTS[@]}"; do
    if [ -n "${AGENT_PID[$name]:-}" ] && agent_running "$name"; then
      echo "---- $name's view now:"
      view "$name" | sed 's/^/    /'
    fi
  done
  for name in "${AGENTS[@]}"; do
    for f in "$NETNS_LOGDIR/$name.err" "$NETNS_LOGDIR/$name.out"; do
      [ -f "$f" ] || continue
      echo "---- $f (last 150 lines):"
      tail -n 150 "$f"
    done
  done
}

fail() {
  echo "netns: FAIL: $*"
  dump_logs
  exit 1
}

must() { "$@" || fail "command failed: $*"; }

# Kills every process in the namespaces this run made (the agents, and a
# query caught in flight), then deletes the namespaces; the veths and the
# bridge go with them.
cluster_down() {
  local name pid ns i
  for name in "${!AGENT_PID[@]}"; do
    kill -KILL "${AGENT_PID[$name]}" 2>/dev/null
  done
  for ((i = ${#NETNS_CREATED[@]} - 1; i >= 0; i--)); do
    ns=${NETNS_CREATED[i]}
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
  done
  for name in "${!AGENT_JOB[@]}"; do
    wait "${AGENT_JOB[$name]}" 2>/dev/null
  done
  for ((i = ${#NETNS_CREATED[@]} - 1; i >= 0; i--)); do
    ip netns del "${NETNS_CREATED[i]}" 2>/dev/null
  done
  NETNS_CREATED=()
  AGENTS=()
  AGENT_NS=()
  AGENT_IP=()
  AGENT_PID=()
  AGENT_JOB=()
  NETNS_DOWN=()
  NETNS_MARK=()
}

netns_cleanup() {
  local rc=$?
  trap - EXIT
  cluster_down
  [ -n "${NETNS_LOGBASE:-}" ] && rm -rf "$NETNS_LOGBASE"
  exit "$rc"
}

# A run killed outright (SIGKILL, e.g. a ctest timeout) cannot clean up:
# its namespaces carry its PID, so a later run removes those whose run is
# gone (and only those: a live run's PID still exists).
reap_stale() {
  local ns pid owner dir
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^rn([0-9]+)-(br|[a-z]+)$ ]] || continue
    owner=${BASH_REMATCH[1]}
    [ "$owner" = "$$" ] && continue
    kill -0 "$owner" 2>/dev/null && continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
    ip netns del "$ns" 2>/dev/null && say "removed stale namespace $ns"
  done
  for dir in "${TMPDIR:-/tmp}"/roster-netns.*.*; do
    [[ $dir =~ /roster-netns\.([0-9]+)\.[^/]*$ ]] || continue
    owner=${BASH_REMATCH[1]}
    [ "$owner" = "$$" ] || kill -0 "$owner" 2>/dev/null || rm -rf "$dir"
  done
}

# Root, iproute2 with working namespaces, veths and a bridge, and iptables
# inside a namespace; without them the suite cannot run and says why (77).
netns_preflight() {
  local probe="$NETNS_PREFIX-probe" out
  [ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (CI runs as root)"
  command -v ip >/dev/null || skip "needs ip (Debian package iproute2)"
  command -v iptables >/dev/null || skip "needs iptables (Debian package iptables)"
  [ -x "$ROSTER" ] || fail "no roster binary at '$ROSTER'"
  reap_stale
  out=$(ip netns add "$probe" 2>&1) || skip "ip netns add does not work here: $out"
  NETNS_CREATED+=("$probe")
  out=$(ip -n "$probe" link add "$NETNS_PREFIX-pb" type bridge 2>&1) ||
    skip "cannot create a bridge in a namespace: $out"
  out=$(ip -n "$probe" link add "$NETNS_PREFIX-pv" type veth peer name "$NETNS_PREFIX-pw" 2>&1) ||
    skip "cannot create a veth pair in a namespace: $out"
  out=$(ip netns exec "$probe" iptables -w -A INPUT -p udp -j DROP 2>&1) ||
    skip "iptables does not work inside a namespace: $out"
  cluster_down
}

# ------------------------------------------------------------ topology

netns_new() {
  local ns=$1
  ip netns list | awk '{print $1}' | grep -qx "$ns" && fail "namespace $ns already exists"
  must ip netns add "$ns"
  NETNS_CREATED+=("$ns")
  # No IPv6 (no router solicitations, no link-local chatter): only the
  # 198.18.0.0/24 addresses below ever carry a packet.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
  must ip -n "$ns" link set lo up
}

# topology_up NAME...: a bridge namespace, and one namespace per agent
# NAME with address 198.18.0.<i>/24 on eth0, its veth peer a port of the
# bridge. The first NAME is the seed the others join through.
topology_up() {
  local name ns i=0
  netns_new "$NETNS_BRIDGE_NS"
  must ip -n "$NETNS_BRIDGE_NS" link add br0 type bridge forward_delay 0 stp_state 0
  must ip -n "$NETNS_BRIDGE_NS" link set br0 up
  for name in "$@"; do
    i=$((i + 1))
    ns="$NETNS_PREFIX-$name"
    netns_new "$ns"
    must ip -n "$NETNS_BRIDGE_NS" link add "port-$name" type veth peer name eth0 netns "$ns"
    must ip -n "$NETNS_BRIDGE_NS" link set "port-$name" master br0 up
    must ip -n "$ns" addr add "$NETNS_SUBNET.$i/24" dev eth0
    must ip -n "$ns" link set eth0 up
    AGENTS+=("$name")
    AGENT_NS[$name]=$ns
    AGENT_IP[$name]="$NETNS_SUBNET.$i"
  done
  NETNS_SEED=$1
  if ip -n "$NETNS_BRIDGE_NS" route show default | grep -q . ||
    ip -n "${AGENT_NS[$1]}" route show default | grep -q .; then
    fail "a default route exists in a test namespace"
  fi
}

# ------------------------------------------------------------ agents

addr() { echo "${AGENT_IP[$1]}:$NETNS_PORT"; }

# agent_running NAME: its process has not exited (the subshell around it
# writes NAME.status when it does).
agent_running() { [ ! -e "$NETNS_LOGDIR/$1.status" ]; }

# agent_status NAME: its exit status, once it has exited.
agent_status() { cat "$NETNS_LOGDIR/$1.status"; }

# start_agent NAME: `roster agent` in NAME's namespace, joining through the
# seed (unless it is the seed); stdout (the JSON events) to NAME.out,
# stderr to NAME.err, both appended to across restarts. Waits until it
# listens. A subshell starts it and records its exit status, so that bash
# has no killed job of its own to report on stderr.
start_agent() {
  local name=$1 before
  local args=(agent --name "$name" --bind "$(addr "$name")" --profile "$NETNS_PROFILE")
  local log="$NETNS_LOGDIR/$name"
  [ "$name" != "$NETNS_SEED" ] && args+=(--join "$(addr "$NETNS_SEED")")
  : >>"$log.err"
  rm -f "$log.pid" "$log.status"
  before=$(grep -c "listening on" "$log.err")
  (
    ip netns exec "${AGENT_NS[$name]}" "$ROSTER" "${args[@]}" >>"$log.out" 2>>"$log.err" &
    echo $! >"$log.pid.new"
    mv "$log.pid.new" "$log.pid"
    wait $!
    echo $? >"$log.status"
  ) 2>/dev/null &
  AGENT_JOB[$name]=$!
  wait_for 5 "$name's process to start" test -s "$log.pid"
  AGENT_PID[$name]=$(cat "$log.pid")
  wait_for 10 "$name to listen on $(addr "$name")" \
    listening "$name" "$before"
}

listening() {
  agent_running "$1" || fail "agent $1 exited before listening"
  [ "$(grep -c "listening on" "$NETNS_LOGDIR/$1.err")" -gt "$2" ]
}

# kill_agent NAME SIGNAL: the agent is down on purpose from now on.
kill_agent() {
  NETNS_DOWN[$1]=1
  kill "-$2" "${AGENT_PID[$1]}" || fail "cannot signal $1"
}

# Fails if any agent that should be up has exited.
check_agents_running() {
  local name
  for name in "${AGENTS[@]}"; do
    [ -n "${AGENT_PID[$name]:-}" ] || continue
    [ -n "${NETNS_DOWN[$name]:-}" ] && continue
    agent_running "$name" ||
      fail "agent $name exited unexpectedly (status $(agent_status "$name"))"
  done
}

# ------------------------------------------------------------ views

# view VIEWER: "NAME STATE INCARNATION SECONDS ADDR LIFE REACHABILITY
# LAST_CHANGE" per member, as VIEWER reports it over TCP (`roster members
# --json`, run in VIEWER's namespace); SECONDS since the member's state
# last changed.
view() {
  ip netns exec "${AGENT_NS[$1]}" "$ROSTER" members "$(addr "$1")" --json --timeout 2 2>/dev/null |
    python3 -c '
import json, sys
try:
    members = json.load(sys.stdin)["members"]
except ValueError:
    sys.exit(0)
for m in members:
    print(m["name"], m["state"], m["incarnation"], m["changed_s_ago"],
          m["addr"], m["life"], m["reachability"], m["last_change"])
'
}

# sees VIEWER STATE TARGET...: VIEWER reports every TARGET in STATE.
sees() { sees_for "$1" "$2" 0 "${@:3}"; }

# sees_for VIEWER STATE SECONDS TARGET...: VIEWER reports every TARGET in
# STATE, and has for at least SECONDS.
sees_for() {
  local viewer=$1 state=$2 min=$3 v
  shift 3
  v=$(view "$viewer") || return 1
  awk -v state="$state" -v min="$min" -v want="$*" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
    $2 == state && $4 >= min { delete need[$1] }
    END { for (k in need) exit 1 }' <<<"$v"
}

# all_see_alive NAME...: each NAME reports exactly the NAMEs, all alive.
all_see_alive() {
  local viewer v
  for viewer in "$@"; do
    v=$(view "$viewer") || return 1
    [ "$(grep -c . <<<"$v")" -eq $# ] || return 1
    sees "$viewer" alive "$@" || return 1
  done
}

# ------------------------------------------------------------ events

# mark NAME...: from now on, events count only what each NAME prints after
# this point.
declare -A NETNS_MARK=()
mark() {
  local name
  for name in "$@"; do NETNS_MARK[$name]=$(wc -l <"$NETNS_LOGDIR/$name.out"); done
}

# events NAME EVENT MEMBER: the "at" times (ms since the epoch) of NAME's
# EVENT lines about MEMBER since NAME's mark, oldest first.
events() {
  local at
  tail -n "+$((${NETNS_MARK[$1]:-0} + 1))" "$NETNS_LOGDIR/$1.out" |
    grep -F "\"event\":\"$2\",\"member\":\"$3\"," |
    sed 's/.*"at":"\([^"]*\)".*/\1/' |
    while read -r at; do date -u -d "$at" +%s%3N; done
}

count_events() { events "$@" | grep -c .; }

# all_report EVENT MEMBER NAME...: each NAME has reported EVENT about
# MEMBER since its mark.
all_report() {
  local event=$1 member=$2 name
  shift 2
  for name in "$@"; do
    [ "$(count_events "$name" "$event" "$member")" -gt 0 ] || return 1
  done
}

# ------------------------------------------------------------ polling

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every NETNS_POLL_S until
# it succeeds; fails with WHAT and every agent's log if SECONDS pass first.
wait_for() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$(($(now_ms) + limit * 1000))
  until "$@"; do
    check_agents_running
    (($(now_ms) > deadline)) && fail "timed out after $limit s waiting for $what"
    sleep "$NETNS_POLL_S"
  done
}

# observe SECONDS: lets the cluster run for a fixed window (a measurement,
# not a wait for anything), failing at once if an agent exits meanwhile.
observe() {
  local end=$(($(now_ms) + $1 * 1000))
  while (($(now_ms) < end)); do
    check_agents_running
    sleep "$NETNS_POLL_S"
  done
}

# ------------------------------------------------------------ faults

ipt() { # NAME iptables-args...
  local name=$1
  shift
  must ip netns exec "${AGENT_NS[$name]}" iptables -w "$@"
}

# partition "A B" "C D E": each side drops everything to and from the
# other, in both sides' namespaces, every protocol.
partition() {
  local x y
  for x in $1; do
    for y in $2; do
      ipt "$x" -A INPUT -s "${AGENT_IP[$y]}" -j DROP
      ipt "$x" -A OUTPUT -d "${AGENT_IP[$y]}" -j DROP
      ipt "$y" -A INPUT -s "${AGENT_IP[$x]}" -j DROP
      ipt "$y" -A OUTPUT -d "${AGENT_IP[$x]}" -j DROP
    done
  done
}

# heal NAME...: removes every rule in those namespaces.
heal() {
  local name
  for name in "$@"; do
    ipt "$name" -F INPUT
    ipt "$name" -F OUTPUT
  done
}

# ------------------------------------------------------------ a cluster

# cluster_up NAME...: the topology, the seed (the first NAME) then the
# others, until every agent sees all of them alive.
FORMED_MS=0
cluster_up() {
  local name start
  topology_up "$@"
  start=$(now_ms)
  for name in "$@"; do start_agent "$name"; done
  wait_for 20 "all $# agents to see each other alive" all_see_alive "$@"
  FORMED_MS=$(($(now_ms) - start))
  say "$# agents formed a cluster in $(secs "$FORMED_MS") s (from the first start)"
}
