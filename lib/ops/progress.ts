/**
 * Time and output are injected into every command so that tests run the
 * polling loops with a fake clock (no real waiting) and read what an operator
 * would have seen.
 */

/** Wall-clock time and waiting. The real one sleeps; the test one only advances `now`. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Where commands write. Lines only: the output is read by people and pasted into incident notes. */
export interface Output {
  line(text: string): void;
  error(text: string): void;
}

export const consoleOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
};

/** `83000` → `1m23s`; hours shown only when needed. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}h${mm}m${ss}s` : `${mm}m${ss}s`;
}

/**
 * Prints lines prefixed with the time elapsed since the command started, so
 * that an on-call engineer sees at a glance how long each step takes (the DR
 * drill measures exactly that).
 */
export class Progress {
  readonly startedAt: number;
  constructor(
    private readonly clock: Clock,
    private readonly out: Output,
  ) {
    this.startedAt = clock.now();
  }

  elapsedMs(): number {
    return this.clock.now() - this.startedAt;
  }

  log(text: string): void {
    this.out.line(`[+${formatDuration(this.elapsedMs())}] ${text}`);
  }

  warn(text: string): void {
    this.out.line(`[+${formatDuration(this.elapsedMs())}] WARNING: ${text}`);
  }

  /** A line without the time prefix (plans, summaries). */
  plain(text: string): void {
    this.out.line(text);
  }
}
