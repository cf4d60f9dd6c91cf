// A client's side of a session over real sockets: the cookie it was given, sent back by hand.

export interface SessionReply {
  status: number;
  headers: Headers;
  text: string;
  /** Every Set-Cookie line, as sent. */
  setCookies: string[];
}

/** GET (or `init.method`) with the session cookie `id` (under `name`), without following redirects. */
export async function sessionGet(url: string, id?: string, init: RequestInit & { name?: string; cookie?: string } = {}): Promise<SessionReply> {
  const headers = new Headers(init.headers);
  const cookie = init.cookie ?? (id === undefined ? undefined : `${init.name ?? 'session_id'}=${id}`);
  if (cookie !== undefined) headers.set('Cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text(), setCookies: res.headers.getSetCookie() };
}

/** The value `setCookies` gives `name` (the last one wins, as in a browser), or undefined. */
export function cookieOf(setCookies: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (const line of setCookies) {
    if (!line.startsWith(`${name}=`)) continue;
    value = decodeURIComponent(line.slice(name.length + 1).split(';')[0]!);
  }
  return value;
}
