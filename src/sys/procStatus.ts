// The one reader of Linux /proc: a process's memory as the kernel counts it (the server's memory breakdown,
// the run's resource monitor, benchmark children) and its command name. Off Linux every reader returns null
// and callers say the figure is unavailable.
import { openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Resident memory of this process, split the way /proc/self/status splits it. */
export interface ProcStatus {
  rssBytes: number;
  /** Anonymous pages (heap, arenas, copies). */
  anonBytes: number;
  /** File-backed pages (libraries, memory-mapped weights). */
  fileBytes: number;
  /** VmHWM: the highest RSS since the process started. */
  peakRssBytes: number;
}

/** Parses the text of /proc/<pid>/status (kB fields) into bytes; null when VmRSS is missing. */
export function parseProcStatus(text: string): ProcStatus | null {
  const kb = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const rss = kb('VmRSS');
  if (rss === null) return null;
  return { rssBytes: rss, anonBytes: kb('RssAnon') ?? rss, fileBytes: kb('RssFile') ?? 0, peakRssBytes: kb('VmHWM') ?? rss };
}

/** /proc/<pid>/status now (default: this process), or null off Linux or when the process is gone. */
export function readProcStatus(pid: number | 'self' = 'self'): ProcStatus | null {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** readProcStatus without blocking the event loop (the monitor samples many processes per tick). */
export async function readProcStatusAsync(pid: number): Promise<ProcStatus | null> {
  try {
    return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** The command name of a process (/proc/<pid>/comm), or its pid when unreadable. */
export async function readComm(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return String(pid);
  }
}

let pageBytes: number | null = null;

/** Resident bytes now, from /proc/self/statm (cheaper than status: called around every ORT run); null off Linux. */
export function residentBytes(): number | null {
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
    if (pageBytes === null) {
      // statm counts pages; derive the page size once from status, which counts kB.
      const st = readProcStatus();
      pageBytes = st && pages > 0 ? 2 ** Math.round(Math.log2(st.rssBytes / pages)) : 4096;
    }
    return pages * pageBytes;
  } catch {
    return null;
  }
}

/** This process's status where a figure is required (benchmark children on Linux): throws off Linux. */
export function requireProcStatus(): ProcStatus {
  const s = readProcStatus();
  if (!s) throw new Error('reading memory needs Linux /proc/self/status');
  return s;
}

let threadStatusFd: number | null | undefined;
const threadStatusBuffer = Buffer.alloc(4096);

/**
 * Times the calling thread has been switched out by the scheduler while it could still run (Linux
 * /proc/thread-self/status `nonvoluntary_ctxt_switches`), or null where that is unreadable. Two readings around a
 * piece of synchronous code tell whether the thread lost its CPU to another thread in between: wall time that
 * was then spent waiting for a core, not running the code. Reads one open file (~17 us; called per KV re-layout
 * slice).
 */
export function threadPreemptions(): number | null {
  if (threadStatusFd === undefined) {
    try {
      threadStatusFd = openSync('/proc/thread-self/status', 'r');
    } catch {
      threadStatusFd = null;
    }
  }
  if (threadStatusFd === null) return null;
  try {
    const n = readSync(threadStatusFd, threadStatusBuffer, 0, threadStatusBuffer.length, 0);
    const m = /nonvoluntary_ctxt_switches:\s+(\d+)/.exec(threadStatusBuffer.toString('latin1', 0, n));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
