import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { nextRunAfter } from './schedule.js';
import { nextUtcSlot, plainCronFields } from './utc-slots.js';

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

function expression(rnd: () => number): string {
  const dom = rnd() < 0.1 ? '?' : field(rnd, 1, 31);
  const dow = rnd() < 0.1 ? '?' : field(rnd, 0, 7, DAYS);
  return [field(rnd, 0, 59), field(rnd, 0, 23), dom, field(rnd, 1, 12, MONTHS), dow].join(' ');
}

/** Instants anywhere from 1990 to 2090, some on minute, day, month and year boundaries. */
function instant(rnd: () => number): number {
  const t = Date.UTC(1990, 0, 1) + Math.floor(rnd() * 100 * 365.25 * 86_400_000);
  const r = rnd();
  if (r < 0.2) return Math.floor(t / 60_000) * 60_000;
  if (r < 0.3) return Math.floor(t / 86_400_000) * 86_400_000 - (rnd() < 0.5 ? 1 : 0);
  if (r < 0.4) {
    const d = new Date(t);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - Math.floor(rnd() * 120_000);
  }
  return t;
}

function cronParserNext(expr: string, after: number): number | undefined {
  try {
    return CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date(after) })
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

function fastNext(expr: string, after: number): number | undefined {
  const fields = plainCronFields(CronExpressionParser.parse(expr, { tz: 'UTC' }));
  if (fields === undefined) throw new Error(`${expr}: not a plain expression`);
  return nextUtcSlot(fields, after);
}

describe('nextUtcSlot', () => {
  it("gives cron-parser's next slot for random expressions and instants", () => {
    const rnd = random(20261204);
    const mismatches: string[] = [];
    let compared = 0;
    for (let i = 0; i < 1500; i++) {
      const expr = expression(rnd);
      const after = instant(rnd);
      // Expressions cron-parser refuses (duplicates, 30 February) never reach the scheduler.
      if (!parses(expr)) continue;
      compared++;
      const want = cronParserNext(expr, after);
      const got = fastNext(expr, after);
      if (got !== want) {
        const show = (t: number | undefined) => (t === undefined ? 'never' : new Date(t).toISOString());
        mismatches.push(
          `"${expr}" after ${new Date(after).toISOString()}: ${show(got)}, cron-parser ${show(want)}`,
        );
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
    // cron-parser takes about a millisecond a slot, several on the loaded 2-core machine.
  }, 120_000);

  it('agrees on the cases that are easy to get wrong', () => {
    const cases: [string, string][] = [
      ['0 0 29 2 *', '2097-03-01T00:00:00.000Z'], // 2100 is no leap year: 2104
      ['0 0 29 2 1', '2026-12-04T10:00:00.000Z'], // day of month OR day of week: the next Monday
      ['0 0 * * 7', '2026-12-04T10:00:00.000Z'], // 7 is Sunday
      ['0 0 31 * *', '2026-04-15T00:00:00.000Z'], // skips months without a 31st
      ['30 2 * * *', '2026-12-04T02:30:00.000Z'], // a slot itself: the next one
      ['30 2 * * *', '2026-12-04T02:29:59.999Z'],
      ['30 2 * * *', '2026-12-04T02:30:00.001Z'],
      ['59 23 31 12 *', '2026-12-31T23:59:00.000Z'], // across a year end
      ['0 0 1 1 *', '2026-12-03T00:07:00.000Z'],
    ];
    for (const [expr, at] of cases) {
      const after = Date.parse(at);
      expect(fastNext(expr, after), `${expr} after ${at}`).toBe(cronParserNext(expr, after));
    }
  });

  it('says never for an expression that never fires, and leaves L and # to cron-parser', () => {
    // cron-parser refuses to parse 30 February; a day no calendar has is never found either.
    const never = {
      minutes: [0],
      hours: [0],
      daysOfMonth: new Set([30]),
      months: new Set([2]),
      daysOfWeek: new Set([0, 1, 2, 3, 4, 5, 6]),
      domRestricted: true,
      dowRestricted: false,
    };
    expect(nextUtcSlot(never, Date.parse('2026-01-01T00:00:00Z'))).toBeUndefined();
    for (const expr of ['0 0 L * *', '0 0 * * 5L', '0 0 * * 1#2']) {
      expect(plainCronFields(CronExpressionParser.parse(expr, { tz: 'UTC' })), expr).toBeUndefined();
    }
  });

  it('is what the scheduler answers in UTC, and other zones keep their own answer', () => {
    const after = new Date('2026-03-29T00:30:00Z');
    expect(nextRunAfter('30 2 * * *', 'UTC', after).toISOString()).toBe('2026-03-29T02:30:00.000Z');
    // Europe/Berlin skips 02:00–03:00 that night; cron-parser's answer stands.
    expect(nextRunAfter('30 2 * * *', 'Europe/Berlin', after).getTime()).toBe(
      CronExpressionParser.parse('30 2 * * *', { tz: 'Europe/Berlin', currentDate: after }).next().getTime(),
    );
  });
});
