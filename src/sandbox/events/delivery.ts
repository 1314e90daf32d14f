/**
 * How the sandbox's EventBridge delivers to targets: as AWS promises and no better (aws-semantics-events-auth-regions
 * §1.7): at least once, late (each delivery after its own time-scaled delay, so events overtake each other), and
 * sometimes twice (a second copy, same event `id`, after another delay). The sandbox is the harness's adversary
 * here; the randomness is seeded so a test can make it deterministic, or turn it off.
 *
 * @example
 * const settings = defaultDeliverySettings();
 * settings.duplicateRate = 1; // every event twice
 * settings.delayMs = [0, 0];  // at once, in order
 */

/** What delivery does; change it at run time through `sandbox.services.events.delivery`. */
export interface DeliverySettings {
  /**
   * The delay from a state change to its arrival at a target, in AWS milliseconds (multiplied by the time scale
   * like every AWS duration), drawn uniformly in `[min, max]`. AWS documents only "near real-time"; 1–5 s is
   * common (§1.7). @default [300, 1500]
   */
  delayMs: [number, number];
  /** The share of deliveries sent a second time (0..1). @default 0.05 */
  duplicateRate: number;
  /** Seed of the random source that draws delays and duplicates. @default 1 */
  seed: number;
}

export function defaultDeliverySettings(): DeliverySettings {
  return { delayMs: [300, 1500], duplicateRate: 0.05, seed: 1 };
}

/** Checks settings given by a caller; throws a RangeError naming the field. */
export function checkDeliverySettings(settings: DeliverySettings): void {
  const [min, max] = settings.delayMs;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min)) {
    throw new RangeError(
      `delivery delayMs must be [min, max] AWS milliseconds with 0 <= min <= max, got [${min}, ${max}]`,
    );
  }
  if (!(settings.duplicateRate >= 0 && settings.duplicateRate <= 1)) {
    throw new RangeError(
      `delivery duplicateRate must be 0..1 (a share of deliveries), got ${settings.duplicateRate}`,
    );
  }
  if (!Number.isInteger(settings.seed))
    throw new RangeError(`delivery seed must be an integer, got ${settings.seed}`);
}

/** The plan for one event to one target: the AWS-ms delay of each copy (one, or two when duplicated). */
export function plan(settings: DeliverySettings, random: () => number): number[] {
  const [min, max] = settings.delayMs;
  const draw = () => min + (max - min) * random();
  const copies = [draw()];
  if (settings.duplicateRate > 0 && random() < settings.duplicateRate) copies.push(copies[0]! + draw());
  return copies;
}
