import type { ServerResponse } from 'node:http';
import { RequestAbortedError } from '../lib/errors.js';
import { onClientGone } from './h2-stream.js';
import type { Session } from './session.js';

/**
 * What a `Request` holds only when something asks for it: the scheme and
 * host once looked up or reported by a proxy, signed cookies, the session,
 * the abort signal (made here, with its reason), a `100 Continue` sent, a
 * body dropped by an InternalRedirect, upload temp files. One object made on
 * the first write, rather than a field each in every request (8 bytes a
 * field, a request).
 */
export class SeldomState {
  scheme: 'http' | 'https' | undefined = undefined;
  host: string | undefined = undefined;
  signedCookies: Record<string, string> | undefined = undefined;
  session: Session | undefined = undefined;
  abort: AbortController | undefined = undefined;
  closedReason: RequestAbortedError | undefined = undefined;
  continueSent = false;
  /** An InternalRedirect dropped the body: the handler now sees none (the lifecycle still settles what was sent). */
  bodyDropped = false;
  /** Temp files of spooled uploads, deleted when the request ends. */
  tempFiles: string[] | undefined = undefined;

  /** `request.signal`, made on first use: aborted already when the request was, else when the client goes. */
  signal(res: ServerResponse, h2: boolean): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.closedReason !== undefined) this.abort.abort(this.closedReason);
      else onClientGone(res, h2, () => this.abortWith(new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The client closed the connection')));
    }
    return this.abort.signal;
  }

  /** The first reason wins: kept for a signal made later, passed to one made already. */
  abortWith(reason: RequestAbortedError): void {
    this.closedReason ??= reason;
    this.abort?.abort(this.closedReason);
  }
}
