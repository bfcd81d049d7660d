#!/usr/bin/env bash
# Simulated hosts for dbaas: several Docker engines on one machine, each in its own network
# namespace, joined into one Docker Swarm whose manager is h1 (never the main engine).
#
# Why: dbaas places PostgreSQL members on Docker engines. To test what happens across
# machines (placement, a machine dying, overlay networking, Patroni failover when a whole
# host disappears) without having several machines, each "host" here is a real dockerd with
# its own containerd, data-root, IP address and iptables, isolated by a network namespace.
#
#   scripts/sim-hosts.sh up N            create h1..hN (idempotent: only adds what is missing)
#   scripts/sim-hosts.sh down [--keep-data]  remove everything this script made (idempotent);
#                                        workers first, then h1. --keep-data keeps images and
#                                        containers but not the swarm: the next `up` makes a new
#                                        one, old overlay networks are gone (recreate them)
#   scripts/sim-hosts.sh kill hK         network partition: hK's link goes down, its
#                                        containers keep running but nobody reaches them
#   scripts/sim-hosts.sh crash hK        the machine dies: link down and every process of hK
#                                        (dockerd, containerd, shims, containers) SIGKILLed
#   scripts/sim-hosts.sh revive hK       link up again; after a crash dockerd restarts (a
#                                        reboot), containers with a restart policy come back
#   scripts/sim-hosts.sh env hK          prints DOCKER_HOST=unix://... for hK
#   scripts/sim-hosts.sh status          one line per host
#   scripts/sim-hosts.sh check           the main engine is not in a swarm (exit 1 if it is),
#                                        then one line per host, with its node status seen by h1
#
# The main engine (/var/run/docker.sock) is only ever read from (info, image inspect/list,
# save): never `swarm init/join/leave`, never a network. On Docker 20.10, putting the main
# engine into a swarm made its embedded DNS (127.0.0.11) forget every container that was
# already running, on every user-defined bridge network, until that container was restarted,
# and `swarm leave` did not bring the names back: running dbaas clusters and a CI run broke.
# So the swarm lives entirely inside the simulated hosts; `main_docker` refuses anything else.
#
# Swarm: h1 is the only manager (`swarm init --advertise-addr 10.77.0.11`, overlay pool
# 10.78.0.0/16); h2..hN join it as workers, also when added later (`up 5` after `up 3`).
# Every node has the label dbaas.sim.host=hK. Losing h1 = losing the only manager (measured,
# /work/notes/sim-hosts-report.md, "Manager on h1"):
#   - data plane keeps working: containers on h2/h3 already attached to an overlay still
#     resolve each other by name and talk TCP (checked for 70 s after `kill h1`, and after
#     `crash h1`); only h1's own containers become unreachable, as for any dead host.
#   - control plane is gone: any NEW attachment to an overlay on a worker fails after 20 s
#     ("Could not attach to network X: context deadline exceeded"; the container is left
#     Created), and so does restarting an existing overlay container there (it stays Exited):
#     the manager hands out overlay IPs. New hosts cannot join (`up` then skips their join and
#     says so; `revive h1` and `up N` again).
#   - `kill h1`: h1 stays a working single-node manager in its own partition and marks the
#     others Down. `revive h1` (after kill or crash; after a crash its raft state comes back
#     from the data-root): all nodes Ready within 4-7 s, and attaching works again.
#   Tests that kill "a host" and need the control plane afterwards should kill h2..hN.
#
# Layout (k = 1..N):
#   bridge dbaas-sim0 in the root namespace, 10.77.0.1/24 (the LAN's gateway; no swarm role)
#   netns dbaas-hK, eth0 = 10.77.0.(10+k)/24, default route via 10.77.0.1
#   root-side veth dbsim-hK (the port on the bridge; `kill` downs this one)
#   state in $DBAAS_SIM_DIR/hK (default /var/lib/dbaas-sim/hK): docker.sock, data/ (data-root),
#   dockerd.pid, dockerd.log, key.json, daemon.json, resolv.conf, node-id, and a marker
#   file "down" (killed|crashed) while the host is dead.
#   Address pools, chosen so that nothing overlaps anything else on the machine:
#     hK's own bridges (docker0, docker_gwbridge, user networks): 10.(100+k).0.0/16 in /24s
#     swarm overlay networks (h1's `swarm init --default-addr-pool`): 10.78.0.0/16 in /24s
#     the main engine keeps Docker's defaults (172.17-31.x, 192.168.x).
#
#   The root namespace gets "unreachable" routes for those 10.x pools: nothing there can reach
#   them directly anyway (they live inside the hosts' namespaces), and without such a route a
#   packet for, say, a container's overlay IP would follow the machine's default route out of
#   the machine instead of failing at once.
#
# Loopback services of the root namespace (Temporal's 127.0.0.1:7233) are offered to the
# simulated hosts at 10.77.0.1:PORT (DNAT + route_localnet on dbaas-sim0 only), so that a
# dbaas worker running inside netns dbaas-hK reaches Temporal, and loses it when hK is killed.
#
# `host-gateway` (what `--add-host host.docker.internal:host-gateway` resolves to) is 10.77.0.1
# on every simulated host (dockerd --host-gateway-ip): a container on hK reaches the control
# machine on the LAN as host.docker.internal, as a container on the main engine reaches it on
# docker0. A service the control machine publishes on 10.77.0.1 (the tests' S3 server) is thus
# one name and port for members on every engine.
#
# Reaching a container on hK (measured, see /work/notes/sim-hosts-report.md):
#   - from anywhere (root namespace, other hosts, containers on hosts): a port published on
#     hK's address, `docker run -p 10.77.0.(10+k):PORT:PORT ...`;
#   - from inside netns dbaas-hK only: also its docker_gwbridge / bridge IP; never its overlay IP;
#   - from containers on the same overlay network: its name (swarm DNS), on any engine.
#   The docker.sock of hK is a unix socket: it stays usable when hK is `kill`ed (as an SSH
#   session from a management network might); only `crash` makes it go away.
#
# Environment: DBAAS_SIM_DIR (state dir), DBAAS_SIM_IMAGES (space-separated list of images
# `up` copies from the main engine into each host; default: every dbaas/*:local image plus
# debian:bookworm-slim; set but empty: none; e.g. DBAAS_SIM_IMAGES=debian:bookworm-slim for
# a quick check without the 1.5 GB of dbaas images), DBAAS_SIM_SKIP_IMAGES=1 (copy none),
# DBAAS_SIM_LOOPBACK_PORTS (root-namespace 127.0.0.1 ports offered at 10.77.0.1; default 7233,
# empty for none), DBAAS_SIM_LOAD_PARALLEL (hosts loading images at once; default 1).
set -euo pipefail

SIM_DIR=${DBAAS_SIM_DIR:-/var/lib/dbaas-sim}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE=${DBAAS_SIM_NODE:-node}   # runs sim-lan-dns.mjs; `dev hosts` passes its own node binary
BRIDGE="dbaas-sim0"
PREFIX=10.77.0          # the /24 of the simulated LAN
GATEWAY_IP=$PREFIX.1    # dbaas-sim0 in the root namespace: default route, loopback ports
MANAGER=1               # h1 is the swarm manager
SWARM_POOL=10.78.0.0/16
MAX_HOSTS=99            # 10.(100+k) must stay a valid octet; 10.77.0.(10+k) too
IPT_TAG="dbaas-sim"     # comment on the root-namespace iptables rules this script adds
LOOPBACK_PORTS=${DBAAS_SIM_LOOPBACK_PORTS-7233}
host_pool() { echo "10.$((100 + $1)).0.0/16"; }

# Always talk to an engine explicitly: the caller may have DOCKER_HOST pointing at a
# simulated host (that is what `env` is for).
# The main engine is a source of images and nothing else (see the header): only read-only
# commands get through, so no later edit can put it into a swarm or give it a network.
MAIN_SOCK=/var/run/docker.sock
main_docker() {
  case "${1:-} ${2:-}" in
    "info "* | "version "* | "images "* | "image inspect" | "image ls" | "save "*) ;;
    *) die "refusing 'docker ${*:1:2}' on the main engine: it must stay out of the swarm" ;;
  esac
  env -u DOCKER_HOST -u DOCKER_CONTEXT docker -H "unix://$MAIN_SOCK" "$@"
}
host_sock() { echo "$SIM_DIR/h$1/docker.sock"; }
host_docker() { local k=$1; shift; env -u DOCKER_HOST -u DOCKER_CONTEXT docker -H "unix://$(host_sock "$k")" "$@"; }

log() { printf '[sim-hosts %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# Does the output of a command contain a pattern? (Not `cmd | grep -q`: with pipefail, grep -q
# exiting at the first match can kill cmd with SIGPIPE and make the whole test fail.)
has() { local pat=$1 out; shift; out=$("$@" 2>/dev/null) || return 1; grep -e "$pat" >/dev/null <<<"$out"; }
has_netns() { has "^$1\( \|\$\)" ip netns list; }

# "h3" or "3" -> 3
host_num() {
  local h=${1:-}
  h=${h#h}
  if ! [[ $h =~ ^[0-9]+$ ]] || ((h < 1 || h > MAX_HOSTS)); then
    die "bad host '${1:-}' (want h1..h$MAX_HOSTS)"
  fi
  echo "$((10#$h))"
}
host_ip() { echo "$PREFIX.$((10 + $1))"; }
netns_of() { echo "dbaas-h$1"; }
veth_of() { echo "dbsim-h$1"; }            # root side; interface names are limited to 15 chars
cgroup_of() { echo "dbaas-sim-h$1"; }      # --cgroup-parent of hK's containers

# Hosts that exist in any form (state dir, netns or veth): what `down` has to clean up.
known_hosts() {
  {
    if [[ -d $SIM_DIR ]]; then
      find "$SIM_DIR" -maxdepth 1 -type d -name 'h[0-9]*' -printf '%f\n' | sed 's/^h//'
    fi
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^dbaas-h\([0-9]\+\)$/\1/p'
    ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: dbsim-h\([0-9]\+\)[@:].*/\1/p'
  } | sort -n -u
}

# ---------------------------------------------------------------------------------------------
# The shared LAN: bridge + root-namespace firewall rules
# ---------------------------------------------------------------------------------------------

# Docker on the main engine sets the FORWARD policy to DROP, and br_netfilter
# (bridge-nf-call-iptables=1) sends frames *bridged* between two ports of dbaas-sim0 through
# that FORWARD chain too: without an ACCEPT, h1 <-> h2 traffic (VXLAN 4789/udp, gossip 7946)
# would be silently dropped. The second rule makes sure nothing from the simulated hosts is
# ever routed out of the machine (their default route is 10.77.0.1, and containers' DNS
# forwarding would otherwise try the machine's resolver): only the bridge itself is reachable.
# The rules go directly into FORWARD (not DOCKER-USER, which belongs to the project) at the top.
ipt_rules=(
  "-i $BRIDGE -o $BRIDGE -j ACCEPT"
  "-i $BRIDGE ! -o $BRIDGE -j DROP"
)
ensure_firewall() {
  local i=1 r
  for r in "${ipt_rules[@]}"; do
    # shellcheck disable=SC2086  # the rule is a word list on purpose
    iptables -C FORWARD $r -m comment --comment "$IPT_TAG" 2>/dev/null ||
      iptables -I FORWARD "$i" $r -m comment --comment "$IPT_TAG"
    i=$((i + 1))
  done
}
# A process (or container) on hK connecting to 10.77.0.1:7233 ends up at 127.0.0.1:7233 of the
# root namespace. The kernel only routes to 127.0.0.0/8 from a non-loopback interface with
# route_localnet set on it; it is set on dbaas-sim0 alone, so only the simulated hosts see
# these ports, nothing outside the machine does.
ensure_loopback_ports() {
  local p
  [[ -n $LOOPBACK_PORTS ]] || return 0
  sysctl -q -w "net.ipv4.conf.$BRIDGE.route_localnet=1"
  for p in $LOOPBACK_PORTS; do
    iptables -t nat -C PREROUTING -i "$BRIDGE" -d "$GATEWAY_IP" -p tcp --dport "$p" \
      -m comment --comment "$IPT_TAG" -j DNAT --to-destination "127.0.0.1:$p" 2>/dev/null ||
      iptables -t nat -I PREROUTING -i "$BRIDGE" -d "$GATEWAY_IP" -p tcp --dport "$p" \
        -m comment --comment "$IPT_TAG" -j DNAT --to-destination "127.0.0.1:$p"
  done
}

# Every rule carrying our comment, whatever ports/rules an earlier version of this script added.
remove_firewall() {
  local table chain rule
  for table in filter nat; do
    for chain in FORWARD PREROUTING; do
      iptables -t "$table" -S "$chain" >/dev/null 2>&1 || continue
      while rule=$(iptables -t "$table" -S "$chain" | grep -m1 -e "--comment \"\?$IPT_TAG\"\? "); do
        # shellcheck disable=SC2086  # "-A CHAIN args..." -> "-D CHAIN args..."; no spaces in args
        eval iptables -t "$table" -D "${rule#-A }"
      done
    done
  done
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  has "inet $GATEWAY_IP/24" ip addr show dev "$BRIDGE" || ip addr add "$GATEWAY_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  ensure_firewall
  ensure_loopback_ports
  unreachable_route "$SWARM_POOL"
  ensure_lan_dns
}

# The LAN's resolver, at the bridge address every host's resolv.conf names: it answers every
# query with NXDOMAIN at once (why: scripts/sim-lan-dns.mjs). Its pid is in $SIM_DIR/lan-dns.pid.
ensure_lan_dns() {
  local pid
  pid=$(cat "$SIM_DIR/lan-dns.pid" 2>/dev/null || true)
  if [[ -n $pid && -d /proc/$pid ]]; then return 0; fi
  setsid "$NODE" "$SCRIPT_DIR/sim-lan-dns.mjs" "$GATEWAY_IP" </dev/null >>"$SIM_DIR/lan-dns.log" 2>&1 &
  echo $! >"$SIM_DIR/lan-dns.pid"
}

stop_lan_dns() {
  local pid
  pid=$(cat "$SIM_DIR/lan-dns.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  rm -f "$SIM_DIR/lan-dns.pid" "$SIM_DIR/lan-dns.log"
}

unreachable_route() { ip route replace unreachable "$1"; }
remove_unreachable_route() { ip route del unreachable "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# One host: netns + veth + dockerd
# ---------------------------------------------------------------------------------------------

ensure_netns() {
  local k=$1 ns veth ip
  ns=$(netns_of "$k") veth=$(veth_of "$k") ip=$(host_ip "$k")
  if ! has_netns "$ns"; then
    ip netns add "$ns"
    # A new namespace inherits ip_forward=1 from the root one. Docker only switches the FORWARD
    # policy to DROP when it has to turn forwarding on itself, as on a freshly booted machine;
    # start from 0 so that hK's firewall looks like a real host's (otherwise anyone routing to
    # hK could reach its containers' bridge IPs directly).
    ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=0
  fi
  unreachable_route "$(host_pool "$k")"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    # Create the pair in the root namespace, move one end in and call it eth0 there, as a
    # real machine would have it.
    ip link add "$veth" type veth peer name "${veth}p"
    ip link set "${veth}p" netns "$ns"
    ip -n "$ns" link set "${veth}p" name eth0
  fi
  ip link set "$veth" master "$BRIDGE"
  # A host that was `kill`ed or `crash`ed stays unreachable until `revive`: `up` must not
  # undo a simulated failure behind the tester's back.
  [[ -f $SIM_DIR/h$k/down ]] || ip link set "$veth" up
  ip -n "$ns" link set lo up
  has "inet $ip/24" ip -n "$ns" addr show dev eth0 || ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  has default ip -n "$ns" route show default || ip -n "$ns" route add default via "$GATEWAY_IP"
}

dockerd_pid() {
  local f=$SIM_DIR/h$1/dockerd.pid pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == dockerd ]] || return 1
  echo "$pid"
}

wait_dockerd() {
  local k=$1 launcher=$2 t0=$SECONDS
  until host_docker "$k" version >/dev/null 2>&1; do
    if ((SECONDS - t0 > 90)) || ! kill -0 "$launcher" 2>/dev/null; then
      tail -n 30 "$SIM_DIR/h$k/dockerd.log" >&2 || true
      die "dockerd of h$k did not start (log: $SIM_DIR/h$k/dockerd.log)"
    fi
    sleep 0.3
  done
}

start_dockerd() {
  local k=$1 hd=$SIM_DIR/h$1 ns
  ns=$(netns_of "$k")
  if dockerd_pid "$k" >/dev/null; then return 0; fi
  mkdir -p "$hd/data"
  # Its own config file: otherwise dockerd would read the main engine's /etc/docker/daemon.json.
  # deprecated-key-path (only settable here, not as a flag): otherwise all engines share
  # /etc/docker/key.json and report the same engine ID in `docker info`.
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$hd" >"$hd/daemon.json"
  # The machine's resolver must never be contacted from here (see the firewall note); point
  # the host, and so its containers' DNS forwarding, at the bridge address, where the LAN's
  # resolver answers NXDOMAIN at once (ensure_lan_dns).
  echo "nameserver $GATEWAY_IP" >"$hd/resolv.conf"
  rm -f "$hd/dockerd.pid"   # stale after a crash; dockerd refuses to start if the pid is alive
  # Why each piece:
  #  nsenter --net  : the host's network (eth0 on the bridge, its own iptables, own port space).
  #                   Not `ip netns exec`: that remounts /sys, which drops the cgroup mounts
  #                   under /sys/fs/cgroup, and dockerd then refuses to start ("Devices cgroup
  #                   isn't mounted"). We remount /sys ourselves (so /sys/class/net shows this
  #                   namespace's interfaces) and put the machine's cgroup tree back on it.
  #  unshare -m -u  : a private mount namespace so that a tmpfs over /run hides the main
  #                   engine's /run/docker and /run/containerd (dockerd would otherwise see
  #                   /run/containerd/containerd.sock and use that containerd); a private UTS
  #                   namespace so each engine (and swarm node) has its own hostname dbaas-hK.
  #                   dockerd then starts and supervises its own containerd under /run/docker.
  #                   exec-root and containerd state live on that tmpfs, so after `crash` the
  #                   host restarts with empty runtime state, like after a reboot.
  #  --cgroup-parent: containers of hK in their own cgroup, so `crash` can find and kill them
  #                   (they are in their own network namespaces, not in dbaas-hK).
  #  --bip / --default-address-pool: disjoint subnets per host (see the header).
  #  setsid         : the daemon must outlive this script and not get its terminal's signals.
  # shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
  setsid nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private -- bash -c '
      set -e
      mount -t tmpfs -o mode=0755,size=256m tmpfs-dbaas-sim /run
      mkdir /run/cgroup-tree
      mount --rbind /sys/fs/cgroup /run/cgroup-tree
      mount -t sysfs sysfs-dbaas-sim /sys
      mount --rbind /run/cgroup-tree /sys/fs/cgroup
      umount -R /run/cgroup-tree && rmdir /run/cgroup-tree
      mount --bind "$1/resolv.conf" /etc/resolv.conf
      hostname "dbaas-h$2"
      exec dockerd \
        --config-file "$1/daemon.json" \
        --data-root "$1/data" \
        --exec-root /run/docker \
        --pidfile "$1/dockerd.pid" \
        -H "unix://$1/docker.sock" \
        --cgroup-parent "/$3" \
        --bip "10.$((100 + $2)).0.1/24" \
        --default-address-pool "base=10.$((100 + $2)).0.0/16,size=24" \
        --swarm-default-advertise-addr "$4" \
        --host-gateway-ip "$5"
    ' sim-dockerd "$hd" "$k" "$(cgroup_of "$k")" "$(host_ip "$k")" "$GATEWAY_IP" \
    >>"$hd/dockerd.log" 2>&1 </dev/null &
  wait_dockerd "$k" $!
}

# Every process that belongs to hK: the ones in its network namespace (dockerd, containerd,
# shims, docker-proxy, host-network containers, anything `ip netns exec`ed there) and the
# container processes, which have their own network namespaces but sit in hK's cgroup.
host_pids() {
  local k=$1 cg
  ip netns pids "$(netns_of "$k")" 2>/dev/null || true
  for cg in /sys/fs/cgroup/*/"$(cgroup_of "$k")" /sys/fs/cgroup/"$(cgroup_of "$k")"; do
    [[ -d $cg ]] && find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  true
}

kill_host_processes() {
  local k=$1 i pids
  # Several rounds: a dying shim can leave a child behind, dockerd could restart containerd.
  for i in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(host_pids "$k" | sort -u | tr '\n' ' ')
    [[ -z ${pids// /} ]] && return 0
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.3
  done
  log "warning: processes of h$k survived SIGKILL: $(host_pids "$k" | tr '\n' ' ')"
}

remove_cgroups() {
  local k=$1 cg
  for cg in /sys/fs/cgroup/*/"$(cgroup_of "$k")" /sys/fs/cgroup/"$(cgroup_of "$k")"; do
    # depth first: a cgroup directory can only be removed once its children are gone
    if [[ -d $cg ]]; then find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
}

# ---------------------------------------------------------------------------------------------
# Swarm
# ---------------------------------------------------------------------------------------------

host_is_down() { [[ -f $SIM_DIR/h$1/down ]]; }
manager_docker() { timeout 30 env -u DOCKER_HOST -u DOCKER_CONTEXT docker -H "unix://$(host_sock "$MANAGER")" "$@"; }
manager_ok() {
  ! host_is_down "$MANAGER" && dockerd_pid "$MANAGER" >/dev/null &&
    [[ $(manager_docker info -f '{{.Swarm.ControlAvailable}}' 2>/dev/null) == true ]]
}

# h1: `swarm init` once; a warm `up` (after `down --keep-data`, which drops data/swarm) inits
# afresh, a revived h1 keeps its swarm (raft state in its data-root).
ensure_manager() {
  local k=$MANAGER state t0
  state=$(host_docker "$k" info -f '{{.Swarm.LocalNodeState}}')
  case $state in
    inactive)
      t0=$(now)
      host_docker "$k" swarm init --advertise-addr "$(host_ip "$k")" --listen-addr "$(host_ip "$k"):2377" \
        --default-addr-pool "$SWARM_POOL" --default-addr-pool-mask-length 24 >/dev/null
      log "h$k: swarm init, manager at $(host_ip "$k"):2377 ($(since "$t0") s)"
      ;;
    active)
      [[ $(host_docker "$k" info -f '{{.Swarm.ControlAvailable}}') == true ]] ||
        die "h$k is in a swarm but not a manager; run: down"
      ;;
    *) die "h$k: swarm state is '$state'; run: down" ;;
  esac
  host_docker "$k" info -f '{{.Swarm.NodeID}}' >"$SIM_DIR/h$k/node-id"
  host_docker "$k" node update --label-add "dbaas.sim.host=h$k" "$(<"$SIM_DIR/h$k/node-id")" >/dev/null ||
    log "warning: could not label h$k's node"
}

ensure_worker() {
  local k=$1 state token t0 id
  state=$(host_docker "$k" info -f '{{.Swarm.LocalNodeState}}')
  id=$(host_docker "$k" info -f '{{.Swarm.NodeID}}')
  if [[ $state == active ]] && ! manager_docker node inspect "$id" >/dev/null 2>&1; then
    # In a swarm that is not h1's (h1 was recreated behind its back): start over.
    log "h$k: in a swarm h1 does not know; leaving it"
    host_docker "$k" swarm leave --force >/dev/null
    state=inactive
  fi
  if [[ $state == inactive ]]; then
    token=$(manager_docker swarm join-token -q worker)
    t0=$(now)
    host_docker "$k" swarm join --token "$token" --advertise-addr "$(host_ip "$k")" \
      --listen-addr "$(host_ip "$k"):2377" "$(host_ip "$MANAGER"):2377" >/dev/null
    log "h$k: joined the swarm as a worker ($(since "$t0") s)"
  elif [[ $state != active ]]; then
    log "h$k: swarm state is '$state' (still connecting?)"
  fi
  id=$(host_docker "$k" info -f '{{.Swarm.NodeID}}')
  echo "$id" >"$SIM_DIR/h$k/node-id"
  # A label, so that placement constraints can name the simulated host (node.labels.dbaas.sim.host==h2).
  manager_docker node update --label-add "dbaas.sim.host=h$k" "$id" >/dev/null ||
    log "warning: could not label h$k's node"
}

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

# DBAAS_SIM_IMAGES if set (space-separated; empty = none), else every dbaas/*:local image on
# the main engine plus debian:bookworm-slim (the dbaas images are built FROM it; tests also
# use it for small helper containers).
images_to_copy() {
  local img
  if [[ -n ${DBAAS_SIM_IMAGES+set} ]]; then
    for img in $DBAAS_SIM_IMAGES; do
      main_docker image inspect "$img" >/dev/null 2>&1 ||
        die "DBAAS_SIM_IMAGES: no image '$img' on the main engine"
      echo "$img"
    done
    return 0
  fi
  main_docker images --filter 'reference=dbaas/*:local' --format '{{.Repository}}:{{.Tag}}' | sort
  if main_docker image inspect debian:bookworm-slim >/dev/null 2>&1; then echo debian:bookworm-slim; fi
}

# Copy the images into the given hosts. Hosts missing the same set of images share one
# `docker save` (~25 s for the dbaas images: 1.5 GB of tar), written once to a file in the
# state dir and then loaded into each host, DBAAS_SIM_LOAD_PARALLEL (default 1) hosts at a
# time. The real work, unpacking layers, is done by each host's dockerd and is CPU-bound here
# (mostly kernel time): loading into 3 hosts at once saturated both cores for 2 minutes and
# was not faster overall than one after the other, so the default is gentle on the machine.
copy_images_to() {
  local img k key have
  local -a imgs missing
  local -A want_id=() groups=()
  [[ ${DBAAS_SIM_SKIP_IMAGES:-} == 1 ]] && return 0
  mapfile -t imgs < <(images_to_copy)
  ((${#imgs[@]})) || return 0
  for img in "${imgs[@]}"; do want_id[$img]=$(main_docker image inspect -f '{{.Id}}' "$img"); done
  for k in "$@"; do
    missing=()
    for img in "${imgs[@]}"; do
      # Same image id = same content: skip (this is what makes a warm `up` fast).
      have=$(host_docker "$k" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
      [[ ${want_id[$img]} == "$have" ]] || missing+=("$img")
    done
    ((${#missing[@]})) && groups["${missing[*]}"]+=" $k"
  done
  for key in "${!groups[@]}"; do
    # shellcheck disable=SC2086  # both are space-separated lists on purpose
    load_images "$key" ${groups[$key]}
  done
}

load_images() {
  local images=$1 k t0 t1 tmp par=${DBAAS_SIM_LOAD_PARALLEL:-1} rc=0
  shift
  local -a pids=()
  t0=$(now)
  if (($# == 1)); then
    # shellcheck disable=SC2086
    main_docker save $images | host_docker "$1" load -q >/dev/null
  else
    tmp=$(mktemp -d "$SIM_DIR/.images.XXXXXX")
    # shellcheck disable=SC2086
    main_docker save -o "$tmp/images.tar" $images
    log "saved $(wc -w <<<"$images") image(s) in $(since "$t0") s ($(du -h "$tmp/images.tar" | cut -f1))"
    for k in "$@"; do
      t1=$(now)
      (host_docker "$k" load -q -i "$tmp/images.tar" >/dev/null && log "h$k: loaded in $(since "$t1") s") &
      pids+=($!)
      if ((${#pids[@]} >= par)); then
        wait "${pids[0]}" || rc=1
        pids=("${pids[@]:1}")
      fi
    done
    for k in "${pids[@]}"; do wait "$k" || rc=1; done
    rm -rf "$tmp"
  fi
  ((rc == 0)) || die "loading images into h${*// /, h} failed"
  log "copied $(wc -w <<<"$images") image(s) into h${*// /, h} in $(since "$t0") s: $images"
}

# ---------------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------------

cmd_up() {
  local n=${1:-} k t0
  local -a live=()
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > MAX_HOSTS)); then die "usage: up N (1..$MAX_HOSTS)"; fi
  t0=$(now)
  mkdir -p "$SIM_DIR"
  ensure_bridge
  for ((k = 1; k <= n; k++)); do
    mkdir -p "$SIM_DIR/h$k"
    ensure_netns "$k"
    if [[ -f $SIM_DIR/h$k/down ]]; then
      log "h$k is $(<"$SIM_DIR/h$k/down"); left as it is (use: revive h$k)"
      continue
    fi
    start_dockerd "$k"
    live+=("$k")
  done
  log "dockerds up ($(since "$t0") s)"
  ((${#live[@]})) || return 0
  copy_images_to "${live[@]}"
  # h1 first: the workers join it. It may be alive from an earlier `up` (adding hosts later).
  if ! host_is_down "$MANAGER"; then ensure_manager; fi
  for k in "${live[@]}"; do
    ((k == MANAGER)) && continue
    if manager_ok; then
      ensure_worker "$k"
    elif [[ $(host_docker "$k" info -f '{{.Swarm.LocalNodeState}}') != active ]]; then
      log "warning: h$k not joined to the swarm: the manager h$MANAGER is $(cat "$SIM_DIR/h$MANAGER/down" 2>/dev/null || echo down) (revive h$MANAGER, then up $n again)"
    fi
  done
  for k in "${live[@]}"; do log "h$k ready: $(host_ip "$k"), DOCKER_HOST=unix://$(host_sock "$k")"; done
  log "up $n done in $(since "$t0") s"
}

stop_host() {
  local k=$1 keep=$2 pid i id t0 t1
  if pid=$(dockerd_pid "$k"); then
    # Leave the swarm first (workers are stopped before h1, which is still there to hear it;
    # ~1 s); this also lets dockerd drop its overlay attachments before --keep-data keeps data/.
    # h1 leaves only with --keep-data: the swarm dies with it, and its leave takes ~8 s.
    t0=$(now)
    if ((k != MANAGER || keep == 1)); then
      timeout 30 env -u DOCKER_HOST docker -H "unix://$(host_sock "$k")" swarm leave --force >/dev/null 2>&1 || true
    fi
    # A graceful stop lets dockerd stop its containers and containerd cleanly (matters with
    # --keep-data); anything still alive after 20 s is killed below anyway.
    t1=$(now)
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    log "h$k: swarm leave $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s, dockerd stop $(since "$t1") s"
  fi
  kill_host_processes "$k"
  # A worker that could not say goodbye (killed or crashed): take it off h1's node list.
  if ((k != MANAGER)) && [[ -s $SIM_DIR/h$k/node-id ]] && dockerd_pid "$MANAGER" >/dev/null; then
    id=$(<"$SIM_DIR/h$k/node-id")
    manager_docker node rm --force "$id" >/dev/null 2>&1 || true
  fi
  remove_cgroups "$k"
  ip link del "$(veth_of "$k")" 2>/dev/null || true
  ip netns del "$(netns_of "$k")" 2>/dev/null || true
  remove_unreachable_route "$(host_pool "$k")"
  if [[ $keep == 1 ]]; then
    # Keep the images (data/), but not the swarm membership: the next `up` joins afresh.
    rm -rf "$SIM_DIR/h$k/data/swarm" "$SIM_DIR/h$k/node-id" "$SIM_DIR/h$k/down" "$SIM_DIR/h$k/dockerd.pid"
  else
    rm -rf "${SIM_DIR:?}/h$k"
  fi
}

cmd_down() {
  local keep=0 k t0
  [[ ${1:-} == --keep-data ]] && keep=1
  t0=$(now)
  # Workers first, in parallel (most of a host's teardown is waiting: a worker's `swarm leave`
  # takes ~7 s, dockerd's shutdown ~3 s), then the manager h1.
  local pids=() rc=0 hosts
  hosts=$(known_hosts)
  for k in $hosts; do
    ((k == MANAGER)) && continue
    (stop_host "$k" "$keep" && log "h$k removed") &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || rc=1; done
  if grep -qx "$MANAGER" <<<"$hosts"; then
    if stop_host "$MANAGER" "$keep"; then log "h$MANAGER removed"; else rc=1; fi
  fi
  ((rc == 0)) || log "warning: some host did not stop cleanly (see above)"
  # Markers of an older version of this script, which made the main engine the manager. The
  # main engine is not touched here: check it with `check`, and leave its swarm by hand if needed.
  if [[ -e $SIM_DIR/main-swarm-init || -e $SIM_DIR/main-gwbridge-created ]]; then
    log "note: an older sim-hosts.sh put the main engine into a swarm; not touched (see: check)"
    rm -f "$SIM_DIR/main-swarm-init" "$SIM_DIR/main-gwbridge-created"
  fi
  remove_unreachable_route "$SWARM_POOL"
  remove_firewall
  stop_lan_dns
  ip link del "$BRIDGE" 2>/dev/null || true
  if [[ $keep == 0 && -d $SIM_DIR ]]; then
    rmdir "$SIM_DIR" 2>/dev/null || log "note: $SIM_DIR not empty, left in place"
  fi
  log "down done in $(since "$t0") s"
}

require_host() {
  local k=$1
  has_netns "$(netns_of "$k")" || die "h$k does not exist (run: up N)"
}

cmd_kill() {
  local k
  k=$(host_num "${1:-}")
  require_host "$k"
  # Taking down the bridge-side end drops the carrier on both ends: frames to and from hK
  # vanish, ARP goes unanswered, nothing is refused. To the other hosts this looks like a
  # dead machine or a cut cable; inside hK everything (dockerd, containers) keeps running,
  # as in a network partition.
  ip link set "$(veth_of "$k")" down
  [[ -f $SIM_DIR/h$k/down ]] || echo killed >"$SIM_DIR/h$k/down"
  log "h$k: link down (partitioned)"
}

cmd_crash() {
  local k
  k=$(host_num "${1:-}")
  require_host "$k"
  # A machine that loses power: it stops answering on the network at the same instant its
  # processes die, so the link goes down first (a netns with no processes would still answer
  # ARP and ping and send RSTs, which a dead machine does not).
  ip link set "$(veth_of "$k")" down
  kill_host_processes "$k"
  rm -f "$SIM_DIR/h$k/dockerd.pid"
  echo crashed >"$SIM_DIR/h$k/down"
  log "h$k: crashed (link down, all processes SIGKILLed)"
}

cmd_revive() {
  local k state=killed
  k=$(host_num "${1:-}")
  require_host "$k"
  [[ -f $SIM_DIR/h$k/down ]] && state=$(<"$SIM_DIR/h$k/down")
  ip link set "$(veth_of "$k")" up
  if ! dockerd_pid "$k" >/dev/null; then
    # The "reboot": the old mount namespace (with its tmpfs /run) died with its processes;
    # dockerd starts from the same data-root, rejoins the swarm with its old identity and
    # restarts containers whose restart policy says so.
    kill_host_processes "$k"   # leftovers, if the crash was done by hand
    start_dockerd "$k"
  fi
  rm -f "$SIM_DIR/h$k/down"
  log "h$k: revived (was $state)"
}

cmd_env() {
  local k
  k=$(host_num "${1:-}")
  echo "DOCKER_HOST=unix://$(host_sock "$k")"
}

# One line per host: address, link, dockerd, its own swarm view (state, manager/worker), its
# node status as h1 sees it, running/all containers, images, and killed|crashed if so.
cmd_status() {
  local k link d nodes='' node sw ctl ctrs imgs mark
  if dockerd_pid "$MANAGER" >/dev/null; then
    nodes=$(manager_docker node ls --format '{{.Hostname}}={{.Status}}' 2>/dev/null || true)
  fi
  for k in $(known_hosts); do
    link=$(ip -br link show "$(veth_of "$k")" 2>/dev/null | awk '{print $2}') || true
    if d=$(dockerd_pid "$k"); then
      sw='?' ctl='' ctrs='?' imgs='?'
      read -r sw ctl ctrs imgs < <(timeout 10 env -u DOCKER_HOST -u DOCKER_CONTEXT docker -H "unix://$(host_sock "$k")" \
        info -f '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.ContainersRunning}}/{{.Containers}} {{.Images}}' \
        2>/dev/null) || true
      node=$(sed -n "s/^dbaas-h$k=//p" <<<"$nodes")
      d="dockerd=$d swarm=$sw role=$(if [[ $sw != active ]]; then echo -; elif [[ $ctl == true ]]; then echo manager; else echo worker; fi) node=${node:-?} ctrs=$ctrs images=$imgs"
    else
      d="dockerd=down"
    fi
    mark=''
    if [[ -f $SIM_DIR/h$k/down ]]; then mark=" $(<"$SIM_DIR/h$k/down")"; fi
    echo "h$k $(host_ip "$k") link=${link:-none} $d$mark"
  done
}

# The main engine must not be in a swarm (see the header); exit 1 if it is. Then `status`.
cmd_check() {
  local state rc=0
  state=$(main_docker info -f '{{.Swarm.LocalNodeState}}')
  if [[ $state == inactive ]]; then
    echo "main engine: Swarm: inactive (ok)"
  else
    echo "main engine: Swarm: $state  <-- WRONG: dbaas must never put the main engine into a swarm"
    rc=1
  fi
  cmd_status
  return "$rc"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}

[[ $(id -u) == 0 ]] || die "needs root (network namespaces, dockerd)"
cmd=${1:-}
shift || true
case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  kill) cmd_kill "$@" ;;
  crash) cmd_crash "$@" ;;
  revive) cmd_revive "$@" ;;
  env) cmd_env "$@" ;;
  status) cmd_status "$@" ;;
  check) cmd_check "$@" ;;
  -h | --help | help) usage 0 ;;
  *) usage 1 ;;
esac
