// Commit messages with Git trailers ("Key: value" lines in the last paragraph). The trailers
// make the Git log machine-readable: audit-log.ts reads them back with `%(trailers:...)`.

/** Trailer keys lifeboat writes and reads. The values are chosen by the caller. */
export const TRAILER = {
  action: 'Lifeboat-Action',
  backup: 'Lifeboat-Backup',
  restore: 'Lifeboat-Restore',
} as const;

/** Values of `Lifeboat-Action` that audit-log.ts turns into typed events. */
export const LIFEBOAT_ACTION = {
  backup: 'backup',
  expire: 'expire',
  planRestore: 'plan-restore',
  applyRestore: 'apply-restore',
  abortUpload: 'abort-upload',
  /** A verification restore of a schedule's latest backup (reconcile/verification-run.ts). */
  verify: 'verify',
  /**
   * A backup whose status file a pass adds without having taken it this pass: the commit that
   * recorded it was lost (a push that never landed, a force-push). Audit counts it as taken
   * unless a `backup` event for it exists.
   */
  recordBackup: 'record-backup',
  /** Likewise for a backup gone from the bucket whose expiry was never recorded. */
  recordExpire: 'record-expire',
} as const;

export type Trailers = Readonly<Record<string, string | readonly string[]>>;

// Git's trailer token: letters, digits and hyphens (see git-interpret-trailers(1)).
const TRAILER_KEY = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * Build "subject\n\nbody\n\nKey: value\n...". Multiple values give repeated lines, which is
 * how Git represents lists in trailers. Rejects input that would break the trailer block.
 */
export function formatCommitMessage(options: { message: string; trailers?: Trailers }): string {
  const message = options.message.trim();
  if (message === '') throw new Error('commit message: must not be empty');
  const lines: string[] = [];
  for (const [key, raw] of Object.entries(options.trailers ?? {})) {
    if (!TRAILER_KEY.test(key)) {
      throw new Error(`commit trailer ${JSON.stringify(key)}: keys are letters, digits and "-"`);
    }
    const values: readonly string[] = typeof raw === 'string' ? [raw] : raw;
    for (const value of values) {
      if (value.trim() === '' || /[\r\n]/.test(value)) {
        throw new Error(`commit trailer ${key}: value ${JSON.stringify(value)} must be one non-empty line`);
      }
      lines.push(`${key}: ${value.trim()}`);
    }
  }
  return lines.length === 0 ? `${message}\n` : `${message}\n\n${lines.join('\n')}\n`;
}
