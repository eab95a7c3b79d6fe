// A `backup` server in the generated nginx config, against the system nginx and real upstreams: idle while the
// primary answers, used when it refuses (503), answers marked; plus the rendered directives (backup, timeouts).
import { afterEach, describe, expect, it } from 'vitest';
import { renderNginxConfig, resolveNginxConfig } from '../../src/balancer/nginxConfig.js';
import { startNginx, type NginxHandle } from '../../src/balancer/index.js';
import { post, startTestUpstream, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let nginx: NginxHandle | null = null;

afterEach(async () => {
  await nginx?.stop();
  nginx = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

describe('nginx backup server', () => {
  it('renders the backup flag, the marking map and the timeout directives', () => {
    const text = renderNginxConfig(
      resolveNginxConfig(
        { upstreams: [{ name: 'replica-0', url: 'http://127.0.0.1:9001' }, { name: 'backup-0', url: 'http://127.0.0.1:9002', backup: true }], upstreamTimeoutMs: 1500 },
        { listenHost: '127.0.0.1', listenPort: 8080, prefix: '/tmp/p', readyToken: 'tok' },
      ),
    );
    expect(text).toContain('    server 127.0.0.1:9001 max_fails=1 fail_timeout=2s; # replica-0\n');
    expect(text).toContain('    server 127.0.0.1:9002 max_fails=1 fail_timeout=2s backup; # backup-0\n');
    expect(text).toContain('  map $upstream_addr $llmbench_fallback {\n    default "";\n    "~127\\.0\\.0\\.1:9002$" backup;\n  }\n');
    expect(text).toContain('      proxy_read_timeout 1500ms;\n');
    expect(text).toContain('      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;\n');
    expect(text).toContain('      add_header x-llmbench-fallback $llmbench_fallback always;\n');
  });

  it('routes to the backup only when the primary cannot answer, and marks those answers', async () => {
    const primary = await startTestUpstream('replica-0');
    const backup = await startTestUpstream('backup-0');
    upstreams = [primary, backup];
    nginx = await startNginx({
      upstreams: [
        { name: primary.name, url: primary.url },
        { name: backup.name, url: backup.url, backup: true },
      ],
      tries: 2,
      shutdownTimeoutSeconds: 1,
    });
    const ok = await post(nginx.url, { chunks: 1 });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-llmbench-replica']).toBe('replica-0');
    expect(ok.headers['x-llmbench-fallback']).toBeUndefined();
    expect(backup.requests).toBe(0);

    primary.failWith = 503;
    const fb = await post(nginx.url, { chunks: 1 });
    expect(fb.status).toBe(200);
    expect(fb.headers['x-llmbench-replica']).toBe('backup-0');
    expect(fb.headers['x-llmbench-fallback']).toBe('backup');
    expect(backup.requests).toBe(1);
  });
});
