// How long to wait before the next look at something that is becoming ready (a snapshot, a
// claim being bound). A fixed doubling back-off (250 ms … 2 s) overshoots a 6 s snapshot by up
// to 2 s, which the volumes benchmark saw as a third more than the driver's own time. Here the
// wait is a small fraction of the time waited so far: the first looks come quickly, a look
// never comes later than that fraction after the thing became ready, and a long wait still
// slows to the cap, so a stuck snapshot does not hammer the API server.

export interface PollDelayOptions {
  /** Share of the time already waited; default 0.05 (a look at most 5 % late). */
  fraction?: number;
  /** Default 50 ms. */
  minMs?: number;
  /** Default 2 s. */
  maxMs?: number;
}

/** The wait before the next look, `elapsedMs` after the waiting began. */
export function pollDelay(elapsedMs: number, o: PollDelayOptions = {}): number {
  const { fraction = 0.05, minMs = 50, maxMs = 2_000 } = o;
  return Math.min(maxMs, Math.max(minMs, Math.round(Math.max(0, elapsedMs) * fraction)));
}

/** A waiting policy: the wait before the next look, `elapsedMs` after the waiting began. */
export type PollDelay = (elapsedMs: number) => number;

/** Sleeps for the next wait (pollDelay unless `delay` is given), never past `deadline` when given. */
export async function pollPause(
  startedAt: number,
  o: { deadline?: number; delay?: PollDelay } = {},
): Promise<void> {
  const now = Date.now();
  let ms = (o.delay ?? pollDelay)(now - startedAt);
  if (o.deadline !== undefined) ms = Math.min(ms, Math.max(0, o.deadline - now));
  await new Promise((r) => setTimeout(r, ms));
}
