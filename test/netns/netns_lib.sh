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
# host (a namespace), no default route anywhere and IPv6 off, so nothing
# can leave the bridge. An agent runs on a host: at first the host of its
# own name, and a case may start it again on another one (a move).

NETNS_PREFIX="rn$$"
NETNS_BRIDGE_NS="$NETNS_PREFIX-br"
NETNS_SUBNET=198.18.0
NETNS_PORT=7946
NETNS_PROFILE=local
NETNS_POLL_S=0.2

declare -a NETNS_CREATED=()  # namespaces this run made, in order
declare -a AGENTS=()         # agent names, in order of their addresses
declare -A HOST_NS=() HOST_IP=()    # per host: its namespace and address
declare -A AGENT_NS=() AGENT_IP=()  # per agent: those of the host it is on
declare -A AGENT_PID=()      # its current process
declare -A AGENT_GEN=()      # how many times it was started (its run files)
declare -a AGENT_JOBS=()     # the subshells that wait for the processes
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
  for pid in "${AGENT_JOBS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  for ((i = ${#NETNS_CREATED[@]} - 1; i >= 0; i--)); do
    ip netns del "${NETNS_CREATED[i]}" 2>/dev/null
  done
  NETNS_CREATED=()
  AGENTS=()
  HOST_NS=()
  HOST_IP=()
  AGENT_NS=()
  AGENT_IP=()
  AGENT_PID=()
  AGENT_GEN=()
  AGENT_JOBS=()
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
    [[ $ns =~ ^rn([0-9]+)-(br|[a-z0-9]+)$ ]] || continue
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

# host_add HOST N: a namespace for HOST with address 198.18.0.N/24 on
# eth0, its veth peer a port of the bridge.
host_add() {
  local host=$1 ns="$NETNS_PREFIX-$1"
  [ -z "${HOST_NS[$host]:-}" ] || fail "host $host exists already"
  netns_new "$ns"
  must ip -n "$NETNS_BRIDGE_NS" link add "port-$host" type veth peer name eth0 netns "$ns"
  must ip -n "$NETNS_BRIDGE_NS" link set "port-$host" master br0 up
  must ip -n "$ns" addr add "$NETNS_SUBNET.$2/24" dev eth0
  must ip -n "$ns" link set eth0 up
  HOST_NS[$host]=$ns
  HOST_IP[$host]="$NETNS_SUBNET.$2"
}

# place_agent NAME HOST: NAME's next start is on HOST (its namespace and
# address); `view NAME` asks it there.
place_agent() {
  [ -n "${HOST_NS[$2]:-}" ] || fail "no host $2"
  AGENT_NS[$1]=${HOST_NS[$2]}
  AGENT_IP[$1]=${HOST_IP[$2]}
}

# topology_up NAME...: a bridge namespace, and one host per agent NAME (of
# the same name) at 198.18.0.<i>, in order. The first NAME is the seed the
# others join through.
topology_up() {
  local name i=0
  netns_new "$NETNS_BRIDGE_NS"
  must ip -n "$NETNS_BRIDGE_NS" link add br0 type bridge forward_delay 0 stp_state 0
  must ip -n "$NETNS_BRIDGE_NS" link set br0 up
  for name in "$@"; do
    i=$((i + 1))
    host_add "$name" "$i"
    place_agent "$name" "$name"
    AGENTS+=("$name")
  done
  NETNS_SEED=$1
  if ip -n "$NETNS_BRIDGE_NS" route show default | grep -q . ||
    ip -n "${AGENT_NS[$1]}" route show default | grep -q .; then
    fail "a default route exists in a test namespace"
  fi
}

# ------------------------------------------------------------ agents

addr() { echo "${AGENT_IP[$1]}:$NETNS_PORT"; }

# agent_running NAME [GEN]: its process (of start GEN; by default the
# latest) has not exited (the subshell around it writes NAME.GEN.status
# when it does).
agent_running() { [ ! -e "$NETNS_LOGDIR/$1.${2:-${AGENT_GEN[$1]:-0}}.status" ]; }

# agent_status NAME [GEN]: its exit status, once it has exited.
agent_status() { cat "$NETNS_LOGDIR/$1.${2:-${AGENT_GEN[$1]:-0}}.status"; }

# start_agent NAME: `roster agent` on NAME's host, joining through the
# seed (unless it is the seed); stdout (the JSON events) to NAME.out,
# stderr to NAME.err, both appended to across restarts (a line on stderr
# says where each start begins). Waits until it listens. A subshell starts
# it and records its exit status, so that bash has no killed job of its
# own to report on stderr. Each start has its own pid and status files
# (NAME.GEN.*), so a start never mistakes the exit of the one before it
# (a leave still in progress, a SIGKILL not yet reaped) for its own.
start_agent() {
  local name=$1 before gen
  local args=(agent --name "$name" --bind "$(addr "$name")" --profile "$NETNS_PROFILE")
  local log="$NETNS_LOGDIR/$name"
  [ "$name" != "$NETNS_SEED" ] && args+=(--join "$(addr "$NETNS_SEED")")
  gen=$((${AGENT_GEN[$name]:-0} + 1))
  AGENT_GEN[$name]=$gen
  unset 'NETNS_DOWN[$name]'
  local run="$log.$gen"
  : >>"$log.err"
  : >>"$log.out"
  echo "netns: start $gen of $name at $(addr "$name") (${AGENT_NS[$name]})" >>"$log.err"
  before=$(grep -c "listening on" "$log.err")
  (
    ip netns exec "${AGENT_NS[$name]}" "$ROSTER" "${args[@]}" >>"$log.out" 2>>"$log.err" &
    echo $! >"$run.pid.new"
    mv "$run.pid.new" "$run.pid"
    wait $!
    echo $? >"$run.status"
  ) 2>/dev/null &
  AGENT_JOBS+=($!)
  wait_for 5 "$name's process to start" test -s "$run.pid"
  AGENT_PID[$name]=$(cat "$run.pid")
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
view() { views "$1" | cut -d ' ' -f 2-; }

# views VIEWER...: "VIEWER NAME STATE ..." (the fields of view) for every
# member each VIEWER reports, all read by one python (its start, not the
# queries, is most of the cost of a view).
views() {
  local viewer args=()
  for viewer in "$@"; do
    args+=("$viewer" "$(ip netns exec "${AGENT_NS[$viewer]}" "$ROSTER" members \
      "$(addr "$viewer")" --json --timeout 2 2>/dev/null)")
  done
  python3 -c '
import json, sys
args = sys.argv[1:]
for viewer, text in zip(args[0::2], args[1::2]):
    try:
        members = json.loads(text)["members"]
    except (ValueError, KeyError, TypeError):
        continue
    for m in members:
        print(viewer, m["name"], m["state"], m["incarnation"],
              m["changed_s_ago"], m["addr"], m["life"], m["reachability"],
              m["last_change"])
' "${args[@]}"
}

# view_of VIEWER MEMBER: MEMBER's line in VIEWER's view (nothing if VIEWER
# does not know it or does not answer).
view_of() { view "$1" | awk -v m="$2" '$1 == m'; }

# field LINE N: the Nth field of a view line (2 STATE, 3 INCARNATION,
# 4 SECONDS, 5 ADDR, 6 LIFE, 7 REACHABILITY, 8 LAST_CHANGE).
field() { awk -v n="$2" '{ print $n }' <<<"$1"; }

# all_see_at STATE MEMBER ADDR VIEWER...: each VIEWER reports MEMBER in
# STATE at ADDR.
all_see_at() {
  local state=$1 member=$2 at=$3
  shift 3
  views "$@" | awk -v state="$state" -v m="$member" -v at="$at" -v want="$*" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
    $2 == m && $3 == state && $6 == at { delete need[$1] }
    END { for (k in need) exit 1 }'
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
  views "$@" | awk -v want="$*" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) name[w[i]] = 1 }
    !($1 in name) { next }
    { rows[$1]++ }
    !($2 in name) || $3 != "alive" { bad = 1 }
    END {
      if (bad) exit 1
      for (v in name) if (rows[v] != n) exit 1
    }'
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

# member_events NAME MEMBER: "EVENT ADDR LIFE AT" (AT in ms since the
# epoch) for each of NAME's event lines about MEMBER since NAME's mark,
# oldest first.
member_events() {
  tail -n "+$((${NETNS_MARK[$1]:-0} + 1))" "$NETNS_LOGDIR/$1.out" |
    python3 -c '
import datetime, json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("member") != sys.argv[1]:
        continue
    at = datetime.datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    at = at.replace(tzinfo=datetime.timezone.utc)
    print(e["event"], e["addr"], e["life"], round(at.timestamp() * 1000))
' "$2"
}

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

# hold_alive SECONDS MEMBER ADDR VIEWER...: for SECONDS, asks every VIEWER
# again and again (every NETNS_POLL_S after a round) and fails at once if
# one does not report MEMBER alive at ADDR; HOLD_POLLS is how many rounds
# it made.
HOLD_POLLS=0
hold_alive() {
  local seconds=$1 member=$2 at=$3 start end viewer line lines
  shift 3
  start=$(now_ms)
  end=$((start + seconds * 1000))
  HOLD_POLLS=0
  while (($(now_ms) < end)); do
    check_agents_running
    lines=$(views "$@" | awk -v m="$member" '$2 == m')
    for viewer in "$@"; do
      line=$(awk -v v="$viewer" '$1 == v' <<<"$lines")
      { [ "$(field "$line" 3)" = alive ] && [ "$(field "$line" 6)" = "$at" ]; } ||
        fail "$viewer reports $member as '$(cut -d ' ' -f 2- <<<"${line:-- nothing}")' $(secs $(($(now_ms) - start))) s into the $seconds s hold (expected alive at $at)"
    done
    HOLD_POLLS=$((HOLD_POLLS + 1))
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
