/**
 * The message of anything thrown. Duck-typed rather than `instanceof Error`: errors made in
 * another realm (Node's own, seen from a vm context such as jest's) fail that check but carry
 * a message all the same.
 */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
