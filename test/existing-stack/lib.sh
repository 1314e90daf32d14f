# shellcheck shell=bash
# Shared by build-team-stack.sh and verify-as-found.sh; sourced, not run. Reads the HARNESS_* / TEAM_STACK_*
# variables of the env file build-team-stack.sh writes.

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-${HARNESS_REGION:-us-east-1}}
export AWS_PAGER=""
# The CI run's sandbox throttles and fails a few calls, as AWS does (.ci/existing-stack, faults.yaml): retry like a
# team's scripts should (the CLI's standard mode, with backoff; its default of 3 attempts is thin for a long script).
export AWS_RETRY_MODE=${AWS_RETRY_MODE:-standard}
export AWS_MAX_ATTEMPTS=${AWS_MAX_ATTEMPTS:-8}

# The AWS CLI on the stack's endpoint, JSON out.
awsx() { aws --endpoint-url "$HARNESS_ENDPOINT" --output json "$@"; }

# git as a team runs it against CodeCommit: the AWS CLI's credential helper signs a git password with the AWS_*
# credentials (--ignore-host-check: the sandbox's clone URL is not an amazonaws.com host); never a prompt.
teamgit() {
  GIT_TERMINAL_PROMPT=0 git -c credential.helper= \
    -c credential.helper='!f() { test "$1" = get && aws codecommit credential-helper get --ignore-host-check; }; f' \
    -c credential.UseHttpPath=true "$@"
}

# stack_settings <live auto scaling group>: the stack's configuration as one sorted JSON document, leaving out
# what a release legitimately changes (the deployment group's fleet, target revision and last deployments; the
# live group's name). Two snapshots are equal when nobody changed the pipeline, its tags, the deployment
# group's settings, the load balancer's listeners, the target group or the fleet's size and launch template.
stack_settings() {
  local fleet=$1 pipeline arn tags dg lb lb_arn listeners tg tg_attrs asg
  pipeline=$(awsx codepipeline get-pipeline --name "$HARNESS_PIPELINE_NAME")
  arn=$(jq -r .metadata.pipelineArn <<<"$pipeline")
  tags=$(awsx codepipeline list-tags-for-resource --resource-arn "$arn")
  dg=$(awsx deploy get-deployment-group --application-name "$HARNESS_APPLICATION_NAME" \
    --deployment-group-name "$HARNESS_DEPLOYMENT_GROUP")
  lb=$(awsx elbv2 describe-load-balancers --names "$HARNESS_LOAD_BALANCER")
  lb_arn=$(jq -r '.LoadBalancers[0].LoadBalancerArn' <<<"$lb")
  listeners=$(awsx elbv2 describe-listeners --load-balancer-arn "$lb_arn")
  tg=$(awsx elbv2 describe-target-groups --target-group-arns "$TEAM_STACK_TARGET_GROUP_ARN")
  tg_attrs=$(awsx elbv2 describe-target-group-attributes --target-group-arn "$TEAM_STACK_TARGET_GROUP_ARN")
  asg=$(awsx autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$fleet")
  jq -S -n --argjson pipeline "$pipeline" --argjson tags "$tags" --argjson dg "$dg" --argjson lb "$lb" \
    --argjson listeners "$listeners" --argjson tg "$tg" --argjson tgAttrs "$tg_attrs" --argjson asg "$asg" '{
    pipeline: $pipeline.pipeline,
    pipelineTags: ($tags.tags | sort_by(.key)),
    deploymentGroup: ($dg.deploymentGroupInfo
      | del(.autoScalingGroups, .targetRevision, .lastSuccessfulDeployment, .lastAttemptedDeployment)),
    loadBalancer: ($lb.LoadBalancers[0] | {LoadBalancerName, DNSName, Scheme, Type, State}),
    listeners: ($listeners.Listeners | map({Port, Protocol, DefaultActions}) | sort_by(.Port)),
    targetGroup: $tg.TargetGroups[0],
    targetGroupAttributes: ($tgAttrs.Attributes | sort_by(.Key)),
    fleet: ($asg.AutoScalingGroups[0] // {} | {MinSize, MaxSize, DesiredCapacity, LaunchTemplate,
      LaunchConfigurationName, HealthCheckType, HealthCheckGracePeriod, VPCZoneIdentifier, TargetGroupARNs,
      Tags: ((.Tags // []) | map({Key, Value, PropagateAtLaunch}) | sort_by(.Key))})
  }'
}
