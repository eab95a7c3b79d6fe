import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../src/server/stopStrings.js';

function run(stops: string[], pieces: string[]): { out: string; stopped: boolean; emits: string[] } {
  const m = new StopMatcher(stops);
  const emits: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    emits.push(r.emit);
    if (r.stopped) return { out: emits.join(''), stopped: true, emits };
  }
  emits.push(m.flush());
  return { out: emits.join(''), stopped: false, emits };
}

describe('StopMatcher', () => {
  it('passes text through without stop strings', () => {
    expect(run([], ['ab', 'cd'])).toEqual({ out: 'abcd', stopped: false, emits: ['ab', 'cd', ''] });
  });

  it('cuts before a stop string inside one piece', () => {
    expect(run(['END'], ['helloENDworld'])).toMatchObject({ out: 'hello', stopped: true });
  });

  it('finds a stop string split across pieces and never emits its start', () => {
    const r = run(['\nUser:'], ['Hi', ' there\n', 'Us', 'er: more']);
    expect(r.stopped).toBe(true);
    expect(r.out).toBe('Hi there');
    expect(r.emits).toEqual(['Hi', ' there', '', '']);
  });

  it('releases held-back text when it turns out not to be a stop string', () => {
    const r = run(['STOP'], ['abST', 'x', 'yz']);
    expect(r).toEqual({ out: 'abSTxyz', stopped: false, emits: ['ab', 'STx', 'yz', ''] });
  });

  it('flushes a partial match at the end', () => {
    expect(run(['STOP'], ['abSTO'])).toEqual({ out: 'abSTO', stopped: false, emits: ['ab', 'STO'] });
  });

  it('uses the earliest of several stop strings', () => {
    expect(run(['cd', 'b'], ['abcd'])).toMatchObject({ out: 'a', stopped: true });
  });
});
