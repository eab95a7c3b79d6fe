// The nginx config writer: directives, validation of every value that reaches the text, and `nginx -t`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findNginx, nginxStatsFromLog, renderNginxConfig, resolveNginxConfig, startNginx, validateUpstreams } from '../../src/balancer/index.js';
import type { NginxConfigOptions } from '../../src/balancer/index.js';

const where = { listenHost: '127.0.0.1', listenPort: 18080, prefix: '/tmp/llmbench-nginx-abc', readyToken: 'tok123' };
const two = [
  { name: 'replica-0', url: 'http://127.0.0.1:8001' },
  { name: 'replica-1', url: 'http://127.0.0.1:8002/' },
];

describe('renderNginxConfig', () => {
  it('writes least_conn, retries on errors/timeouts/502-504 for POST, no buffering, and the upstream-addr header', () => {
    const text = renderNginxConfig(resolveNginxConfig({ upstreams: two, tries: 3, upstreamTimeoutMs: 30_000 }, where));
    const lines = text.split('\n').map((l) => l.trim());
    for (const directive of [
      'daemon off;',
      'master_process on;',
      'worker_processes 1;',
      'pid /tmp/llmbench-nginx-abc/nginx.pid;',
      'error_log /tmp/llmbench-nginx-abc/error.log warn;',
      'access_log /tmp/llmbench-nginx-abc/access.log llmbench;',
      'client_body_temp_path /tmp/llmbench-nginx-abc/client_body_temp;',
      'proxy_temp_path /tmp/llmbench-nginx-abc/proxy_temp;',
      'upstream llmbench {',
      'least_conn;',
      'server 127.0.0.1:8001 max_fails=1 fail_timeout=2s; # replica-0',
      'server 127.0.0.1:8002 max_fails=1 fail_timeout=2s; # replica-1',
      'keepalive 32;',
      'listen 127.0.0.1:18080;',
      'proxy_pass http://llmbench;',
      'proxy_http_version 1.1;',
      'proxy_set_header Connection "";',
      'proxy_buffering off;',
      'proxy_cache off;',
      'proxy_request_buffering on;',
      'proxy_read_timeout 30000ms;',
      'proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;',
      'proxy_next_upstream_tries 3;',
      'add_header x-llmbench-upstream-addr $upstream_addr always;',
      'return 200 "tok123";',
    ]) {
      expect(lines).toContain(directive);
    }
    // least_conn must precede keepalive inside the upstream block (nginx requires the method first).
    expect(lines.indexOf('least_conn;')).toBeLessThan(lines.indexOf('keepalive 32;'));
  });

  it('caps the connect timeout at 75 s', () => {
    const text = renderNginxConfig(resolveNginxConfig({ upstreams: two, upstreamTimeoutMs: 600_000 }, where));
    expect(text).toContain('proxy_connect_timeout 75000ms;');
    expect(text).toContain('proxy_read_timeout 600000ms;');
  });

  const injections: Array<[string, NginxConfigOptions, string]> = [
    ['name with ;', { upstreams: [{ name: 'a; include /etc/passwd', url: 'http://127.0.0.1:8001' }] }, 'upstream name "a; include /etc/passwd" is invalid'],
    ['name with }', { upstreams: [{ name: 'a}', url: 'http://127.0.0.1:8001' }] }, 'upstream name "a}" is invalid'],
    ['name with newline', { upstreams: [{ name: 'a\nserver 10.0.0.1:80;', url: 'http://127.0.0.1:8001' }] }, 'is invalid'],
    ['url with ;', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:8001;' }] }, 'upstream URL "http://127.0.0.1:8001;" is invalid'],
    ['url with }', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:8001/}' }] }, 'is invalid'],
    ['url with newline', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:80\n01' }] }, 'is invalid'],
    ['url with tab', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:\t8001' }] }, 'is invalid'],
    ['url with path', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:8001/v1' }] }, 'is invalid'],
    ['non-loopback host', { upstreams: [{ name: 'a', url: 'http://192.168.1.5:8001' }] }, 'host "192.168.1.5" is not a loopback address'],
    ['host name', { upstreams: [{ name: 'a', url: 'http://localhost:8001' }] }, 'is invalid'],
    ['port 0', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:0' }] }, 'port 0 is invalid'],
    ['port too big', { upstreams: [{ name: 'a', url: 'http://127.0.0.1:65536' }] }, 'port 65536 is invalid'],
    ['octet too big', { upstreams: [{ name: 'a', url: 'http://127.0.0.256:80' }] }, 'is not a loopback address'],
    ['duplicate names', { upstreams: [two[0]!, { ...two[1]!, name: 'replica-0' }] }, 'upstream name "replica-0" is used twice'],
    ['no upstreams', { upstreams: [] }, 'at least one upstream is required'],
    ['tries 0', { upstreams: two, tries: 0 }, 'tries 0 is invalid: must be an integer 1..16'],
    ['tries fractional', { upstreams: two, tries: 2.5 }, 'tries 2.5 is invalid'],
    ['tries NaN', { upstreams: two, tries: Number.NaN }, 'tries NaN is invalid'],
    ['timeout negative', { upstreams: two, upstreamTimeoutMs: -1 }, 'upstream timeout (ms) -1 is invalid'],
    ['timeout fractional', { upstreams: two, upstreamTimeoutMs: 1.5 }, 'upstream timeout (ms) 1.5 is invalid'],
  ];
  it.each(injections)('rejects %s', (_label, opts, message) => {
    expect(() => resolveNginxConfig(opts, where)).toThrow(message);
  });

  it('rejects a prefix or listen address it would not write safely', () => {
    expect(() => resolveNginxConfig({ upstreams: two }, { ...where, prefix: '/tmp/x; daemon on' })).toThrow(/has characters/);
    expect(() => resolveNginxConfig({ upstreams: two }, { ...where, prefix: '/tmp/a b' })).toThrow(/has characters/);
    expect(() => resolveNginxConfig({ upstreams: two }, { ...where, listenHost: '0.0.0.0' })).toThrow(/not a loopback address/);
    expect(() => resolveNginxConfig({ upstreams: two }, { ...where, listenPort: 70_000 })).toThrow(/listen port 70000 is invalid/);
  });

  it('startNginx refuses injected values before writing anything', async () => {
    await expect(startNginx({ upstreams: [{ name: 'x;}', url: 'http://127.0.0.1:8001' }] })).rejects.toThrow('upstream name "x;}" is invalid');
    await expect(startNginx({ upstreams: [{ name: 'x', url: 'http://127.0.0.1:8001\n}' }] })).rejects.toThrow('is invalid');
  });

  it('the generated config passes `nginx -t` with the system nginx', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'llmbench-nginx-test-'));
    try {
      const text = renderNginxConfig(resolveNginxConfig({ upstreams: two }, { ...where, prefix }));
      writeFileSync(join(prefix, 'nginx.conf'), text);
      const r = spawnSync(findNginx(), ['-t', '-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { encoding: 'utf8' });
      expect(r.stderr).toContain('test is successful');
      expect(r.status).toBe(0);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
});

describe('nginxStatsFromLog', () => {
  it('counts attempts, retries and failures per upstream from $upstream_addr / $upstream_status', () => {
    const ups = validateUpstreams(two);
    const log = [
      '200|127.0.0.1:8001|200|0.010',
      '200|127.0.0.1:8001, 127.0.0.1:8002|502, 200|0.020',
      '200|127.0.0.1:8002|200|0.005',
      '502|llmbench|502|0.000',
      '504|127.0.0.1:8002, 127.0.0.1:8001|504, 504|1.000',
      'garbage line',
      '',
    ].join('\n');
    const s = nginxStatsFromLog(log, ups);
    expect(s).toMatchObject({ kind: 'nginx', policy: 'least-connections', requests: 5, retriedRequests: 2, failedRequests: 2 });
    expect(s.upstreams).toEqual([
      { name: 'replica-0', url: 'http://127.0.0.1:8001', requests: 3, failures: 2, retries: 1, inFlight: null, healthy: null },
      { name: 'replica-1', url: 'http://127.0.0.1:8002', requests: 3, failures: 1, retries: 1, inFlight: null, healthy: null },
    ]);
  });
});
