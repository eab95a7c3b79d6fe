// `llmbench model fixture` writes the llama test model in either layout, and `llmbench generate` / `eval`
// take the model-builder folder (genai_config.json, no config.json) through the real CLI entry (in-process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-fixture-cli-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(['node', 'llmbench', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('llmbench model fixture', () => {
  it('writes an fp16 model-builder folder that generate and eval take', async () => {
    const dir = join(root, 'mb16');
    const made = await cli('model', 'fixture', '--style', 'model-builder', '--dtype', 'fp16', '--out', dir);
    expect(made.code).toBe(0);
    expect(made.out).toContain('wrote the model-builder llama fixture (fp16)');
    const g = await cli('generate', '--model', dir, '--prompt', 'The river', '--max-tokens', '5', '--json', '--threads', '1');
    expect(g.code).toBe(0);
    expect((JSON.parse(g.out.trim()) as { outputTokens: number }).outputTokens).toBe(5);
    const ref = join(root, 'opt32');
    expect((await cli('model', 'fixture', '--out', ref)).code).toBe(0);
    // Same weights in the other layout and precision: fp16 rounding only.
    const e = await cli('eval', dir, '--reference', ref, '--json');
    expect(e.code).toBe(0);
    expect((JSON.parse(e.out.trim()) as { top1Agreement: number }).top1Agreement).toBeGreaterThan(0.95);
  });

  it('--merged writes decoder_model_merged.onnx, which generate takes and decodes like the plain folder', async () => {
    const dir = join(root, 'merged');
    const made = await cli('model', 'fixture', '--merged', '--out', dir);
    expect(made.code).toBe(0);
    expect(made.out).toContain('(onnx/decoder_model_merged.onnx)');
    const plain = join(root, 'plain');
    expect((await cli('model', 'fixture', '--out', plain)).code).toBe(0);
    const text = async (d: string): Promise<string> => {
      const g = await cli('generate', '--model', d, '--prompt', 'The river', '--max-tokens', '6', '--temperature', '0', '--json', '--threads', '1');
      expect(g.code).toBe(0);
      return (JSON.parse(g.out.trim()) as { text: string }).text;
    };
    const got = await text(dir);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toBe(await text(plain));
  });

  it.each([
    [['--style', 'gguf'], '--style: unknown style "gguf"'],
    [['--dtype', 'int3'], '--dtype: unknown dtype "int3"'],
    [['--rotary', 'separate'], '--rotary separate applies to --style model-builder only'],
    [['--style', 'model-builder', '--merged'], '--merged applies to --style optimum only'],
    [['--local-window', '8'], '--local-window applies to --style model-builder only'],
    [['--style', 'model-builder', '--local-window', '0'], '--local-window: expected an integer >= 1, got "0"'],
  ])('%j -> exit 2 and the option named', async (args, message) => {
    const r = await cli('model', 'fixture', ...args, '--out', join(root, 'bad'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });
});
