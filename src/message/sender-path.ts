import type { MessageForm } from './challenge-request.js';

/**
 * A JSON Pointer into the (camelCase) ChallengeRequest, as the sender of `form` wrote it: the
 * checks that run after parsing speak camelCase, and a seed-form sender should read the paths
 * of their own message (there `/Containers/0/Name` holds the image).
 */
export function senderPath(path: string, form: MessageForm): string {
  if (form !== 'seed') return path;
  return path
    .replace(/^\/containers\/(\d+)\/image/, '/Containers/$1/Name')
    .replace(/^\/containers\b/, '/Containers');
}
