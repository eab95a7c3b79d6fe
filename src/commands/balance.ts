// `llmbench balance`: runs the built-in balancer in this process until told to stop. The CLI file only parses
// flags and wires signals; this is what it calls, and what a test can call directly.
import type { BalancerStats } from '../types.js';
import type { BuiltinBalancerOptions } from '../balancer/options.js';
import { startBuiltinBalancer } from '../balancer/proxy.js';

/** Prefix of the one stdout line that tells a parent process the balancer is listening. */
export const READY_PREFIX = 'llmbench-ready ';

/** Formats the ready line: `llmbench-ready {"url":...,"pid":...}`. */
export function readyLine(url: string, pid: number): string {
  return `${READY_PREFIX}${JSON.stringify({ url, pid })}\n`;
}

/**
 * Starts the balancer, writes the ready line, waits for `stopRequested`, then drains and stops.
 * Resolves with the final stats once everything is closed.
 */
export async function runBalance(
  opts: BuiltinBalancerOptions,
  io: { write(text: string): void; stopRequested: Promise<unknown> },
): Promise<BalancerStats> {
  const handle = await startBuiltinBalancer(opts);
  try {
    io.write(readyLine(handle.url, process.pid));
    await io.stopRequested;
    return handle.balancer.stats();
  } finally {
    await handle.stop();
  }
}
