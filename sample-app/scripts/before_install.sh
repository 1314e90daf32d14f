#!/usr/bin/env bash
# BeforeInstall: check the instance can run the app and clear the previous release's files.
set -euo pipefail
. "$(dirname "$0")/common.sh"

command -v node >/dev/null 2>&1 || die "node is not installed on this instance; install Node.js 20+ (dnf install nodejs)"
mkdir -p "$RUN_DIR"
rm -rf "$APP_DIR"
mkdir -p "$APP_DIR"
log "ready to install into $APP_DIR (node $(node --version))"
