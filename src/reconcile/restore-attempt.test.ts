import { describe, expect, it } from 'vitest';
import type { RestoreResult } from '../restore/engine.js';
import { attemptState, attemptSummary } from './restore-attempt.js';

const NOW = new Date('2025-06-15T12:00:00Z');

function record(over: Partial<RestoreResult> = {}): RestoreResult {
  return {
    apiVersion: 'lifeboat.dev/v1',
    kind: 'RestoreResult',
    name: 'r1',
    backupName: 'b1',
    phase: 'InProgress',
    planHash: 'sha256:x',
    startTimestamp: '2025-06-15T11:00:00.000Z',
    completionTimestamp: '',
    counts: { created: 3, updated: 1, skipped: 2, failed: 0 },
    items: [],
    ...over,
  };
}

describe('attemptState', () => {
  it.each([
    { what: 'a finished record', over: { phase: 'Completed' as const }, state: 'finished' },
    {
      what: 'progress a minute ago: still applying',
      over: { progress: { done: 6, total: 9, updatedAt: '2025-06-15T11:59:00.000Z' } },
      state: 'in-progress',
    },
    {
      what: 'no progress for ten minutes: interrupted',
      over: { progress: { done: 6, total: 9, updatedAt: '2025-06-15T11:50:00.000Z' } },
      state: 'interrupted',
    },
    { what: 'a claim an hour old that never progressed: interrupted', over: {}, state: 'interrupted' },
    { what: 'a claim without a time (Git only): held', over: { startTimestamp: '' }, state: 'in-progress' },
  ])('$what', ({ over, state }) => {
    expect(attemptState(record(over), NOW)).toBe(state);
  });
});

describe('attemptSummary', () => {
  it('says how far it got and where its log is', () => {
    expect(
      attemptSummary(record({ progress: { done: 6, total: 9, updatedAt: '2025-06-15T11:50:00.000Z' } })),
    ).toBe(
      '6 of 9 objects done (created 3, updated 1, skipped 2, failed 0), last progress 2025-06-15T11:50:00.000Z; ' +
        'the log so far is restores/r1/restore-r1-logs.gz',
    );
  });

  it('says nothing was applied when it never reached the first object, naming no log', () => {
    expect(attemptSummary(record())).toBe('nothing was applied (it stopped before its first object)');
  });
});
