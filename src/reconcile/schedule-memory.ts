// What a pass remembers of a schedule from its status file: when it was first seen and the
// slot of its last backup. A pass reads this for every schedule; parsing 500 status files
// with the yaml package cost ~0.25 s of CPU of a pass with nothing to do (issue 16). The
// files are written by status-yaml.ts, one key per line, so the two values are read off their
// lines. A file outside that line shape (edited by hand: flow style, anchors, quoted keys,
// comments, duplicate keys) goes to the yaml package, so the answer is always what the yaml
// package reads.
import { parse as parseYaml } from 'yaml';

export interface ScheduleMemory {
  firstSeen?: string;
  lastSlot?: string;
}

/** firstSeen and lastBackup.slot of a schedule status file; {} when it is not readable YAML. */
export function readScheduleMemory(text: string): ScheduleMemory {
  return quickScheduleMemory(text) ?? parsedScheduleMemory(text);
}

/** The same, always through the yaml package. */
export function parsedScheduleMemory(text: string): ScheduleMemory {
  try {
    const s = parseYaml(text) as { firstSeen?: string; lastBackup?: { slot?: string } } | null;
    return {
      ...(s?.firstSeen ? { firstSeen: s.firstSeen } : {}),
      ...(s?.lastBackup?.slot ? { lastSlot: s.lastBackup.slot } : {}),
    };
  } catch {
    return {};
  }
}

// A timestamp as the status writer writes it (toISOString), which YAML's core schema reads as
// the same string.
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$/;
// "key:" or "key: value", optionally a list item, indented by spaces.
const KEY_LINE = /^( *)(- )?([A-Za-z][A-Za-z0-9]*):(?: (.+))?$/;
// "- value": a list of scalars.
const ITEM_LINE = /^( *)- (.+)$/;
// Values the writer emits: plain scalars that start with no indicator and hold no comment,
// and quoted strings closed on their line.
const PLAIN = /^[A-Za-z0-9_/(.+-][^#]*$/;
const DOUBLE_QUOTED = /^"(?:[^"\\]|\\.)*"$/;
const SINGLE_QUOTED = /^'(?:[^']|'')*'$/;

function simpleValue(value: string): boolean {
  return PLAIN.test(value) || DOUBLE_QUOTED.test(value) || SINGLE_QUOTED.test(value);
}

interface Line {
  indent: number;
  /** The key of a "key:" line; undefined for a "- value" item. */
  key?: string;
  /** The line is a list item ("- ..."). */
  item: boolean;
  value?: string;
}

/** One line in the writer's shape, or undefined. */
function readLine(line: string): Line | undefined {
  const key = KEY_LINE.exec(line);
  const item = key ? undefined : ITEM_LINE.exec(line);
  if (!key && !item) return undefined;
  const value = key ? key[4] : item?.[2];
  if (value !== undefined && !simpleValue(value)) return undefined;
  return {
    indent: (key?.[1] ?? item?.[1] ?? '').length,
    ...(key?.[3] !== undefined ? { key: key[3] } : {}),
    item: item !== undefined || key?.[2] !== undefined,
    ...(value !== undefined ? { value } : {}),
  };
}

/**
 * The memory read off the lines, or undefined when the text is not in the writer's line shape
 * (the caller then parses it). Exported for the tests, which check that status files take this
 * path and that it agrees with the yaml package.
 */
export function quickScheduleMemory(text: string): ScheduleMemory | undefined {
  if (!text.endsWith('\n')) return undefined;
  const topKeys = new Set<string>();
  let open = false; // the last top-level key had no value, so indented lines belong to it
  let inLastBackup = false;
  const memory: ScheduleMemory = {};
  for (const text_ of text.slice(0, -1).split('\n')) {
    const line = readLine(text_);
    if (line === undefined) return undefined;
    if (line.indent === 0) {
      // A top-level list, or a key given twice.
      if (line.key === undefined || line.item || topKeys.has(line.key)) return undefined;
      topKeys.add(line.key);
      open = line.value === undefined;
      inLastBackup = line.key === 'lastBackup';
      if (inLastBackup && !open) return undefined;
      if (line.key === 'firstSeen') {
        if (line.value === undefined || !ISO.test(line.value)) return undefined;
        memory.firstSeen = line.value;
      }
    } else if (!open || (inLastBackup && !lastBackupField(line, memory))) {
      return undefined;
    }
  }
  return memory;
}

/** A field of lastBackup: the writer's is one flat map of scalars, indented by two. */
function lastBackupField(line: Line, memory: ScheduleMemory): boolean {
  if (line.key === undefined || line.item || line.indent !== 2 || line.value === undefined) return false;
  if (line.key !== 'slot') return true;
  if (memory.lastSlot !== undefined || !ISO.test(line.value)) return false;
  memory.lastSlot = line.value;
  return true;
}
