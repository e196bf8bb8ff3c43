// The schedule of a BackupSchedule: a standard five-field cron expression or a macro, read in
// an IANA time zone. cron-parser (which the scheduler uses) also accepts a seconds field and
// other extensions; we accept what Velero's cron library (robfig/cron ParseStandard) accepts, so
// schedules mean the same in both, and reject the rest with a message saying what to write.
import { memoize } from '../../util/memo.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { BackupScheduleSpec, VerifySpec } from '../types.js';
// The scheduler's own descriptor table, so validation and scheduling can never disagree.
import { CRON_MACROS, cronExpressionError } from '../../reconcile/schedule.js';

export function cronScheduleError(schedule: string, timeZone: string): string | undefined {
  return cronErrorOnce(JSON.stringify([schedule, timeZone]));
}

const cronErrorOnce = memoize((key): string | undefined => {
  const [schedule, timeZone] = JSON.parse(key) as [string, string];
  const trimmed = schedule.trim();
  if (trimmed === '') return 'must not be empty';
  if (/^(CRON_)?TZ=/.test(trimmed))
    return 'must not contain CRON_TZ= or TZ=; set the time zone in spec.timeZone';
  if (trimmed.startsWith('@')) return macroError(trimmed);
  const fields = trimmed.split(/\s+/);
  if (fields.length === 6) {
    return 'has 6 fields, but a seconds field is not supported: use five fields (minute hour day-of-month month day-of-week)';
  }
  if (fields.length !== 5) {
    return `has ${fields.length} field${fields.length === 1 ? '' : 's'}: use five (minute hour day-of-month month day-of-week) or a macro such as @daily`;
  }
  // cron-parser's H ("hashed") values depend on a seed; other tools would read them differently.
  if (fields.some((field) => field.split(',').some((part) => /^h/i.test(part)))) {
    return 'uses an H (hashed) value, which is not standard cron: write the minute or hour explicitly';
  }
  // The scheduler's own check (from the same instant, remembered for it).
  const error = cronExpressionError(fields.join(' '), timeZone);
  return error === undefined ? undefined : `is not a valid cron expression: ${error}`;
}, 10_000);

function macroError(macro: string): string | undefined {
  if (macro in CRON_MACROS) return undefined;
  if (macro.startsWith('@every'))
    return 'uses "@every", which is not supported: write a cron expression such as "0 */6 * * *"';
  return `is not a known macro: use a five-field expression or one of ${Object.keys(CRON_MACROS).join(', ')}`;
}

/**
 * An IANA time zone name. Like Kubernetes' CronJob timeZone, "Local" is refused (it would
 * depend on the machine running lifeboat), and names are case-sensitive as in Go's tz database.
 */
export function timeZoneError(timeZone: string): string | undefined {
  return zoneErrorOnce(timeZone);
}

// Every schedule of a repository names one of a few zones; each check builds an Intl object.
const zoneErrorOnce = memoize((timeZone): string | undefined => {
  if (timeZone.toLowerCase() === 'local') {
    return 'is not allowed: name the zone explicitly (Local would depend on the machine), for example "UTC"';
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return 'is not known: use an IANA name such as "UTC" or "Europe/Berlin"';
  }
  if (resolved !== timeZone && resolved.toLowerCase() === timeZone.toLowerCase()) {
    return `is misspelt: names are case-sensitive, write "${resolved}"`;
  }
  return undefined;
});

export function scheduleIssues(spec: BackupScheduleSpec): Issue[] {
  const issues: Issue[] = [];
  const zoneError = timeZoneError(spec.timeZone);
  if (zoneError)
    issues.push(issue('time-zone', ['spec', 'timeZone'], `time zone "${spec.timeZone}" ${zoneError}`));
  // Check the expression in UTC when the zone is bad, so a good expression is not blamed.
  const cronError = cronScheduleError(spec.schedule, zoneError ? 'UTC' : spec.timeZone);
  if (cronError) issues.push(issue('cron', ['spec', 'schedule'], `schedule "${spec.schedule}" ${cronError}`));
  if (spec.verify) issues.push(...verifyIssues(spec.verify, zoneError ? 'UTC' : spec.timeZone));
  return issues;
}

/** Longest backed-up namespace name a prefix leaves room for is checked at run time; this bound keeps most. */
export const MAX_VERIFY_PREFIX = 30;

function verifyIssues(verify: VerifySpec, timeZone: string): Issue[] {
  const issues: Issue[] = [];
  const cronError = cronScheduleError(verify.schedule, timeZone);
  if (cronError) {
    issues.push(
      issue('cron', ['spec', 'verify', 'schedule'], `verify schedule "${verify.schedule}" ${cronError}`),
    );
  }
  const prefix = verify.namespacePrefix;
  // The prefix starts every scratch namespace name (a DNS label): lowercase letters, digits and
  // '-', starting with a letter, leaving room for the backed-up namespace's name after it.
  if (!/^[a-z]([-a-z0-9]*)$/.test(prefix)) {
    issues.push(
      issue(
        'namespace',
        ['spec', 'verify', 'namespacePrefix'],
        `namespacePrefix "${prefix}" must start with a lowercase letter and hold only lowercase letters, digits and '-' (it starts namespace names)`,
      ),
    );
  } else if (prefix.length > MAX_VERIFY_PREFIX) {
    issues.push(
      issue(
        'namespace',
        ['spec', 'verify', 'namespacePrefix'],
        `namespacePrefix "${prefix}" is ${prefix.length} characters long; at most ${MAX_VERIFY_PREFIX}, so namespace names fit after it in 63`,
      ),
    );
  }
  return issues;
}
