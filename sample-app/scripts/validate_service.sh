#!/usr/bin/env bash
# ValidateService: /health must answer 200 and /version the installed version before the deadline.
# A definite unhealthy answer (5xx three times in a row) fails at once instead of waiting out the deadline.
set -euo pipefail
. "$(dirname "$0")/common.sh"

# config/health.json may ask for a slow validation ("validateDelaySeconds": N): a test that stops a deployment
# mid-way gets a window before traffic shifts, as it has on AWS where a deployment takes minutes.
delay=$(node -e 'const h = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(String(Number(h.validateDelaySeconds) || 0))' "$APP_DIR/config/health.json" 2>/dev/null || echo 0)
if [ "$delay" != "0" ]; then
  log "validating in ${delay} s (config/health.json validateDelaySeconds)"
  sleep "$delay"
fi
deadline=$(( $(date +%s) + ${VALIDATE_TIMEOUT_SECONDS:-30} ))
expected=$(cat "$APP_DIR/VERSION")
url="http://127.0.0.1:$PORT"
last="no answer yet"
bad=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  if ! app_pid >/dev/null; then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "the app is not running (see its log above)"
  fi
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/health" || true)
  last="GET /health answered ${code:-nothing}"
  if [ "$code" = "200" ]; then
    version=$(curl -fsS -m 2 "$url/version" || true)
    case "$version" in
      *"\"version\":\"$expected\""*) log "healthy, serving $expected"; exit 0 ;;
      *) die "healthy but /version answered '$version', expected $expected" ;;
    esac
  fi
  case "$code" in 5*) bad=$((bad + 1)) ;; *) bad=0 ;; esac
  [ "$bad" -ge 3 ] && die "unhealthy: $last three times in a row (version $expected)"
  sleep 0.2
done
die "not healthy within ${VALIDATE_TIMEOUT_SECONDS:-30} s: $last"
