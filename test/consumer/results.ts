/**
 * What actually ran, from the runners' own machine-readable output: cucumber's message stream (ndjson) and
 * vitest's JSON report. The consumer test asserts on these, not only on exit codes.
 */

/** Cucumber step and scenario statuses, worst first. */
const SEVERITY = ['FAILED', 'AMBIGUOUS', 'UNDEFINED', 'PENDING', 'SKIPPED', 'UNKNOWN', 'PASSED'] as const;

export interface ScenarioResult {
  name: string;
  /** The feature file, as cucumber names it (relative to its working directory). */
  uri: string;
  status: string;
  /** Each of its steps (hooks left out): text and status. */
  steps: { text: string; status: string }[];
}

export interface CucumberResults {
  scenarios: ScenarioResult[];
  /** Gherkin steps (not hooks) by status. */
  steps: Record<string, number>;
  /** testRunFinished.success; undefined when the run never finished. */
  success: boolean | undefined;
}

interface Envelope {
  pickle?: { id: string; name: string; uri: string; steps: { id: string; text: string }[] };
  testCase?: { id: string; pickleId: string; testSteps: { id: string; pickleStepId?: string }[] };
  testCaseStarted?: { id: string; testCaseId: string };
  testStepFinished?: { testCaseStartedId: string; testStepId: string; testStepResult: { status: string } };
  testCaseFinished?: { testCaseStartedId: string; willBeRetried?: boolean };
  testRunFinished?: { success: boolean };
}

/** Tallies a cucumber message stream (`--format message:<file>`): scenarios (last attempt) and steps. */
export function cucumberResults(ndjson: string): CucumberResults {
  const pickles = new Map<string, NonNullable<Envelope['pickle']>>();
  const testCases = new Map<string, NonNullable<Envelope['testCase']>>();
  const started = new Map<string, string>(); // testCaseStartedId -> testCaseId
  const stepStatus = new Map<string, Map<string, string>>(); // testCaseStartedId -> testStepId -> status
  const finished: string[] = [];
  let success: boolean | undefined;
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as Envelope;
    if (m.pickle) pickles.set(m.pickle.id, m.pickle);
    else if (m.testCase) testCases.set(m.testCase.id, m.testCase);
    else if (m.testCaseStarted) started.set(m.testCaseStarted.id, m.testCaseStarted.testCaseId);
    else if (m.testStepFinished) {
      const { testCaseStartedId, testStepId, testStepResult } = m.testStepFinished;
      const steps = stepStatus.get(testCaseStartedId) ?? new Map<string, string>();
      steps.set(testStepId, testStepResult.status);
      stepStatus.set(testCaseStartedId, steps);
    } else if (m.testCaseFinished) {
      if (!m.testCaseFinished.willBeRetried) finished.push(m.testCaseFinished.testCaseStartedId);
    } else if (m.testRunFinished) success = m.testRunFinished.success;
  }
  const scenarios: ScenarioResult[] = [];
  const steps: Record<string, number> = {};
  for (const startedId of finished) {
    const testCase = testCases.get(started.get(startedId) ?? '');
    const pickle = pickles.get(testCase?.pickleId ?? '');
    if (!testCase || !pickle) continue;
    const statuses = stepStatus.get(startedId) ?? new Map<string, string>();
    const all = testCase.testSteps.map((s) => statuses.get(s.id) ?? 'UNKNOWN');
    const own = testCase.testSteps.flatMap((s) => {
      if (!s.pickleStepId) return [];
      const text = pickle.steps.find((p) => p.id === s.pickleStepId)?.text ?? '?';
      return [{ text, status: statuses.get(s.id) ?? 'UNKNOWN' }];
    });
    for (const s of own) steps[s.status] = (steps[s.status] ?? 0) + 1;
    scenarios.push({ name: pickle.name, uri: pickle.uri, status: worst(all), steps: own });
  }
  return { scenarios, steps, success };
}

function worst(statuses: readonly string[]): string {
  let index = SEVERITY.length - 1;
  for (const s of statuses) {
    const i = SEVERITY.indexOf(s as (typeof SEVERITY)[number]);
    index = Math.min(index, i === -1 ? SEVERITY.indexOf('UNKNOWN') : i);
  }
  return SEVERITY[index]!;
}

/**
 * Problems with a cucumber run that should have passed whole: no scenario, a scenario not passed, a step
 * undefined/skipped/pending/ambiguous, or an expected scenario missing. Empty when all is well.
 */
export function cucumberProblems(
  results: CucumberResults,
  expect: { scenarios?: readonly string[]; fromUri?: readonly { prefix: string; what: string }[] } = {},
): string[] {
  const problems: string[] = [];
  if (results.success !== true) problems.push(`the run did not report success (success=${results.success})`);
  if (!results.scenarios.length) problems.push('no scenario ran');
  for (const s of results.scenarios) {
    if (s.status === 'PASSED') continue;
    const bad = s.steps.filter((step) => step.status !== 'PASSED');
    problems.push(
      `scenario "${s.name}" (${s.uri}) is ${s.status}` +
        (bad.length ? `: ${bad.map((b) => `"${b.text}" ${b.status}`).join(', ')}` : ' (in a hook)'),
    );
  }
  for (const status of ['UNDEFINED', 'SKIPPED', 'PENDING', 'AMBIGUOUS', 'UNKNOWN']) {
    if (results.steps[status]) problems.push(`${results.steps[status]} step(s) ${status.toLowerCase()}`);
  }
  for (const name of expect.scenarios ?? []) {
    if (!results.scenarios.some((s) => s.name === name && s.status === 'PASSED')) {
      problems.push(`scenario "${name}" did not run and pass`);
    }
  }
  for (const { prefix, what } of expect.fromUri ?? []) {
    if (!results.scenarios.some((s) => s.uri.startsWith(prefix) && s.status === 'PASSED')) {
      problems.push(`no scenario of ${what} (${prefix}...) ran and passed`);
    }
  }
  return problems;
}

/** One line: "3 scenarios passed (12 steps passed)". */
export function cucumberSummary(results: CucumberResults): string {
  const by = (status: string) => results.scenarios.filter((s) => s.status === status).length;
  const scenarioParts = SEVERITY.filter((s) => by(s)).map((s) => `${by(s)} ${s.toLowerCase()}`);
  const stepParts = Object.entries(results.steps).map(([s, n]) => `${n} ${s.toLowerCase()}`);
  return `scenarios: ${scenarioParts.join(', ') || 'none'}; steps: ${stepParts.join(', ') || 'none'}`;
}

/** The parts of vitest's JSON report (`--reporter=json`) the consumer test reads. */
export interface VitestReport {
  success: boolean;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string; assertionResults: { fullName: string; status: string }[] }[];
}

/** Problems with a vitest run that should have passed whole, with at least `minTests` tests. */
export function vitestProblems(
  report: VitestReport,
  expect: { files: readonly string[]; minTests: number },
): string[] {
  const problems: string[] = [];
  if (!report.success) problems.push('vitest reported no success');
  if (report.numTotalTests < expect.minTests) {
    problems.push(`${report.numTotalTests} test(s) ran, expected at least ${expect.minTests}`);
  }
  if (report.numPassedTests !== report.numTotalTests) {
    const notPassed = report.testResults
      .flatMap((f) => f.assertionResults)
      .filter((a) => a.status !== 'passed')
      .map((a) => `"${a.fullName}" ${a.status}`);
    problems.push(`${report.numPassedTests} of ${report.numTotalTests} passed; ${notPassed.join(', ')}`);
  }
  for (const file of expect.files) {
    if (!report.testResults.some((r) => r.name.replace(/\\/g, '/').endsWith(`/${file}`))) {
      problems.push(`vitest did not run ${file}`);
    }
  }
  return problems;
}
