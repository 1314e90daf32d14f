#!/usr/bin/env bash
# Builds a "team's own" release stack on a sandbox endpoint with the AWS CLI only (none of the harness's
# provisioning code), releases its first version by hand, and writes what the harness needs to adopt it
# (HARNESS_*) and what verify-as-found.sh needs to check it afterwards (TEAM_STACK_* in the env file, and the
# stack's settings as found in <out-env-file>.found.json).
#
#   test/existing-stack/build-team-stack.sh <endpoint> <out-env-file>
#
# The stack is shaped unlike the harness's sample stack (sample-app/infra/capstone.yaml), the way a team might
# have built theirs:
#   pipeline   orders-release, V2, executionMode QUEUED, tagged codepipeline-harness:test-target=true
#   stages     Checkout (FetchSource) -> UnitTests (RunUnitTests) -> QA-Gate (QA-Signoff) -> DeployBlueGreen (BlueGreenRollout)
#   source     CodeCommit orders-service, branch "release", the app at the repository root
#   fleet      auto scaling group orders-web of 3 instances (launch template orders-web-lt), attached to the target group
#   ALB        orders-alb, HTTP listener on 8080 -> target group orders-tg (port 8080, /health)
#   CodeDeploy orders-app / orders-bg: BLUE_GREEN with traffic control, HalfAtATime, green = copy of the group,
#              blue terminated 3 minutes after success, auto-rollback on DEPLOYMENT_FAILURE only
#
# Needs: aws (CLI v1 or v2), git, curl, jq. Waits are bounded polls (one call a second up to a deadline).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <endpoint> <out-env-file>" >&2
  exit 2
fi
endpoint=${1%/}
out=$2

here=$(cd "$(dirname "$0")" && pwd)
app_src="$here/../../sample-app"

HARNESS_ENDPOINT=$endpoint
. "$here/lib.sh" # awsx (the CLI on $HARNESS_ENDPOINT), stack_settings; AWS_* test credentials unless set
region=$AWS_DEFAULT_REGION

# Names and shape (overridable for a second stack on the same endpoint).
prefix=${TEAM_STACK_PREFIX:-orders}
repo="$prefix-service"
branch=${TEAM_STACK_BRANCH:-release}
version=${TEAM_STACK_FIRST_VERSION:-team-v1}
pipeline="$prefix-release"
app="$prefix-app"
dg="$prefix-bg"
alb="$prefix-alb"
tg="$prefix-tg"
asg="$prefix-web"
lt="$prefix-web-lt"
instances=3
listener_port=8080
blue_wait_minutes=3
stage_source=Checkout stage_build=UnitTests stage_approval=QA-Gate stage_deploy=DeployBlueGreen
approval_action=QA-Signoff
timeout=${TEAM_STACK_TIMEOUT_SECONDS:-300}
account=000000000000

start=$(date +%s)
say() { printf '[build-team-stack +%ss] %s\n' "$(($(date +%s) - start))" "$*"; }
die() { printf '[build-team-stack] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in aws git curl jq; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
[ -f "$app_src/appspec.yml" ] || die "sample app not found at $app_src"

work=$(mktemp -d "${TMPDIR:-/tmp}/team-stack.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- CodeCommit repository ---------------------------------------------------------------------------------
say "creating CodeCommit repository $repo"
repo_url=$(awsx codecommit create-repository --repository-name "$repo" \
  --repository-description "Orders service (team-owned)" --tags team=orders \
  --query repositoryMetadata.cloneUrlHttp --output text)
[ -n "$repo_url" ] && [ "$repo_url" != None ] || die "create-repository returned no cloneUrlHttp"

# --- Target group, load balancer, listener -----------------------------------------------------------------
say "creating target group $tg, load balancer $alb and its listener on $listener_port"
tg_arn=$(awsx elbv2 create-target-group --name "$tg" --protocol HTTP --port "$listener_port" \
  --vpc-id vpc-0123456789abcdef0 --target-type instance \
  --health-check-protocol HTTP --health-check-path /health \
  --health-check-interval-seconds 10 --health-check-timeout-seconds 5 \
  --healthy-threshold-count 3 --unhealthy-threshold-count 2 --matcher HttpCode=200 \
  --tags Key=team,Value=orders \
  --query 'TargetGroups[0].TargetGroupArn' --output text)
awsx elbv2 modify-target-group-attributes --target-group-arn "$tg_arn" \
  --attributes Key=deregistration_delay.timeout_seconds,Value=60 >/dev/null
lb_json=$(awsx elbv2 create-load-balancer --name "$alb" --type application --scheme internet-facing \
  --subnets subnet-0aaaaaaaaaaaaaaa1 subnet-0bbbbbbbbbbbbbbb2 subnet-0ccccccccccccccc3 \
  --tags Key=team,Value=orders)
lb_arn=$(jq -r '.LoadBalancers[0].LoadBalancerArn' <<<"$lb_json")
lb_dns=$(jq -r '.LoadBalancers[0].DNSName' <<<"$lb_json")
awsx elbv2 create-listener --load-balancer-arn "$lb_arn" --protocol HTTP --port "$listener_port" \
  --default-actions "Type=forward,TargetGroupArn=$tg_arn" >/dev/null

# --- Launch template and auto scaling group ----------------------------------------------------------------
# A team creates the launch template with EC2. The sandbox has no EC2 (it answers InvalidAction) and its
# AutoScaling subset only records the template reference, so on the sandbox the group names a template that
# exists nowhere; on an endpoint with EC2 the template is really created.
say "creating launch template $lt and auto scaling group $asg ($instances instances)"
if ! lt_err=$(awsx ec2 create-launch-template --launch-template-name "$lt" \
  --launch-template-data '{"ImageId":"ami-0123456789abcdef0","InstanceType":"t3.micro"}' 2>&1 >/dev/null); then
  case "$lt_err" in
    *InvalidAction* | *NotImplemented*) say "endpoint has no EC2 CreateLaunchTemplate (sandbox gap): $(tr -s '\n' ' ' <<<"$lt_err")" ;;
    *) die "create-launch-template failed: $lt_err" ;;
  esac
fi
awsx autoscaling create-auto-scaling-group --auto-scaling-group-name "$asg" \
  --launch-template "LaunchTemplateName=$lt,Version=\$Latest" \
  --min-size "$instances" --max-size $((instances * 2)) --desired-capacity "$instances" \
  --vpc-zone-identifier "subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2,subnet-0ccccccccccccccc3" \
  --target-group-arns "$tg_arn" --health-check-type ELB --health-check-grace-period 120 \
  --tags "Key=team,Value=orders,PropagateAtLaunch=true" >/dev/null

# --- CodeDeploy application and deployment group -----------------------------------------------------------
say "creating CodeDeploy application $app and blue/green deployment group $dg"
awsx deploy create-application --application-name "$app" --compute-platform Server \
  --tags Key=team,Value=orders >/dev/null
awsx deploy create-deployment-group --application-name "$app" --deployment-group-name "$dg" \
  --service-role-arn "arn:aws:iam::$account:role/orders-codedeploy-service" \
  --deployment-config-name CodeDeployDefault.HalfAtATime \
  --auto-scaling-groups "$asg" \
  --deployment-style deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL \
  --load-balancer-info "targetGroupInfoList=[{name=$tg}]" \
  --auto-rollback-configuration enabled=true,events=DEPLOYMENT_FAILURE \
  --blue-green-deployment-configuration "$(jq -cn --argjson wait "$blue_wait_minutes" '{
      terminateBlueInstancesOnDeploymentSuccess: {action: "TERMINATE", terminationWaitTimeInMinutes: $wait},
      deploymentReadyOption: {actionOnTimeout: "CONTINUE_DEPLOYMENT"},
      greenFleetProvisioningOption: {action: "COPY_AUTO_SCALING_GROUP"}}')" \
  --tags Key=team,Value=orders >/dev/null

# --- The pipeline ------------------------------------------------------------------------------------------
say "creating pipeline $pipeline (QUEUED): $stage_source -> $stage_build -> $stage_approval -> $stage_deploy"
jq -n --arg name "$pipeline" --arg repo "$repo" --arg branch "$branch" --arg app "$app" --arg dg "$dg" \
  --arg account "$account" --arg src "$stage_source" --arg build "$stage_build" \
  --arg gate "$stage_approval" --arg deploy "$stage_deploy" --arg approval "$approval_action" '{
  pipeline: {
    name: $name,
    roleArn: "arn:aws:iam::\($account):role/orders-codepipeline-service",
    artifactStore: {type: "S3", location: "orders-pipeline-artifacts-\($account)"},
    pipelineType: "V2",
    executionMode: "QUEUED",
    stages: [
      {name: $src, actions: [{
        name: "FetchSource", runOrder: 1,
        actionTypeId: {category: "Source", owner: "AWS", provider: "CodeCommit", version: "1"},
        configuration: {RepositoryName: $repo, BranchName: $branch, PollForSourceChanges: "false",
                        OutputArtifactFormat: "CODE_ZIP"},
        outputArtifacts: [{name: "OrdersSource"}], namespace: "SourceVariables"}]},
      {name: $build, actions: [{
        name: "RunUnitTests", runOrder: 1,
        actionTypeId: {category: "Build", owner: "AWS", provider: "CodeBuild", version: "1"},
        configuration: {ProjectName: "orders-unit-tests"},
        inputArtifacts: [{name: "OrdersSource"}], outputArtifacts: [{name: "OrdersRevision"}]}]},
      {name: $gate, actions: [{
        name: $approval, runOrder: 1,
        actionTypeId: {category: "Approval", owner: "AWS", provider: "Manual", version: "1"},
        configuration: {CustomData: "QA: sign off commit #{SourceVariables.CommitId} for production"}}]},
      {name: $deploy, actions: [{
        name: "BlueGreenRollout", runOrder: 1,
        actionTypeId: {category: "Deploy", owner: "AWS", provider: "CodeDeploy", version: "1"},
        configuration: {ApplicationName: $app, DeploymentGroupName: $dg},
        inputArtifacts: [{name: "OrdersRevision"}]}]}
    ]
  },
  tags: [{key: "codepipeline-harness:test-target", value: "true"}, {key: "team", value: "orders"}]
}' >"$work/pipeline.json"
awsx codepipeline create-pipeline --cli-input-json "file://$work/pipeline.json" >/dev/null

# --- The first release, by hand ----------------------------------------------------------------------------
say "pushing the app (VERSION $version) to $repo@$branch"
mkdir "$work/app"
tar -C "$app_src" --exclude=node_modules -cf - . | tar -C "$work/app" -xf -
printf '%s\n' "$version" >"$work/app/VERSION"
git -C "$work/app" init -q -b "$branch"
git -C "$work/app" add -A
git -C "$work/app" -c user.name="Orders Team" -c user.email="orders-team@example.invalid" \
  commit -q -m "Orders service $version"
teamgit -C "$work/app" push -q "$repo_url" "HEAD:refs/heads/$branch" # as a team pushes to CodeCommit (lib.sh)
commit=$(git -C "$work/app" rev-parse HEAD)
tree=$(git -C "$work/app" rev-parse 'HEAD^{tree}')

deadline=$(($(date +%s) + timeout))
wait_step() { # <what> <last seen>: one more second, or give up at the deadline
  [ "$(date +%s)" -lt "$deadline" ] || die "$1 not reached within ${timeout}s; last seen: $2"
  sleep 1
}

# Our execution is the one whose source revision is our commit (not "the latest": creating the pipeline
# started one of its own, which fails at $stage_source because the branch did not exist yet).
execution="" last="no execution listed"
while :; do
  execution=$(awsx codepipeline list-pipeline-executions --pipeline-name "$pipeline" |
    jq -r --arg c "$commit" '[.pipelineExecutionSummaries[] | select(any(.sourceRevisions[]?; .revisionId == $c))][0].pipelineExecutionId // empty')
  [ -n "$execution" ] && break
  wait_step "an execution of commit ${commit:0:10}" "$last"
done
say "execution $execution runs commit ${commit:0:10}"

token="" last=""
while :; do
  state=$(awsx codepipeline get-pipeline-state --name "$pipeline")
  token=$(jq -r --arg s "$stage_approval" --arg a "$approval_action" --arg e "$execution" '
    .stageStates[] | select(.stageName == $s and .latestExecution.pipelineExecutionId == $e)
    | .actionStates[] | select(.actionName == $a and .latestExecution.status == "InProgress")
    | .latestExecution.token // empty' <<<"$state")
  [ -n "$token" ] && break
  status=$(awsx codepipeline get-pipeline-execution --pipeline-name "$pipeline" --pipeline-execution-id "$execution" \
    --query pipelineExecution.status --output text)
  last="execution $status; stages: $(jq -r '[.stageStates[] | "\(.stageName)=\(.latestExecution.status // "-")"] | join(" ")' <<<"$state")"
  case "$status" in Failed | Stopped | Superseded | Cancelled) die "execution $execution ended $status before $stage_approval: $last" ;; esac
  wait_step "approval $stage_approval/$approval_action of $execution" "$last"
done
say "approving $stage_approval/$approval_action of $execution"
awsx codepipeline put-approval-result --pipeline-name "$pipeline" --stage-name "$stage_approval" \
  --action-name "$approval_action" --token "$token" \
  --result "$(jq -cn --arg v "$version" '{summary: "QA signed off \($v)", status: "Approved"}')" >/dev/null

last=""
while :; do
  status=$(awsx codepipeline get-pipeline-execution --pipeline-name "$pipeline" --pipeline-execution-id "$execution" \
    --query pipelineExecution.status --output text)
  [ "$status" = Succeeded ] && break
  last="execution $status"
  case "$status" in Failed | Stopped | Superseded | Cancelled)
    die "execution $execution ended $status: $(awsx codepipeline get-pipeline-state --name "$pipeline" | jq -c '[.stageStates[] | {stage: .stageName, status: .latestExecution.status, errors: [.actionStates[].latestExecution.errorDetails? // empty]}]')" ;;
  esac
  wait_step "$stage_deploy success of $execution" "$last"
done
say "execution $execution Succeeded"

# --- Every instance serves the version ---------------------------------------------------------------------
edge_port=$(sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#' <<<"$endpoint")
url="http://$lb_dns:${edge_port:-$listener_port}/version"
say "requesting $url until all $instances instances answer $version"
declare -A seen=()
last="no answer yet"
while :; do
  headers=$(curl -s -m 3 -o /dev/null -D - "$url" || true)
  code=$(awk 'NR == 1 {print $2}' <<<"$headers")
  got=$(tr -d '\r' <<<"$headers" | awk -F': ' 'tolower($1) == "x-app-version" {print $2}')
  id=$(tr -d '\r' <<<"$headers" | awk -F': ' 'tolower($1) == "x-instance-id" {print $2}')
  if [ "$code" = 200 ] && [ "$got" = "$version" ] && [ -n "$id" ]; then seen[$id]=1; fi
  last="HTTP ${code:-none} version '${got}' from '${id}'; instances with $version so far: ${!seen[*]}"
  [ "${#seen[@]}" -ge "$instances" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || die "not every instance serves $version within ${timeout}s; last: $last"
  sleep 0.2
done
say "all $instances instances answer $version: ${!seen[*]}"

# The live fleet: blue/green replaced $asg with a copy named CodeDeploy_<dg>_<deployment id>.
fleet=$(awsx deploy get-deployment-group --application-name "$app" --deployment-group-name "$dg" |
  jq -r '[.deploymentGroupInfo.autoScalingGroups[].name] | join(",")')
deployment=$(awsx deploy get-deployment-group --application-name "$app" --deployment-group-name "$dg" \
  --query deploymentGroupInfo.lastSuccessfulDeployment.deploymentId --output text)

# --- The env file ------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
{
  echo "# The team stack built by test/existing-stack/build-team-stack.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
  echo "# For the harness to adopt it (HARNESS_*), and for verify-as-found.sh (TEAM_STACK_*). Source with: set -a; . <file>; set +a"
  printf '%s=%q\n' \
    HARNESS_TARGET sandbox \
    HARNESS_ENDPOINT "$endpoint" \
    HARNESS_REGION "$region" \
    HARNESS_STACK existing \
    HARNESS_PIPELINE_NAME "$pipeline" \
    HARNESS_STAGE_SOURCE "$stage_source" \
    HARNESS_STAGE_BUILD "$stage_build" \
    HARNESS_STAGE_APPROVAL "$stage_approval" \
    HARNESS_STAGE_DEPLOY "$stage_deploy" \
    HARNESS_APPROVAL_ACTION "$approval_action" \
    HARNESS_APPLICATION_NAME "$app" \
    HARNESS_DEPLOYMENT_GROUP "$dg" \
    HARNESS_LOAD_BALANCER "$alb" \
    HARNESS_LISTENER_PORT "$listener_port" \
    HARNESS_SOURCE_REPOSITORY_URL "$repo_url" \
    HARNESS_SOURCE_BRANCH "$branch" \
    HARNESS_SOURCE_AUTH none
  echo "# The app is at the repository root: HARNESS_SOURCE_APP_DIR stays unset."
  echo "# As found (checked by verify-as-found.sh):"
  printf '%s=%q\n' \
    TEAM_STACK_BRANCH_COMMIT "$commit" \
    TEAM_STACK_BRANCH_TREE "$tree" \
    TEAM_STACK_VERSION "$version" \
    TEAM_STACK_INSTANCES "$instances" \
    TEAM_STACK_ORIGINAL_ASG "$asg" \
    TEAM_STACK_LIVE_ASG "$fleet" \
    TEAM_STACK_LIVE_DEPLOYMENT "$deployment" \
    TEAM_STACK_TARGET_GROUP_ARN "$tg_arn" \
    TEAM_STACK_LOAD_BALANCER_DNS "$lb_dns"
} >"$out"
# The settings no release may change, for verify-as-found.sh to compare (next to the env file).
(
  set -a
  . "$out"
  set +a
  stack_settings "$fleet"
) >"$out.found.json"
say "done in $(($(date +%s) - start))s: live fleet $fleet (deployment $deployment); wrote $out"
