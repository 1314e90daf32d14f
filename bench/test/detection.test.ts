import { describe, expect, it } from 'vitest';
import type { SandboxEvent } from '../../src/sandbox/events.ts';
import { detect } from '../lib/detection.ts';
import { entityKey, type Observation } from '../lib/recorder.ts';
import { breakdownOf, intervalAt } from '../lib/scenario.ts';

let seq = 0;
const ev = (time: number, e: Omit<SandboxEvent, 'seq' | 'time'>): SandboxEvent => ({
  seq: ++seq,
  time,
  ...e,
});

describe('detection latency', () => {
  const exec = 'e-1';
  const events = [
    ev(1000, {
      service: 'codepipeline',
      kind: 'stage',
      status: 'InProgress',
      executionId: exec,
      stage: 'Build',
    }),
    ev(1500, {
      service: 'codepipeline',
      kind: 'stage',
      status: 'Succeeded',
      executionId: exec,
      stage: 'Build',
    }),
    ev(2000, { service: 'codedeploy', kind: 'deployment', status: 'Created', deploymentId: 'd-1' }),
    ev(2100, { service: 'codedeploy', kind: 'deployment', status: 'InProgress', deploymentId: 'd-1' }),
    ev(3000, { service: 'codedeploy', kind: 'deployment', status: 'Succeeded', deploymentId: 'd-1' }),
    ev(3000, { service: 'codedeploy', kind: 'deployment', status: 'BlueTerminated', deploymentId: 'd-1' }),
    ev(3100, { service: 'codepipeline', kind: 'pipelineExecution', status: 'Succeeded', executionId: exec }),
    ev(1200, { service: 'elbv2', kind: 'targetHealth', status: 'healthy', targetId: 'i-1' }),
  ];

  it('times each change to the first answer showing it or a later state, and leaves unasked entities unobserved', () => {
    const observations: Observation[] = [
      { at: 1100, key: entityKey.stage(exec, 'Build'), status: 'InProgress' },
      // The poll after Succeeded: InProgress was already seen, Succeeded is seen now.
      { at: 1700, key: entityKey.stage(exec, 'Build'), status: 'Succeeded' },
      // Created and InProgress came and went between two polls: both noticed with Succeeded.
      { at: 3250, key: entityKey.deployment('d-1'), status: 'Succeeded' },
      // A stale answer (older state) does not count as seeing the new one.
      { at: 1400, key: entityKey.stage(exec, 'Build'), status: 'InProgress' },
    ];
    const found = detect(events, observations, () => true);
    const byStatus = Object.fromEntries(found.map((d) => [`${d.event.kind}:${d.event.status}`, d.latencyMs]));
    expect(byStatus).toEqual({
      'stage:InProgress': 100,
      'stage:Succeeded': 200,
      'deployment:Created': 1250,
      'deployment:InProgress': 1150,
      'deployment:Succeeded': 250,
      // Never asked about (no GetPipelineExecution answer): unobserved.
      'pipelineExecution:Succeeded': undefined,
    });
  });

  it('does not credit an answer that came before the change', () => {
    const found = detect(
      events,
      [{ at: 2500, key: entityKey.deployment('d-1'), status: 'Succeeded' }],
      (e) => e.kind === 'deployment',
    );
    expect(found.every((d) => d.latencyMs === undefined)).toBe(true);
  });

  it('splits a release wall time into sandbox work and the harness share', () => {
    seq = 100;
    const log = [
      ev(1300, {
        service: 'codecommit',
        kind: 'push',
        status: 'Pushed',
        detail: 'repo-a refs/heads/main 1..2',
      }),
      ev(1400, {
        service: 'codepipeline',
        kind: 'pipelineExecution',
        status: 'InProgress',
        executionId: exec,
      }),
      ev(2000, {
        service: 'codepipeline',
        kind: 'action',
        status: 'InProgress',
        executionId: exec,
        stage: 'Approval',
        action: 'A',
      }),
      ev(2600, {
        service: 'codepipeline',
        kind: 'action',
        status: 'Succeeded',
        executionId: exec,
        stage: 'Approval',
        action: 'A',
      }),
      ev(5000, {
        service: 'codepipeline',
        kind: 'pipelineExecution',
        status: 'Succeeded',
        executionId: exec,
      }),
    ];
    const end = log[4] as SandboxEvent;
    const b = breakdownOf(log, { repositoryName: 'repo-a', executionId: exec, afterSeq: 100 }, 1000, 6000, [
      { event: end, key: entityKey.execution(exec), detectedAt: 5400, latencyMs: 400 },
    ]);
    expect(b).toEqual({
      push: 300,
      sandbox: 3700 - 600,
      approvalWait: 600,
      tail: 1000,
      noticeEnd: 400,
      liveCheck: 600,
      harness: 5000 - 3100,
    });
    expect(b.push + b.approvalWait + b.tail).toBe(b.harness);
  });

  it('reads the poll interval in force when a poller noticed the end', () => {
    const key = entityKey.deployment('d-9');
    const seen: Observation[] = [
      { at: 1000, key, status: 'InProgress' },
      { at: 16_000, key, status: 'InProgress' },
      { at: 31_000, key, status: 'Succeeded' },
      { at: 20_000, key: entityKey.deployment('d-other'), status: 'InProgress' },
    ];
    expect(intervalAt(seen, 'd-9', 31_000)).toBe(15_000);
    expect(intervalAt(seen, 'd-9', 1000)).toBeUndefined();
    expect(intervalAt(seen, 'd-9', undefined)).toBeUndefined();
  });
});
