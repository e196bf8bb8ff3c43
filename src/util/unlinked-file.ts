// A temporary file that is unlinked as soon as it is opened: the open handle keeps the data,
// and nothing is left behind when the process ends, however it ends. The spools of backup
// (resource-list names) and restore (objects to write) keep what outgrows memory in one.
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Open a new file, readable and writable by this user only, in a fresh folder of `dir`. */
export async function openUnlinkedFile(dir: string, prefix: string, name: string): Promise<FileHandle> {
  const folder = await mkdtemp(join(dir, prefix));
  try {
    return await open(join(folder, name), 'w+', 0o600);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
