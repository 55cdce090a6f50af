// The `podbus enqueue` command line; the Service Bus SDK loads only when it runs.
import type { Command } from 'commander';

import { CONNECTION_HELP } from './connection-help.js';
import { EXIT } from './exit-codes.js';
import { routeCommanderOutput } from './io.js';
import type { EnqueueFlags } from './enqueue-actions.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `podbus enqueue`: validated challenge messages onto the queue, in batches. */
export function registerEnqueueCommand(program: Command): void {
  const command = program
    .command('enqueue')
    .description(
      'Send challenge messages to the queue: one built from flags, or many from a JSON Lines file or stdin. Every message is checked against the published JSON Schema before anything is sent.',
    );
  routeCommanderOutput(command)
    .option('--challenge <id>', 'challenge ID of a single message')
    .option('--image <image>', 'container image; repeat for more containers', collect)
    .option('--message-id <id>', 'Service Bus messageId (the pod name); default a random UUID')
    .option('--cluster <name>', 'preferred cluster (a hint the worker may honour)')
    .option('--label <key=value>', 'pod label; repeatable', collect)
    .option('--seed-form', "send the seed's PascalCase form {ChallengeId, Containers:[{Name}]}")
    .option('--file <path>', 'JSON Lines file of messages, or - for stdin')
    .option(
      '--count <n>',
      'send n copies of each message, with IDs <messageId>-1 ... <messageId>-n',
    )
    .option('-c, --config <file>', 'podbus config file (its serviceBus section); env PODBUS_CONFIG')
    .option('--queue <name>', 'queue to send to (default: serviceBus.queueName, "challenges")')
    .addHelpText(
      'after',
      `
Output: the message IDs, one per line on stdout, as each batch is sent (capture them in a
script); progress and the summary on stderr (a progress bar on a terminal, plain lines
otherwise).

JSON Lines (--file): one message per line, either a message body in either form (as on the
wire) or an envelope {"messageId": "...", "body": {...}} to choose the messageId. Blank lines
and lines starting with # are skipped. If any line is invalid, every problem is printed with
its line number and nothing is sent. See docs/cli.md and docs/message-contract.md.

${CONNECTION_HELP}

Examples:
  export PODBUS_SERVICE_BUS_CONNECTION_STRING='Endpoint=sb://...'
  podbus enqueue --challenge web-101 --image myacr.azurecr.io/challenges/web-101:1.0
  podbus enqueue --challenge net-201 --image srv:2 --image client:2 --message-id run-42
  podbus enqueue --challenge web-101 --image nginx --seed-form
  podbus enqueue --file challenges.jsonl > sent-ids.txt
  generate-messages | podbus enqueue --file -
  podbus enqueue --challenge load --image nginx --count 500 --message-id load-test

Exit codes: 0 all sent; 1 sending failed (the IDs printed were sent, the others were not);
2 invalid flags, configuration or messages (nothing sent).`,
    )
    .action(async (flags: EnqueueFlags) => {
      const code = await (await import('./enqueue-actions.js')).runEnqueue(flags);
      if (code !== EXIT.ok) process.exitCode = code;
    });
}
