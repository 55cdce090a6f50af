/**
 * The AMQP 1.0 encoding of `depth` lists (list32), each holding the next, around a null: a
 * value deeper than rhea's recursive decoder can read.
 */
export function nestedLists(depth: number): Buffer {
  let inner = Buffer.from([0x40]);
  for (let i = 0; i < depth; i += 1) {
    const head = Buffer.alloc(9);
    head[0] = 0xd0;
    head.writeUInt32BE(inner.length + 4, 1);
    head.writeUInt32BE(1, 5);
    inner = Buffer.concat([head, inner]);
  }
  return inner;
}
