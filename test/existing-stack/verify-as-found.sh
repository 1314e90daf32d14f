#!/usr/bin/env bash
# Checks that a team stack built by build-team-stack.sh is as it was found: run it after anything (the harness)
# used the stack. Prints one ✓/✗ line per check with what was seen; exits 1 when any check fails.
#
#   test/existing-stack/verify-as-found.sh <env-file>
#
# "As found" means:
#   - the source branch holds the same tree as when recorded (new commits are fine if they restore the tree);
#   - every target behind the load balancer (all TEAM_STACK_INSTANCES of them, each heard 3 times through the
#     load balancer) serves the recorded version, and no answer was anything else;
#   - nothing is running: no pipeline execution InProgress or Stopping, no approval waiting for an answer, no
#     deployment of the group Created, Queued, InProgress or Ready;
#   - one live fleet: the deployment group deploys to exactly one auto scaling group, it is the only one of
#     the team's groups left (the original or a CodeDeploy_<group>_* copy), its instances are the healthy
#     targets. Blue/green replaces the fleet on every deployment (the green copy CodeDeploy_<group>_<deployment
#     id> becomes the live group, the old one is deleted after the blue termination wait), so the live group's
#     NAME may differ from the recorded one: that is accepted when it is the copy made by a Succeeded deployment
#     of the group (usually the last one; after a rollback, the earlier one whose fleet was put back); what must
#     hold is one fleet, of the recorded size, serving the recorded version;
#   - the stack's settings (pipeline declaration and tags, deployment group settings, listeners, target group,
#     the fleet's size and launch template) equal <env-file>.found.json.
#
# Needs: aws, git, curl, jq. Checks what it sees now; it does not wait for anything to settle, except for the
# time it takes to hear from every target through the load balancer (up to TEAM_STACK_VERIFY_SECONDS, 30).
set -uo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 <env-file written by build-team-stack.sh>" >&2
  exit 2
fi
env_file=$1
here=$(cd "$(dirname "$0")" && pwd)
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
. "$here/lib.sh"

for var in HARNESS_ENDPOINT HARNESS_PIPELINE_NAME HARNESS_APPLICATION_NAME HARNESS_DEPLOYMENT_GROUP \
  HARNESS_LOAD_BALANCER HARNESS_SOURCE_REPOSITORY_URL HARNESS_SOURCE_BRANCH TEAM_STACK_BRANCH_TREE \
  TEAM_STACK_BRANCH_COMMIT TEAM_STACK_VERSION TEAM_STACK_INSTANCES TEAM_STACK_ORIGINAL_ASG TEAM_STACK_LIVE_ASG \
  TEAM_STACK_TARGET_GROUP_ARN TEAM_STACK_LOAD_BALANCER_DNS; do
  [ -n "${!var:-}" ] || { echo "✗ $env_file does not set $var" >&2; exit 2; }
done

failures=0
ok() { printf '✓ %s\n' "$*"; }
bad() { printf '✗ %s\n' "$*"; failures=$((failures + 1)); }
short() { printf '%s' "${1:0:10}"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/verify-as-found.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "Verifying the stack of $env_file is as found (pipeline $HARNESS_PIPELINE_NAME on $HARNESS_ENDPOINT)"

# 1. The branch's tree. ------------------------------------------------------------------------------------
branch=$HARNESS_SOURCE_BRANCH
if ! remote=$(teamgit ls-remote "$HARNESS_SOURCE_REPOSITORY_URL" "refs/heads/$branch" 2>&1); then
  bad "branch $branch: git ls-remote failed: $remote"
elif [ -z "$remote" ]; then
  bad "branch $branch: missing from $HARNESS_SOURCE_REPOSITORY_URL (recorded head $(short "$TEAM_STACK_BRANCH_COMMIT"))"
else
  head=${remote%%[[:space:]]*}
  git init -q --bare "$work/repo"
  if ! fetched=$(teamgit -C "$work/repo" fetch -q "$HARNESS_SOURCE_REPOSITORY_URL" "refs/heads/$branch" 2>&1); then
    bad "branch $branch: git fetch failed: $fetched"
  else
    tree=$(git -C "$work/repo" rev-parse "$head^{tree}")
    since=$(git -C "$work/repo" rev-list --count "$TEAM_STACK_BRANCH_COMMIT..$head" 2>/dev/null || echo "?")
    moved="head $(short "$head")"
    if [ "$head" = "$TEAM_STACK_BRANCH_COMMIT" ]; then moved+=" (the recorded commit)"; else moved+=" ($since commit(s) after the recorded $(short "$TEAM_STACK_BRANCH_COMMIT"))"; fi
    if [ "$tree" = "$TEAM_STACK_BRANCH_TREE" ]; then
      ok "branch $branch holds the recorded tree $(short "$tree"): $moved"
    else
      changed=$(git -C "$work/repo" diff --stat "$TEAM_STACK_BRANCH_TREE" "$tree" 2>/dev/null | tail -n 20 || true)
      bad "branch $branch holds tree $(short "$tree"), recorded $(short "$TEAM_STACK_BRANCH_TREE"): $moved${changed:+$'\n'    ${changed//$'\n'/$'\n'    }}"
    fi
  fi
fi

# 2. No pipeline execution running. ------------------------------------------------------------------------
if executions=$(awsx codepipeline list-pipeline-executions --pipeline-name "$HARNESS_PIPELINE_NAME" 2>&1); then
  running=$(jq -r '[.pipelineExecutionSummaries[] | select(.status == "InProgress" or .status == "Stopping")
    | "\(.pipelineExecutionId) \(.status) (\(.trigger.triggerType // "?"), \(.sourceRevisions[0].revisionId // "?" | .[0:10]))"] | join("; ")' <<<"$executions")
  counts=$(jq -r '[.pipelineExecutionSummaries | group_by(.status)[] | "\(length) \(.[0].status)"] | join(", ")' <<<"$executions")
  if [ -z "$running" ]; then ok "no pipeline execution InProgress or Stopping (executions: $counts)"
  else bad "pipeline executions still running: $running"; fi
else
  bad "list-pipeline-executions failed: $executions"
fi

# 3. No approval open. -------------------------------------------------------------------------------------
if declaration=$(awsx codepipeline get-pipeline --name "$HARNESS_PIPELINE_NAME" 2>&1) &&
  state=$(awsx codepipeline get-pipeline-state --name "$HARNESS_PIPELINE_NAME" 2>&1); then
  approvals=$(jq -c '[.pipeline.stages[] | .name as $s | .actions[] | select(.actionTypeId.category == "Approval") | {stage: $s, action: .name}]' <<<"$declaration")
  open=$(jq -r --argjson approvals "$approvals" '[.stageStates[] | .stageName as $s | .actionStates[] | . as $a
    | select(any($approvals[]; .stage == $s and .action == $a.actionName))
    | select(.latestExecution.status == "InProgress")
    | "\($s)/\(.actionName) (execution \(.latestExecution.actionExecutionId // "?"))"] | join("; ")' <<<"$state")
  names=$(jq -r '[.[] | "\(.stage)/\(.action)"] | join(", ")' <<<"$approvals")
  if [ -z "$open" ]; then ok "no approval open (${names:-no approval actions})"
  else bad "approval(s) waiting for an answer: $open"; fi
else
  bad "get-pipeline / get-pipeline-state failed: ${state:-$declaration}"
fi

# 4. No deployment of the group under way. -----------------------------------------------------------------
if deployments=$(awsx deploy list-deployments --application-name "$HARNESS_APPLICATION_NAME" \
  --deployment-group-name "$HARNESS_DEPLOYMENT_GROUP" \
  --include-only-statuses Created Queued InProgress Ready 2>&1); then
  active=$(jq -r '.deployments | join(", ")' <<<"$deployments")
  if [ -z "$active" ]; then ok "no deployment of $HARNESS_DEPLOYMENT_GROUP Created, Queued, InProgress or Ready"
  else
    described=""
    for id in $(jq -r '.deployments[]' <<<"$deployments"); do
      described+=" $id=$(awsx deploy get-deployment --deployment-id "$id" --query deploymentInfo.status --output text 2>/dev/null)"
    done
    bad "deployments of $HARNESS_DEPLOYMENT_GROUP still under way:$described"
  fi
else
  bad "list-deployments failed: $deployments"
fi

# 5. One live fleet. ---------------------------------------------------------------------------------------
live=""
live_ids=""
if dg=$(awsx deploy get-deployment-group --application-name "$HARNESS_APPLICATION_NAME" \
  --deployment-group-name "$HARNESS_DEPLOYMENT_GROUP" 2>&1) &&
  groups=$(awsx autoscaling describe-auto-scaling-groups 2>&1); then
  dg_groups=$(jq -r '[.deploymentGroupInfo.autoScalingGroups[].name] | join(" ")' <<<"$dg")
  last_ok=$(jq -r '.deploymentGroupInfo.lastSuccessfulDeployment.deploymentId // ""' <<<"$dg")
  team_groups=$(jq -r --arg orig "$TEAM_STACK_ORIGINAL_ASG" --arg copy "CodeDeploy_${HARNESS_DEPLOYMENT_GROUP}_" \
    '[.AutoScalingGroups[].AutoScalingGroupName | select(. == $orig or startswith($copy))] | join(" ")' <<<"$groups")
  read -r -a dg_list <<<"$dg_groups"
  read -r -a team_list <<<"$team_groups"
  if [ "${#dg_list[@]}" -ne 1 ]; then
    bad "deployment group $HARNESS_DEPLOYMENT_GROUP deploys to ${#dg_list[@]} auto scaling groups (${dg_groups:-none}), expected one"
  else
    live=${dg_list[0]}
    how="the recorded live group" made_by="" made_by_status=""
    if [ "$live" != "$TEAM_STACK_LIVE_ASG" ]; then
      # A blue/green copy is named CodeDeploy_<group>_<deployment id>: the deployment that made it must be one
      # of this group's that succeeded (after a rollback the live group is an older copy, not the last one).
      made_by=${live#"CodeDeploy_${HARNESS_DEPLOYMENT_GROUP}_"}
      if [ "$made_by" != "$live" ]; then
        made_by_status=$(awsx deploy get-deployment --deployment-id "$made_by" 2>/dev/null |
          jq -r '.deploymentInfo | "\(.deploymentGroupName) \(.status)"')
      fi
      how="replaced by blue/green deployment $made_by since the recorded $TEAM_STACK_LIVE_ASG"
    fi
    instances=$(jq -r --arg g "$live" '.AutoScalingGroups[] | select(.AutoScalingGroupName == $g)
      | [.Instances[] | select(.LifecycleState == "InService")] | "\(length) \(map(.InstanceId) | sort | join(","))"' <<<"$groups")
    in_service=${instances%% *}
    live_ids=${instances#* }
    leftovers=$(printf '%s\n' "${team_list[@]}" | grep -vxF "$live" | tr '\n' ' ' || true)
    if [ -z "$instances" ]; then
      bad "live fleet $live (deployment group's) does not exist; the team's groups: ${team_groups:-none}"
    elif [ "$live" != "$TEAM_STACK_LIVE_ASG" ] && [ "$made_by_status" != "$HARNESS_DEPLOYMENT_GROUP Succeeded" ]; then
      bad "live fleet $live is neither the recorded $TEAM_STACK_LIVE_ASG nor the green copy made by a Succeeded deployment of $HARNESS_DEPLOYMENT_GROUP (deployment ${made_by:-?}: ${made_by_status:-not found})"
    elif [ -n "${leftovers// /}" ]; then
      bad "more than one fleet: live $live ($in_service InService), left over: $leftovers"
    elif [ "$in_service" -ne "$TEAM_STACK_INSTANCES" ]; then
      bad "live fleet $live has $in_service InService instances, recorded $TEAM_STACK_INSTANCES"
    else
      ok "one live fleet: $live ($how; last successful deployment ${last_ok:-none}), $in_service InService instances, no other $TEAM_STACK_ORIGINAL_ASG / CodeDeploy_${HARNESS_DEPLOYMENT_GROUP}_* group"
    fi
  fi
else
  bad "get-deployment-group / describe-auto-scaling-groups failed: ${groups:-$dg}"
fi

# 6. Every target serves the recorded version. -------------------------------------------------------------
if health=$(awsx elbv2 describe-target-health --target-group-arn "$TEAM_STACK_TARGET_GROUP_ARN" 2>&1); then
  healthy=$(jq -r '[.TargetHealthDescriptions[] | select(.TargetHealth.State == "healthy") | .Target.Id] | sort | join(",")' <<<"$health")
  others=$(jq -r '[.TargetHealthDescriptions[] | select(.TargetHealth.State != "healthy") | "\(.Target.Id) \(.TargetHealth.State)"] | join(", ")' <<<"$health")
  IFS=, read -r -a targets <<<"$healthy"
  if [ "${#targets[@]}" -ne "$TEAM_STACK_INSTANCES" ] || [ -n "$others" ]; then
    bad "target group has ${#targets[@]} healthy target(s) (${healthy:-none})${others:+ and $others}; recorded $TEAM_STACK_INSTANCES healthy, nothing else"
  fi
  if [ -n "$live_ids" ] && [ "$healthy" != "$live_ids" ]; then
    bad "healthy targets ($healthy) are not the live fleet's instances ($live_ids)"
  fi
  edge_port=$(sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#' <<<"$HARNESS_ENDPOINT")
  url="http://$TEAM_STACK_LOAD_BALANCER_DNS:${edge_port:-${HARNESS_LISTENER_PORT:-80}}/version"
  declare -A version_of=() answers_of=() wrong_of=()
  rounds=${TEAM_STACK_VERIFY_ROUNDS:-3} # answers wanted from every target
  requests=0
  deadline=$(($(date +%s) + ${TEAM_STACK_VERIFY_SECONDS:-30}))
  while :; do
    headers=$(curl -s -m 3 -o /dev/null -D - "$url" | tr -d '\r' || true)
    requests=$((requests + 1))
    code=$(awk 'NR == 1 {print $2}' <<<"$headers")
    got=$(awk -F': ' 'tolower($1) == "x-app-version" {print $2}' <<<"$headers")
    id=$(awk -F': ' 'tolower($1) == "x-instance-id" {print $2}' <<<"$headers")
    if [ "$code" = 200 ] && [ -n "$id" ]; then
      version_of[$id]=$got
      answers_of[$id]=$((${answers_of[$id]:-0} + 1))
      [ "$got" = "$TEAM_STACK_VERSION" ] || wrong_of["$id=${got:-no version}"]=$((${wrong_of["$id=${got:-no version}"]:-0} + 1))
    else
      wrong_of["HTTP ${code:-none}"]=$((${wrong_of["HTTP ${code:-none}"]:-0} + 1))
    fi
    missing=""
    for t in "${targets[@]}"; do [ "${answers_of[$t]:-0}" -ge "$rounds" ] || missing+=" $t"; done
    [ -z "$missing" ] && break
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.1
  done
  seen="" wrong=""
  for w in "${!wrong_of[@]}"; do wrong+=" $w (x${wrong_of[$w]})"; done
  for t in "${!version_of[@]}"; do seen+=" $t=${version_of[$t]} (x${answers_of[$t]})"; done
  if [ "${#targets[@]}" -eq 0 ]; then
    bad "no healthy target serves anything (GET $url)"
  elif [ -n "$missing" ]; then
    bad "not every target answered $rounds times within ${TEAM_STACK_VERIFY_SECONDS:-30}s ($requests requests): short of answers:$missing; seen$seen"
  elif [ -n "$wrong" ]; then
    bad "not every answer was $TEAM_STACK_VERSION ($requests requests): wrong$wrong; seen$seen"
  else
    ok "every target serves $TEAM_STACK_VERSION ($requests requests to $url):$seen"
  fi
else
  bad "describe-target-health failed: $health"
fi

# 7. Settings unchanged. -----------------------------------------------------------------------------------
found="$env_file.found.json"
if [ ! -f "$found" ]; then
  bad "no settings snapshot $found to compare with"
elif [ -z "$live" ]; then
  bad "settings not compared: no single live fleet"
elif ! now=$(stack_settings "$live" 2>&1); then
  bad "reading the stack's settings failed: $now"
elif [ "$now" = "$(jq -S . "$found")" ]; then
  ok "settings as found: pipeline (version $(jq -r .pipeline.version <<<"$now")) and tags, deployment group, listeners, target group, fleet size and launch template"
else
  difference=$(diff -U 4 --label "as found ($found)" --label now <(jq -S . "$found") <(printf '%s\n' "$now") | head -n 40)
  bad "settings changed:"$'\n'"    ${difference//$'\n'/$'\n'    }"
fi

if [ "$failures" -eq 0 ]; then
  echo "The stack is as found."
else
  echo "The stack is NOT as found: $failures check(s) failed."
  exit 1
fi
