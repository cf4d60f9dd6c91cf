import { DrupeError } from '../lib/errors.js';
import { CliError, reason } from './errors.js';

/**
 * Why a server did not start, as the command says it: a config error is bad input (2); a socket
 * that cannot be bound (a port in use, an address not on this machine, a port below 1024) is 1.
 */
export function startError(error: unknown, where: string): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof DrupeError) return new CliError(reason(error), 2);
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') return new CliError(`cannot listen on ${where}: address already in use`, 1);
  if (code === 'EACCES') return new CliError(`cannot listen on ${where}: permission denied`, 1);
  if (code === 'EADDRNOTAVAIL') return new CliError(`cannot listen on ${where}: address not available on this machine`, 1);
  return new CliError(`cannot start the server on ${where}: ${reason(error)}`, 1);
}

/** host:port as the config asks, for messages. */
export function listenAddress(global: { 'server.socket_host'?: string; 'server.socket_port'?: number }): string {
  const host = global['server.socket_host'] ?? '127.0.0.1';
  return `${host.includes(':') ? `[${host}]` : host}:${global['server.socket_port'] ?? 8080}`;
}
