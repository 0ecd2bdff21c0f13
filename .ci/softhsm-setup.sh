# SoftHSM2 for @vhsm/native and the conformance suite.
#
#   bash .ci/softhsm-setup.sh      installs Debian's softhsm2 if its library is missing, and the
#                                  compilers pkcs11js's node-gyp build needs (make, g++, python3)
#   source .ci/softhsm-setup.sh    the same, then exports SOFTHSM2_LIB and a SOFTHSM2_CONF that points
#                                  at a fresh, empty token directory under a temporary directory
#
# The test files of packages/native and packages/conformance make their own throw-away token
# directory each; the exported SOFTHSM2_CONF is for running tools and scripts by hand
# (softhsm2-util --show-slots, pkcs11-tool, the conformance runner).

SOFTHSM2_LIB="${SOFTHSM2_LIB:-/usr/lib/softhsm/libsofthsm2.so}"

softhsm_install() {
  local packages=()
  [ -e "$SOFTHSM2_LIB" ] || packages+=(softhsm2)
  command -v make >/dev/null || packages+=(make)
  command -v g++ >/dev/null || packages+=(g++)
  command -v python3 >/dev/null || packages+=(python3)
  if [ "${#packages[@]}" -eq 0 ]; then
    return 0
  fi
  echo "softhsm-setup: installing ${packages[*]} (apt-get)" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null; } ||
    { echo "softhsm-setup: could not install ${packages[*]}" >&2; return 1; }
  [ -e "$SOFTHSM2_LIB" ] || { echo "softhsm-setup: $SOFTHSM2_LIB still missing after install" >&2; return 1; }
}

# Creates a throw-away token directory and its softhsm2.conf; prints the conf path.
softhsm_temp_conf() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/softhsm.XXXXXX")" || return 1
  mkdir -p "$dir/tokens" || return 1
  cat >"$dir/softhsm2.conf" <<EOF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
  echo "$dir/softhsm2.conf"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: never exit the caller's shell, report through the return status.
  if softhsm_install; then
    SOFTHSM2_CONF="$(softhsm_temp_conf)" && export SOFTHSM2_CONF SOFTHSM2_LIB
  else
    false
  fi
else
  set -euo pipefail
  softhsm_install
fi
