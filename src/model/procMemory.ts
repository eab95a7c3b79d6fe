// Memory of the current process as the kernel counts it (Linux /proc), for benchmarks run in child processes.
import { readFileSync } from 'node:fs';

/** VmRSS (resident now) and VmHWM (peak resident since start) of this process, in bytes. */
export function procMemory(): { rssBytes: number; peakRssBytes: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** True when `moduleUrl` is the script node was started with (so a module can double as a child entry). */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && new URL(moduleUrl).pathname === entry;
}
