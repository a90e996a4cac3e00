#!/usr/bin/env bash
# Runs every test. The differential and interoperability tests need the real redis-server
# (Debian's redis-server and redis-tools packages); they are installed here when missing, or the
# script stops and says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing redis-server and redis-tools (reference for differential tests)..."
    (apt-get install -y redis-server redis-tools >/dev/null 2>&1) || \
      (apt-get update >/dev/null 2>&1 && apt-get install -y redis-server redis-tools >/dev/null)
  else
    echo "redis-server and redis-cli are required: apt-get install -y redis-server redis-tools" >&2
    exit 1
  fi
fi

cargo test --workspace "$@"
