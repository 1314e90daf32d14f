/**
 * The end of a process's output, kept while the output is read: whatever a hook script or a build prints, memory
 * holds at most about twice `limit` characters, and what fell off the front is counted.
 */

/**
 * The last `limit` characters pushed, and how many came before them.
 *
 * @example
 * const tail = new OutputTail(4096);
 * child.stdout.on('data', (chunk) => tail.push(chunk.toString()));
 * tail.text;    // at most the last 4096 characters (a hook's logTail)
 * tail.dropped; // how many characters came before them
 */
export class OutputTail {
  readonly limit: number;
  #text = '';
  #cut = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit <= 0)
      throw new RangeError(`OutputTail limit must be > 0, got ${limit}`);
    this.limit = limit;
  }

  /** Appends output; trims the front once it holds twice the limit (amortized linear). */
  push(text: string): void {
    this.#text += text;
    if (this.#text.length > 2 * this.limit) {
      const cut = this.#text.length - this.limit;
      this.#cut += cut;
      this.#text = this.#text.slice(cut);
    }
  }

  /** The last `limit` characters. */
  get text(): string {
    return this.#text.length > this.limit ? this.#text.slice(-this.limit) : this.#text;
  }

  /** Characters pushed before {@link OutputTail.text}. */
  get dropped(): number {
    return this.#cut + Math.max(0, this.#text.length - this.limit);
  }

  /** Characters pushed in all. */
  get total(): number {
    return this.#cut + this.#text.length;
  }
}
