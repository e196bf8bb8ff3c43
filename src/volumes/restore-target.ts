// Whether a pod's volume can take a restore, asked before restic writes anything, and what a
// restic failure meant when it could not. A volume mounted read-only (a claim the pod mounts
// with readOnly: true is published read-only by its CSI driver) or one with less free space than
// the backup holds would otherwise fail midway, leaving some files written: the node agent then
// reports the volume failed, but the reason would be buried in restic's per-file errors.
import { access, constants, statfs } from 'node:fs/promises';

/** What the agent found about the target directory's file system. */
export interface TargetFileSystem {
  /** access(W_OK) answered EROFS. */
  readOnly: boolean;
  /** Bytes an unprivileged writer may still use (statfs bavail × bsize). */
  freeBytes: number;
}

/** Why a volume cannot take the restore; undefined when it can (as far as can be told). */
export function targetProblem(fs: TargetFileSystem, neededBytes: number): string | undefined {
  if (fs.readOnly) return `${READ_ONLY}; nothing was restored`;
  if (neededBytes > fs.freeBytes) {
    return `the volume is full: it has ${fs.freeBytes} bytes free, the backup holds ${neededBytes} bytes (give the claim or emptyDir sizeLimit more room); nothing was restored`;
  }
  return undefined;
}

const READ_ONLY =
  'the volume is mounted read-only on its node (a claim the pod mounts with readOnly: true, or a read-only file system), so it cannot be filled';

/** Reads the target's file system: read-only or not, and its free bytes. */
export async function inspectTarget(dir: string): Promise<TargetFileSystem> {
  let readOnly = false;
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    // Only EROFS says read-only; anything else (the agent runs as root) is left to restic.
    readOnly = (err as NodeJS.ErrnoException).code === 'EROFS';
  }
  const s = await statfs(dir);
  return { readOnly, freeBytes: s.bavail * s.bsize };
}

/**
 * restic's failure of a restore said in the words of the cause, when its output names one the
 * user can act on: a volume that filled up (small files take whole blocks, so the free-space
 * check before the restore can pass and the volume still fill) or a read-only one. The restic
 * text stays at the end, so nothing of it is lost.
 */
export function explainRestoreFailure(message: string): string {
  if (/no space left on device|disk quota exceeded/i.test(message))
    return `the volume is full: it filled up during the restore, which is incomplete (${message})`;
  if (/read-only file system/i.test(message)) return `${READ_ONLY} (${message})`;
  return message;
}
