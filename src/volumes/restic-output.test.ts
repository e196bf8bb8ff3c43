import { describe, expect, it } from 'vitest';
import { failureOfExitCode, parseResticLine, stderrMessage } from './restic-output.js';

describe('parseResticLine', () => {
  it('reads backup progress', () => {
    expect(
      parseResticLine(
        '{"message_type":"status","percent_done":0.5,"total_files":10,"files_done":4,"total_bytes":2000,"bytes_done":1000}',
      ),
    ).toEqual({
      type: 'progress',
      progress: { bytesDone: 1000, bytesTotal: 2000, filesDone: 4, filesTotal: 10 },
    });
  });

  it('reads restore progress, whose fields are named differently', () => {
    expect(
      parseResticLine(
        '{"message_type":"status","seconds_elapsed":1,"percent_done":1,"total_files":3,"files_restored":2,"total_bytes":30,"bytes_restored":20}',
      ),
    ).toEqual({ type: 'progress', progress: { bytesDone: 20, bytesTotal: 30, filesDone: 2, filesTotal: 3 } });
  });

  it('reads the snapshot id and sizes from the backup summary', () => {
    expect(
      parseResticLine(
        '{"message_type":"summary","files_new":2,"dirs_new":1,"dirs_unmodified":2,"data_added":1500,"total_files_processed":2,"total_bytes_processed":1048577,"snapshot_id":"4f0c2b1a"}',
      ),
    ).toEqual({
      type: 'backup-summary',
      summary: { snapshotId: '4f0c2b1a', files: 2, dirs: 3, bytes: 1048577, dataAdded: 1500 },
    });
  });

  it('reads the counts from the restore summary, skipped files (already in place) included', () => {
    expect(
      parseResticLine(
        '{"message_type":"summary","total_files":3,"files_restored":3,"files_skipped":0,"total_bytes":9,"bytes_restored":9}',
      ),
    ).toEqual({ type: 'restore-summary', summary: { entries: 3, bytes: 9 } });
    expect(
      parseResticLine(
        '{"message_type":"summary","total_files":3,"files_restored":1,"files_skipped":2,"bytes_skipped":1003}',
      ),
    ).toEqual({ type: 'restore-summary', summary: { entries: 3, bytes: 1003 } });
  });

  it('names the item of an error', () => {
    expect(
      parseResticLine(
        '{"message_type":"error","error":{"message":"permission denied"},"during":"archival","item":"/v/a"}',
      ),
    ).toEqual({ type: 'error', message: '/v/a: permission denied' });
  });

  it('reads the fatal exit message of --json', () => {
    expect(
      parseResticLine('{"message_type":"exit_error","code":1,"message":"Fatal: There were 1 errors\\n"}'),
    ).toEqual({ type: 'error', message: 'Fatal: There were 1 errors' });
  });

  it('ignores text, broken JSON and messages it does not know', () => {
    expect(parseResticLine('created restic repository 1234')).toBeUndefined();
    expect(parseResticLine('{"message_type":')).toBeUndefined();
    expect(parseResticLine('{"message_type":"verbose_status","action":"new"}')).toBeUndefined();
  });
});

describe('failureOfExitCode', () => {
  it.each([
    [10, 'no-repository'],
    [11, 'locked'],
    [12, 'wrong-password'],
    [3, 'incomplete'],
    [1, 'failed'],
    [null, 'failed'],
  ] as const)('exit %s is %s', (code, failure) => {
    expect(failureOfExitCode(code)).toBe(failure);
  });
});

describe('stderrMessage', () => {
  // `restic restore --json` writes its errors to stderr as JSON: they reached error messages raw.
  it('says a JSON error line of stderr as its item and message', () => {
    expect(
      stderrMessage(
        '{"message_type":"error","error":{"message":"write /v/blob: no space left on device"},"during":"restore","item":"/blob"}',
      ),
    ).toBe('/blob: write /v/blob: no space left on device');
    expect(
      stderrMessage('{"message_type":"exit_error","code":1,"message":"Fatal: There were 1 errors\\n"}'),
    ).toBe('Fatal: There were 1 errors');
  });

  it('leaves plain text as it is', () => {
    expect(stderrMessage('Fatal: wrong password or no key found')).toBe(
      'Fatal: wrong password or no key found',
    );
  });
});
