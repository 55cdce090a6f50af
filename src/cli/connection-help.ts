import { envVarFor } from '../config/schema-tree.js';

const CONNECTION_STRING_ENV = envVarFor('serviceBus.connectionString');

/** Help text shared by the commands that talk to Service Bus (kept free of the SDK). */
export const CONNECTION_HELP = `The connection string is a secret, so there is no flag for it (command lines end up in
shell history and in \`ps\`): set ${CONNECTION_STRING_ENV}, or serviceBus.connectionString
in the file given with --config (env PODBUS_CONFIG). The queue is --queue, else
serviceBus.queueName (PODBUS_SERVICE_BUS_QUEUE_NAME), else "challenges".`;
