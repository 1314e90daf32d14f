# Shared by the appspec hook scripts; sourced, not run.
#
# The contract with whoever runs the hooks (see ../README.md):
#   DEPLOY_ROOT  prefix for absolute paths; unset on EC2 (so "/"), the instance's root dir in the sandbox
#   PORT         the port the app listens on; default 80 (EC2)
#   INSTANCE_ID  the instance id; on EC2 read from the instance metadata service (IMDSv2) when unset
ROOT="${DEPLOY_ROOT:-}"
ROOT="${ROOT%/}"
APP_DIR="$ROOT/opt/awscicd-app"
RUN_DIR="$ROOT/var/run/awscicd-app"
PID_FILE="$RUN_DIR/app.pid"
LOG_FILE="$RUN_DIR/app.log"
PORT="${PORT:-80}"

log() { echo "[${LIFECYCLE_EVENT:-hook}] $*"; }
die() { echo "[${LIFECYCLE_EVENT:-hook}] ERROR: $*" >&2; exit 1; }

instance_id() {
  if [ -n "${INSTANCE_ID:-}" ]; then echo "$INSTANCE_ID"; return; fi
  local token
  token=$(curl -fsS -m 2 -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' 2>/dev/null) \
    && curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" \
      http://169.254.169.254/latest/meta-data/instance-id 2>/dev/null \
    || hostname
}

app_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
