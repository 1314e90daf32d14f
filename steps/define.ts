/**
 * Given/When/Then for the harness's steps: cucumber's, with each step's own timeout (a release outlasts cucumber's
 * 5 s default, so nobody has to change a team's global default), `this` bound to the scenario's
 * `HarnessScenario` (any World works), and the step's error kept on it for the After hook's evidence (cucumber
 * hands hooks only a serialized message, not the error).
 */
import { Given as given, Then as then, When as when } from '@cucumber/cucumber';
import { harnessScenario, type HarnessScenario } from './scenario.ts';

type StepFn = (this: HarnessScenario, ...args: any[]) => unknown;
type Define = (pattern: string, fn: StepFn) => void;

/** The three keywords, bound to one step timeout. */
export interface StepDefiners {
  Given: Define;
  When: Define;
  Then: Define;
}

function keepingErrors(define: typeof given, timeout: number): Define {
  return (pattern, fn) => {
    const wrapped = async function (this: object, ...args: unknown[]) {
      const scenario = harnessScenario(this);
      try {
        return await fn.apply(scenario, args);
      } catch (error) {
        scenario.failure = error;
        throw error;
      }
    };
    // cucumber checks a step function's arity against its parameters: keep the original's.
    Object.defineProperty(wrapped, 'length', { value: fn.length });
    define(pattern, { timeout }, wrapped);
  };
}

/** Step keywords whose steps each get `timeout` ms. */
export function stepDefiners(timeout: number): StepDefiners {
  return {
    Given: keepingErrors(given, timeout),
    When: keepingErrors(when, timeout),
    Then: keepingErrors(then, timeout),
  };
}
