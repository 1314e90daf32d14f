#!/usr/bin/env bash
# AfterInstall: check the release landed complete.
set -euo pipefail
. "$(dirname "$0")/common.sh"

for f in server.js lib/app.js VERSION config/health.json; do
  [ -f "$APP_DIR/$f" ] || die "$APP_DIR/$f is missing: the revision must contain it (check appspec.yml files and the build artifact)"
done
log "installed version $(cat "$APP_DIR/VERSION") into $APP_DIR"
