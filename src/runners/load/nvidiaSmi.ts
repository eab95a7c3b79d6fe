// Per-process GPU memory from nvidia-smi. No tool (or no driver) means "no GPU data", which is reported
// as null, never as 0.
import { execFile } from 'node:child_process';

/** Arguments for per-process device memory, one "pid, MiB" line per compute process. */
export const COMPUTE_APPS_ARGS = ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'];

/** pid -> bytes of device memory, from `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`. */
export function parseComputeApps(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    // A process on several GPUs appears once per GPU: add them up.
    out.set(pid, (out.get(pid) ?? 0) + Number(m[2]) * 1024 * 1024);
  }
  return out;
}

/** Runs nvidia-smi with arguments; resolves null when the tool is missing or fails. */
export function runNvidiaSmi(args: readonly string[], timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', [...args], { timeout: timeoutMs }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/** GPU names ("NVIDIA H100 80GB HBM3, ..."), or null without nvidia-smi. */
export async function gpuNames(): Promise<string | null> {
  const out = await runNvidiaSmi(['--query-gpu=name', '--format=csv,noheader']);
  if (out === null) return null;
  const names = out.split('\n').map((l) => l.trim()).filter(Boolean);
  return names.length > 0 ? names.join(', ') : null;
}
