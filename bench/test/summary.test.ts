import { describe, expect, it } from 'vitest';
import { summaryMarkdown } from '../lib/summary.ts';

describe('the README summary', () => {
  it('renders the headline figures with their references and ratios, and skips failed sections', () => {
    const text = summaryMarkdown(
      {
        'cold-start': {
          motoVersion: '5.2.1',
          'sandbox (process: built bin, node dist/src/cli.js sandbox)': { medianMs: 500 },
          'sandbox (process: dev path, node src/cli.ts sandbox)': { medianMs: 600 },
          'sandbox (process: dev path, first start, empty compile cache)': { medianMs: 1400 },
          'moto_server (process, reference)': { medianMs: 1000 },
        },
        throughput: {
          concurrency: 16,
          sandbox: {
            GetPipelineState: { requestsPerSecond: 4000, p99Ms: 12 },
            GetDeployment: { requestsPerSecond: 5000, p99Ms: 10 },
            DescribeTargetHealth: { requestsPerSecond: 3000, p99Ms: 9 },
          },
          moto: {
            GetPipelineState: { unsupported: 'HTTP 500' },
            GetDeployment: { requestsPerSecond: 250, p99Ms: 140 },
            DescribeTargetHealth: { requestsPerSecond: 150, p99Ms: 160 },
          },
        },
        scale: { error: 'did not finish' },
        suite: {
          quick: false,
          serial: { scenarios: 7, wallMs: 100_000, load: [1.5, 1.8] },
          parallel: { scenarios: 7, wallMs: 55_000, load: [1.8, 2.1] },
        },
      },
      { cores: 2, cpuModel: 'CPU', node: 'v24.0.0' },
      '2026-01-02T03:04:05.000Z',
    );
    expect(text.split('\n')).toEqual([
      'Run of 2026-01-02 on 2 cores (CPU), Node v24.0.0, moto 5.2.1:',
      '',
      '| measure | codepipeline-harness / sandbox | reference | ratio |',
      '|---|---|---|---|',
      '| cold start -> first API answer (as a process: the bin, compile cache warm) | 0.50 s (first start, empty cache, dev path: 1.40 s) | moto_server 1.00 s | 0.50x |',
      '| GetPipelineState, 16 clients | 4,000 req/s, p99 12 ms | moto: not implemented | - |',
      '| GetDeployment, 16 clients | 5,000 req/s, p99 10 ms | moto 250 req/s, p99 140 ms | 20x |',
      '| DescribeTargetHealth, 16 clients | 3,000 req/s, p99 9 ms | moto 150 req/s, p99 160 ms | 20x |',
      '| acceptance suite wall, 7 scenarios: serial / --parallel 2 | 100 s / 55.0 s (load 1.5 / 1.8 at start) | serial | 0.55x (goal <= 0.6x) |',
      '',
    ]);
  });
});
