#!/usr/bin/env bash
# Re-capture the real engine outputs saved beside this script (podman 4.3 + podman-compose 1.0.x).
# Usage: tests/docker/data/capture.sh   (needs podman, podman-compose and localhost/busybox:test)
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/sctx-capture-XXXXXX)"
project="sctxcapture"
trap 'podman rm -f -i sctxcapture_web_1 sctxcapture_cache_1 >/dev/null; podman network rm -f sctxcapture_default >/dev/null 2>&1 || true; podman rmi -f localhost/sctxcapture-web:dev localhost/sctxcapture-bad:dev >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export PYTHONUNBUFFERED=1
mkdir -p "$work/web" "$work/bad"
cat > "$work/web/Dockerfile" <<'DOCKERFILE'
FROM localhost/busybox:test
RUN echo built > /built.txt
CMD ["sh", "-c", "trap 'exit 0' TERM; echo web-started; cat /built.txt; sleep 300 & wait"]
DOCKERFILE
printf 'FROM localhost/busybox:test\nRUN false\n' > "$work/bad/Dockerfile"
cat > "$work/docker-compose.dev.yml" <<'YAML'
services:
  web:
    build: ./web
    image: localhost/sctxcapture-web:dev
  cache:
    image: localhost/busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; echo cache-started; sleep 300 & wait"]
YAML
printf 'services:\n  bad:\n    build: ./bad\n    image: localhost/sctxcapture-bad:dev\n' > "$work/docker-compose.bad.yml"
printf 'services:\n  web:\n    image: [unclosed\n    command: x\n' > "$work/docker-compose.broken.yml"
pc() { (cd "$work" && podman-compose "$@" 2>&1); }
v="$(podman-compose version 2>/dev/null | sed -n 's/^podman-composer\{0,1\} version *//p' | head -1)"
pfx="$out/podman-compose-$v"
pc version > "$pfx-version.txt"
pc -f docker-compose.dev.yml -p "$project" build --no-cache > "$pfx-build-ok.txt"
pc -f docker-compose.bad.yml -p "$project" build --no-cache > "$pfx-build-fail.txt" || true
pc -f docker-compose.dev.yml -p "$project" up -d > "$pfx-up.txt"
pc -f docker-compose.dev.yml -p "$project" up -d > "$pfx-up-again.txt"
sleep 1
pc -f docker-compose.dev.yml -p "$project" logs > "$pfx-logs.txt"
podman ps -a --format json --filter "label=io.podman.compose.project=$project" > "$out/podman-$(podman version --format '{{.Client.Version}}')-ps-running.json"
podman stop -t 5 sctxcapture_cache_1 >/dev/null
podman ps -a --format json --filter "label=io.podman.compose.project=$project" > "$out/podman-$(podman version --format '{{.Client.Version}}')-ps-one-exited.json"
pc -f docker-compose.dev.yml -p "$project" down > "$pfx-down.txt"
pc -f docker-compose.dev.yml -p "$project" down > "$pfx-down-again.txt"
pc -f docker-compose.broken.yml -p "$project" ps > "$pfx-yaml-error.txt" || true
# Make the captures independent of the temporary directory's random name.
sed -i "s#$work#/tmp/sctx-capture#g" "$out"/*.txt "$out"/*.json
