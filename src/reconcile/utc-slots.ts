// The next slot of a cron expression in UTC, computed from the fields cron-parser parsed, with
// plain UTC date arithmetic instead of cron-parser's walk through its date library (about
// 0.3–1 ms a slot; a quiet pass over 500 schedules spent ~0.4 s of CPU there). Only for UTC,
// which has no daylight-saving changes: in other zones cron-parser's handling of skipped and
// repeated hours is the behaviour schedules have, so they keep using it (ADR 0037).
// src/reconcile/utc-slots.test.ts holds this to cron-parser's answers for random expressions
// and instants.
import type { CronExpression } from 'cron-parser';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/**
 * How far ahead to look before leaving the answer to cron-parser: beyond any expression that
 * fires at all in the Gregorian calendar's rhythm (29 February on a Monday, as an OR of the two
 * day fields, still fires on every Monday; 29 February alone at most 8 years apart).
 */
const MAX_DAYS = 12 * 366;

/** What the search needs of a parsed expression; undefined when it is not a plain one. */
export interface PlainCronFields {
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  /** cron-parser's day rule: restricted day fields match if either matches. */
  domRestricted: boolean;
  dowRestricted: boolean;
}

/**
 * The fields of a five-field expression as plain sets, or undefined when it uses L (last day)
 * or # (nth weekday), which are left to cron-parser, or a seconds field other than 0.
 */
export function plainCronFields(expression: CronExpression): PlainCronFields | undefined {
  const f = expression.fields;
  if (f.dayOfMonth.hasLastChar || f.dayOfWeek.hasLastChar || f.dayOfWeek.nthDay > 0) return undefined;
  const seconds = f.second.values;
  if (seconds.length !== 1 || seconds[0] !== 0) return undefined;
  const numbers = (values: readonly unknown[]): number[] | undefined =>
    values.every((v): v is number => typeof v === 'number') ? [...values].sort((a, b) => a - b) : undefined;
  const minutes = numbers(f.minute.values);
  const hours = numbers(f.hour.values);
  const dom = numbers(f.dayOfMonth.values);
  const months = numbers(f.month.values);
  const dow = numbers(f.dayOfWeek.values);
  if (!minutes || !hours || !dom || !months || !dow) return undefined;
  if (minutes.length === 0 || hours.length === 0) return undefined;
  return {
    minutes,
    hours,
    daysOfMonth: new Set(dom),
    months: new Set(months),
    daysOfWeek: new Set(dow),
    domRestricted: !f.dayOfMonth.isWildcard,
    dowRestricted: !f.dayOfWeek.isWildcard,
  };
}

/** cron-parser's rule for a day (CronExpression #matchDayOfMonth, without L and #). */
function dayMatches(fields: PlainCronFields, day: Date): boolean {
  if (!fields.months.has(day.getUTCMonth() + 1)) return false;
  const dom = fields.daysOfMonth.has(day.getUTCDate());
  const dow = fields.daysOfWeek.has(day.getUTCDay());
  if (fields.domRestricted && fields.dowRestricted) return dom || dow;
  if (fields.domRestricted) return dom;
  if (fields.dowRestricted) return dow;
  return dom;
}

/**
 * The first slot strictly after `after` (milliseconds), in UTC; undefined when none falls in
 * the next twelve years (the caller then asks cron-parser, which says the expression never fires).
 */
export function nextUtcSlot(fields: PlainCronFields, after: number): number | undefined {
  // Slots are whole minutes (the seconds field is 0): the first candidate is the next minute.
  const first = (Math.floor(after / MINUTE_MS) + 1) * MINUTE_MS;
  const firstDay = Math.floor(first / DAY_MS) * DAY_MS;
  for (let n = 0; n <= MAX_DAYS; n++) {
    const dayStart = firstDay + n * DAY_MS;
    if (!dayMatches(fields, new Date(dayStart))) continue;
    const from = n === 0 ? (first - dayStart) / MINUTE_MS : 0;
    const slot = firstMinuteOfDay(fields, from);
    if (slot !== undefined) return dayStart + slot * MINUTE_MS;
  }
  return undefined;
}

/** The first minute of the day (0–1439) at or after `from` that the hour and minute fields allow. */
function firstMinuteOfDay(fields: PlainCronFields, from: number): number | undefined {
  const fromHour = Math.floor(from / 60);
  for (const hour of fields.hours) {
    if (hour < fromHour) continue;
    const least = hour === fromHour ? from % 60 : 0;
    const minute = fields.minutes.find((m) => m >= least);
    if (minute !== undefined) return hour * 60 + minute;
  }
  return undefined;
}
