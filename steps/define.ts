/**
 * Given/When/Then for the harness's steps: the same as cucumber's, plus the step's error kept on the World, so
 * the After hook can attach its evidence (cucumber hands hooks only a serialized message, not the error).
 */
import { Given as given, Then as then, When as when } from '@cucumber/cucumber';
import type { HarnessWorld } from './world.ts';

type StepFn = (this: HarnessWorld, ...args: any[]) => unknown;

function keepingErrors(define: typeof given) {
  return (pattern: string, fn: StepFn): void => {
    const wrapped = async function (this: HarnessWorld, ...args: unknown[]) {
      try {
        return await fn.apply(this, args);
      } catch (error) {
        this.failure = error;
        throw error;
      }
    };
    // cucumber checks a step function's arity against its parameters: keep the original's.
    Object.defineProperty(wrapped, 'length', { value: fn.length });
    define(pattern, wrapped);
  };
}

export const Given = keepingErrors(given);
export const When = keepingErrors(when);
export const Then = keepingErrors(then);
