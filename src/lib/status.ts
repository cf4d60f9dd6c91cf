import { STATUS_CODES } from 'node:http';

/** Reason phrase for a status code, falling back to a generic one by class. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'Server Error' : status >= 400 ? 'Client Error' : 'Unknown');
}

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1). */
export function isBodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}
