#!/usr/bin/env bash
# install-host-packages.sh: check or install the host packages that
# scitex-container binds into containers (TeX Live, ImageMagick) with apt.
#
# Ships inside the scitex_container wheel (scitex_container/host/scripts/) and
# is run by scitex_container.host.install_packages, once per package group.
# Idempotent: a group whose packages are all installed is left alone.
#
# Usage: install-host-packages.sh [--check] [--texlive] [--texlive-recommended]
#                                 [--imagemagick] [--all]
#
# stdout carries only one line per requested group (apt's output goes to stderr):
#     scitex-host-packages: <group> <present|missing|installed|failed>
# Exit status: 0 every requested group is present (or was installed);
#              1 a group is missing (--check) or failed to install; 2 usage error.
set -euo pipefail

readonly TAG="scitex-host-packages"
readonly TEXLIVE_PACKAGES=(texlive-latex-base)
readonly TEXLIVE_RECOMMENDED_PACKAGES=(texlive-latex-recommended texlive-fonts-recommended)
readonly IMAGEMAGICK_PACKAGES=(imagemagick)

usage() {
    printf 'usage: %s [--check] [--texlive] [--texlive-recommended] [--imagemagick] [--all]\n' \
        "${0##*/}" >&2
}

check_only=0
recommended=0
want_texlive=0
want_imagemagick=0
while (($# > 0)); do
    case "$1" in
        --check) check_only=1 ;;
        --texlive) want_texlive=1 ;;
        --texlive-recommended) want_texlive=1; recommended=1 ;;
        --imagemagick) want_imagemagick=1 ;;
        --all) want_texlive=1; want_imagemagick=1 ;;
        -h|--help) usage; exit 0 ;;
        *) printf '%s: unknown option: %s\n' "${0##*/}" "$1" >&2; usage; exit 2 ;;
    esac
    shift
done
if ((want_texlive == 0 && want_imagemagick == 0)); then
    printf '%s: choose --texlive, --imagemagick or --all\n' "${0##*/}" >&2
    usage
    exit 2
fi

# The packages of one group, one per line.
group_packages() {
    case "$1" in
        texlive)
            printf '%s\n' "${TEXLIVE_PACKAGES[@]}"
            if ((recommended)); then printf '%s\n' "${TEXLIVE_RECOMMENDED_PACKAGES[@]}"; fi
            ;;
        imagemagick) printf '%s\n' "${IMAGEMAGICK_PACKAGES[@]}" ;;
    esac
}

# True when dpkg reports the package fully installed.
is_installed() {
    local status
    status="$(dpkg-query -W -f='${db:Status-Status}' -- "$1" 2>/dev/null)" || return 1
    [[ "$status" == "installed" ]]
}

apt_install() {
    local -a apt_opts=(
        -y --no-install-recommends
        -o "DPkg::Lock::Timeout=600"
        -o "Dpkg::Options::=--force-confdef"
        -o "Dpkg::Options::=--force-confold"
    )
    # Try with the current package lists first; refresh them only if that fails
    # (no lists yet, or stale lists pointing at files the mirror no longer has).
    if DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" -- "$@" >&2; then
        return 0
    fi
    printf '%s: apt-get install failed; refreshing package lists and retrying\n' "$TAG" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -o "DPkg::Lock::Timeout=600" >&2 || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" -- "$@" >&2
}

report() {
    printf '%s: %s %s\n' "$TAG" "$1" "$2"
}

groups=()
if ((want_texlive)); then groups+=(texlive); fi
if ((want_imagemagick)); then groups+=(imagemagick); fi

status=0
for group in "${groups[@]}"; do
    mapfile -t packages < <(group_packages "$group")
    missing=()
    for package in "${packages[@]}"; do
        if ! is_installed "$package"; then missing+=("$package"); fi
    done
    if ((${#missing[@]} == 0)); then
        report "$group" present
        continue
    fi
    if ((check_only)); then
        printf '%s: %s is missing: %s\n' "$TAG" "$group" "${missing[*]}" >&2
        report "$group" missing
        status=1
        continue
    fi
    if ((EUID != 0)); then
        printf '%s: installing %s needs root (run as root, or ask for sudo)\n' "$TAG" "$group" >&2
        report "$group" failed
        status=1
        continue
    fi
    printf '%s: installing %s: %s\n' "$TAG" "$group" "${missing[*]}" >&2
    if apt_install "${missing[@]}"; then
        still=()
        for package in "${missing[@]}"; do
            if ! is_installed "$package"; then still+=("$package"); fi
        done
        if ((${#still[@]} == 0)); then
            report "$group" installed
            continue
        fi
        printf '%s: still not installed after apt-get: %s\n' "$TAG" "${still[*]}" >&2
    fi
    report "$group" failed
    status=1
done
exit "$status"
