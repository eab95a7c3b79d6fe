import { describe, expect, it } from 'vitest';
import { HttpParseError, ResponseParser } from '../../src/runners/load/httpResponseParser.js';

function parse(chunks: Buffer[]) {
  const got = { status: 0, headers: new Map<string, string>(), body: '', ended: 0 };
  const p = new ResponseParser({
    onHead: (s, h) => {
      got.status = s;
      got.headers = h;
    },
    onBody: (b) => (got.body += b.toString('latin1')),
    onEnd: () => got.ended++,
  });
  for (const c of chunks) p.feed(c);
  return { got, p };
}

/** Every way of cutting the bytes in two, plus one byte at a time. */
function splits(text: string): Buffer[][] {
  const b = Buffer.from(text, 'latin1');
  const out: Buffer[][] = [[b], Array.from(b, (x) => Buffer.from([x]))];
  for (let i = 1; i < b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  return out;
}

describe('HTTP/1.1 response parser', () => {
  it('content-length bodies, however the bytes are cut', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Llmbench-Replica: r1\r\n\r\n{"a":"b c"}';
    for (const chunks of splits(text)) {
      const { got, p } = parse(chunks);
      expect(got).toEqual({ status: 200, headers: got.headers, body: '{"a":"b c"}', ended: 1 });
      expect(got.headers.get('x-llmbench-replica')).toBe('r1');
      expect(got.headers.get('content-type')).toBe('application/json');
      expect(p.done && p.keepAlive).toBe(true);
    }
  });

  it('chunked bodies with extensions and trailers, however the bytes are cut', () => {
    const text =
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n' +
      '5\r\ndata:\r\n18;ext=1\r\n {"x":1}\n\ndata: [DONE]\n\n\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const chunks of splits(text)) {
      const { got, p } = parse(chunks);
      expect(got.body).toBe('data: {"x":1}\n\ndata: [DONE]\n\n');
      expect(got.ended).toBe(1);
      expect(p.done).toBe(true);
      expect(p.keepAlive).toBe(true);
    }
  });

  it('skips 100 Continue, joins repeated headers, honours Connection: close and HTTP/1.0', () => {
    const { got, p } = parse([
      Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nA: 1\r\na: 2\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno'),
    ]);
    expect(got.status).toBe(503);
    expect(got.headers.get('a')).toBe('1, 2');
    expect(got.body).toBe('no');
    expect(p.keepAlive).toBe(false);
    const old = parse([Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')]);
    expect(old.got.ended).toBe(1);
    expect(old.p.keepAlive).toBe(false);
  });

  it('a body without length ends when the connection closes; a cut-off body does not', () => {
    const { got, p } = parse([Buffer.from('HTTP/1.1 200 OK\r\n\r\npartial'), Buffer.from(' rest')]);
    expect(p.closeDelimited).toBe(true);
    expect(got.ended).toBe(0);
    expect(p.close()).toBe(true);
    expect(got.body).toBe('partial rest');
    expect(got.ended).toBe(1);
    expect(p.keepAlive).toBe(false);
    const cut = parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')]);
    expect(cut.p.close()).toBe(false);
    expect(cut.got.ended).toBe(0);
    const nobody = parse([Buffer.from('HTTP/1.1 204 No Content\r\n\r\n')]);
    expect(nobody.got.ended).toBe(1);
  });

  it('malformed input is an error, not a hang', () => {
    expect(() => parse([Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')])).toThrow(HttpParseError);
    expect(() => parse([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')])).toThrow(/bad chunk size/);
    expect(() => parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n')])).toThrow(/bad content-length/);
    expect(() => parse([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX')])).toThrow(/missing CRLF/);
  });
});
