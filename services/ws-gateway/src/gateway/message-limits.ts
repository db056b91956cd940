/**
 * The size at which the transport libraries themselves close a connection. It sits well above
 * WS_MAX_MESSAGE_BYTES so that a message above that limit reaches the gateway, which answers `message_too_large`
 * and keeps the connection; only absurd frames (memory abuse) are cut by the library.
 */
export function transportMessageCap(maxMessageBytes: number): number {
  return Math.max(4 * maxMessageBytes, 1024 * 1024);
}
