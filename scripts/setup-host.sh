#!/usr/bin/env bash
# scripts/setup-host.sh - turn a Debian 12 (bookworm, x86-64) machine into the real
# test bed of scitex-container: Apptainer >= 1.3, a SLURM 22.05 cluster with
# running daemons (this host's node plus extra nodes in namespaces, setup-host.d/cluster.sh), and Podman (runc, cgroupfs) with a local base image.
#
# Usage:  sudo scripts/setup-host.sh            # set up (idempotent; a re-run takes seconds)
#         sudo scripts/setup-host.sh --check    # only verify; exit 1 naming what is missing
#
# Every step checks first and only acts when something is missing or differs.
# No systemd is assumed: munged, slurmctld and slurmd are started directly.
#
# What other code can rely on afterwards:
#   apptainer        /usr/bin/apptainer (sid's 1.4.5 on bookworm; private glibc in
#                    /opt/scitex-apptainer-libc, see README.scitex there); config /etc/apptainer/
#   slurm            /etc/slurm/slurm.conf, cluster "scitex", partition "compute" (default),
#                    with this host's node $(hostname -s) alone; partition "multi" with
#                    nodes scx-node1 and scx-node2, each a slurmd in its own network, UTS
#                    and mount namespace on bridge scxbr0 (10.77.42.0/24, see
#                    setup-host.d/cluster.sh); logs /var/log/slurm/
#   daemons          munged (as user munge), slurmctld (drops to user slurm), slurmd (root),
#                    started directly, start output in /var/log/scitex-setup-host/
#   podman           runc + cgroupfs via /etc/containers/containers.conf.d/50-scitex.conf;
#                    base image localhost/busybox:test (no registry is reachable)
#   registry         Debian's docker-registry (CNCF distribution) on http://127.0.0.1:5000,
#                    no auth, config /etc/scitex-registry/config.yml (setup-host.d/registry.sh)
#   test user        scitex-test (home /home/scitex-test, sub-ids for --fakeroot)

set -Eeuo pipefail

# ---------------------------------------------------------------- constants
readonly TEST_USER=scitex-test
readonly TEST_HOME=/home/scitex-test
readonly ROOT_SUBID_START=100000
readonly SUBID_COUNT=65536
readonly APPTAINER_MIN=1.3
readonly LIBC_PREFIX=/opt/scitex-apptainer-libc
readonly SID_MIRROR=http://deb.debian.org/debian
readonly SID_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly SID_WORK=/var/cache/scitex-setup-host/sid
readonly APPTAINER_BIN=/usr/bin/apptainer
readonly APPTAINER_STARTER=/usr/lib/x86_64-linux-gnu/apptainer/bin/starter
readonly APPTAINER_CONF=/etc/apptainer/apptainer.conf
readonly SLURM_CONF=/etc/slurm/slurm.conf
readonly SLURM_CLUSTER=scitex
readonly SLURM_PARTITION=compute
readonly PODMAN_CONF=/etc/containers/containers.conf.d/50-scitex.conf
readonly PODMAN_BASE_IMAGE=localhost/busybox:test
readonly DAEMON_LOG_DIR=/var/log/scitex-setup-host
readonly APPTAINER_PRELOAD_DIR=/usr/lib/x86_64-linux-gnu/apptainer/lib
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
# shellcheck source=setup-host.d/cluster.sh
. "$SCRIPT_DIR/setup-host.d/cluster.sh"
# shellcheck source=setup-host.d/registry.sh
. "$SCRIPT_DIR/setup-host.d/registry.sh"

# Packages from the host distribution (bookworm). Recommends are not installed
# (podman's would pull dbus-user-session/systemd and slurm's dozens of plugins);
# the recommends that matter are listed explicitly.
readonly HOST_PACKAGES=(
    # apptainer runtime + build helpers (sid's apptainer Depends are re-checked later)
    squashfs-tools uidmap fuse2fs squashfuse fuse3 e2fsprogs patchelf debootstrap
    busybox-static libcap2-bin ca-certificates containernetworking-plugins
    libseccomp2 libsqlite3-0
    # slurm
    slurmctld slurmd slurm-client munge
    # podman
    podman podman-compose runc conmon fuse-overlayfs slirp4netns catatonit
    # project tests / this script
    git python3 python3-venv jq procps iproute2
    # lock archive: the local apt repository index (dpkg-scanpackages)
    dpkg-dev
    # push/pull tests: a local OCI registry (the CNCF distribution registry) and curl
    docker-registry curl
)

MODE=apply
STEP=init
TMP_DIR=
POLICY_RC_CREATED=
MISSING=()

# ---------------------------------------------------------------- logging / errors
log()  { printf '[setup-host] %s\n' "$*" >&2; }
step() { STEP=$1; log "==> ${STEP}"; }
warn() { printf '[setup-host] WARNING (%s): %s\n' "$STEP" "$*" >&2; }
die()  { printf '[setup-host] FAILED in step "%s": %s\n' "$STEP" "$*" >&2; exit 1; }

on_err() {
    local rc=$? cmd=$BASH_COMMAND line=${BASH_LINENO[0]}
    printf '[setup-host] FAILED in step "%s": command `%s` exited %s (line %s)\n' \
        "$STEP" "$cmd" "$rc" "$line" >&2
}
cleanup() {
    trap - ERR
    if [[ -n $TMP_DIR && -d $TMP_DIR ]]; then rm -rf -- "$TMP_DIR"; fi
    if [[ -n $POLICY_RC_CREATED ]]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap on_err ERR
trap cleanup EXIT

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

for arg in "$@"; do
    case $arg in
        --check) MODE=check ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# In --check mode a failed check is recorded, not fatal.
need() { # need <description> <command...>
    local what=$1; shift
    if "$@"; then
        log "ok: ${what}"
        return 0
    fi
    if [[ $MODE == check ]]; then
        log "MISSING: ${what}"
        MISSING+=("$what")
    else
        log "todo: ${what}"
    fi
    return 1
}
apply() { [[ $MODE == apply ]]; }

# ---------------------------------------------------------------- helpers
pkg_installed() { # all given packages installed?
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || return 1
        [[ $status == ii* ]] || return 1
    done
}

missing_packages() {
    local p
    for p in "$@"; do pkg_installed "$p" || printf '%s\n' "$p"; done
}

APT_UPDATED=
apt_install() { # apt_install pkg... (no-op if all installed)
    local -a todo
    mapfile -t todo < <(missing_packages "$@")
    ((${#todo[@]})) || return 0
    log "installing from $(. /etc/os-release; echo "$VERSION_CODENAME"): ${todo[*]}"
    # Never let a package's maintainer script start a daemon (we start them ourselves).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    if [[ -z $APT_UPDATED ]]; then
        apt-get -q -o DPkg::Lock::Timeout=300 update >&2
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install --no-install-recommends "${todo[@]}" >&2
    if [[ -n $POLICY_RC_CREATED ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=; fi
    mapfile -t todo < <(missing_packages "$@")
    ((${#todo[@]} == 0)) || die "packages still not installed: ${todo[*]}"
}

version_ge() { dpkg --compare-versions "$1" ge "$2"; }

apptainer_version() { # prints e.g. 1.4.5-2, fails if apptainer does not run
    local out
    out=$("$APPTAINER_BIN" --version 2>/dev/null) || return 1
    out=${out##* }
    [[ -n $out ]] || return 1
    printf '%s\n' "$out"
}

apptainer_ok() {
    local v interp
    [[ -x $APPTAINER_BIN ]] || return 1
    v=$(apptainer_version) || return 1
    version_ge "$v" "$APPTAINER_MIN" || return 1
    # The starter is only run by apptainer itself: check its interpreter is there too.
    if [[ -f $APPTAINER_STARTER ]] && interp=$(patchelf --print-interpreter "$APPTAINER_STARTER" 2>/dev/null); then
        [[ -x $interp ]] || return 1
    fi
}

make_tmp() { # TMP_DIR is created once, in the main shell (subshells would leak theirs)
    [[ -n $TMP_DIR && -d $TMP_DIR ]] || die "internal: TMP_DIR not set up"
}

# Write content (stdin) to a file only if it differs; returns 0 if changed, 1 if not.
write_if_changed() { # write_if_changed <path> <mode> [owner]
    local path=$1 mode=$2 owner=${3:-root:root} new
    make_tmp
    new=$(mktemp "$TMP_DIR/new.XXXXXX")
    cat >"$new"
    if [[ -f $path ]] && cmp -s "$new" "$path"; then
        rm -f "$new"
        return 1
    fi
    install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$new" "$path"
    rm -f "$new"
    return 0
}

# ---------------------------------------------------------------- 0. preconditions
step "preconditions"
[[ $(id -u) -eq 0 ]] || die "must run as root"
[[ $(uname -m) == x86_64 ]] || die "only x86-64 is supported (found $(uname -m))"
# shellcheck disable=SC1091
. /etc/os-release
[[ ${ID:-} == debian ]] || warn "written for Debian 12; this is ${PRETTY_NAME:-unknown}"
if [[ $MODE == apply ]]; then
    mkdir -p /run/lock
    exec 9>/run/lock/scitex-setup-host.lock
    # Two entry points (scripts/demo.sh and scripts/test.sh) may start at once:
    # the second waits for the first instead of failing.
    if ! flock -n 9; then
        log "waiting for another setup-host.sh run (/run/lock/scitex-setup-host.lock)"
        flock -w 900 9 || die "another setup-host.sh run has held /run/lock/scitex-setup-host.lock for 15 minutes"
    fi
fi
TMP_DIR=$(mktemp -d /tmp/scitex-setup-host.XXXXXX)
NODE=$(hostname -s)
log "mode=${MODE} host=${NODE} distro=${PRETTY_NAME:-?} cpus=$(nproc)"

# ---------------------------------------------------------------- 1. host packages
step "host packages"
if ! need "host packages installed" pkg_installed "${HOST_PACKAGES[@]}"; then
    if [[ $MODE == check ]]; then
        log "  not installed: $(missing_packages "${HOST_PACKAGES[@]}" | tr '\n' ' ')"
    else
        apt_install "${HOST_PACKAGES[@]}"
    fi
fi

# ---------------------------------------------------------------- 2. apptainer
# Debian 12 has no apptainer. sid has 1.4.5, whose binaries need glibc >= 2.38
# (bookworm: 2.36) and installing it with apt would drag a partial libc/dpkg
# upgrade. So: fetch the .debs of apptainer and libc6 from sid with a private apt
# configuration, unpack sid's libc into $LIBC_PREFIX, and point apptainer's ELF
# executables at it (interpreter + RPATH; RPATH, not RUNPATH, because apptainer
# re-executes itself with LD_LIBRARY_PATH set, which would override a RUNPATH).

host_apptainer_candidate() { # the host distro's own apptainer, if it has a usable one
    local c
    c=$(apt-cache policy apptainer 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1)
    [[ -n $c && $c != "(none)" ]] || return 1
    version_ge "$c" "$APPTAINER_MIN" || return 1
    printf '%s\n' "$c"
}

sid_apt() { # apt-get with a private sid configuration; never touches the host's lists or caches
    # Check-Valid-Until=false: by these machines' clocks the sid InRelease the mirror
    # serves can be past its Valid-Until ("expired ... since 15d" was seen without it);
    # the hosts' own apt.conf.d/99artifact-registry sets the same for their sources.
    apt-get -q \
        -o Acquire::Check-Valid-Until=false \
        -o Dir::Etc::SourceList="$SID_WORK/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$SID_WORK/lists" \
        -o Dir::Cache::archives="$SID_WORK/archives" \
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
        -o DPkg::Lock::Timeout=300 \
        "$@"
}

deb_runtime_deps() { # Depends of a .deb, first alternative, no versions, minus libc6
    dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' \
        | grep -v -e '^$' -e '^libc6$' || true
}

find_in_root() { # find_in_root <root> <candidate relative paths...>: first regular non-symlink file
    local root=$1 rel; shift
    for rel in "$@"; do
        if [[ -f $root/$rel && ! -L $root/$rel ]]; then printf '%s\n' "$rel"; return 0; fi
    done
    return 1
}

install_apptainer_from_sid() {
    local debs=$SID_WORK/debs stage=$SID_WORK/stage app_deb libc_deb ld_rel libdir_rel f n=0
    local -a deps
    rm -rf "$SID_WORK"
    mkdir -p "$SID_WORK/lists/partial" "$SID_WORK/archives/partial" "$debs" "$stage"
    printf 'deb [signed-by=%s] %s sid main\n' "$SID_KEYRING" "$SID_MIRROR" >"$SID_WORK/sources.list"
    log "apt-get update (sid, private lists in $SID_WORK/lists)"
    sid_apt update >&2
    log "downloading apptainer and libc6 .debs from sid"
    if getent passwd _apt >/dev/null; then chown _apt:root "$debs"; fi
    (cd "$debs" && sid_apt download apptainer libc6 >&2)
    app_deb=$(compgen -G "$debs/apptainer_*.deb" | head -n1) || true
    libc_deb=$(compgen -G "$debs/libc6_*.deb" | head -n1) || true
    [[ -f $app_deb && -f $libc_deb ]] || die "sid .debs not downloaded (see apt output above)"
    log "got $(basename "$app_deb") and $(basename "$libc_deb")"

    mapfile -t deps < <(deb_runtime_deps "$app_deb")
    log "apptainer's runtime dependencies (taken from the host distro): ${deps[*]}"
    apt_install "${deps[@]}"

    dpkg-deb -x "$app_deb" "$stage/apptainer"
    dpkg-deb -x "$libc_deb" "$stage/libc"
    ld_rel=$(find_in_root "$stage/libc" \
        usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
        usr/lib64/ld-linux-x86-64.so.2 lib64/ld-linux-x86-64.so.2) \
        || die "no ld-linux-x86-64.so.2 inside $(basename "$libc_deb")"
    libdir_rel=$(find_in_root "$stage/libc" usr/lib/x86_64-linux-gnu/libc.so.6 lib/x86_64-linux-gnu/libc.so.6) \
        || die "no libc.so.6 inside $(basename "$libc_deb")"
    libdir_rel=${libdir_rel%/libc.so.6}
    log "sid libc: interpreter $LIBC_PREFIX/$ld_rel, libdir $LIBC_PREFIX/$libdir_rel"

    # Patch every dynamically linked executable of the package (apptainer, starter[-suid]).
    while IFS= read -r -d '' f; do
        patchelf --print-interpreter "$f" >/dev/null 2>&1 || continue
        patchelf --set-interpreter "$LIBC_PREFIX/$ld_rel" "$f"
        patchelf --force-rpath --set-rpath "$LIBC_PREFIX/$libdir_rel" "$f"
        log "patched ${f#"$stage/apptainer"}"
        n=$((n + 1))
    done < <(find "$stage/apptainer" -type f -perm -u+x -print0)
    ((n >= 2)) || die "expected to patch apptainer and starter, patched $n file(s)"

    # Private libc prefix (replaced as a whole).
    rm -rf "$LIBC_PREFIX.new"
    mv "$stage/libc" "$LIBC_PREFIX.new"
    rm -rf "$LIBC_PREFIX"
    mv "$LIBC_PREFIX.new" "$LIBC_PREFIX"
    "$stage/apptainer/usr/bin/apptainer" --version >/dev/null \
        || die "patched apptainer does not run from the staging dir"

    # Keep a copy of conffiles that a previous install left and that differ.
    while IFS= read -r -d '' f; do
        f=${f#"$stage/apptainer"}
        if [[ -f $f ]] && ! cmp -s "$f" "$stage/apptainer$f"; then
            cp -p "$f" "$f.setup-host-old"
            log "kept previous $f as $f.setup-host-old"
        fi
    done < <(find "$stage/apptainer/etc" -type f -print0)

    # Unpack onto / (like dpkg -x, but without rewriting metadata of existing dirs).
    tar -C "$stage/apptainer" -cf - . | tar -C / -xpf - --no-overwrite-dir
    dpkg-deb -c "$app_deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$LIBC_PREFIX/apptainer.files"
    {
        echo "Installed by scitex-container scripts/setup-host.sh on $(date -u +%FT%TZ)"
        echo "apptainer: $(basename "$app_deb") unpacked onto / (file list: apptainer.files)"
        echo "libc6:     $(basename "$libc_deb") unpacked here; apptainer's ELF executables"
        echo "           use $LIBC_PREFIX/$ld_rel and RPATH $LIBC_PREFIX/$libdir_rel"
    } >"$LIBC_PREFIX/README.scitex"
    # What the package's postinst does.
    if [[ ! -e /usr/bin/singularity && -e /usr/bin/singularity.apptainer ]]; then
        update-alternatives --install /usr/bin/singularity singularity /usr/bin/singularity.apptainer 50 >&2
    fi
    rm -rf "$SID_WORK"
    rmdir --ignore-fail-on-non-empty "$(dirname "$SID_WORK")"
}

step "apptainer"
if ! need "apptainer >= $APPTAINER_MIN runs ($APPTAINER_BIN)" apptainer_ok && apply; then
    if cand=$(host_apptainer_candidate); then
        log "the host distro has apptainer $cand: installing it with apt"
        apt_install apptainer
    else
        log "no apptainer >= $APPTAINER_MIN in $(. /etc/os-release; echo "$VERSION_CODENAME"): installing sid's with a private libc"
        install_apptainer_from_sid
    fi
    apptainer_ok || die "apptainer still does not run: $("$APPTAINER_BIN" --version 2>&1 | tail -n1)"
fi
if [[ -x $APPTAINER_BIN ]]; then
    [[ $(command -v apptainer || true) == "$APPTAINER_BIN" ]] \
        || warn "'apptainer' on PATH is $(command -v apptainer || echo nothing), not $APPTAINER_BIN"
fi

# ---------------------------------------------------------------- 3. apptainer configuration
# The machine's bounding set lacks CAP_SYS_RESOURCE, so the default
# `root default capabilities = full` makes `apptainer exec` as root fail. Use the
# capabilities granted in capability.json instead, and grant root all of the
# bounding set except CAP_SYS_RESOURCE. No systemd here: let apptainer drive
# cgroups itself.

conf_has() { # conf_has <key> <value>
    grep -Eq "^[[:space:]]*$1[[:space:]]*=[[:space:]]*$2[[:space:]]*$" "$APPTAINER_CONF"
}
conf_set() { # conf_set <key> <value>
    if grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$APPTAINER_CONF"; then
        sed -i -E "s|^([[:space:]]*$1[[:space:]]*=).*|\\1 $2|" "$APPTAINER_CONF"
    else
        printf '%s = %s\n' "$1" "$2" >>"$APPTAINER_CONF"
    fi
}

wanted_root_caps() { # bounding set minus CAP_SYS_RESOURCE, restricted to what apptainer knows
    local avail
    avail=$("$APPTAINER_BIN" capability avail 2>/dev/null | grep -oE '^CAP_[A-Z_]+' | sort -u) || true
    capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' | tr '[:lower:]' '[:upper:]' \
        | sed '/^[[:space:]]*$/d' | grep -vx CAP_SYS_RESOURCE | sort -u \
        | if [[ -n $avail ]]; then grep -Fx -f <(printf '%s\n' "$avail"); else cat; fi
}
granted_root_caps() {
    local f=/etc/apptainer/capability.json
    [[ -s $f ]] || return 0
    jq -r '.users.root // [] | .[]' "$f" | tr '[:lower:]' '[:upper:]' | sort -u
}
missing_root_caps() { comm -23 <(wanted_root_caps) <(granted_root_caps); }
root_caps_ok() { [[ -z $(missing_root_caps) ]]; }

step "apptainer configuration"
if [[ -f $APPTAINER_CONF ]]; then
    if ! need "apptainer.conf: root default capabilities = file" conf_has 'root default capabilities' file && apply; then
        conf_set 'root default capabilities' file
    fi
    if ! need "apptainer.conf: systemd cgroups = no (no systemd here)" conf_has 'systemd cgroups' no && apply; then
        conf_set 'systemd cgroups' no
    fi
    if apptainer_ok; then
        if ! need "apptainer capabilities of root = bounding set minus CAP_SYS_RESOURCE" root_caps_ok && apply; then
            caps=$(missing_root_caps | paste -sd, -)
            log "granting root: $caps"
            "$APPTAINER_BIN" -s capability add --user root "$caps" >&2  # -s: no warning per capability
            root_caps_ok || die "root still lacks: $(missing_root_caps | paste -sd, -)"
        fi
    fi
else
    need "$APPTAINER_CONF exists" false || true
fi

# Apptainer LD_PRELOADs offsetpreload.so into the host's fuse2fs (an unprivileged
# user mounting an ext3 overlay embedded in a SIF). That runs on the host glibc,
# so the library must not need sid's GLIBC_2.38 (it only wants __isoc23_strtol).
preload_ok() { # every preload library of apptainer loads with the host glibc
    local so
    for so in "$APPTAINER_PRELOAD_DIR"/*.so; do
        [[ -f $so ]] || continue
        [[ -z $(LD_PRELOAD=$so /bin/true 2>&1) ]] || return 1
    done
}
step "apptainer preload libraries on the host glibc"
if [[ -d $APPTAINER_PRELOAD_DIR ]]; then
    if ! need "$APPTAINER_PRELOAD_DIR/*.so load with the host glibc" preload_ok && apply; then
        fixer=$SCRIPT_DIR/setup-host.d/downgrade-isoc23.py
        [[ -f $fixer ]] || die "$fixer missing (run the script from its checkout)"
        for so in "$APPTAINER_PRELOAD_DIR"/*.so; do
            [[ -z $(LD_PRELOAD=$so /bin/true 2>&1) ]] && continue
            if [[ -d $LIBC_PREFIX && ! -e $LIBC_PREFIX/$(basename "$so").orig ]]; then
                cp -p "$so" "$LIBC_PREFIX/$(basename "$so").orig"
            fi
            /usr/bin/python3 "$fixer" "$so"
        done
        preload_ok || die "still not loadable: $(LD_PRELOAD=$(compgen -G "$APPTAINER_PRELOAD_DIR/*.so" | head -n1) /bin/true 2>&1)"
    fi
fi

# ---------------------------------------------------------------- 4. fakeroot ids, test user, /dev/fuse
subid_max_end() { # highest end of any range in a subid file
    awk -F: 'NF == 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { e = $2 + $3; if (e > m) m = e } END { print m + 0 }' "$1"
}
subid_user_ok() { grep -Eq "^$2:[0-9]+:[0-9]+$" "$1" 2>/dev/null; }
root_subid_ok() { grep -qx "root:$ROOT_SUBID_START:$SUBID_COUNT" "$1" 2>/dev/null; }
subid_no_overlap() { # no two ranges in the file overlap
    sort -t: -k2,2n "$1" | awk -F: 'NF == 3 { if (NR > 1 && $2 < end) bad = 1; if ($2 + $3 > end) end = $2 + $3 } END { exit bad }'
}

step "fakeroot sub-ids for root"
for f in /etc/subuid /etc/subgid; do
    if ! need "$f has root:$ROOT_SUBID_START:$SUBID_COUNT" root_subid_ok "$f" && apply; then
        touch "$f"
        echo "root:$ROOT_SUBID_START:$SUBID_COUNT" >>"$f"
    fi
done

step "test user $TEST_USER"
if ! need "user $TEST_USER exists" getent passwd "$TEST_USER" >/dev/null && apply; then
    useradd --create-home --home-dir "$TEST_HOME" --shell /bin/bash --user-group "$TEST_USER"
fi
if getent passwd "$TEST_USER" >/dev/null; then
    if ! need "home $TEST_HOME exists" test -d "$TEST_HOME" && apply; then
        install -d -m 755 -o "$TEST_USER" -g "$TEST_USER" "$TEST_HOME"
    fi
    for f in /etc/subuid /etc/subgid; do
        if ! need "$f has a range for $TEST_USER" subid_user_ok "$f" "$TEST_USER" && apply; then
            start=$(subid_max_end "$f")
            ((start >= ROOT_SUBID_START + SUBID_COUNT)) || start=$((ROOT_SUBID_START + SUBID_COUNT))
            echo "$TEST_USER:$start:$SUBID_COUNT" >>"$f"
        fi
        if ! need "$f ranges do not overlap" subid_no_overlap "$f" && apply; then
            die "overlapping sub-id ranges in $f: fix by hand"
        fi
    done
fi

step "/dev/fuse"
if [[ -e /dev/fuse ]]; then
    if ! need "/dev/fuse is mode 666" test "$(stat -c %a /dev/fuse)" = 666 && apply; then
        chmod 666 /dev/fuse
    fi
else
    warn "/dev/fuse does not exist: unprivileged users cannot mount SIF images"
    need "/dev/fuse exists" false || true
fi

# ---------------------------------------------------------------- 5. SLURM (single node, no systemd)
slurm_conf_content() {
    local mem_kb mem_mb cpus defmem ctld_addr='' node_addr=''
    mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
    mem_mb=$((mem_kb / 1024 * 80 / 100))           # leave 20% to the OS: slurmd rejects more than it sees
    cpus=$(nproc)
    defmem=$((mem_mb / cpus))
    ((defmem <= 1024)) || defmem=1024               # a job without --mem must not take the whole node
    if ! getent hosts "$NODE" >/dev/null; then
        ctld_addr='(127.0.0.1)'
        node_addr=' NodeAddr=127.0.0.1'
    fi
    cat <<CONF
# Generated by scitex-container scripts/setup-host.sh; re-run the script instead of editing.
ClusterName=$SLURM_CLUSTER
SlurmctldHost=$NODE$ctld_addr
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
Waittime=0
NodeName=$NODE$node_addr CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$SLURM_PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
    cluster_conf_lines "$cpus"
}

dir_ok() { # dir_ok <path> <owner> <mode>
    [[ -d $1 && $(stat -c '%U %a' "$1") == "$2 $3" ]]
}
ensure_dir() { # ensure_dir <path> <owner> <mode>
    if ! need "directory $1 ($2, $3)" dir_ok "$1" "$2" "$3" && apply; then
        install -d -o "$2" -g "$(id -gn "$2")" -m "$3" "$1"
    fi
}

munge_key_ok() { [[ -s /etc/munge/munge.key && $(stat -c '%U %a' /etc/munge/munge.key) == "munge 400" ]]; }
munge_ok() { pgrep -x munged >/dev/null && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
munge_ok_or_gone() { munge_ok || ! pgrep -x munged >/dev/null; }
slurmctld_ok() { pgrep -x slurmctld >/dev/null && scontrol ping 2>/dev/null | grep -q 'is UP'; }
host_slurmd_pids() { # slurmd in this host's network namespace (not an extra node's)
    local pid mine
    mine=$(stat -L -c %i /proc/self/ns/net)
    for pid in $(pgrep -x slurmd || true); do
        [[ $(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) == "$mine" ]] && printf '%s\n' "$pid"
    done
    return 0
}
slurmd_ok() { [[ -n $(host_slurmd_pids) ]]; }
node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n1 || true; }
node_usable() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; }

start_daemon() { # start_daemon <name> <command...>: daemonizing command, output kept in $DAEMON_LOG_DIR
    local name=$1 out=$DAEMON_LOG_DIR/$1.out; shift
    mkdir -p "$DAEMON_LOG_DIR"
    log "starting $name: $*"
    # 9>&-: the daemon must not inherit (and keep holding) this script's lock.
    if ! "$@" </dev/null >>"$out" 2>&1 9>&-; then
        tail -n 20 "$out" >&2 || true
        die "$name did not start (output in $out)"
    fi
}
wait_for() { # wait_for <seconds> <description> <command...>
    local secs=$1 what=$2 i; shift 2
    for ((i = 0; i < secs * 2; i++)); do
        if "$@"; then return 0; fi
        sleep 0.5
    done
    die "timed out after ${secs}s waiting for: $what"
}
slurm_pids() { # pids of slurmctld and slurmd; fails if there are none
    # (pgrep -x rejects patterns longer than 15 characters: one call per name)
    { pgrep -x slurmctld; pgrep -x slurmd; } | grep .
}
stop_slurm() {
    log "stopping slurm daemons (configuration changed)"
    scontrol shutdown >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 40; i++)); do
        slurm_pids >/dev/null || return 0
        sleep 0.5
    done
    local pid
    for pid in $(slurm_pids || true); do kill "$pid" 2>/dev/null || true; done
    sleep 1
}

setup_slurm() {
    step "slurm: munge"
    getent passwd munge >/dev/null || die "user munge missing (package munge not installed?)"
    ensure_dir /etc/munge munge 700
    ensure_dir /var/lib/munge munge 700
    ensure_dir /var/log/munge munge 700
    ensure_dir /run/munge munge 755
    if ! need "munge key /etc/munge/munge.key (munge, 0400)" munge_key_ok && apply; then
        if [[ ! -s /etc/munge/munge.key ]]; then
            if command -v mungekey >/dev/null; then
                mungekey --create --keyfile=/etc/munge/munge.key
            else
                dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
            fi
        fi
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    if ! need "munged running and answering" munge_ok && apply; then
        if pgrep -x munged >/dev/null; then # starting up or shutting down: give it a moment
            wait_for 10 "running munged to answer (or exit)" munge_ok_or_gone
        fi
        if ! munge_ok; then
            start_daemon munged runuser -u munge -- /usr/sbin/munged
        fi
        wait_for 15 "munged to answer" munge_ok
    fi

    step "slurm: configuration"
    getent passwd slurm >/dev/null || die "user slurm missing (package slurm-wlm-basic-plugins not installed?)"
    ensure_dir /etc/slurm root 755
    ensure_dir /var/spool/slurmctld slurm 755
    ensure_dir /var/spool/slurmd root 755
    ensure_dir /var/log/slurm slurm 755
    SLURM_CONF_CHANGED=
    if apply; then
        if slurm_conf_content | write_if_changed "$SLURM_CONF" 644; then
            log "wrote $SLURM_CONF"
            SLURM_CONF_CHANGED=1
        else
            log "ok: $SLURM_CONF up to date"
        fi
    else
        need "$SLURM_CONF matches this host" cmp -s "$SLURM_CONF" <(slurm_conf_content) || true
    fi

    step "slurm: daemons"
    if apply && [[ -n $SLURM_CONF_CHANGED ]] && slurm_pids >/dev/null; then
        stop_slurm
    fi
    if ! need "slurmctld running and answering" slurmctld_ok && apply; then
        if ! pgrep -x slurmctld >/dev/null; then
            start_daemon slurmctld /usr/sbin/slurmctld
        fi
        wait_for 30 "slurmctld to answer scontrol ping" slurmctld_ok
    fi
    if ! need "slurmd running" slurmd_ok && apply; then
        start_daemon slurmd /usr/sbin/slurmd
        wait_for 15 "slurmd to run" slurmd_ok
    fi
    if apply; then
        deadline=$((SECONDS + 30))
        resumed=
        until node_usable; do
            state=$(node_state)
            if ((SECONDS >= deadline)); then
                scontrol show node "$NODE" >&2 || true
                die "node $NODE is '$state', not idle, after 30 s (logs: /var/log/slurm/)"
            fi
            case $state in
                down|drained|draining|drain|fail|failing)
                    if [[ -z $resumed ]]; then
                        log "node $NODE is $state: scontrol update state=resume"
                        scontrol update nodename="$NODE" state=resume || true
                        resumed=1
                    fi ;;
            esac
            sleep 1
        done
    fi
    need "node $NODE usable (state: $(node_state || true))" node_usable || true
    setup_cluster_nodes
    srun_ok() { (cd / && timeout 60 runuser -u "$TEST_USER" -- srun -N1 -t 1 true) >/dev/null; }
    if command -v srun >/dev/null && getent passwd "$TEST_USER" >/dev/null; then
        if ! need "srun -N1 -t 1 true as $TEST_USER" srun_ok && apply; then
            die "srun as $TEST_USER failed: $( (cd / && timeout 60 runuser -u "$TEST_USER" -- srun -N1 -t 1 true) 2>&1 | tail -n 3)"
        fi
        if cluster_enabled && ! need "srun on each extra node prints its hostname (as $TEST_USER)" cluster_srun_check && apply; then
            die "srun on the extra nodes failed (see above; logs /var/log/slurm/slurmd-*.log)"
        fi
    fi
}
if pkg_installed munge slurmctld slurmd slurm-client; then
    setup_slurm
else
    step "slurm"
    need "slurm packages installed (munge slurmctld slurmd slurm-client)" false || true
fi

# ---------------------------------------------------------------- 6. Podman
# crun fails here ("cgroups in hybrid mode not supported"): use runc and cgroupfs.
podman_conf_content() {
    cat <<'CONF'
# Written by scitex-container scripts/setup-host.sh
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
}
podman_image_ok() { podman image exists "$PODMAN_BASE_IMAGE" 2>/dev/null; }
podman_run_ok() { timeout 60 podman run --rm "$PODMAN_BASE_IMAGE" true >/dev/null; }

make_busybox_image() { # no registry is reachable: import a busybox root folder
    local bb=/bin/busybox root
    [[ -x $bb ]] || die "$bb missing (package busybox-static)"
    make_tmp
    root=$TMP_DIR/busybox-root
    mkdir -p "$root"/{bin,etc,root,tmp,proc,sys,dev,var}
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    local applet
    for applet in $("$bb" --list); do
        [[ $applet == busybox || -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
    done
    tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . \
        | podman import --change 'CMD ["/bin/sh"]' - "$PODMAN_BASE_IMAGE" >/dev/null
    rm -rf "$root"
}

step "podman"
if apply; then
    if podman_conf_content | write_if_changed "$PODMAN_CONF" 644; then
        log "wrote $PODMAN_CONF"
    else
        log "ok: $PODMAN_CONF up to date"
    fi
else
    need "$PODMAN_CONF up to date" cmp -s "$PODMAN_CONF" <(podman_conf_content) || true
fi
if command -v podman >/dev/null; then
    if ! need "podman image $PODMAN_BASE_IMAGE" podman_image_ok && apply; then
        log "creating $PODMAN_BASE_IMAGE from /bin/busybox"
        make_busybox_image
        podman_image_ok || die "$PODMAN_BASE_IMAGE still missing after import"
    fi
    if podman_image_ok; then
        if ! need "podman run --rm $PODMAN_BASE_IMAGE true" podman_run_ok && apply; then
            die "podman run failed: $(timeout 60 podman run --rm "$PODMAN_BASE_IMAGE" true 2>&1 | tail -n 3)"
        fi
    fi
fi

step "registry"
setup_registry

# ---------------------------------------------------------------- 7. smoke tests
step "smoke test: apptainer"
apptainer_smoke() {
    local d sif out
    make_tmp
    chmod 755 "$TMP_DIR"
    d=$TMP_DIR/apptainer
    mkdir -p "$d"
    chmod 755 "$d"
    cat >"$d/busybox.def" <<'DEF'
Bootstrap: scratch

%files
    /bin/busybox /bin/busybox
    /bin/busybox /bin/sh
DEF
    sif=$d/busybox.sif
    if ! out=$(cd "$d" && timeout 60 "$APPTAINER_BIN" -s build --fakeroot "$sif" busybox.def 2>&1); then
        log "apptainer build --fakeroot failed: $(tail -n 3 <<<"$out")"
        return 1
    fi
    chmod 644 "$sif"
    if ! out=$(cd / && timeout 30 "$APPTAINER_BIN" -s exec "$sif" /bin/sh -c true 2>&1); then
        log "apptainer exec as root failed: $(tail -n 3 <<<"$out")"
        return 1
    fi
    if ! out=$(cd / && timeout 30 runuser -u "$TEST_USER" -- "$APPTAINER_BIN" -s exec "$sif" /bin/sh -c true 2>&1); then
        log "apptainer exec as $TEST_USER failed: $(tail -n 3 <<<"$out")"
        return 1
    fi
    # An ext3 overlay embedded in the SIF, as the user: fuse2fs + offsetpreload.so.
    install -d -o "$TEST_USER" -m 755 "$d/user"
    install -o "$TEST_USER" -m 644 "$sif" "$d/user/overlay.sif"
    if ! out=$(cd "$d/user" && timeout 30 runuser -u "$TEST_USER" -- sh -c \
        "'$APPTAINER_BIN' -s overlay create --size 64 overlay.sif && '$APPTAINER_BIN' -s exec --writable overlay.sif /bin/sh -c 'echo ok > /probe'" 2>&1); then
        log "apptainer exec --writable (embedded overlay) as $TEST_USER failed: $(tail -n 3 <<<"$out")"
        return 1
    fi
    rm -rf "$d"
}
if apptainer_ok && getent passwd "$TEST_USER" >/dev/null; then
    if ! need "apptainer build --fakeroot (scratch); exec as root and as $TEST_USER; embedded overlay as $TEST_USER" apptainer_smoke && apply; then
        die "apptainer smoke test failed (see above)"
    fi
fi

# ---------------------------------------------------------------- 8. summary
step "summary"
ver() { "$@" 2>/dev/null | head -n1 || true; }
log "apptainer:      $(ver "$APPTAINER_BIN" --version) ($APPTAINER_BIN)"
log "slurm:          $(ver sinfo -V) (config $SLURM_CONF, node $NODE: $(node_state || true), partition $SLURM_PARTITION)"
if cluster_enabled; then log "extra nodes:    ${CLUSTER_NODES[*]} (partition $CLUSTER_PARTITION; $(sinfo -h -p "$CLUSTER_PARTITION" -o '%D %T' 2>/dev/null | tr '\n' ' '))"; fi
log "podman:         $(ver podman --version) (config $PODMAN_CONF, base image $PODMAN_BASE_IMAGE)"
log "podman-compose: $(podman-compose --version 2>/dev/null | grep -m1 -iE 'podman-compose(r)? version' || true)"
log "registry:       http://$REGISTRY_ADDR ($(registry_ok && echo up || echo down); config $REGISTRY_CONF)"
log "test user:      $TEST_USER ($TEST_HOME)"
if [[ $MODE == check ]]; then
    if ((${#MISSING[@]})); then
        log "check FAILED, ${#MISSING[@]} problem(s):"
        printf '[setup-host]   - %s\n' "${MISSING[@]}" >&2
        exit 1
    fi
    log "check passed in ${SECONDS}s"
else
    log "done in ${SECONDS}s"
fi
