#!/usr/bin/env bash
# ApplicationStart: start the app in the background and record its pid.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mkdir -p "$RUN_DIR"
if pid=$(app_pid); then die "app already running (pid $pid); ApplicationStop should have stopped it"; fi
id=$(instance_id)
# stdin/stdout/stderr detached so the hook returns while the app keeps running.
PORT="$PORT" INSTANCE_ID="$id" nohup node "$APP_DIR/server.js" </dev/null >>"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"
log "started version $(cat "$APP_DIR/VERSION") on port $PORT as instance $id (pid $!)"
