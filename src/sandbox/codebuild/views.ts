/**
 * How CodeBuild shows a build on the wire (BatchGetBuilds `builds[]`), copying the shapes AWS returns
 * (aws-semantics-cfn-codebuild-logs §4.2, §4.3, §4.6): SUBMITTED/QUEUED without `contexts`, the other
 * finished phases with `contexts`, `durationInSeconds` truncated to whole seconds, the phase in progress and
 * COMPLETED with `phaseType` and `startTime` only, `logs` with the console deep link and the stream's ARN.
 */
import type { Build, BuildPhase } from '@aws-sdk/client-codebuild';
import type { BuildRecord, PhaseRecord } from './store.ts';

/** The CloudWatch console link AWS puts in `logs.deepLink`. */
export function logsDeepLink(region: string, groupName: string, streamName: string): string {
  return `https://console.aws.amazon.com/cloudwatch/home?region=${region}#logEvent:group=${groupName};stream=${streamName}`;
}

function phaseView(p: PhaseRecord): BuildPhase {
  if (p.phaseType === 'COMPLETED' || p.phaseStatus === undefined) {
    return { phaseType: p.phaseType, startTime: p.startTime };
  }
  const end = p.endTime ?? p.startTime;
  return {
    phaseType: p.phaseType,
    phaseStatus: p.phaseStatus,
    startTime: p.startTime,
    endTime: end,
    durationInSeconds: Math.trunc((end.getTime() - p.startTime.getTime()) / 1000),
    ...(p.phaseType === 'SUBMITTED' || p.phaseType === 'QUEUED'
      ? {}
      : { contexts: p.contexts ?? [{ statusCode: '', message: '' }] }),
  };
}

/**
 * One `Build` of BatchGetBuilds.
 *
 * @example
 * buildView(record, 'us-east-1', '000000000000').logs.groupName; // '/aws/codebuild/web-build'
 */
export function buildView(b: BuildRecord, region: string, accountId: string): Build {
  const { groupName, streamName } = b.logs;
  const last = b.phases.at(-1);
  return {
    id: b.id,
    arn: b.arn,
    buildNumber: b.buildNumber,
    startTime: b.startTime,
    ...(b.endTime ? { endTime: b.endTime } : {}),
    currentPhase: last?.phaseType ?? 'SUBMITTED',
    buildStatus: b.buildStatus,
    ...(b.sourceVersion ? { sourceVersion: b.sourceVersion } : {}),
    ...(b.resolvedSourceVersion ? { resolvedSourceVersion: b.resolvedSourceVersion } : {}),
    projectName: b.projectName,
    phases: b.phases.map(phaseView),
    source: { type: 'CODEPIPELINE', insecureSsl: false },
    secondarySources: [],
    secondarySourceVersions: [],
    secondaryArtifacts: [],
    cache: { type: 'NO_CACHE' },
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
      computeType: 'BUILD_GENERAL1_SMALL',
      environmentVariables: [],
      privilegedMode: false,
      imagePullCredentialsType: 'CODEBUILD',
    },
    logs: {
      groupName,
      streamName,
      deepLink: logsDeepLink(region, groupName, streamName),
      cloudWatchLogsArn: `arn:aws:logs:${region}:${accountId}:log-group:${groupName}:log-stream:${streamName}`,
      cloudWatchLogs: { status: 'ENABLED' },
      s3Logs: { status: 'DISABLED', encryptionDisabled: false },
    },
    timeoutInMinutes: b.timeoutInMinutes,
    queuedTimeoutInMinutes: 480,
    buildComplete: b.endTime !== undefined,
    initiator: b.initiator,
    encryptionKey: `arn:aws:kms:${region}:${accountId}:alias/aws/s3`,
    ...(b.exportedEnvironmentVariables
      ? { exportedEnvironmentVariables: b.exportedEnvironmentVariables }
      : {}),
  };
}
