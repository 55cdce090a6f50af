/**
 * Stands in for the body of a received message that could not be decoded safely (see
 * src/worker/safe-amqp-decode.ts): the message still reaches the handler, which dead-letters it
 * with `problem` instead of the connection failing on every delivery of it.
 */
export class UndecodableBody {
  constructor(readonly problem: string) {}
}
