// When a schedule is due: a pure function of the cron expression, its time zone, the last
// backup and an injected clock. The model is Velero's schedule controller
// (velero pkg/controller/schedule_controller.go, getNextRunTime): the next run is the first
// cron slot after the last backup, and missed runs are not replayed — a schedule that missed
// several slots runs once.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { memoize } from '../util/memo.js';
import { nextUtcSlot, plainCronFields, type PlainCronFields } from './utc-slots.js';
import { nextZonedSlot, ZoneClock } from './zoned-slots.js';

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/**
 * The descriptors Velero accepts (robfig/cron ParseStandard), as five-field expressions.
 * cron-parser knows more (@secondly, @weekdays), but Velero would reject a schedule using them.
 */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Velero schedules without a zone run in the server's zone; lifeboat pins UTC so runs do not depend on the host. */
export const DEFAULT_TIME_ZONE = 'UTC';

// robfig/cron (and so Velero) accepts a zone prefix inside the expression: "CRON_TZ=Asia/Tokyo 0 2 * * *".
const ZONE_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/;

// Growing look-back windows for the catch-up slot; see latestSlot().
const HOUR_MS = 3_600_000;
const LOOK_BACK_MS = [HOUR_MS, 24 * HOUR_MS, 32 * 24 * HOUR_MS, 367 * 24 * HOUR_MS, 9 * 366 * 24 * HOUR_MS];

// Room for the expressions of a few thousand schedules: a smaller memo that a pass cycles
// through in order would forget every answer before it is asked again.
const MEMO_SIZE = 10_000;

export interface CronSchedule {
  /** Five fields: minute hour day-of-month month day-of-week. */
  expression: string;
  timeZone: string;
}

/** Throws a ScheduleError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  checkTimeZone(timeZone);
}

const checkTimeZone = memoize((timeZone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new ScheduleError(
      `unknown time zone ${JSON.stringify(timeZone)}: use an IANA name like "Europe/Berlin"`,
    );
  }
});

/**
 * Validate a cron expression and resolve its zone. Accepts five fields, the descriptors above,
 * and robfig/cron's `CRON_TZ=<zone>` prefix. Throws a ScheduleError naming the expression; the
 * caller adds the file and field.
 */
export function parseCron(cron: string, timeZone?: string): CronSchedule {
  return parseCronOnce(JSON.stringify([cron, timeZone ?? null]));
}

const parseCronOnce = memoize((key) => {
  const [cron, timeZone] = JSON.parse(key) as [string, string | null];
  return Object.freeze(readCron(cron, timeZone ?? undefined));
}, MEMO_SIZE);

function readCron(cron: string, timeZone: string | undefined): CronSchedule {
  const quoted = JSON.stringify(cron);
  let text = cron.trim();
  let zone = timeZone;
  const prefixed = ZONE_PREFIX.exec(text);
  if (prefixed?.[1] !== undefined && prefixed[2] !== undefined) {
    if (zone !== undefined && zone !== prefixed[1]) {
      throw new ScheduleError(`cron expression ${quoted} names zone ${prefixed[1]} but timeZone is ${zone}`);
    }
    zone = prefixed[1];
    text = prefixed[2].trim();
  }
  zone ??= DEFAULT_TIME_ZONE;
  assertTimeZone(zone);
  if (text.startsWith('@')) {
    const macro = CRON_MACROS[text];
    if (macro === undefined) {
      const known = Object.keys(CRON_MACROS).join(', ');
      throw new ScheduleError(`invalid cron expression ${quoted}: unknown descriptor (use one of ${known})`);
    }
    text = macro;
  }
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) {
    throw new ScheduleError(
      `invalid cron expression ${quoted}: expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  const expression = fields.join(' ');
  const error = cronExpressionError(expression, zone);
  if (error !== undefined) throw new ScheduleError(`invalid cron expression ${quoted}: ${error}`);
  return { expression, timeZone: zone };
}

/**
 * cron-parser's objection to five fields in a zone, or undefined. Validation
 * (policy/rules/schedule.ts) and the scheduler ask the same question with the same words, so it
 * is answered once per process. next() also rejects expressions that parse but can never fire.
 */
export function cronExpressionError(expression: string, timeZone: string): string | undefined {
  return expressionErrorOnce(JSON.stringify([expression, timeZone]));
}

const expressionErrorOnce = memoize((key): string | undefined => {
  const [expression] = JSON.parse(key) as [string, string];
  try {
    // The parse the scheduler keeps: validation and the next slots share it.
    cronFields(expression);
    // Whether it ever fires: a wall-clock slot in the calendar is one in every zone (a skipped
    // hour moves it, never drops it), so plain fields need no walk; cron-parser walks the rest.
    const fields = plainFields(expression);
    if (fields !== undefined && nextUtcSlot(fields, 0) !== undefined) return undefined;
    const iterator = cronIterator(key);
    iterator.reset(new Date(0));
    iterator.next();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}, MEMO_SIZE);

/** The first slot of `cron` strictly after `after`, evaluated in `timeZone` (default UTC). */
export function nextRunAfter(cron: string, timeZone: string | undefined, after: Date): Date {
  const parsed = parseCron(cron, timeZone);
  return slotAfter(parsed, after);
}

function slotAfter(cron: CronSchedule, after: Date): Date {
  return new Date(slotAfterOnce(JSON.stringify([cron.expression, cron.timeZone, after.getTime()])));
}

// A pass asks for each schedule's next slot after the same instant twice (deciding, then its
// status), and every pass of `lifeboat run` asks again until the schedule runs. cron-parser's
// answer walks the expression's iterator in the zone (0.3–1 ms: 500 yearly schedules cost a
// quiet pass ~0.3 s of CPU); in UTC it is plain arithmetic (utc-slots.ts), and in other zones
// the same on the zone's wall clock while no offset change is near (zoned-slots.ts). Remembered
// as a number, so no caller shares a mutable Date; room for the questions of a few thousand schedules.
const slotAfterOnce = memoize((key) => {
  const [expression, timeZone, after] = JSON.parse(key) as [string, string, number];
  const parsedKey = JSON.stringify([expression, timeZone]);
  // Plain date arithmetic on cron-parser's own fields gives its answer (ADR 0037, ADR 0041).
  const plain = plainFields(expression);
  const fast =
    plain === undefined
      ? undefined
      : timeZone === 'UTC'
        ? nextUtcSlot(plain, after)
        : nextZonedSlot(plain, zoneClock(timeZone), after);
  if (fast !== undefined) return fast;
  // reset() makes the parsed iterator what parse() with this currentDate would have built.
  // Safe to share: nothing else runs between the reset and next().
  const iterator = cronIterator(parsedKey);
  iterator.reset(new Date(after));
  return iterator.next().getTime();
}, MEMO_SIZE);

/**
 * An expression parsed once whatever its zone: the fields do not depend on it, and a parse in a
 * zone costs luxon's zone set-up (about half a millisecond a schedule, cold, in a pass).
 */
const cronFields = memoize(
  (expression): CronExpression =>
    CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: new Date(0) }),
  MEMO_SIZE,
);

/** An expression's fields for the plain slot finders, or undefined when it uses L or #. */
const plainFields = memoize(
  (expression): PlainCronFields | undefined => plainCronFields(cronFields(expression)),
  MEMO_SIZE,
);

/** A zone's offsets, read once per zone and remembered with the days it was asked about. */
const zoneClock = memoize((timeZone) => new ZoneClock(timeZone));

/** An expression's iterator in its zone, for the slots the plain finders leave to cron-parser. */
const cronIterator = memoize((key): CronExpression => {
  const [expression, timeZone] = JSON.parse(key) as [string, string];
  return CronExpressionParser.parse(expression, { tz: timeZone });
}, MEMO_SIZE);

/**
 * The latest slot in [from, now], given that `from` is a slot and from <= now. Walks forward
 * with next() only: cron-parser's prev() disagrees with next() around DST changes (it drops a
 * slot that falls in the skipped hour, which next() moves an hour later), and a catch-up must
 * name a slot that next() would have produced. The walk starts at most a window before `now`,
 * the window growing only while it holds no slot, so a dense expression never walks far.
 */
function latestSlot(cron: CronSchedule, range: { from: Date; now: Date }): Date {
  const now = range.now.getTime();
  const windows = [...LOOK_BACK_MS.map((w) => Math.max(range.from.getTime(), now - w)), range.from.getTime()];
  for (const start of windows) {
    const it = CronExpressionParser.parse(cron.expression, {
      tz: cron.timeZone,
      currentDate: new Date(start - 1),
    });
    let latest: Date | undefined;
    for (let slot = it.next().toDate(); slot.getTime() <= now; slot = it.next().toDate()) latest = slot;
    if (latest !== undefined) return latest;
  }
  return range.from;
}

export interface ScheduleTiming {
  cron: string;
  /** IANA zone the expression is read in; default UTC. */
  timeZone?: string;
  /** Paused schedules create no backups (Velero Schedule spec.paused). */
  paused?: boolean;
  /** A new schedule waits for its first slot instead of running at once (Velero spec.skipImmediately). */
  skipImmediately?: boolean;
  /**
   * When the schedule was created or first seen. Needed only with skipImmediately before the
   * first backup: the first run is the first slot after it. The caller must keep it stable
   * across passes (record it in status, or use the commit time that added the policy).
   */
  createdAt?: Date;
}

export interface DueDecision {
  due: boolean;
  /** The slot this run stands for (it names the backup); set only when due. */
  scheduledFor?: Date;
  /** When due: the first slot after this run. Otherwise: when the schedule becomes due. */
  nextRun: Date;
  /** One line for status and logs. */
  reason: string;
}

/**
 * Whether a schedule is due at `now`.
 *
 * - Paused: never due (Velero skips paused schedules).
 * - No backup yet: without skipImmediately it is due at once, as Velero runs a new schedule
 *   immediately (docs: api-types/schedule, "skipImmediately"); with it, the first run is the
 *   first slot after createdAt (or after `now` when no creation time is known).
 * - Otherwise the next run is the first slot after the last backup (getNextRunTime), or after
 *   createdAt when skipImmediately is set and createdAt is later (a re-created schedule). Velero
 *   checks `now.After(next)`; lifeboat treats the slot itself as due (`now >= next`), the same
 *   boundary rule as TTL expiry.
 * - Several missed slots make one catch-up run, for the latest missed slot.
 */
export function isDue(input: {
  schedule: ScheduleTiming;
  lastBackupTime: Date | undefined;
  now: Date;
}): DueDecision {
  const { schedule, lastBackupTime, now } = input;
  const cron = parseCron(schedule.cron, schedule.timeZone);
  if (schedule.paused === true) {
    const nextRun = slotAfter(cron, now);
    return {
      due: false,
      nextRun,
      reason: `paused: no backups while paused (next slot ${describeSlot(nextRun, cron)})`,
    };
  }
  if (lastBackupTime === undefined && schedule.skipImmediately !== true) {
    return {
      due: true,
      // Whole seconds: the slot is stamped into the backup name at that resolution.
      scheduledFor: new Date(Math.floor(now.getTime() / 1000) * 1000),
      nextRun: slotAfter(cron, now),
      reason: 'first run: a new schedule without skipImmediately runs at once, as in Velero',
    };
  }
  const { reference, since } = referenceTime(schedule, { lastBackupTime, now });
  const next = slotAfter(cron, reference);
  if (next.getTime() > now.getTime()) {
    return {
      due: false,
      nextRun: next,
      reason: `not due: next slot after ${since} is ${describeSlot(next, cron)}`,
    };
  }
  const scheduledFor = latestSlot(cron, { from: next, now });
  const missed =
    scheduledFor.getTime() === next.getTime()
      ? `due: slot ${describeSlot(next, cron)}`
      : `due: slots from ${describeSlot(next, cron)} to ${describeSlot(scheduledFor, cron)} were missed; one catch-up run for the latest`;
  return { due: true, scheduledFor, nextRun: slotAfter(cron, scheduledFor), reason: missed };
}

/**
 * The time the next slot is counted from: the last backup, or with skipImmediately the
 * creation time when that is later — Velero's status.lastSkipped, which getNextRunTime uses
 * when it is more recent than lastBackup, so a re-created schedule does not catch up on the
 * old one's backups.
 */
function referenceTime(
  schedule: ScheduleTiming,
  observed: { lastBackupTime: Date | undefined; now: Date },
): { reference: Date; since: string } {
  const { lastBackupTime, now } = observed;
  const created = schedule.skipImmediately === true ? schedule.createdAt : undefined;
  if (
    lastBackupTime !== undefined &&
    (created === undefined || created.getTime() <= lastBackupTime.getTime())
  ) {
    return { reference: lastBackupTime, since: 'the last backup' };
  }
  if (created !== undefined) return { reference: created, since: 'creation (skipImmediately)' };
  return { reference: now, since: 'now (skipImmediately, no creation time known)' };
}

/** A slot as UTC and, when the zone is another, as local wall time: "2025-03-30T01:30:00Z (03:30 Europe/Berlin)". */
function describeSlot(at: Date, cron: CronSchedule): string {
  const utc = at.toISOString().replace('.000Z', 'Z');
  if (cron.timeZone === 'UTC') return utc;
  return `${utc} (${localTimeFormat(cron.timeZone).format(at)} ${cron.timeZone})`;
}

const localTimeFormat = memoize(
  (timeZone) =>
    new Intl.DateTimeFormat('sv-SE', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    }),
);
