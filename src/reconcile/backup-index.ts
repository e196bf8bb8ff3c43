// Backups by schedule, built once per pass. A pass asks the same question for every schedule —
// which backups are this schedule's — and answering it by scanning every backup made a pass
// with S schedules and B backups cost S × B (500 × 2,000: a million name parses). Grouped once,
// each question costs only the schedule's own backups.
import { labelValue, parseScheduledBackupName } from './naming.js';

/** Items grouped by a key (undefined: in no group), each group in input order. */
export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * The items labelled with a schedule, from groups by label value: those labelled with its name
 * and, for a name longer than a label value can be, those labelled with the shortened name
 * Velero writes (labelValue).
 */
export function labelledWith<T>(groups: ReadonlyMap<string, readonly T[]>, schedule: string): T[] {
  const exact = groups.get(schedule) ?? [];
  const short = labelValue(schedule);
  return short === schedule ? [...exact] : [...exact, ...(groups.get(short) ?? [])];
}

/** What the index needs of a stored backup. */
export interface IndexedBackup {
  name: string;
  /** The velero.io/schedule-name label, when the metadata could be read and has one. */
  schedule?: string;
  startTime?: Date;
}

/**
 * The time of each schedule's newest backup in the given backups. A backup is the schedule's by
 * its label (its name or the label value of a long name) or, when it has no label (metadata
 * missing or unreadable), by the schedule its name encodes. Its time is the slot its name
 * encodes for that schedule, else its start.
 */
export class LatestBackupIndex {
  private readonly labelled: Map<string, { backup: IndexedBackup; slot?: { schedule: string; at: Date } }[]>;
  private readonly named: Map<string, Date[]>;

  constructor(backups: Iterable<IndexedBackup>) {
    const parsed = [...backups].map((backup) => {
      const slot = parseScheduledBackupName(backup.name);
      return slot ? { backup, slot } : { backup };
    });
    this.labelled = groupBy(parsed, (p) => p.backup.schedule);
    this.named = new Map();
    for (const p of parsed) {
      if (p.backup.schedule !== undefined || p.slot === undefined) continue;
      const times = this.named.get(p.slot.schedule);
      if (times === undefined) this.named.set(p.slot.schedule, [p.slot.at]);
      else times.push(p.slot.at);
    }
  }

  /** The newest backup time of `schedule`, or undefined when it has none with a time. */
  latest(schedule: string): Date | undefined {
    let latest: Date | undefined;
    const consider = (at: Date | undefined) => {
      if (at !== undefined && (latest === undefined || at.getTime() > latest.getTime())) latest = at;
    };
    for (const { backup, slot } of labelledWith(this.labelled, schedule)) {
      consider((slot?.schedule === schedule ? slot.at : undefined) ?? backup.startTime);
    }
    for (const at of this.named.get(schedule) ?? []) consider(at);
    return latest;
  }
}
