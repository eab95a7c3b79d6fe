// An incremental HTTP/1.1 response parser (status line, headers, Content-Length, chunked or
// close-delimited bodies). The load client uses it over raw keep-alive sockets: Node's http client costs
// about twice as much CPU per request, which would make the load generator the bottleneck first.

/** Callbacks of one response; headers have lower-case names (repeated headers joined with ", "). */
export interface ResponseEvents {
  onHead(status: number, headers: Map<string, string>): void;
  onBody(chunk: Buffer): void;
  onEnd(): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'until-close' | 'done';

export class HttpParseError extends Error {}

/** Parses one response fed in arbitrary pieces; throws HttpParseError on malformed input. */
export class ResponseParser {
  private state: State = 'head';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  /** Whether the connection may be reused after this response. */
  keepAlive = true;
  /** Bytes after the end of this response (a well-behaved server sends none). */
  extra = 0;

  constructor(
    private readonly events: ResponseEvents,
    /** A response to HEAD, or 204/304, has no body whatever its headers say. */
    private readonly noBodyRequest = false,
  ) {}

  get done(): boolean {
    return this.state === 'done';
  }

  /** True when the body ends only when the server closes the connection. */
  get closeDelimited(): boolean {
    return this.state === 'until-close';
  }

  /** The server closed the connection: completes a close-delimited body, otherwise the response is cut off. */
  close(): boolean {
    if (this.state === 'until-close') {
      this.finish();
      return true;
    }
    return this.state === 'done';
  }

  feed(input: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'head': {
          const end = buf.indexOf(HEAD_END, pos);
          if (end < 0) {
            if (buf.length - pos > MAX_HEAD_BYTES) throw new HttpParseError('response head too large');
            this.pending = buf.subarray(pos);
            return;
          }
          this.parseHead(buf.toString('latin1', pos, end));
          pos = end + 4;
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, buf.length - pos);
          this.events.onBody(buf.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case 'chunk-size': {
          const end = buf.indexOf(CRLF, pos);
          if (end < 0) {
            if (buf.length - pos > 1024) throw new HttpParseError('chunk size line too long');
            this.pending = buf.subarray(pos);
            return;
          }
          const line = buf.toString('latin1', pos, end);
          const hex = (line.split(';')[0] ?? '').trim();
          if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new HttpParseError(`bad chunk size ${JSON.stringify(line.slice(0, 20))}`);
          this.remaining = parseInt(hex, 16);
          pos = end + 2;
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length - pos);
          this.events.onBody(buf.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-crlf';
          break;
        }
        case 'chunk-crlf': {
          if (buf.length - pos < 2) {
            this.pending = buf.subarray(pos);
            return;
          }
          if (buf[pos] !== 13 || buf[pos + 1] !== 10) throw new HttpParseError('missing CRLF after chunk');
          pos += 2;
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const end = buf.indexOf(CRLF, pos);
          if (end < 0) {
            this.pending = buf.subarray(pos);
            return;
          }
          // Trailer lines are ignored; an empty line ends the message.
          const empty = end === pos;
          pos = end + 2;
          if (empty) this.finish();
          break;
        }
        case 'until-close':
          this.events.onBody(buf.subarray(pos));
          pos = buf.length;
          break;
        case 'done':
          this.extra += buf.length - pos;
          this.keepAlive = false;
          return;
      }
    }
  }

  private parseHead(head: string): void {
    // "HTTP/1.x NNN ..." then "name: value" lines; scanned by hand, this runs once per request.
    if (!head.startsWith('HTTP/1.') || head.charCodeAt(8) !== 32) {
      throw new HttpParseError(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    }
    const minor = head.charCodeAt(7) - 48;
    const status = Number(head.slice(9, 12));
    if (!(status >= 100 && status <= 999) || (minor !== 0 && minor !== 1)) {
      throw new HttpParseError(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    }
    const headers = new Map<string, string>();
    let pos = head.indexOf('\r\n');
    while (pos >= 0) {
      const start = pos + 2;
      const next = head.indexOf('\r\n', start);
      const end = next < 0 ? head.length : next;
      const colon = head.indexOf(':', start);
      if (colon > start && colon < end) {
        const name = head.slice(start, colon).trim().toLowerCase();
        const value = head.slice(colon + 1, end).trim();
        const prev = headers.get(name);
        headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
      }
      pos = next;
    }
    if (status >= 100 && status < 200) return; // interim response: the real one follows
    const connection = (headers.get('connection') ?? '').toLowerCase();
    this.keepAlive = minor === 1 ? !connection.includes('close') : connection.includes('keep-alive');
    this.events.onHead(status, headers);
    const te = (headers.get('transfer-encoding') ?? '').toLowerCase();
    const cl = headers.get('content-length');
    if (this.noBodyRequest || status === 204 || status === 304) this.finish();
    else if (te.includes('chunked')) this.state = 'chunk-size';
    else if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new HttpParseError(`bad content-length ${JSON.stringify(cl)}`);
      this.remaining = Number(cl);
      if (this.remaining === 0) this.finish();
      else this.state = 'length';
    } else {
      this.keepAlive = false;
      this.state = 'until-close';
    }
  }

  private finish(): void {
    this.state = 'done';
    this.events.onEnd();
  }
}
