#!/usr/bin/env bash
# ApplicationStop: stop the running app (if any) within 10 s; not running is fine.
set -euo pipefail
. "$(dirname "$0")/common.sh"

if ! pid=$(app_pid); then
  log "app not running"
  rm -f "$PID_FILE"
  exit 0
fi
log "stopping app (pid $pid)"
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  log "app did not stop within 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PID_FILE"
log "app stopped"
