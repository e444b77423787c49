/**
 * A tiny MaxMind DB (the format GeoLite2 ships in) written from a few IPv4 prefixes, for tests of
 * the country lookup without MaxMind's licensed files. Format: https://maxmind.github.io/MaxMind-DB/
 * — a binary search tree of 24-bit records, 16 zero bytes, the data section, then the metadata
 * after its marker.
 */

const bytes = (...b: number[]) => Buffer.from(b);
const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  if (b.length >= 29) throw new Error('short strings only');
  return Buffer.concat([bytes(0x40 | b.length), b]);
};
const uint16 = (n: number) => bytes(0xa0 | 2, (n >> 8) & 0xff, n & 0xff);
const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return Buffer.concat([bytes(0xc0 | 4), b]);
};
const uint64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return Buffer.concat([bytes(0x00 | 8, 9 - 7), b]);
};
const map = (entries: [string, Buffer][]) =>
  Buffer.concat([bytes(0xe0 | entries.length), ...entries.flatMap(([k, v]) => [str(k), v])]);
const array = (items: Buffer[]) => Buffer.concat([bytes(0x00 | items.length, 11 - 7), ...items]);

const EMPTY = -1;

/** `{ '81.2.69.0/24': 'GB' }` → the bytes of a Country database answering those prefixes. */
export const countryMmdb = (prefixes: Record<string, string>): Buffer => {
  // The data section: one record per country.
  const data: Buffer[] = [];
  const offsets = new Map<string, number>();
  let size = 0;
  for (const iso of new Set(Object.values(prefixes))) {
    const record = map([['country', map([['iso_code', str(iso)]])]]);
    offsets.set(iso, size);
    data.push(record);
    size += record.length;
  }
  // The tree: node 0 is the root; a record is a node number, a data marker, or EMPTY.
  const nodes: [number, number][] = [[EMPTY, EMPTY]];
  const leaves: { node: number; side: 0 | 1; iso: string }[] = [];
  for (const [cidr, iso] of Object.entries(prefixes)) {
    const [ip, len] = cidr.split('/') as [string, string];
    const bits = ip
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
    let node = 0;
    for (let depth = 0; depth < Number(len); depth++) {
      const side = bits[depth] === '1' ? 1 : 0;
      if (depth === Number(len) - 1) {
        leaves.push({ node, side, iso });
        break;
      }
      const pair = nodes[node] as [number, number];
      if (pair[side] === EMPTY) {
        nodes.push([EMPTY, EMPTY]);
        pair[side] = nodes.length - 1;
      }
      node = pair[side];
    }
  }
  const nodeCount = nodes.length;
  for (const { node, side, iso } of leaves)
    (nodes[node] as [number, number])[side] = nodeCount + 16 + (offsets.get(iso) as number);
  const tree = Buffer.alloc(nodeCount * 6);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(left === EMPTY ? nodeCount : left, i * 6, 3);
    tree.writeUIntBE(right === EMPTY ? nodeCount : right, i * 6 + 3, 3);
  });
  const metadata = map([
    ['node_count', uint32(nodeCount)],
    ['record_size', uint16(24)],
    ['ip_version', uint16(4)],
    ['database_type', str('Pulse-Test-Country')],
    ['languages', array([str('en')])],
    ['binary_format_major_version', uint16(2)],
    ['binary_format_minor_version', uint16(0)],
    ['build_epoch', uint64(1_767_225_600)],
    ['description', map([['en', str('test countries')]])],
  ]);
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...data,
    Buffer.from('ABCDEF4D61784D696E642E636F6D', 'hex'),
    metadata,
  ]);
};
