import type { ServiceBusReceivedMessage } from '@azure/service-bus';

import { messageIdText } from '../message/message-id.js';
import { traceparentOf } from '../message/trace-context.js';
import type { InboundMessage } from './message-handler.js';

/**
 * The parts of a received message the handler reads, as the handler expects them: the message
 * ID as text ('' when there is none, which the parser dead-letters), never `String(id)`; the
 * trace context only when it is a valid traceparent (the sender writes it).
 */
export function inboundMessage(
  message: Pick<ServiceBusReceivedMessage, 'messageId' | 'body' | 'deliveryCount' | 'contentType'> &
    Partial<Pick<ServiceBusReceivedMessage, 'applicationProperties' | 'replyTo'>> & {
      readonly _rawAmqpMessage?: Pick<ServiceBusReceivedMessage['_rawAmqpMessage'], 'bodyType'>;
    },
): InboundMessage {
  const bodyType = message._rawAmqpMessage?.bodyType;
  const traceparent = traceparentOf(message.applicationProperties);
  return {
    messageId: messageIdText(message.messageId),
    body: message.body,
    deliveryCount: message.deliveryCount ?? 0,
    contentType: message.contentType,
    ...(bodyType !== undefined && { bodyType }),
    ...(message.replyTo !== undefined && { replyTo: message.replyTo }),
    ...(traceparent !== undefined && { traceparent }),
  };
}
