/**
 * CodeBuild state: the builds the sandbox ran (CodePipeline's CodeBuild actions start them) and each
 * project's build counter. Records keep the wire member names; views.ts turns one into a `Build`.
 * aws-semantics-cfn-codebuild-logs §4.1–4.3.
 */

/** `buildStatus` / `phaseStatus` (model enum `StatusType`). */
export type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';

/** Model enum `BuildPhaseType`, in the order a build goes through them. */
export const PHASE_TYPES = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
] as const;
export type PhaseType = (typeof PHASE_TYPES)[number];

/** A phase's `contexts[0]`: `{statusCode: '', message: ''}` when it succeeded, the reason when it failed. */
export interface PhaseContext {
  statusCode: string;
  message: string;
}

export interface PhaseRecord {
  phaseType: PhaseType;
  startTime: Date;
  /** Absent while the phase runs (and on COMPLETED). */
  phaseStatus?: BuildStatus;
  endTime?: Date;
  contexts?: PhaseContext[];
}

export interface BuildRecord {
  id: string;
  arn: string;
  buildNumber: number;
  projectName: string;
  initiator: string;
  buildStatus: BuildStatus;
  startTime: Date;
  endTime?: Date;
  phases: PhaseRecord[];
  sourceVersion?: string;
  resolvedSourceVersion?: string;
  timeoutInMinutes: number;
  logs: { groupName: string; streamName: string };
  exportedEnvironmentVariables?: { name: string; value: string }[];
}

export class BuildStore {
  readonly builds = new Map<string, BuildRecord>();
  readonly #numbers = new Map<string, number>();

  /** The next `buildNumber` of a project: 1 for its first build, +1 per build (§4.1). */
  nextNumber(projectName: string): number {
    const next = (this.#numbers.get(projectName) ?? 0) + 1;
    this.#numbers.set(projectName, next);
    return next;
  }

  clear(): void {
    this.builds.clear();
    this.#numbers.clear();
  }
}
