// The tar headers of a regular file, byte for byte as tar-stream 3's packer writes them, so
// that the archive writer can put entries straight into its gzip blocks instead of through a
// stream object per entry (docs/decisions/0033-own-tar-header-writer.md). Only what backups
// need: regular files with fixed mode, owner and mtime for the whole archive.
//
// The format (POSIX ustar, with a pax record for what ustar cannot hold):
//   - a path of at most 100 bytes goes in `name`; a longer one is split at its first slashes
//     into `prefix` (at most 155 bytes) and `name` (at most 100);
//   - a path that does not split that way, or is not ASCII, gets a pax extended header
//     (`typeflag 'x'`, one `path=` record) before its own header, both named `PaxHeader`;
//   - numbers are octal digits followed by a space (mode, uid, gid: 6 digits; size, mtime: 11),
//     the checksum 6 octal digits, a space and a NUL.
// src/archive/tar-header.test.ts holds this to tar-stream's output and to GNU tar.

export const TAR_BLOCK = 512;
/** Bytes a file of `size` takes up to the next header: rounded up to whole blocks. */
export function paddingOf(size: number): number {
  const rest = size % TAR_BLOCK;
  return rest === 0 ? 0 : TAR_BLOCK - rest;
}

export interface TarFileFields {
  /** Permission bits; only the low 12 (0o7777) are written, as tar-stream does. */
  mode: number;
  mtime: Date;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

const NAME_BYTES = 100;
const PREFIX_BYTES = 155;
const OWNER_NAME_BYTES = 32;
/** 0o777777: the largest uid/gid six octal digits hold (tar-stream writes 777777 beyond). */
const MAX_ID = 0o777777;
/** 8^11 - 1: the largest size or mtime eleven octal digits hold. */
const MAX_OCTAL_11 = 8 ** 11 - 1;

const OFFSET = {
  name: 0,
  mode: 100,
  uid: 108,
  gid: 116,
  size: 124,
  mtime: 136,
  checksum: 148,
  typeflag: 156,
  magic: 257,
  version: 263,
  uname: 265,
  gname: 297,
  devmajor: 329,
  devminor: 337,
  prefix: 345,
} as const;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const TYPE_FILE = DIGIT_0; // '0'
const TYPE_PAX = 0x78; // 'x'
/** The checksum is computed with its own eight bytes taken as spaces. */
const CHECKSUM_FIELD_AS_SPACES = 8 * SPACE;
const PAX_NAME = 'PaxHeader';

/**
 * Writes the headers of regular files that share mode, owner and mtime. The fixed fields are
 * laid out once in a template; each file costs a copy of it, its name, its size and the
 * checksum (the template's byte sum plus the bytes that differ).
 */
export class TarFileHeaders {
  private readonly template = Buffer.alloc(TAR_BLOCK);
  /** Byte sum of the template with the checksum field as spaces. */
  private readonly templateSum: number;
  /** Where the last headers were written; grown for long pax records. */
  private scratch = Buffer.alloc(4 * TAR_BLOCK);
  /** encodeUstarInto's path as a JoinedPath without a directory, reused. */
  private readonly plain: JoinedPath = { dir: NO_DIR, rest: '' };

  constructor(fields: TarFileFields) {
    const seconds = Math.trunc(fields.mtime.getTime() / 1000);
    checkRange('mtime (seconds since 1970)', seconds, MAX_OCTAL_11);
    checkRange('uid', fields.uid, MAX_ID);
    checkRange('gid', fields.gid, MAX_ID);
    if (!Number.isInteger(fields.mode) || fields.mode < 0)
      throw new RangeError(`tar header: mode ${fields.mode} is not a file mode`);
    const t = this.template;
    writeOctal(t, OFFSET.mode, fields.mode & 0o7777, 6);
    writeOctal(t, OFFSET.uid, fields.uid, 6);
    writeOctal(t, OFFSET.gid, fields.gid, 6);
    writeOctal(t, OFFSET.mtime, seconds, 11);
    t.write('ustar\u0000', OFFSET.magic, 'latin1');
    t.write('00', OFFSET.version, 'latin1');
    writeOwnerName(t, OFFSET.uname, 'uname', fields.uname);
    writeOwnerName(t, OFFSET.gname, 'gname', fields.gname);
    writeOctal(t, OFFSET.devmajor, 0, 6);
    writeOctal(t, OFFSET.devminor, 0, 6);
    // Everything but name, size, typeflag, prefix and the checksum itself.
    this.templateSum = byteSum(t, 0, TAR_BLOCK) + CHECKSUM_FIELD_AS_SPACES;
  }

  /**
   * The header block(s) of a regular file of `size` bytes at `path`: a view of an internal
   * buffer, valid until the next call (the caller copies it on). `size` is at most 8 GiB - 1,
   * which every Buffer is.
   */
  encode(path: string, size: number): Buffer {
    checkRange('size', size, MAX_OCTAL_11);
    const split = ustarSplit(path);
    if (split) {
      this.writeHeader(0, { name: split.name, prefix: split.prefix, size, typeflag: TYPE_FILE });
      return this.scratch.subarray(0, TAR_BLOCK);
    }
    const record = paxPathRecord(path);
    const recordBytes = Buffer.byteLength(record);
    const total = 2 * TAR_BLOCK + recordBytes + paddingOf(recordBytes);
    if (this.scratch.length < total) this.scratch = Buffer.alloc(2 * total);
    this.writeHeader(0, { name: PAX_NAME, prefix: '', size: recordBytes, typeflag: TYPE_PAX });
    const end = TAR_BLOCK + this.scratch.write(record, TAR_BLOCK, 'utf8');
    this.scratch.fill(0, end, end + paddingOf(recordBytes));
    this.writeHeader(total - TAR_BLOCK, { name: PAX_NAME, prefix: '', size, typeflag: TYPE_FILE });
    return this.scratch.subarray(0, total);
  }

  /**
   * The header of a regular file of `size` bytes at `path` written straight into `target` at
   * `at` (which must have a block's room), the same bytes as encode(): saves the archive writer
   * a copy and a native call per entry. Returns false, with the block at `at` left undefined,
   * for a path that needs a pax header; the caller then uses encode().
   */
  encodeUstarInto(target: Buffer, at: number, path: string, size: number): boolean {
    checkRange('size', size, MAX_OCTAL_11);
    if (path.length > NAME_BYTES) {
      const split = ustarSplit(path);
      if (!split) return false;
      this.writeHeaderAt(target, at, { name: split.name, prefix: split.prefix, size, typeflag: TYPE_FILE });
      return true;
    }
    this.plain.rest = path;
    return this.writeShortName(target, at, this.plain, size);
  }

  /**
   * encodeUstarInto of the path `path.dir.text + path.rest`, without making that string: a
   * backup writes every object twice, under two directories, so the directories' bytes and
   * sums are laid out once (headerDir) and each object's own part is written into both
   * headers. Returns false, with the block at `at` left undefined, unless the whole path fits
   * in the name field and is ASCII; the caller then writes the joined path another way.
   */
  encodeJoinedInto(target: Buffer, at: number, path: JoinedPath, size: number): boolean {
    checkRange('size', size, MAX_OCTAL_11);
    const { dir, rest } = path;
    if (!dir.short || dir.bytes.length + rest.length > NAME_BYTES) return false;
    return this.writeShortName(target, at, path, size);
  }

  /**
   * The common case, a name of at most 100 ASCII characters, in one pass: template, then the
   * directory's bytes and the rest's characters written and summed.
   */
  private writeShortName(target: Buffer, at: number, path: JoinedPath, size: number): boolean {
    const { dir, rest } = path;
    this.template.copy(target, at);
    let sum = this.templateSum + TYPE_FILE + dir.sum;
    const { bytes } = dir;
    for (let i = 0; i < bytes.length; i++) target[at + i] = bytes[i] as number;
    const from = at + bytes.length;
    for (let i = 0; i < rest.length; i++) {
      const c = rest.charCodeAt(i);
      if (c > 0x7f) return false;
      target[from + i] = c;
      sum += c;
    }
    sum += writeOctal(target, at + OFFSET.size, size, 11);
    target[at + OFFSET.typeflag] = TYPE_FILE;
    writeOctal(target, at + OFFSET.checksum, sum, 6);
    return true;
  }

  /** One ustar block at `at` of the scratch buffer; `name` and `prefix` are ASCII. */
  private writeHeader(
    at: number,
    block: { name: string; prefix: string; size: number; typeflag: number },
  ): void {
    this.writeHeaderAt(this.scratch, at, block);
  }

  /** One ustar block at `at` of `b`; `name` and `prefix` are ASCII. */
  private writeHeaderAt(
    b: Buffer,
    at: number,
    block: { name: string; prefix: string; size: number; typeflag: number },
  ): void {
    const { name, prefix, size, typeflag } = block;
    this.template.copy(b, at);
    b.write(name, at + OFFSET.name, 'latin1');
    if (prefix !== '') b.write(prefix, at + OFFSET.prefix, 'latin1');
    const sizeSum = writeOctal(b, at + OFFSET.size, size, 11);
    b[at + OFFSET.typeflag] = typeflag;
    const sum = this.templateSum + asciiSum(name) + asciiSum(prefix) + sizeSum + typeflag;
    writeOctal(b, at + OFFSET.checksum, sum, 6);
  }
}

/** A directory for TarFileHeaders.encodeJoinedInto: its ASCII bytes and their sum. */
export interface HeaderDir {
  readonly text: string;
  /** Whether the directory can start a name field: ASCII, at most 100 bytes. */
  readonly short: boolean;
  readonly bytes: Uint8Array;
  readonly sum: number;
}

const NO_DIR: HeaderDir = { text: '', short: true, bytes: new Uint8Array(0), sum: 0 };

/** A path as a directory and what follows it (mutable, so a caller can reuse one per directory). */
export interface JoinedPath {
  dir: HeaderDir;
  rest: string;
}

/**
 * `text` laid out for encodeJoinedInto. A directory that is not ASCII or does not fit in a
 * name field is not `short`: every path under it goes the long way (prefix or pax).
 */
export function headerDir(text: string): HeaderDir {
  if (!isAscii(text) || text.length > NAME_BYTES) return { ...NO_DIR, text, short: false };
  return { text, short: true, bytes: Buffer.from(text, 'latin1'), sum: asciiSum(text) };
}

/**
 * Name and prefix of `path` in a ustar header, or undefined when it needs a pax record: not
 * ASCII, or no split at its first slashes gives a name ≤ 100 and a prefix ≤ 155 bytes. The
 * split is tar-stream's: whole leading segments move to the prefix until the name fits.
 */
export function ustarSplit(path: string): { name: string; prefix: string } | undefined {
  if (!isAscii(path)) return undefined;
  if (path.length <= NAME_BYTES) return { name: path, prefix: '' };
  let name = path;
  let prefix = '';
  while (name.length > NAME_BYTES) {
    const slash = name.indexOf('/');
    if (slash === -1) return undefined;
    const segment = name.slice(0, slash);
    prefix = prefix === '' ? segment : `${prefix}/${segment}`;
    name = name.slice(slash + 1);
  }
  return prefix.length > PREFIX_BYTES ? undefined : { name, prefix };
}

/** A pax `path` record: "<length> path=<path>\n", the length counting its own digits. */
export function paxPathRecord(path: string): string {
  const body = ` path=${path}\n`;
  const bytes = Buffer.byteLength(body);
  let digits = String(bytes).length;
  if (bytes + digits >= 10 ** digits) digits++;
  return `${bytes + digits}${body}`;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function asciiSum(s: string): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s.charCodeAt(i);
  return sum;
}

function byteSum(b: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += b[i] as number;
  return sum;
}

/**
 * `value` as `digits` zero-padded octal digits and a space (the byte after stays as it was).
 * Returns the sum of the bytes written, for the checksum.
 */
function writeOctal(b: Buffer, at: number, value: number, digits: number): number {
  let v = value;
  let sum = SPACE;
  b[at + digits] = SPACE;
  for (let i = at + digits - 1; i >= at; i--) {
    const digit = DIGIT_0 + (v % 8);
    b[i] = digit;
    sum += digit;
    v = Math.floor(v / 8);
  }
  return sum;
}

function writeOwnerName(b: Buffer, at: number, field: string, value: string): void {
  if (Buffer.byteLength(value) > OWNER_NAME_BYTES)
    throw new RangeError(`tar header: ${field} ${JSON.stringify(value)} is longer than 32 bytes`);
  b.write(value, at, 'utf8');
}

function checkRange(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new RangeError(`tar header: ${field} ${value} is outside 0..${max}`);
}
