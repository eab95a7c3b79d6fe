// Documented failures: an unavailable execution provider names the available ones; malformed model folders
// give a ModelError naming what is missing.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDecoderSession } from '../../src/engine/session.js';
import { availableDevices, executionProvidersFor, parseDevice } from '../../src/engine/providers.js';
import { ModelError, ProviderError, UsageError } from '../../src/errors.js';
import { makeTinyModel, writeNoPastModel } from './helpers.js';

let fixture: Awaited<ReturnType<typeof makeTinyModel>>;

beforeAll(async () => {
  fixture = await makeTinyModel();
});
afterAll(() => fixture.cleanup());

describe('execution providers', () => {
  it('cpu is always available', async () => {
    expect(await availableDevices()).toContain('cpu');
    expect(await executionProvidersFor('cpu')).toEqual(['cpu']);
  });

  it('an unavailable provider is a ProviderError that lists the available ones', async () => {
    const avail = await availableDevices();
    const missing = (['cuda', 'webgpu'] as const).filter((d) => !avail.includes(d));
    // On a machine with every provider working there is nothing to refuse; this CPU-only machine has none.
    expect(missing.length).toBeGreaterThan(0);
    for (const d of missing) {
      const err = await openDecoderSession(fixture.dir, { device: d }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toMatch(new RegExp(`device "${d}" is not available: .*Available here: ${avail.join(', ')}`));
    }
  });

  it('unknown device names are usage errors', () => {
    expect(parseDevice('CPU')).toBe('cpu');
    expect(() => parseDevice('tpu')).toThrow(UsageError);
    expect(() => parseDevice('tpu')).toThrow('--device: unknown device "tpu"');
  });
});

describe('malformed model folders', () => {
  const bad = (name: string): string => {
    const d = join(fixture.root, name);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    return d;
  };

  it('missing folder, config.json, ONNX file, tokenizer', async () => {
    await expect(openDecoderSession(join(fixture.root, 'absent'))).rejects.toThrow(/model folder not found/);
    const noCfg = bad('nocfg');
    await expect(openDecoderSession(noCfg)).rejects.toThrow(ModelError);
    await expect(openDecoderSession(noCfg)).rejects.toThrow(/missing config\.json/);
    const noOnnx = bad('noonnx');
    writeFileSync(join(noOnnx, 'config.json'), '{"model_type":"gpt2","n_layer":2,"n_head":4,"n_embd":64,"vocab_size":512,"n_positions":256}');
    await expect(openDecoderSession(noOnnx)).rejects.toThrow(/no ONNX file/);
  });

  it('a file that is not ONNX', async () => {
    const d = bad('garbage');
    writeFileSync(join(d, 'config.json'), '{"model_type":"gpt2","n_layer":2,"n_head":4,"n_embd":64,"vocab_size":512,"n_positions":256}');
    writeFileSync(join(d, 'tokenizer.json'), '{}');
    mkdirSync(join(d, 'onnx'));
    writeFileSync(join(d, 'onnx', 'model.onnx'), 'this is not a protobuf at all, just text');
    await expect(openDecoderSession(d)).rejects.toThrow(ModelError);
  });

  it('a graph without KV-cache inputs names the missing input', async () => {
    const d = writeNoPastModel(fixture.dir, join(fixture.root, 'nopast'));
    const err = await openDecoderSession(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).message).toMatch(/graph has no input "past_key_values\.0\.key"/);
  });

  it('config.json that disagrees with the graph', async () => {
    const d = bad('wrongheads');
    const { cpSync, readFileSync } = await import('node:fs');
    cpSync(fixture.dir, d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, n_head: 8 }));
    await expect(openDecoderSession(d)).rejects.toThrow(/has 4 heads but config\.json says 8/);
  });
});
