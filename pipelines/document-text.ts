// A document's bytes must be UTF-8 text with something in it besides whitespace. The byte-level and World
// tokenizers would read any bytes, so without this check a binary file or a body of blanks would be summarized
// as if it were text. The check streams: it sees the body piece by piece as planning reads it, keeps a few
// bytes of state, and names the byte offset of the first invalid byte.
import { isUtf8 } from 'node:buffer';

import { permanent } from './errors.ts';

/** Space, tab, line feed, vertical tab, form feed, carriage return: what a body of "nothing" is made of. */
function isAsciiWhitespace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** A UTF-8 validator over a stream of pieces: each problem is described by the absolute byte offset. */
export class Utf8Validator {
  /** Bytes seen before the current piece. */
  #offset = 0;
  /** Continuation bytes the current character still needs, and the range the next one must fall in. */
  #need = 0;
  #low = 0x80;
  #high = 0xbf;
  #charStart = 0;
  /** Whether a byte other than ASCII whitespace has been seen. */
  content = false;

  /** Takes the next piece; the first invalid byte ("byte 0xff at byte offset 12"), or null. */
  push(bytes: Uint8Array): string | null {
    // Most pieces are whole valid text: the native check is far faster than the byte loop.
    if (this.#need === 0 && isUtf8(bytes)) {
      if (!this.content) this.content = bytes.some((b) => !isAsciiWhitespace(b));
      this.#offset += bytes.length;
      return null;
    }
    for (let i = 0; i < bytes.length; i++) {
      if (!this.#byte(bytes[i]!, this.#offset + i)) {
        return `byte 0x${bytes[i]!.toString(16).padStart(2, '0')} at byte offset ${this.#offset + i}`;
      }
    }
    this.#offset += bytes.length;
    return null;
  }

  /** The input has ended: a character cut short is invalid too. */
  end(): string | null {
    return this.#need > 0 ? `it ends inside the character that starts at byte offset ${this.#charStart}` : null;
  }

  #byte(b: number, at: number): boolean {
    if (this.#need > 0) {
      if (b < this.#low || b > this.#high) return false;
      this.#need--;
      this.#low = 0x80;
      this.#high = 0xbf;
      return true;
    }
    if (b < 0x80) {
      if (!this.content && !isAsciiWhitespace(b)) this.content = true;
      return true;
    }
    this.content = true;
    this.#charStart = at;
    // RFC 3629 table 3-7: the ranges exclude overlong forms, surrogates and code points above U+10FFFF.
    if (b >= 0xc2 && b <= 0xdf) this.#need = 1;
    else if (b === 0xe0) [this.#need, this.#low] = [2, 0xa0];
    else if (b === 0xed) [this.#need, this.#high] = [2, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) this.#need = 2;
    else if (b === 0xf0) [this.#need, this.#low] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) this.#need = 3;
    else if (b === 0xf4) [this.#need, this.#high] = [3, 0x8f];
    else return false;
    return true;
  }
}

/** Where whole bytes stop being UTF-8 ("byte 0xff at byte offset 12"), or null when they are valid. */
export function utf8Problem(bytes: Uint8Array): string | null {
  const validator = new Utf8Validator();
  return validator.push(bytes) ?? validator.end();
}

/** A document body, piece by piece: UTF-8 (E_ENCODING naming the offset) and not only whitespace. */
export class DocumentTextCheck {
  readonly #doc: string;
  readonly #utf8 = new Utf8Validator();

  constructor(doc: string) {
    this.#doc = doc;
  }

  /** Whether a byte other than ASCII whitespace has been seen. */
  get hasContent(): boolean {
    return this.#utf8.content;
  }

  push(bytes: Uint8Array): void {
    this.#fail(this.#utf8.push(bytes));
  }

  end(): void {
    this.#fail(this.#utf8.end());
  }

  #fail(problem: string | null): void {
    if (problem !== null) {
      throw permanent(
        'E_ENCODING',
        `document ${this.#doc} is not valid UTF-8: ${problem} ` +
          '(documents are UTF-8 text; convert other files to text before sending them)',
      );
    }
  }
}
