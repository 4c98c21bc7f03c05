#!/bin/bash
# pi-gen stage prologue: start this stage from the previous stage's root file system (stage2, Lite).
set -euo pipefail

if [ ! -d "${ROOTFS_DIR}" ]; then
    copy_previous
fi
