# scripts/setup-host.d/cluster.sh - sourced by setup-host.sh (uses its need/apply/log/die,
# start_daemon, wait_for, write_if_changed and $NODE): extra SLURM nodes on this machine.
#
# Each extra node is one slurmd (`slurmd -N NAME`) in its own network, UTS and mount
# namespace, so the cluster has several nodes with their own hostname and address while
# sharing the file system (as a real cluster shares /home and the image path):
#
#   bridge     $CLUSTER_BRIDGE, host side $CLUSTER_NET.1/24 (the controller's address for the
#              nodes); the /24 exists only on this bridge and inside namespaces made here;
#              nodes get no default route, so no traffic leaves the machine.
#   per node   network namespace NAME (`ip netns`), veth scxvI <-> eth0 = $CLUSTER_NET.(10+I),
#              /etc/netns/NAME/hosts bound over /etc/hosts (the controller's name resolves
#              to the bridge address there), its own UTS namespace (hostname NAME) and a
#              mount namespace (a slave of the host's) with its own slurmd spool dir and
#              pid file bound over /var/spool/slurmd and /run/slurmd.pid.
#   slurm      NodeName=NAME NodeAddr=<its address> Feature=netns, partition
#              $CLUSTER_PARTITION with the extra nodes only; the host's own node stays alone
#              in the default partition.
#   state      spool dirs $CLUSTER_STATE/NAME/spool, pid files $CLUSTER_RUN/NAME.pid,
#              logs /var/log/slurm/slurmd-NAME.log.
#
# To run something on a node as root: nsenter -t "$(cat /run/scitex-cluster/NAME.pid)" -m -u -n CMD.
# SCITEX_EXTRA_NODES=0 leaves the extra nodes out (single-node cluster, as before).

readonly CLUSTER_NODES=(scx-node1 scx-node2)
readonly CLUSTER_PARTITION=multi
readonly CLUSTER_FEATURE=netns
readonly CLUSTER_BRIDGE=scxbr0
readonly CLUSTER_NET=10.77.42
readonly CLUSTER_HOST_ADDR=$CLUSTER_NET.1
readonly CLUSTER_STATE=/var/lib/scitex-cluster
readonly CLUSTER_RUN=/run/scitex-cluster
readonly CLUSTER_NODE_MEM_MB=2048

cluster_enabled() { [[ ${SCITEX_EXTRA_NODES:-1} != 0 ]]; }

cluster_addr() { # cluster_addr <index from 1>
    printf '%s.%d\n' "$CLUSTER_NET" $((10 + $1))
}

# Lines appended to slurm.conf (nothing when the extra nodes are disabled).
cluster_conf_lines() { # cluster_conf_lines <cpus>
    cluster_enabled || return 0
    local i=0 name
    for name in "${CLUSTER_NODES[@]}"; do
        i=$((i + 1))
        printf 'NodeName=%s NodeAddr=%s CPUs=%s RealMemory=%s Feature=%s State=UNKNOWN\n' \
            "$name" "$(cluster_addr "$i")" "$1" "$CLUSTER_NODE_MEM_MB" "$CLUSTER_FEATURE"
    done
    local IFS=,
    printf 'PartitionName=%s Nodes=%s MaxTime=INFINITE State=UP\n' \
        "$CLUSTER_PARTITION" "${CLUSTER_NODES[*]}"
}

cluster_hosts_content() {
    local i=0 name
    printf '# Written by scitex-container scripts/setup-host.sh: /etc/hosts of the node (bound over it)\n'
    printf '127.0.0.1\tlocalhost\n'
    printf '%s\t%s\n' "$CLUSTER_HOST_ADDR" "$NODE"
    for name in "${CLUSTER_NODES[@]}"; do
        i=$((i + 1))
        printf '%s\t%s\n' "$(cluster_addr "$i")" "$name"
    done
}

# ---------------------------------------------------------------- checks
netns_exists() { [[ -e /run/netns/$1 ]] && ip netns list | awk '{print $1}' | grep -qx "$1"; }
bridge_ok() {
    ip -o -4 addr show dev "$CLUSTER_BRIDGE" 2>/dev/null | grep -q " $CLUSTER_HOST_ADDR/24 " &&
        ip link show "$CLUSTER_BRIDGE" 2>/dev/null | grep -q '[<,]UP[,>]'
}
subnet_free() { # no interface but the bridge has an address in the /24
    ! ip -o -4 addr show 2>/dev/null | awk -v br="$CLUSTER_BRIDGE" '$2 != br { print $4 }' |
        grep -q "^${CLUSTER_NET//./\\.}\."
}
node_net_ok() { # node_net_ok <name> <index>
    local name=$1 addr
    addr=$(cluster_addr "$2")
    netns_exists "$name" || return 1
    ip link show "scxv$2" 2>/dev/null | grep -q "master $CLUSTER_BRIDGE" || return 1
    ip netns exec "$name" ip -o -4 addr show dev eth0 2>/dev/null | grep -q " $addr/24 " || return 1
    ip netns exec "$name" ip link show lo 2>/dev/null | grep -q '[<,]UP[,>]'
}
node_slurmd_pid() { # the pid of NAME's slurmd if it runs in NAME's network namespace
    local name=$1 pid
    pid=$(cat "$CLUSTER_RUN/$name.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == slurmd ]] || return 1
    local want
    want=$(stat -L -c %i "/run/netns/$name" 2>/dev/null) || return 1
    [[ -n $want && $(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) == "$want" ]] || return 1
    printf '%s\n' "$pid"
}
node_slurmd_ok() { node_slurmd_pid "$1" >/dev/null; }
cluster_node_state() { sinfo -h -N -n "$1" -o %T 2>/dev/null | head -n1 || true; }
cluster_node_usable() { [[ $(cluster_node_state "$1") =~ ^(idle|mixed|allocated|completing)$ ]]; }

# ---------------------------------------------------------------- actions
make_bridge() {
    ip link show "$CLUSTER_BRIDGE" >/dev/null 2>&1 || ip link add "$CLUSTER_BRIDGE" type bridge
    ip -o -4 addr show dev "$CLUSTER_BRIDGE" | grep -q " $CLUSTER_HOST_ADDR/24 " ||
        ip addr add "$CLUSTER_HOST_ADDR/24" dev "$CLUSTER_BRIDGE"
    ip link set "$CLUSTER_BRIDGE" up
}
make_node_net() { # make_node_net <name> <index>
    local name=$1 veth=scxv$2 addr
    addr=$(cluster_addr "$2")
    netns_exists "$name" || ip netns add "$name"
    if ! ip link show "$veth" >/dev/null 2>&1; then
        # a stale eth0 in the namespace (its peer gone) would block the new pair
        ip netns exec "$name" ip link del eth0 2>/dev/null || true
        ip link add "$veth" type veth peer name eth0 netns "$name"
    fi
    ip link set "$veth" master "$CLUSTER_BRIDGE" up
    ip netns exec "$name" ip link set lo up
    ip netns exec "$name" ip -o -4 addr show dev eth0 | grep -q " $addr/24 " ||
        ip netns exec "$name" ip addr add "$addr/24" dev eth0
    ip netns exec "$name" ip link set eth0 up
}
start_node_slurmd() { # start_node_slurmd <name>
    local name=$1 spool=$CLUSTER_STATE/$1/spool pidfile=$CLUSTER_RUN/$1.pid
    install -d -m 755 "$CLUSTER_STATE" "$CLUSTER_STATE/$name" "$spool" "$CLUSTER_RUN"
    : >"$pidfile"
    # the bind target must exist; the host's own slurmd rewrites this file when it starts
    [[ -e /run/slurmd.pid ]] || : >/run/slurmd.pid
    # shellcheck disable=SC2016
    # nsenter, not `ip netns exec`: that one remounts /sys (losing /sys/fs/cgroup, which
    # slurmd needs). The mount namespace is a slave of the host's: mounts made later on
    # the host (e.g. under /home) still appear on the node, nothing done here leaks out.
    # shellcheck disable=SC2016
    start_daemon "slurmd-$name" nsenter --net="/run/netns/$name" -- \
        unshare --mount --propagation slave --uts -- /bin/sh -ec '
        hostname "$1"
        mount --bind "/etc/netns/$1/hosts" /etc/hosts
        mount --bind "$2" /var/spool/slurmd
        mount --bind "$3" /run/slurmd.pid
        exec /usr/sbin/slurmd -N "$1" -L "/var/log/slurm/slurmd-$1.log"' \
        sh "$name" "$spool" "$pidfile"
}
stop_node_slurmd() { # a slurmd of NAME that is not healthy (e.g. the wrong namespace)
    local pid
    pid=$(cat "$CLUSTER_RUN/$1.pid" 2>/dev/null) || return 0
    if [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == slurmd ]]; then
        kill "$pid" 2>/dev/null || true
        sleep 1
    fi
}

setup_cluster_nodes() {
    cluster_enabled || { log "extra nodes disabled (SCITEX_EXTRA_NODES=0)"; return 0; }
    step "slurm: extra nodes (${CLUSTER_NODES[*]})"
    local name i=0
    for name in "${CLUSTER_NODES[@]}"; do
        [[ $name != "$NODE" ]] || die "this host is named $name, like an extra node"
    done
    command -v ip >/dev/null || die "ip missing (package iproute2)"
    if ! need "subnet $CLUSTER_NET.0/24 used by no interface but $CLUSTER_BRIDGE" subnet_free; then
        if apply; then die "$CLUSTER_NET.0/24 is already in use here; change CLUSTER_NET in ${BASH_SOURCE[0]}"; fi
    fi
    if ! need "bridge $CLUSTER_BRIDGE up with $CLUSTER_HOST_ADDR/24" bridge_ok && apply; then
        make_bridge
    fi
    for name in "${CLUSTER_NODES[@]}"; do
        i=$((i + 1))
        if ! need "network namespace $name ($(cluster_addr "$i") on $CLUSTER_BRIDGE)" node_net_ok "$name" "$i" && apply; then
            make_node_net "$name" "$i"
        fi
        if apply; then
            if cluster_hosts_content | write_if_changed "/etc/netns/$name/hosts" 644; then
                log "wrote /etc/netns/$name/hosts"
            fi
        else
            need "/etc/netns/$name/hosts up to date" cmp -s "/etc/netns/$name/hosts" <(cluster_hosts_content) || true
        fi
        if ! need "slurmd of $name running in its namespaces" node_slurmd_ok "$name" && apply; then
            stop_node_slurmd "$name"
            start_node_slurmd "$name"
            wait_for 15 "slurmd of $name to run" node_slurmd_ok "$name"
        fi
    done
    apply || { for name in "${CLUSTER_NODES[@]}"; do need "node $name usable" cluster_node_usable "$name" || true; done; return 0; }
    local deadline=$((SECONDS + 40)) state resumed=
    for name in "${CLUSTER_NODES[@]}"; do
        until cluster_node_usable "$name"; do
            state=$(cluster_node_state "$name")
            if ((SECONDS >= deadline)); then
                scontrol show node "$name" >&2 || true
                die "node $name is '$state', not idle (log: /var/log/slurm/slurmd-$name.log)"
            fi
            case $state in
                down*|drain*|fail*)
                    if [[ $resumed != *" $name "* ]]; then
                        log "node $name is $state: scontrol update state=resume"
                        scontrol update nodename="$name" state=resume || true
                        resumed+=" $name "
                    fi ;;
            esac
            sleep 1
        done
        log "ok: node $name $(cluster_node_state "$name")"
    done
}

cluster_srun_check() { # as the test user, a step on each extra node reports that node's hostname
    local name out
    for name in "${CLUSTER_NODES[@]}"; do
        out=$(cd / && timeout 60 runuser -u "$TEST_USER" -- \
            srun -p "$CLUSTER_PARTITION" -w "$name" -N1 -t 1 hostname 2>&1) || { log "$out"; return 1; }
        [[ $out == "$name" ]] || { log "srun on $name printed '$out'"; return 1; }
    done
}
