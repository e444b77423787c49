/**
 * The bench's imports baseline: how the runner read an upload before it streamed — the whole
 * object as one string (ObjectStore.getText), parsed by the string CSV parser of that time.
 */

/** CSV records with the line each starts on, from a string holding the whole file. */
export function* wholeFileCsvRecords(text: string): Generator<{ line: number; cells: string[] }> {
  let line = 1;
  let start = 1;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell === '') {
      quoted = true;
      any = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (any || cell !== '') yield { line: start, cells: [...cells, cell] };
      line++;
      start = line;
      cells = [];
      cell = '';
      any = false;
    } else {
      cell += ch;
      any = true;
    }
  }
  if (any || cell !== '') yield { line: start, cells: [...cells, cell] };
}
