// restic's --json output, one JSON object per line, turned into what lifeboat records: progress
// (bytes done / total), the snapshot id and sizes of a backup, the counts of a restore, errors.
// Field names are restic's (doc/075_scripting.rst of restic 0.18); unknown lines are ignored,
// so a newer restic that adds messages does not break the agent.

export interface ResticProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface ResticBackupSummary {
  snapshotId: string;
  /** Files, directories (below the volume's root) and bytes read from the volume. */
  files: number;
  dirs: number;
  bytes: number;
  /** Bytes new to the repository (after dedup, before compression), what the upload cost. */
  dataAdded: number;
}

export interface ResticRestoreSummary {
  /** Files and directories restic restored or found already there (it counts both as files). */
  entries: number;
  bytes: number;
}

export type ResticMessage =
  | { type: 'progress'; progress: ResticProgress }
  | { type: 'backup-summary'; summary: ResticBackupSummary }
  | { type: 'restore-summary'; summary: ResticRestoreSummary }
  | { type: 'error'; message: string };

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** One line of `restic backup --json` or `restic restore --json`; undefined for anything else. */
export function parseResticLine(line: string): ResticMessage | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  switch (m.message_type) {
    case 'status':
      return {
        type: 'progress',
        progress: {
          // backup says bytes_done/total_bytes; restore says bytes_restored/total_bytes.
          bytesDone: num(m.bytes_done ?? m.bytes_restored),
          bytesTotal: num(m.total_bytes),
          filesDone: num(m.files_done ?? m.files_restored),
          filesTotal: num(m.total_files),
        },
      };
    case 'summary':
      if (typeof m.snapshot_id === 'string') {
        return {
          type: 'backup-summary',
          summary: {
            snapshotId: m.snapshot_id,
            files: num(m.total_files_processed),
            dirs: num(m.dirs_new) + num(m.dirs_changed) + num(m.dirs_unmodified),
            bytes: num(m.total_bytes_processed),
            dataAdded: num(m.data_added),
          },
        };
      }
      if ('files_restored' in m || 'bytes_restored' in m) {
        return {
          type: 'restore-summary',
          // Files already in place with the same content are skipped, not written again.
          summary: {
            entries: num(m.files_restored) + num(m.files_skipped),
            bytes: num(m.bytes_restored) + num(m.bytes_skipped),
          },
        };
      }
      return undefined;
    case 'error': {
      const err = m.error as { message?: unknown } | undefined;
      const message = typeof err?.message === 'string' ? err.message : JSON.stringify(m.error);
      const item = typeof m.item === 'string' && m.item !== '' ? `${m.item}: ` : '';
      return { type: 'error', message: `${item}${message}` };
    }
    case 'exit_error':
      // --json's last word on a fatal failure (written to stderr).
      return typeof m.message === 'string' ? { type: 'error', message: m.message.trim() } : undefined;
    default:
      return undefined;
  }
}

/**
 * A line restic wrote to stderr, as a person reads it: with --json, restore's per-file errors
 * and the fatal exit message come there as JSON too.
 */
export function stderrMessage(line: string): string {
  const m = parseResticLine(line);
  return m?.type === 'error' ? m.message : line;
}

/** What restic's exit code means (restic 0.17+: 10 no repository, 11 locked, 12 wrong password). */
export type ResticFailure = 'no-repository' | 'locked' | 'wrong-password' | 'incomplete' | 'failed';

export function failureOfExitCode(code: number | null): ResticFailure {
  switch (code) {
    case 3:
      return 'incomplete';
    case 10:
      return 'no-repository';
    case 11:
      return 'locked';
    case 12:
      return 'wrong-password';
    default:
      return 'failed';
  }
}
