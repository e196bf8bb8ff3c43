// CPU time of other processes, from Linux's /proc. On a machine shared with other work, wall
// time says as much about the neighbours as about the tool; the CPU a tool and the cluster spent
// on an operation does not.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ is 100 on every Linux the project runs on: one tick is 10 ms. */
const TICK_MS = 10;

export interface ProcStat {
  pid: number;
  pgrp: number;
  /** utime + stime, milliseconds. */
  cpuMs: number;
}

/** One line of /proc/<pid>/stat. The command name is in parentheses and may hold anything. */
export function parseProcStat(line: string): ProcStat {
  const close = line.lastIndexOf(')');
  const pid = Number(line.slice(0, line.indexOf(' ')));
  // After the name: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt, majflt,
  // cmajflt, utime, stime (proc(5) fields 3 to 15).
  const rest = line
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const pgrp = Number(rest[2]);
  const ticks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isInteger(pid) || !Number.isFinite(pgrp) || !Number.isFinite(ticks))
    throw new Error(`not a /proc/<pid>/stat line: ${line.slice(0, 80)}`);
  return { pid, pgrp, cpuMs: ticks * TICK_MS };
}

/**
 * CPU milliseconds so far of the processes in each group: `match` names the group of a process
 * (from its stat and command line), or undefined for processes not counted. Processes that
 * exit between two samples take their time with them; the ones measured here live throughout.
 */
export function cpuByGroup<G extends string>(
  match: (stat: ProcStat, cmdline: string) => G | undefined,
): Map<G, number> {
  const out = new Map<G, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: ProcStat;
    let cmdline: string;
    try {
      stat = parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const group = match(stat, cmdline);
    if (group !== undefined) out.set(group, (out.get(group) ?? 0) + stat.cpuMs);
  }
  return out;
}
