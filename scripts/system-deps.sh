#!/usr/bin/env bash
# Usage: scripts/system-deps.sh chat|test
#
# The system (non-pip) packages that `make chat` (flavour chat) and `make test` (flavour test)
# need; the Makefile runs this before anything else. Whatever is missing is installed with
# apt-get when that can be done here (apt-get present, and root or passwordless sudo);
# otherwise one line per missing piece says what to install, and the script exits 1.
# Prints nothing when everything is present.
#
#   chat: a Python 3.11 ($PYTHON, default python3.11) with the venv module: make builds .venv with it.
#   test: the above, plus chromium at /usr/bin/chromium, the DejaVu fonts, and (as root) setpriv.
#
# Environment:
#   PYTHON=...           the interpreter to check (the Makefile passes its $(PYTHON))
#   SYSTEM_DEPS_NO_APT=1 act as if apt-get were absent: only report what is missing
#                        (to see, or test, the message given on systems without apt)
set -euo pipefail

flavour=${1:-}
case $flavour in
    chat | test) ;;
    *) echo "usage: $0 chat|test" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3.11}

missing_pkgs=() # Debian packages to install
missing_msgs=() # one line per missing piece: what, the Debian package, a hint for other systems

need() { # need DEBIAN_PACKAGE WHAT HINT_ELSEWHERE
    missing_pkgs+=("$1")
    missing_msgs+=("missing: $2 -- Debian: apt-get install $1; elsewhere: $3")
}

check() {
    missing_pkgs=()
    missing_msgs=()

    # Python 3.11 with venv and ensurepip: `make` creates .venv with `$PYTHON -m venv`.
    # Debian ships venv's ensurepip separately, in python3.11-venv. One start of Python (fast no-op).
    local py
    py=$("$PYTHON" -c 'import sys
if sys.version_info[:2] != (3, 11): print("version", sys.version.split()[0]); sys.exit()
try: import venv, ensurepip
except ImportError: print("venv"); sys.exit()
print("ok")' 2>/dev/null) || py=absent
    case $py in
        ok) ;;
        absent)
            need "python3.11 python3.11-venv" "$PYTHON (Python 3.11)" \
                "install Python 3.11 (python.org, pyenv, your package manager), or run make with PYTHON=/path/to/python3.11" ;;
        version*)
            need "python3.11 python3.11-venv" "Python 3.11 ($PYTHON is Python ${py#version })" \
                "install Python 3.11, or run make with PYTHON=/path/to/python3.11" ;;
        *)
            need python3.11-venv "the venv module of $PYTHON (python3.11 -m venv)" \
                "a Python 3.11 build that includes venv and ensurepip" ;;
    esac

    [[ $flavour == test ]] || return 0

    # chromium + fonts: the UI tests drive the real app in headless Chromium via Playwright,
    # at this exact path (no browser download: the tests run offline).
    if [[ ! -x /usr/bin/chromium ]]; then
        need chromium "Chromium at /usr/bin/chromium (UI tests)" \
            "install Chromium and link its binary to /usr/bin/chromium"
    fi
    # Fonts: Chromium needs at least one to lay out and render the page's text (and the screenshots).
    if [[ ! -d /usr/share/fonts/truetype/dejavu ]]; then
        need fonts-dejavu-core "DejaVu fonts in /usr/share/fonts/truetype/dejavu (UI tests)" \
            "install the DejaVu fonts (package dejavu-fonts or similar)"
    fi
    # util-linux setpriv: as root the unreadable-file test drops the DAC-override capabilities
    # with it (root reads any file); other users do not need it.
    if [[ $EUID -eq 0 ]] && ! command -v setpriv >/dev/null 2>&1; then
        need util-linux "setpriv (unreadable-file test, run as root)" "install util-linux"
    fi
}

report() {
    local msg
    for msg in "${missing_msgs[@]}"; do echo "system-deps: $msg" >&2; done
}

check
((${#missing_pkgs[@]})) || exit 0

sudo=()
can_apt=false
if [[ ${SYSTEM_DEPS_NO_APT:-} != 1 ]] && command -v apt-get >/dev/null 2>&1; then
    if [[ $EUID -eq 0 ]]; then
        can_apt=true
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        can_apt=true
        sudo=(sudo -n)
    fi
fi
if ! $can_apt; then
    report
    exit 1
fi

# Word-split on purpose: one entry may name two packages.
# shellcheck disable=SC2206
pkgs=(${missing_pkgs[*]})
echo "system-deps: installing ${pkgs[*]} with apt-get" >&2
if ! { "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }; then
    echo "system-deps: apt-get could not install ${pkgs[*]}; install by hand:" >&2
    report
    exit 1
fi

# Check again: a package may install under another path than the one the tests use.
check
if ((${#missing_pkgs[@]})); then
    echo "system-deps: still missing after apt-get install:" >&2
    report
    exit 1
fi
