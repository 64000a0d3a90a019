# scripts/setup-host.d/registry.sh - sourced by setup-host.sh (uses its need/apply/log/die,
# start_daemon, wait_for and write_if_changed): a local OCI registry for the push/pull tests.
#
# Debian's `docker-registry` (the CNCF distribution registry, 2.8) serves on
# $REGISTRY_ADDR only (loopback: nothing outside this machine can reach it), without
# authentication, with deletes enabled, storing under $REGISTRY_STATE.  It runs as the
# package's own `docker-registry` user, started directly (there is no systemd here);
# its output goes to $DAEMON_LOG_DIR/docker-registry.out.

readonly REGISTRY_ADDR=127.0.0.1:5000
readonly REGISTRY_CONF=/etc/scitex-registry/config.yml
readonly REGISTRY_STATE=/var/lib/scitex-registry

registry_conf_content() {
    cat <<CONF
# written by scitex-container scripts/setup-host.sh: the test bed's local registry
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_STATE
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
CONF
}

registry_ok() { curl -fsS -o /dev/null --max-time 5 "http://$REGISTRY_ADDR/v2/" 2>/dev/null; }
registry_pids() { pgrep -f "^/usr/bin/docker-registry serve $REGISTRY_CONF\$"; }

setup_registry() {
    if apply; then
        mkdir -p "$(dirname "$REGISTRY_CONF")"
        if registry_conf_content | write_if_changed "$REGISTRY_CONF" 644; then
            log "wrote $REGISTRY_CONF"
            local pid
            for pid in $(registry_pids || true); do kill "$pid" 2>/dev/null || true; done
        fi
        install -d -o docker-registry -g docker-registry -m 750 "$REGISTRY_STATE"
    else
        need "$REGISTRY_CONF up to date" cmp -s "$REGISTRY_CONF" <(registry_conf_content) || true
    fi
    if ! need "registry answering on http://$REGISTRY_ADDR/v2/" registry_ok && apply; then
        start_daemon docker-registry setsid -f runuser -u docker-registry -- \
            /usr/bin/docker-registry serve "$REGISTRY_CONF"
        wait_for 30 "the registry on $REGISTRY_ADDR" registry_ok
    fi
}
