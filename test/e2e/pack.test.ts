// llmbench as a real package: `npm pack`, install the tarball into an empty folder, and the installed CLI
// finds its compiled code, shipped scenarios and corpus relative to itself (not to this checkout).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'llmbench-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('the tarball installs into an empty folder; npx llmbench --help and run fp32-vs-int8 --quick work from there', () => {
    // dist/ was built by `npm test`; --ignore-scripts skips a second compile.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('src/scenarios/builtin/fp32-vs-int8.yaml');
    expect(files.some((f) => f.startsWith('data/corpus/'))).toBe(true);
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/') && !f.startsWith('src/scenarios/builtin/'))).toBe(false);

    const app = join(work, 'app');
    mkdirSync(app);
    // Offline machines must skip onnxruntime-node's CUDA download (the README says so).
    const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', LLMBENCH_CACHE: join(work, 'cache') };
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed[0]?.filename ?? '')], { cwd: app, env, stdio: 'pipe' });
    const help = execFileSync('npx', ['--no-install', 'llmbench', '--help'], { cwd: app, env, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: llmbench/);
    const out = join(work, 'out');
    execFileSync('npx', ['--no-install', 'llmbench', 'run', 'fp32-vs-int8', '--quick', '--out', out], { cwd: app, env, stdio: 'pipe' });
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { pipelines: { name: string }[] };
    expect(result.pipelines.map((p) => p.name).sort()).toEqual(['fp32', 'int8']);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  }, 400_000);
});
