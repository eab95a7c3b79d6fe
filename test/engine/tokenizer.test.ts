// Tokenizer wrapper: round trips, EOS ids from the model's config files, and streaming text that never
// contains half a UTF-8 character.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamDecoder, TextTokenizer } from '../../src/engine/tokenizer.js';
import { makeTinyModel } from './helpers.js';

let fixture: Awaited<ReturnType<typeof makeTinyModel>>;
let tok: TextTokenizer;

beforeAll(async () => {
  fixture = await makeTinyModel();
  tok = TextTokenizer.load(fixture.dir);
});
afterAll(() => fixture.cleanup());

const text = 'Hello, wörld! naïve café — 日本語 🙂 end';

describe('TextTokenizer', () => {
  it('round-trips text, including multi-byte characters', () => {
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(5);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode([])).toBe('');
  });

  it('reads EOS ids from config.json and generation_config.json', () => {
    const cfg = JSON.parse(readFileSync(join(fixture.dir, 'config.json'), 'utf8')) as { eos_token_id: number };
    expect(tok.eosTokenIds).toEqual([cfg.eos_token_id]);
    // An extra EOS id in generation_config.json (as Llama 3 exports have) is added, not replaced.
    const gen = join(fixture.dir, 'generation_config.json');
    const before = readFileSync(gen, 'utf8');
    writeFileSync(gen, JSON.stringify({ eos_token_id: [cfg.eos_token_id, 7] }));
    try {
      expect(TextTokenizer.load(fixture.dir).eosTokenIds).toEqual([cfg.eos_token_id, 7]);
    } finally {
      writeFileSync(gen, before);
    }
  });

  it('EOS decodes to nothing in generated text', () => {
    const ids = [...tok.encode('abc'), ...tok.eosTokenIds];
    expect(tok.decode(ids)).toBe('abc');
  });
});

describe('StreamDecoder', () => {
  it('emits only whole characters and concatenates to the full text', () => {
    const ids = tok.encode(text);
    const s = tok.streamDecoder();
    const pieces = ids.map((id) => s.push(id));
    pieces.push(s.flush());
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
    expect(pieces.join('')).toBe(text);
    // A 4-byte emoji split over byte tokens yields '' until its last byte arrives.
    const emoji = tok.encode('🙂');
    if (emoji.length > 1) {
      const e = tok.streamDecoder();
      const out = emoji.map((id) => e.push(id));
      expect(out.slice(0, -1).every((p) => p === '')).toBe(true);
      expect(out.at(-1)).toBe('🙂');
    }
  });

  it('flush returns an incomplete trailing character as decoded', () => {
    const bytes = tok.encode('é');
    if (bytes.length < 2) return;
    const s = new StreamDecoder(tok);
    expect(s.push(bytes[0] as number)).toBe('');
    expect(s.flush()).toBe('\uFFFD');
  });

  it('a run of lone bytes streams one token behind instead of being held until it ends', () => {
    const euro = tok.encode('€');
    expect(euro.length).toBe(3); // the tiny tokenizer has no merges for it: three byte tokens
    const lead = euro[0] as number;
    const s = tok.streamDecoder();
    const pieces = Array.from({ length: 12 }, () => s.push(lead));
    // Each lone lead byte is invalid once the next byte arrives: it is emitted then, one token late.
    expect(pieces[0]).toBe('');
    for (const p of pieces.slice(1)) expect(p).toBe('\uFFFD');
    // A character completed after the run still comes out whole, and the pieces add up to the full decode.
    const rest = [euro[1] as number, euro[2] as number, ...tok.encode(' ok')];
    const more = rest.map((id) => s.push(id));
    expect(more.slice(0, 2)).toEqual(['', '€']);
    const all = [...pieces, ...more, s.flush()].join('');
    expect(all).toBe(tok.decode([...Array(12).fill(lead), ...rest]));
  });
});

