import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { cronExpressionError, nextRunAfter } from './schedule.js';
import { plainCronFields } from './utc-slots.js';
import { nextZonedSlot, ZoneClock } from './zoned-slots.js';

/** A small seeded generator (mulberry32), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Zones with daylight saving (northern and southern, changes at 02:00, at midnight, by 30
 * minutes), fixed 30- and 45-minute offsets, a zone whose DST follows Ramadan, and one that
 * skipped a whole day (Apia, 30 December 2011).
 */
const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'Australia/Adelaide',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/Santiago',
  'America/Havana',
  'Pacific/Chatham',
  'Africa/Casablanca',
  'Pacific/Apia',
  'America/Sao_Paulo',
];

// One random field of every form cron-parser reads: a star, a step of a star, a, a-b, a-b/n, lists, names.
function field(rnd: () => number, min: number, max: number, names?: string[]): string {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const value = () => {
    const v = int(min, max);
    const name = names?.[v - (names.length === 7 ? 0 : 1)];
    return name && rnd() < 0.3 ? name : String(v);
  };
  const r = rnd();
  if (r < 0.25) return '*';
  if (r < 0.35) return `*/${int(1, Math.max(1, Math.floor((max - min) / 2)))}`;
  if (r < 0.55) return value();
  const a = int(min, max);
  const b = int(a, max);
  if (r < 0.7) return `${a}-${b}`;
  if (r < 0.8) return `${a}-${b}/${int(1, 5)}`;
  return Array.from({ length: int(2, 4) }, value).join(',');
}

/** Hours around 0–3 more often than not: where DST changes happen. */
function expression(rnd: () => number): string {
  const dom = rnd() < 0.1 ? '?' : field(rnd, 1, 31);
  const dow = rnd() < 0.1 ? '?' : field(rnd, 0, 7, DAYS);
  const hour = rnd() < 0.5 ? field(rnd, 0, 3) : field(rnd, 0, 23);
  return [field(rnd, 0, 59), hour, dom, field(rnd, 1, 12, MONTHS), dow].join(' ');
}

/** The offset changes of a zone within 400 days after `from`: found in two-day steps, then to the second. */
function offsetChanges(zone: string, from: number): number[] {
  const clock = new ZoneClock(zone);
  const out: number[] = [];
  const step = 2 * DAY_MS;
  for (let t = from; t < from + 400 * DAY_MS; t += step) {
    const before = clock.offsetAt(t);
    if (clock.offsetAt(t + step) === before) continue;
    let lo = t;
    let hi = t + step;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (clock.offsetAt(mid) === before) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

/**
 * Instants from 1990 to 2090; half of them within three days of one of the zone's offset
 * changes (to the minute, the second or the millisecond), a few exactly on a minute.
 */
function instant(rnd: () => number, zone: string): number {
  const t = Date.UTC(1990, 0, 1) + Math.floor(rnd() * 100 * 365.25 * DAY_MS);
  let at = t;
  if (rnd() < 0.5) {
    const changes = offsetChanges(zone, t);
    const change = changes[Math.floor(rnd() * changes.length)];
    if (change !== undefined) at = change + Math.floor((rnd() - 0.5) * 6 * DAY_MS);
  }
  const r = rnd();
  if (r < 0.3) return Math.floor(at / 60_000) * 60_000;
  if (r < 0.4) return Math.floor(at / 60_000) * 60_000 - 1;
  return at;
}

function cronParserNext(expr: string, zone: string, after: number): number | undefined {
  try {
    return CronExpressionParser.parse(expr, { tz: zone, currentDate: new Date(after) })
      .next()
      .getTime();
  } catch {
    return undefined; // it never fires
  }
}

function parses(expr: string): boolean {
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

const show = (t: number | undefined) => (t === undefined ? 'undefined' : new Date(t).toISOString());

describe('nextZonedSlot', () => {
  it("gives cron-parser's next slot, or leaves it to cron-parser, for random expressions, zones and instants", () => {
    const rnd = random(20261205);
    const mismatches: string[] = [];
    let answered = 0;
    let compared = 0;
    const clocks = new Map(ZONES.map((z) => [z, new ZoneClock(z)]));
    for (let i = 0; i < 2400; i++) {
      const zone = ZONES[i % ZONES.length] ?? 'UTC';
      const expr = expression(rnd);
      const after = instant(rnd, zone);
      if (!parses(expr)) continue;
      const fields = plainCronFields(CronExpressionParser.parse(expr, { tz: zone }));
      if (fields === undefined) continue;
      compared++;
      const got = nextZonedSlot(fields, clocks.get(zone) ?? new ZoneClock(zone), after);
      if (got === undefined) continue; // cron-parser answers this one
      answered++;
      const want = cronParserNext(expr, zone, after);
      if (got !== want)
        mismatches.push(`"${expr}" ${zone} after ${show(after)}: ${show(got)}, cron-parser ${show(want)}`);
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(1500);
    // Most questions are far from a change even here, where half the instants are chosen near one.
    expect(answered).toBeGreaterThan(compared / 2);
  }, 300_000);

  it('leaves the skipped and the repeated hour, and the days around them, to cron-parser', () => {
    const clock = new ZoneClock('Europe/Berlin');
    const fields = plainCronFields(CronExpressionParser.parse('30 2 * * *', { tz: 'Europe/Berlin' }));
    if (!fields) throw new Error('plain fields expected');
    // 29 March 2026: 02:00–03:00 does not exist; 25 October 2026: 02:00–03:00 happens twice.
    for (const at of [
      '2026-03-28T12:00:00Z',
      '2026-03-29T00:30:00Z',
      '2026-10-24T23:00:00Z',
      '2026-10-25T00:45:00Z',
    ]) {
      expect(nextZonedSlot(fields, clock, Date.parse(at)), at).toBeUndefined();
    }
    // Far from a change it answers, and the answer is cron-parser's.
    const after = Date.parse('2026-12-04T10:00:00Z');
    expect(show(nextZonedSlot(fields, clock, after))).toBe('2026-12-05T01:30:00.000Z');
    expect(nextRunAfter('30 2 * * *', 'Europe/Berlin', new Date(after)).toISOString()).toBe(
      '2026-12-05T01:30:00.000Z',
    );
  });

  it('reads offsets of 30 and 45 minutes and offsets that change by 30 minutes', () => {
    expect(new ZoneClock('Asia/Kolkata').offsetAt(Date.parse('2026-06-01T00:00:00Z'))).toBe(5.5 * HOUR_MS);
    expect(new ZoneClock('Asia/Kathmandu').offsetAt(Date.parse('2026-06-01T00:00:00Z'))).toBe(5.75 * HOUR_MS);
    const lordHowe = new ZoneClock('Australia/Lord_Howe');
    expect(lordHowe.offsetAt(Date.parse('2026-01-15T00:00:00Z'))).toBe(11 * HOUR_MS);
    expect(lordHowe.offsetAt(Date.parse('2026-07-15T00:00:00Z'))).toBe(10.5 * HOUR_MS);
  });

  it('answers with the scheduler what cron-parser answers next to a change, through its fallback', () => {
    const cases: [string, string, string][] = [
      ['30 2 * * *', 'Europe/Berlin', '2026-03-29T00:30:00Z'], // in the skipped hour
      ['30 2 * * *', 'Europe/Berlin', '2026-10-25T00:15:00Z'], // in the repeated hour
      ['0 0 * * *', 'America/Santiago', '2026-09-05T12:00:00Z'], // midnight does not exist
      ['15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T12:00:00Z'], // 30 minutes skipped
      ['0 12 * * *', 'Pacific/Apia', '2011-12-29T12:00:00Z'], // 30 December 2011 skipped
    ];
    for (const [expr, zone, at] of cases) {
      const after = new Date(at);
      expect(nextRunAfter(expr, zone, after).getTime(), `${expr} ${zone} after ${at}`).toBe(
        cronParserNext(expr, zone, after.getTime()),
      );
    }
  });

  it("validates as cron-parser's walk from 1970 does, in every zone", () => {
    const rnd = random(4122026);
    const differences: string[] = [];
    const never = ['0 0 30 2 *', '0 0 31 4,6 *', '0 0 31 2 ?'];
    for (let i = 0; i < 400; i++) {
      const zone = ZONES[i % ZONES.length] ?? 'UTC';
      const expr = i < never.length ? (never[i] ?? '') : expression(rnd);
      let want: string | undefined;
      try {
        CronExpressionParser.parse(expr, { tz: zone, currentDate: new Date(0) }).next();
      } catch (err) {
        want = (err as Error).message;
      }
      const got = cronExpressionError(expr, zone);
      if (got !== want) differences.push(`"${expr}" ${zone}: ${got}, cron-parser ${want}`);
    }
    expect(differences).toEqual([]);
    expect(cronExpressionError('0 0 30 2 *', 'Europe/Berlin')).toMatch(/./);
  }, 120_000);
});
