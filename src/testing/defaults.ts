// What the raw and the streaming client share: their defaults, and how they send a string.

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_HOST = '127.0.0.1';

export function toBuffer(data: string | Buffer): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}
