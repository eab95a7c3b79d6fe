// This process's memory as the Linux kernel counts it (/proc/self), for the server's memory breakdown. Off
// Linux every reader returns null and the breakdown says it is unavailable.
import { readFileSync } from 'node:fs';

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

/** /proc/self/status now, or null off Linux. */
export function readProcStatus(): ProcStatus | null {
  try {
    return parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return null;
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
