#!/usr/bin/env bash
# A Debian unstable (sid) root holding the Pythons this machine lacks: python3.14 and
# python3.15 with their venv modules, run through chroot by tests/sidroot.py.
#
#     scripts/sidroot.sh            # create it when missing; print its path
#     scripts/sidroot.sh --rebuild  # throw the cached root away and create it again
#
# Why a root: uv cannot download interpreters on these machines, pyenv has 3.12 and 3.13
# only, sid's CPython source packages are not served (no build from source), and there is
# no container engine. The root is what a `python:3.14` container would give. sid's
# packages are never installed into the host (they would replace its libc): everything
# stays in the root's folder, cached between runs in
# ${XDG_CACHE_HOME:-~/.cache}/django-service-template-ci/sid.
#
# Idempotent: a complete root (marked by .complete, written last) is reused as is; a
# half-made one (interrupted run) is removed and made again. Needs root and debootstrap.
set -euo pipefail

root="${SIDROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/django-service-template-ci/sid}"
packages=python3.14,python3.15,python3.14-venv,python3.15-venv,ca-certificates

if [ "${1:-}" = "--rebuild" ]; then
    rm -rf --one-file-system "$root"
fi

if [ -f "$root/.complete" ] && [ -x "$root/usr/bin/python3.14" ] && [ -x "$root/usr/bin/python3.15" ]; then
    echo "$root"
    exit 0
fi

# The Debian mirror this machine's apt already uses (deb822 `URIs:` or one-line `deb`),
# security mirrors aside: sid is on the main archive only.
mirror="${SIDROOT_MIRROR:-}"
if [ -z "$mirror" ]; then
    mirror="$(
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
            awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' |
            grep -v -e security -e updates | head -n 1 || true
    )"
fi
if [ -z "$mirror" ]; then
    mirror="$(
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' |
            grep -v security | head -n 1 || true
    )"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "sidroot.sh: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
fi

# A previous run may have been interrupted with its mounts still in place.
for mount in proc dev/pts dev; do
    if mountpoint -q "$root/$mount" 2>/dev/null; then umount -l "$root/$mount"; fi
done
rm -rf --one-file-system "$root"
mkdir -p "$(dirname "$root")"
partial="$root.partial"
rm -rf --one-file-system "$partial"

echo "sidroot.sh: debootstrap sid from $mirror into $root" >&2
start=$SECONDS
debootstrap --variant=minbase --include="$packages" sid "$partial" "$mirror" >&2
# Nothing of apt's download cache is needed afterwards.
rm -rf "$partial"/var/cache/apt/archives/*.deb
chroot "$partial" python3.14 --version >&2
chroot "$partial" python3.15 --version >&2
date -u +%FT%TZ >"$partial/.complete"
mv "$partial" "$root"
echo "sidroot.sh: created in $((SECONDS - start)) s" >&2
echo "$root"
