// Parsing `git log` output. Records start with ASCII RS (0x1e) and fields are separated by
// US (0x1f): neither can occur in names, e-mails, dates or one-line subjects, so parsing
// needs no quoting rules.

export interface Person {
  name: string;
  email: string;
}

export interface LogCommit {
  sha: string;
  parents: string[];
  author: Person;
  authoredAt: Date;
  committer: Person;
  committedAt: Date;
  subject: string;
}

export interface LogRecord {
  commit: LogCommit;
  /** Values of the extra format fields, in order. */
  extra: string[];
  /** File names, when the log ran with --name-only. */
  files: string[];
}

const BASE_FIELDS = ['%H', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%s'];

/** A `--format=` argument for parseLog, with optional extra fields (e.g. `%(trailers:...)`). */
export function logFormat(extra: readonly string[] = []): string {
  return `--format=%x1e${[...BASE_FIELDS, ...extra].join('%x1f')}`;
}

export function parseLog(output: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const chunk of output.split('\x1e')) {
    if (chunk.trim() === '') continue;
    const [header = '', ...rest] = chunk.split('\n');
    const f = header.split('\x1f');
    const field = (i: number) => f[i] ?? '';
    records.push({
      commit: {
        sha: field(0),
        parents: field(1)
          .split(' ')
          .filter((p) => p !== ''),
        author: { name: field(2), email: field(3) },
        authoredAt: new Date(field(4)),
        committer: { name: field(5), email: field(6) },
        committedAt: new Date(field(7)),
        subject: field(8),
      },
      extra: f.slice(BASE_FIELDS.length),
      files: rest.map((line) => line.trim()).filter((line) => line !== ''),
    });
  }
  return records;
}

/** "Name <email>" */
export function formatPerson(person: Person): string {
  return `${person.name} <${person.email}>`;
}
