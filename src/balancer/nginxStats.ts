// Per-upstream counters for nginx, read back from the access log the generated config writes
// (`$status|$upstream_addr|$upstream_status|$request_time`, one line per finished request).
import type { BalancerStats, BalancerUpstreamStats } from '../types.js';
import type { UpstreamSpec } from './upstreamSpec.js';

function addrOf(u: UpstreamSpec): string {
  return u.host === '::1' ? `[::1]:${u.port}` : `${u.host}:${u.port}`;
}

/** Splits an $upstream_addr / $upstream_status value; " : " separates internal redirects, ", " retries. */
function splitList(v: string): string[] {
  return v === '-' || v === '' ? [] : v.split(/, | : /).map((s) => s.trim());
}

/** Builds stats from access-log text. Lines that do not parse are ignored. */
export function nginxStatsFromLog(logText: string, upstreams: readonly UpstreamSpec[]): BalancerStats {
  const byAddr = new Map<string, BalancerUpstreamStats>();
  const rows = upstreams.map((u) => {
    const row: BalancerUpstreamStats = { name: u.name, url: u.url, requests: 0, failures: 0, retries: 0, inFlight: null, healthy: null };
    byAddr.set(addrOf(u), row);
    return row;
  });
  const stats: BalancerStats = { kind: 'nginx', policy: 'least-connections', requests: 0, retriedRequests: 0, failedRequests: 0, upstreams: rows };
  for (const line of logText.split('\n')) {
    const fields = line.split('|');
    if (fields.length !== 4) continue;
    const status = Number(fields[0]);
    if (!Number.isInteger(status)) continue;
    const addrs = splitList(fields[1] ?? '');
    const codes = splitList(fields[2] ?? '');
    stats.requests += 1;
    if (addrs.length > 1) stats.retriedRequests += 1;
    if (status >= 500) stats.failedRequests += 1;
    addrs.forEach((addr, i) => {
      const row = byAddr.get(addr);
      if (!row) return; // e.g. the group name when no server was live
      row.requests += 1;
      if (i > 0) row.retries += 1;
      const code = Number(codes[i]);
      if (!Number.isInteger(code) || code >= 500) row.failures += 1;
    });
  }
  return stats;
}
