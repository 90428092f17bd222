#!/usr/bin/env bash
# Installs the system libraries TapeGrad links (jemalloc, OpenBLAS) when pkg-config cannot
# find them: with apt-get, through sudo when not root.
set -euo pipefail
if pkg-config --exists jemalloc openblas 2>/dev/null; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libjemalloc-dev libopenblas-dev pkg-config >/dev/null
pkg-config --exists jemalloc openblas
