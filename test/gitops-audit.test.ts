import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, formatAuditTable } from '../src/gitops/audit-log.js';
import type { AuditEvent } from '../src/gitops/audit-log.js';
import { formatCommitMessage } from '../src/gitops/commit-message.js';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { ALICE, BOB, CAROL, commitFiles, createSandbox, git } from './gitops-fixture.js';
import type { Person, Sandbox } from './gitops-fixture.js';

const LIFEBOAT: Person = { name: 'lifeboat', email: 'lifeboat@localhost' };

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

// A history as the reconciler and three people would have written it, with fixed dates.
async function scriptHistory(): Promise<void> {
  const main = await sandbox.clone('main');
  const reconcilerCommit = (
    files: Record<string, string>,
    date: string,
    message: string,
    trailers: Record<string, string | string[]>,
  ) => commitFiles(main, files, { as: LIFEBOAT, date, message: formatCommitMessage({ message, trailers }) });

  await reconcilerCommit(
    { 'status/backups/nightly-20240301.yaml': 'phase: Completed\n' },
    '2024-03-01T02:00:00Z',
    'backups completed',
    {
      'Lifeboat-Action': 'backup',
      'Lifeboat-Backup': ['nightly-20240301', 'weekly-9'],
    },
  );
  // Alice requests a restore on a review branch; the reconciler plans it there.
  await git(main, ['checkout', '--quiet', '-b', 'restore/shop-0412']);
  await commitFiles(
    main,
    { 'restores/shop-0412.yaml': 'kind: Restore\n' },
    { message: 'please restore shop', as: ALICE, date: '2024-03-01T10:00:00Z' },
  );
  await reconcilerCommit(
    { 'plans/shop-0412.md': '# plan\n' },
    '2024-03-01T10:05:00Z',
    'plan restore shop-0412',
    {
      'Lifeboat-Action': 'plan-restore',
      'Lifeboat-Restore': 'shop-0412',
    },
  );
  // Carol approves by merging; the reconciler applies.
  await git(main, ['checkout', '--quiet', 'main']);
  await git(main, ['merge', '--quiet', '--no-ff', '--no-edit', 'restore/shop-0412'], {
    as: CAROL,
    date: '2024-03-01T12:00:00Z',
  });
  await reconcilerCommit(
    { 'status/restores/shop-0412.yaml': 'phase: Completed\n' },
    '2024-03-01T12:01:00Z',
    'restore shop-0412 applied: 3 created',
    {
      'Lifeboat-Action': 'apply-restore',
      'Lifeboat-Restore': 'shop-0412',
    },
  );
  await reconcilerCommit(
    { 'status/backups/nightly-20240201.yaml': 'phase: Deleted\n' },
    '2024-03-02T02:00:00Z',
    'backup expired',
    {
      'Lifeboat-Action': 'expire',
      'Lifeboat-Backup': 'nightly-20240201',
    },
  );
  // Bob's request arrives as a squash merge committed by Carol.
  await commitFiles(
    main,
    { 'restores/db-9.yml': 'kind: Restore\n' },
    {
      message: 'restore db-9 (#8)',
      as: BOB,
      committer: CAROL,
      date: '2024-03-03T09:00:00Z',
      committerDate: '2024-03-03T09:30:00Z',
    },
  );
  // Not events: a person's ordinary commit, and a file outside restores/.
  await commitFiles(
    main,
    { 'policies/x.yaml': 'x\n', 'other/restores/y.yaml': 'y\n' },
    { message: 'misc', as: ALICE, date: '2024-03-04T00:00:00Z' },
  );
  await git(main, ['push', '--quiet', 'origin', 'main', 'restore/shop-0412']);
}

type Row = [string, AuditEvent['type'], string, string];

function rows(events: AuditEvent[]): Row[] {
  return events.map((e) => [e.at.toISOString(), e.type, e.restore ?? e.backup ?? '-', e.actor.name]);
}

describe('auditEvents', () => {
  it('tells who requested, who approved, what the reconciler did, and when', async () => {
    await scriptHistory();
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    const events = await auditEvents(wc);
    expect(rows(events)).toEqual<Row[]>([
      ['2024-03-01T02:00:00.000Z', 'backup-taken', 'nightly-20240301', 'lifeboat'],
      ['2024-03-01T02:00:00.000Z', 'backup-taken', 'weekly-9', 'lifeboat'],
      ['2024-03-01T10:00:00.000Z', 'restore-requested', 'shop-0412', ALICE.name],
      ['2024-03-01T10:05:00.000Z', 'restore-planned', 'shop-0412', 'lifeboat'],
      ['2024-03-01T12:00:00.000Z', 'restore-approved', 'shop-0412', CAROL.name],
      ['2024-03-01T12:01:00.000Z', 'restore-applied', 'shop-0412', 'lifeboat'],
      ['2024-03-02T02:00:00.000Z', 'backup-expired', 'nightly-20240201', 'lifeboat'],
      ['2024-03-03T09:00:00.000Z', 'restore-requested', 'db-9', BOB.name],
      ['2024-03-03T09:30:00.000Z', 'restore-approved', 'db-9', CAROL.name],
    ]);
    expect(events.find((e) => e.type === 'restore-approved' && e.restore === 'shop-0412')).toMatchObject({
      via: 'merge',
      summary: 'merged restore/shop-0412 into main',
    });
    expect(events.find((e) => e.type === 'restore-approved' && e.restore === 'db-9')?.via).toBe('linear');
    expect(events.find((e) => e.type === 'restore-applied')).toMatchObject({
      action: 'apply-restore',
      summary: 'restore shop-0412 applied: 3 created',
    });

    const table = formatAuditTable(events);
    expect(table.split('\n')[0]).toMatch(/^TIME\s+EVENT\s+SUBJECT\s+ACTOR\s+COMMIT\s+SUMMARY$/);
    expect(table).toMatch(
      /2024-03-01T12:00:00Z\s+restore-approved\s+restore\/shop-0412\s+Carol Reviewer <carol@example.com>/,
    );
  });

  it('filters by restore and by time', async () => {
    await scriptHistory();
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    expect(rows(await auditEvents(wc, { restore: 'shop-0412' })).map((r) => r[1])).toEqual([
      'restore-requested',
      'restore-planned',
      'restore-approved',
      'restore-applied',
    ]);
    expect(rows(await auditEvents(wc, { since: new Date('2024-03-02T00:00:00Z') }))).toEqual<Row[]>([
      ['2024-03-02T02:00:00.000Z', 'backup-expired', 'nightly-20240201', 'lifeboat'],
      ['2024-03-03T09:00:00.000Z', 'restore-requested', 'db-9', BOB.name],
      ['2024-03-03T09:30:00.000Z', 'restore-approved', 'db-9', CAROL.name],
    ]);
    // An approval after `since` whose request came before it: only the approval is listed.
    expect(
      rows(await auditEvents(wc, { since: new Date('2024-03-01T11:00:00Z'), restore: 'shop-0412' })),
    ).toEqual<Row[]>([
      ['2024-03-01T12:00:00.000Z', 'restore-approved', 'shop-0412', CAROL.name],
      ['2024-03-01T12:01:00.000Z', 'restore-applied', 'shop-0412', 'lifeboat'],
    ]);
  });

  it('reads the reconciler commits made by WorkingCopy, on a status branch too', async () => {
    const wc = new WorkingCopy({
      remoteUrl: sandbox.remote,
      dir: sandbox.workDir(),
      statusBranch: 'lifeboat-status',
    });
    await wc.sync();
    wc.writeFiles({ 'status/backups/nightly-1.yaml': 'phase: Completed\n' });
    const result = await wc.commitAndPush({
      message: 'backup nightly-1 completed',
      trailers: { 'Lifeboat-Action': 'backup', 'Lifeboat-Backup': 'nightly-1' },
    });
    const events = await auditEvents(wc);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'backup-taken',
        backup: 'nightly-1',
        actor: LIFEBOAT,
        commit: result.committed ? result.sha : '',
        summary: 'backup nightly-1 completed',
      }),
    ]);
    expect(formatAuditTable([])).toBe('no audit events\n');
  });
});
