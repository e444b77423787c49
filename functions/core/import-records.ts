/**
 * The records of an uploaded import file, read incrementally from byte chunks: CSV per RFC 4180
 * (quoted fields hold commas, doubled quotes and line breaks, and may straddle any two chunks) or
 * NDJSON (one line a record). Pure.
 *
 * Structure is found in bytes — every delimiter is ASCII, and UTF-8 never uses an ASCII byte
 * inside a multi-byte character — so each record knows the exact byte offset the next one starts
 * at: a resumed job reads the object from that offset (a ranged GET) and parses on as if it had
 * never stopped. A record is at most IMPORT_RECORD_BYTES: memory stays bounded whatever the file,
 * and an unclosed quote fails the job at its line instead of swallowing the rest of the file.
 */

/** Where reading starts (or resumes): a byte offset at a record's start and that record's line. */
export interface ReadPosition {
  readonly byte: number;
  /** 1-based line of the file at `byte`. */
  readonly line: number;
}

export const FILE_START: ReadPosition = { byte: 0, line: 1 };

/** Largest record (a CSV row with its quoted line breaks, or an NDJSON line). */
export const IMPORT_RECORD_BYTES = 1024 * 1024;

export interface RawRecord {
  /** Line the record starts on. */
  readonly line: number;
  /** Where the record after this one starts (past its line break). */
  readonly next: ReadPosition;
  /** CSV: the cells; NDJSON: the line's text, trimmed. */
  readonly cells: string[];
}

/** A record that does not end within IMPORT_RECORD_BYTES: names the line, never the content. */
export class RecordTooLarge extends Error {
  override readonly name = 'RecordTooLarge';
  constructor(
    readonly line: number,
    readonly limit: number,
  ) {
    super(`The record starting on line ${line} runs past ${limit} bytes (an unclosed quote?)`);
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const BOM = [0xef, 0xbb, 0xbf] as const;

const utf8 = new TextDecoder('utf-8');
const text = (bytes: Uint8Array, from: number, to: number): string =>
  from >= to ? '' : utf8.decode(bytes.subarray(from, to));

const countLf = (bytes: Uint8Array, from: number, to: number): number => {
  let n = 0;
  for (let i = bytes.indexOf(LF, from); i !== -1 && i < to; i = bytes.indexOf(LF, i + 1)) n++;
  return n;
};

/** One record parsed from `start`; undefined when the bytes so far do not finish it. */
type Parsed = { cells: string[]; end: number; breaks: number; blank: boolean } | undefined;

/**
 * The cells of a record from their byte ranges: per cell the quoted part (from, to, escaped) and
 * the text after it (from, to). A record of ASCII only (most are) is decoded once and sliced.
 */
const cellsOf = (b: Uint8Array, start: number, end: number, ranges: number[]): string[] => {
  const whole = text(b, start, end);
  const ascii = whole.length === end - start;
  const cells: string[] = [];
  for (let r = 0; r < ranges.length; r += 5) {
    const quoted = slice(b, whole, ascii, start, ranges[r] as number, ranges[r + 1] as number);
    const tail = slice(b, whole, ascii, start, ranges[r + 3] as number, ranges[r + 4] as number);
    cells.push((ranges[r + 2] ? quoted.replaceAll('""', '"') : quoted) + tail);
  }
  return cells;
};

/** Bytes `from`..`to` of a record decoded as `whole` (sliced when it is ASCII, so offsets agree). */
const slice = (b: Uint8Array, whole: string, ascii: boolean, start: number, from: number, to: number) =>
  from >= to ? '' : ascii ? whole.slice(from - start, to - start) : text(b, from, to);

/**
 * One CSV record. A quote opens a quoted field only at a field's start (elsewhere it is text); after
 * the closing quote, text up to the delimiter is kept (lenient, as the earlier parser was). Line
 * breaks inside quotes count as lines (`\n`), and `\r\n`, `\n` or a lone `\r` end a record.
 */
const parseCsv = (b: Uint8Array, start: number, final: boolean): Parsed => {
  const len = b.length;
  const ranges: number[] = [];
  let breaks = 0;
  let i = start;
  let quotedAny = false;
  for (;;) {
    let qFrom = i;
    let qTo = i;
    let escaped = 0;
    if (i < len && b[i] === QUOTE) {
      quotedAny = true;
      let q = i + 1;
      for (;;) {
        q = b.indexOf(QUOTE, q);
        if (q === -1 || (q + 1 === len && !final)) {
          if (!final) return undefined;
          // An unclosed quote at the end of the file: the rest is the field.
          q = len;
          break;
        }
        if (b[q + 1] === QUOTE) {
          escaped = 1;
          q += 2;
          continue;
        }
        break;
      }
      breaks += countLf(b, i + 1, q);
      qFrom = i + 1;
      qTo = q;
      i = Math.min(q + 1, len);
    }
    let d = i;
    while (d < len) {
      const c = b[d];
      if (c === COMMA || c === LF || c === CR) break;
      d++;
    }
    ranges.push(qFrom, qTo, escaped, i, d);
    if (d === len && !final) return undefined;
    if (d < len && b[d] === COMMA) {
      i = d + 1;
      continue;
    }
    let end = d + 1;
    if (d === len) end = len;
    else if (b[d] === CR) {
      if (d + 1 === len && !final) return undefined;
      if (b[d + 1] === LF) end = d + 2;
    }
    const blank = ranges.length === 5 && d === i && !quotedAny;
    return { cells: cellsOf(b, start, d, ranges), end, breaks: d === len ? breaks : breaks + 1, blank };
  }
};

/** One NDJSON line (trimmed; a blank one is skipped). */
const parseLine = (b: Uint8Array, start: number, final: boolean): Parsed => {
  const lf = b.indexOf(LF, start);
  if (lf === -1 && !final) return undefined;
  const end = lf === -1 ? b.length : lf + 1;
  const line = text(b, start, lf === -1 ? b.length : lf).trim();
  return { cells: [line], end, breaks: lf === -1 ? 0 : 1, blank: line === '' };
};

/**
 * Bytes in, whole records out, from a position (the start of the file, or a checkpoint): `push`
 * each chunk as it arrives, then `end` once. Only the unfinished record is held between chunks.
 */
export class RecordReader {
  private buffer: Uint8Array = new Uint8Array(0);
  /** File offset and line of buffer[0]. */
  private at: ReadPosition;
  private bomChecked: boolean;
  private readonly parse: (b: Uint8Array, start: number, final: boolean) => Parsed;

  constructor(
    format: 'csv' | 'ndjson',
    from: ReadPosition = FILE_START,
    private readonly maxRecordBytes = IMPORT_RECORD_BYTES,
  ) {
    this.parse = format === 'csv' ? parseCsv : parseLine;
    this.at = from;
    this.bomChecked = from.byte !== 0;
  }

  /** The records the chunk completes, parsed as they are taken: take them all before the next push. */
  *push(chunk: Uint8Array): Generator<RawRecord> {
    if (this.buffer.length === 0) this.buffer = chunk;
    else {
      const joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer);
      joined.set(chunk, this.buffer.length);
      this.buffer = joined;
    }
    yield* this.take(false);
  }

  /** The last record, when the file does not end with a line break. */
  *end(): Generator<RawRecord> {
    yield* this.take(true);
  }

  private *take(final: boolean): Generator<RawRecord> {
    const b = this.buffer;
    const base = this.at.byte;
    let start = 0;
    if (!this.bomChecked) {
      if (b.length < BOM.length && !final && BOM.every((v, i) => i >= b.length || b[i] === v)) return;
      if (BOM.every((v, i) => b[i] === v)) start = BOM.length;
      this.bomChecked = true;
    }
    let { line } = this.at;
    try {
      while (start < b.length) {
        const parsed = this.parse(b, start, final);
        if (!parsed) break;
        const next = { byte: base + parsed.end, line: line + parsed.breaks };
        const record = parsed.blank ? undefined : { line, next, cells: parsed.cells };
        line = next.line;
        start = parsed.end;
        if (record) yield record;
      }
    } finally {
      // Records are handed over one at a time, so none of them is held while the next is parsed.
      this.at = { byte: base + start, line };
      this.buffer = b.subarray(start);
    }
    if (this.buffer.length > this.maxRecordBytes) throw new RecordTooLarge(line, this.maxRecordBytes);
  }
}

/**
 * The records of a byte stream from a position: one lazy batch per chunk (one await per chunk, not
 * per record — an async step per row costs more than parsing it). Take each batch whole, in order.
 */
export async function* readRecords(
  chunks: AsyncIterable<Uint8Array>,
  format: 'csv' | 'ndjson',
  from: ReadPosition = FILE_START,
): AsyncGenerator<Iterable<RawRecord>> {
  const reader = new RecordReader(format, from);
  for await (const chunk of chunks) yield reader.push(chunk);
  yield reader.end();
}
