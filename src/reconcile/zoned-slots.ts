// The next slot of a cron expression in a time zone other than UTC, without cron-parser's walk
// through luxon (0.3–1 ms a slot; half the benchmark's 500 schedules are in Europe/Berlin).
// The wall clock of the zone is searched like UTC (utc-slots.ts) and the slot found is turned
// back into an instant with the zone's offset, which Intl reads from the runtime's zone data (as
// luxon does for cron-parser). That is cron-parser's answer whenever no daylight-saving change
// (or other offset change) is near: the instant of a wall time is then unambiguous. Near one —
// the day of the starting instant or of the slot has an offset change, the offset is not whole
// minutes, or the year is outside 1971–2199 — this answers undefined and the caller asks
// cron-parser, whose handling of skipped and repeated hours stays the behaviour (ADR 0041).
// src/reconcile/zoned-slots.test.ts holds this to cron-parser for random expressions, zones
// (with DST, with 30- and 45-minute offsets) and instants, many of them next to a DST change.
import { nextUtcSlot, type PlainCronFields } from './utc-slots.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const FIRST_INSTANT = Date.UTC(1971, 0, 1);
const LAST_INSTANT = Date.UTC(2200, 0, 1);
/**
 * A wall-clock day [D, D+24h) is the instants [D − offset, D + 24h − offset], offsets lying in
 * [−12h, +14h]; a day counts as quiet when the offset is the same throughout a day more than
 * that on each side, sampled every two hours (no zone changes its offset twice in two hours).
 */
const QUIET_FROM = -(14 + 24) * HOUR_MS;
const QUIET_TO = (24 + 12 + 24) * HOUR_MS;
const QUIET_STEP = 2 * HOUR_MS;
/** Days remembered per zone: the days a pass asks about are few (its instants and slots). */
const MAX_DAYS = 4096;

/** A zone's UTC offsets as the runtime knows them, and which of its days are free of changes. */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly quiet = new Map<number, boolean>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Milliseconds to add to UTC for the zone's wall clock at instant `t` (whole seconds). */
  offsetAt(t: number): number {
    const seconds = Math.floor(t / 1000) * 1000;
    const part = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const p of this.format.formatToParts(seconds)) {
      if (p.type in part) part[p.type as keyof typeof part] = Number(p.value);
    }
    const wall = Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
    return wall - seconds;
  }

  /** Whether the wall-clock day starting at `day` (a UTC-like wall time) is far from any offset change. */
  quietDay(day: number): boolean {
    let known = this.quiet.get(day);
    if (known === undefined) {
      const offset = this.offsetAt(day + QUIET_FROM);
      known = offset % MINUTE_MS === 0;
      for (let t = day + QUIET_FROM + QUIET_STEP; known && t <= day + QUIET_TO; t += QUIET_STEP) {
        known = this.offsetAt(t) === offset;
      }
      if (this.quiet.size >= MAX_DAYS) this.quiet.clear();
      this.quiet.set(day, known);
    }
    return known;
  }
}

/**
 * The first slot strictly after `after` (milliseconds) in the zone of `clock`, or undefined when
 * an offset change is near (or none falls in the next twelve years): the caller then asks
 * cron-parser.
 */
export function nextZonedSlot(fields: PlainCronFields, clock: ZoneClock, after: number): number | undefined {
  if (after < FIRST_INSTANT || after >= LAST_INSTANT) return undefined;
  const offset = clock.offsetAt(after);
  const localAfter = after + offset;
  if (!clock.quietDay(Math.floor(localAfter / DAY_MS) * DAY_MS)) return undefined;
  const wall = nextUtcSlot(fields, localAfter);
  if (wall === undefined || wall >= LAST_INSTANT) return undefined;
  if (!clock.quietDay(Math.floor(wall / DAY_MS) * DAY_MS)) return undefined;
  // Offset changes between the two days do not matter: the slot's day has one offset all day.
  const slotOffset = clock.offsetAt(wall - offset);
  const slot = wall - slotOffset;
  if (clock.offsetAt(slot) !== slotOffset || slot <= after) return undefined;
  return slot;
}
