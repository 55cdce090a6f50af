import { envVarFor } from '../config/schema-tree.js';

const CONNECTION_STRING_ENV = envVarFor('serviceBus.connectionString');
const NAMESPACE_ENV = envVarFor('serviceBus.fullyQualifiedNamespace');
const CREDENTIAL_ENV = envVarFor('serviceBus.credential');

/** Help text shared by the commands that talk to Service Bus (kept free of the SDK). */
export const CONNECTION_HELP = `Service Bus is reached one of two ways, as by podbus run. With a key: the connection string
is a secret, so there is no flag for it (command lines end up in shell history and in \`ps\`):
set ${CONNECTION_STRING_ENV}, or serviceBus.connectionString in the file given
with --config (env PODBUS_CONFIG). With Microsoft Entra ID: ${NAMESPACE_ENV}
(<namespace>.servicebus.windows.net) and ${CREDENTIAL_ENV} (workload-identity,
managed-identity, azure-cli or default); sending needs the Azure Service Bus Data Sender role,
the dlq commands Data Receiver (and Sender to resubmit). The queue is --queue, else
serviceBus.queueName (PODBUS_SERVICE_BUS_QUEUE_NAME), else "challenges".`;
