// Byte-level pre-tokenization exactly as GPT-2's tokenizer (and the Hugging Face ByteLevel
// pre-tokenizer) does it: split text with GPT-2's regex, then spell each piece's UTF-8 bytes with
// printable stand-in characters (space -> "Ġ", newline -> "Ċ") so that every byte string is a token string.

/** GPT-2's pre-tokenization pattern (contractions, letter runs, digit runs, other runs, whitespace). */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function buildByteOrder(): number[] {
  // Printable bytes keep their own code point; the rest are mapped to 256+ in byte order.
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const rest: number[] = [];
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) rest.push(b);
  return [...printable, ...rest];
}

/** The 256 bytes in GPT-2's base-vocabulary order (id i of the base vocabulary is byte BYTE_ORDER[i]). */
export const BYTE_ORDER: readonly number[] = buildByteOrder();

/** BYTE_CHARS[b]: the stand-in character for byte b. */
export const BYTE_CHARS: readonly string[] = (() => {
  const chars = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return chars;
})();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_CHARS.map((c, b) => [c, b]));

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Spells a piece of text as byte stand-in characters. */
export function toByteChars(piece: string): string {
  let out = '';
  for (const byte of encoder.encode(piece)) out += BYTE_CHARS[byte];
  return out;
}

/** Inverse of toByteChars (invalid UTF-8 becomes U+FFFD, as tokenizers decode it). */
export function fromByteChars(chars: string): string {
  const bytes = new Uint8Array(chars.length);
  let n = 0;
  for (const ch of chars) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) bytes[n++] = b;
  }
  return decoder.decode(bytes.subarray(0, n));
}

/** Splits text into GPT-2 pre-tokens (raw text, not yet byte-mapped). */
export function splitPreTokens(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}
