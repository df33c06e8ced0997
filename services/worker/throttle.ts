// At most one report per distinct message per interval: a service that keeps failing the same way is said
// once a minute, not once per retry.
export class Throttle {
  readonly #last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  report(key: string, emit: () => void): void {
    const now = Date.now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (this.#last.size > 1000) this.#last.clear();
    this.#last.set(key, now);
    emit();
  }
}
