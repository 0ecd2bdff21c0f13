#!/usr/bin/env bash
# The independent oracle of the card emulators (packages/bridge/test/opensc.test.ts): pcscd with
# vsmartcard's virtual reader (vpcd, TCP port 35963 on localhost), OpenSC's PKCS#11 module and
# pkcs11-tool, yubico-piv-tool. Installs what is missing (Debian). The test starts its own pcscd
# when none is running, so nothing needs to be started here.
set -euo pipefail
packages=()
command -v pcscd >/dev/null || packages+=(pcscd)
[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || packages+=(vsmartcard-vpcd)
[ -e /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so ] || packages+=(opensc)
command -v yubico-piv-tool >/dev/null || packages+=(yubico-piv-tool)
if [ "${#packages[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
