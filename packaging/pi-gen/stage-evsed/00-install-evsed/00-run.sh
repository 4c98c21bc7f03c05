#!/bin/bash
# pi-gen sub-stage: install the evsed package into the image. pi-gen runs this on the build host from
# this folder, with ROOTFS_DIR (the image's root file system) and on_chroot (a shell inside it).
# Put the evsed .deb for the image's suite and architecture into files/ first (packaging/build-deb
# --arch arm64, or armhf for a 32-bit image: it writes one per suite, +deb12 for bookworm, +deb13 for trixie).
set -euo pipefail

facts=$(on_chroot <<'CHROOT'
. /etc/os-release
echo "${VERSION_CODENAME} $(dpkg --print-architecture)"
CHROOT
)
read -r codename arch <<<"$facts"
case "$codename" in
    bookworm) suffix=deb12 ;;
    trixie) suffix=deb13 ;;
    *) echo "00-install-evsed: no evsed package for $codename (bookworm, trixie)" >&2; exit 1 ;;
esac
shopt -s nullglob
debs=(files/evsed_*+"${suffix}_${arch}".deb)
if [ ${#debs[@]} -ne 1 ]; then
    echo "00-install-evsed: need exactly one files/evsed_*+${suffix}_${arch}.deb, found ${#debs[@]}" >&2
    exit 1
fi
install -D -m 0644 "${debs[0]}" "${ROOTFS_DIR}/tmp/evsed.deb"

# apt takes evsed's Depends (python3-venv, pcscd, python3-pyscard, python3-lgpio, ...) from Raspberry
# Pi OS's archive; the package's postinst builds /opt/evsed/venv offline from its own wheels, creates
# the evsed user and enables evsed.service and evsed-provision.service.
on_chroot <<'CHROOT'
apt-get install -y /tmp/evsed.deb
rm -f /tmp/evsed.deb
CHROOT

# An example beside the place installers put the real file (provisioning only reads evsed.toml).
install -m 0644 "${ROOTFS_DIR}/etc/evsed/evsed.toml" "${ROOTFS_DIR}/boot/firmware/evsed.toml.example"
