#!/usr/bin/env bash
# Install the Debian packages the test suite needs, and only those that are missing.
#
# Why: tests start throwaway PostgreSQL/Redis servers (tests/services.py), render
# pages in headless Chromium, and check generated PDFs with pdftotext using the
# DejaVu fonts.  A fresh machine or CI box may lack any of these; an already set up
# one must not pay for an apt-get update on every run.  So: silent and instant when
# everything is present, apt-get install of exactly the missing packages otherwise.
#
# Usage: scripts/install-system-deps.sh   (as root, or as a user with passwordless sudo)
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

have_initdb() {
    have initdb && return 0
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && return 0
    done
    return 1
}

missing=()
have_initdb || missing+=(postgresql)
have redis-server || missing+=(redis-server)
{ have chromium || have chromium-browser; } || missing+=(chromium)
have pdftotext || missing+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif have sudo && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "install-system-deps: missing Debian packages; run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "install-system-deps: installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
