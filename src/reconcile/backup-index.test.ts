import { describe, expect, it } from 'vitest';
import { groupBy, labelledWith, LatestBackupIndex, type IndexedBackup } from './backup-index.js';
import { labelValue } from './naming.js';

const at = (iso: string) => new Date(iso);
const LONG = `team-${'x'.repeat(70)}`; // longer than a label value may be

describe('groupBy', () => {
  it('groups in input order and leaves out items without a key', () => {
    const groups = groupBy(['a1', 'b1', 'x', 'a2', 'b2'], (s) => (s === 'x' ? undefined : s[0]));
    expect([...groups]).toEqual([
      ['a', ['a1', 'a2']],
      ['b', ['b1', 'b2']],
    ]);
  });
});

describe('labelledWith', () => {
  it("finds a long schedule's items under its name and under Velero's shortened label", () => {
    const groups = new Map([
      [LONG, ['by-name']],
      [labelValue(LONG), ['by-label']],
      ['other', ['no']],
    ]);
    expect(labelledWith(groups, LONG)).toEqual(['by-name', 'by-label']);
    expect(labelledWith(groups, 'other')).toEqual(['no']);
    expect(labelledWith(groups, 'none')).toEqual([]);
  });

  it('returns a copy the caller may sort', () => {
    const groups = new Map([['s', ['b', 'a']]]);
    labelledWith(groups, 's').sort();
    expect(groups.get('s')).toEqual(['b', 'a']);
  });
});

describe('LatestBackupIndex', () => {
  const cases: { name: string; backups: IndexedBackup[]; schedule: string; latest: Date | undefined }[] = [
    { name: 'no backups', backups: [], schedule: 'nightly', latest: undefined },
    {
      name: 'the slot a labelled name encodes wins over its start',
      backups: [
        { name: 'nightly-20250310020000', schedule: 'nightly', startTime: at('2025-03-10T02:00:05Z') },
        { name: 'nightly-20250309020000', schedule: 'nightly', startTime: at('2025-03-09T02:00:04Z') },
      ],
      schedule: 'nightly',
      latest: at('2025-03-10T02:00:00Z'),
    },
    {
      name: 'a labelled backup whose name encodes no slot counts by its start',
      backups: [{ name: 'manual-copy', schedule: 'nightly', startTime: at('2025-03-11T08:00:00Z') }],
      schedule: 'nightly',
      latest: at('2025-03-11T08:00:00Z'),
    },
    {
      name: "a name encoding another schedule's slot counts by its start",
      backups: [
        { name: 'weekly-20250301000000', schedule: 'nightly', startTime: at('2025-03-02T00:00:00Z') },
      ],
      schedule: 'nightly',
      latest: at('2025-03-02T00:00:00Z'),
    },
    {
      name: 'an unlabelled backup (metadata unreadable) counts by the schedule its name encodes',
      backups: [
        { name: 'nightly-20250312020000' },
        { name: 'nightly-20250311020000', schedule: 'nightly', startTime: at('2025-03-11T02:00:00Z') },
      ],
      schedule: 'nightly',
      latest: at('2025-03-12T02:00:00Z'),
    },
    {
      name: "a backup labelled for another schedule is not this one's, whatever its name says",
      backups: [{ name: 'nightly-20250312020000', schedule: 'other', startTime: at('2025-03-12T02:00:00Z') }],
      schedule: 'nightly',
      latest: undefined,
    },
    {
      name: 'a labelled backup without a slot or a start has no time',
      backups: [{ name: 'manual', schedule: 'nightly' }],
      schedule: 'nightly',
      latest: undefined,
    },
    {
      name: "Velero's shortened label of a long schedule name counts",
      backups: [{ name: 'copy', schedule: labelValue(LONG), startTime: at('2025-03-01T00:00:00Z') }],
      schedule: LONG,
      latest: at('2025-03-01T00:00:00Z'),
    },
  ];
  it.each(cases)('$name', ({ backups, schedule, latest }) => {
    expect(new LatestBackupIndex(backups).latest(schedule)).toEqual(latest);
  });

  it('answers each schedule from one index', () => {
    const index = new LatestBackupIndex([
      { name: 'a-20250101000000', schedule: 'a' },
      { name: 'b-20250102000000', schedule: 'b' },
      { name: 'a-20250103000000', schedule: 'a' },
    ]);
    expect(index.latest('a')).toEqual(at('2025-01-03T00:00:00Z'));
    expect(index.latest('b')).toEqual(at('2025-01-02T00:00:00Z'));
    expect(index.latest('c')).toBeUndefined();
  });
});
