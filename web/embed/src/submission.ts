// Sending one response so that nothing is ever recorded twice: the page chooses the response id (a UUID)
// before the first attempt and freezes the whole body with it; every retry (a double click, an automatic retry
// after a dropped connection, "Send again" after a reload) posts exactly the same bytes, which the server answers
// with 200 and the stored response instead of storing it again.

export interface ResponseBody {
  id: string;
  questionnaire: string;
  version: number;
  answers: Record<string, unknown>;
  collected_at: string;
  facility?: Record<string, unknown>;
  facility_id?: string;
}

export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldProblem[];
}

export type Outcome =
  | { kind: 'stored'; status: number; body: Record<string, unknown> }
  | { kind: 'invalid'; problem: Problem }
  | { kind: 'link'; problem: Problem } // the link no longer works (revoked, expired, cap reached)
  | { kind: 'conflict'; problem: Problem }
  | { kind: 'rate'; seconds: number }
  | { kind: 'too_large' }
  | { kind: 'unknown'; detail: string }; // no answer: it may or may not have been stored

export function newId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Older browsers: a version-4 UUID from getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** RFC 3339 with the device's offset, e.g. 2026-11-20T08:30:00+07:00. */
export function nowWithOffset(d: Date = new Date()): string {
  const pad = (n: number) => String(Math.abs(n)).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}${sign}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`
  );
}

async function problemOf(res: Response): Promise<Problem> {
  try {
    return (await res.json()) as Problem;
  } catch {
    return { status: res.status, title: res.statusText };
  }
}

const TIMEOUT_MS = 30_000;

/** One attempt. Every outcome is classified; only `unknown` may have been stored without our knowing. */
export async function post(apiBase: string, token: string, body: ResponseBody, lang: string = 'vi'): Promise<Outcome> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(`${apiBase}/responses`, {
      method: 'POST',
      // Accept-Language: the language of messages the server writes itself (a check across answers)
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Accept-Language': lang,
      },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      signal: ctl.signal,
    });
  } catch (e) {
    return { kind: 'unknown', detail: e instanceof Error ? e.message : String(e) };
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 200 || res.status === 201) {
    let stored: Record<string, unknown> = {};
    try {
      stored = (await res.json()) as Record<string, unknown>;
    } catch {
      // The status is the acknowledgement; the body only adds details for the receipt.
    }
    return { kind: 'stored', status: res.status, body: stored };
  }
  if (res.status === 422) return { kind: 'invalid', problem: await problemOf(res) };
  if (res.status === 401 || res.status === 403 || res.status === 410) {
    const problem = await problemOf(res);
    // A refusal about one answer (a tax code registered in another province) is shown at that question.
    if (res.status === 403 && linkReason(problem) === 'unknown' && problem.errors?.length) return { kind: 'invalid', problem };
    return { kind: 'link', problem };
  }
  if (res.status === 409) {
    const problem = await problemOf(res);
    // A tax code registered to an establishment of another province is about that answer, not about the id.
    if (problem.errors?.some((e) => e.path !== 'id')) return { kind: 'invalid', problem };
    return { kind: 'conflict', problem };
  }
  if (res.status === 413) return { kind: 'too_large' };
  if (res.status === 429) {
    const s = Number(res.headers.get('Retry-After'));
    return { kind: 'rate', seconds: Number.isFinite(s) && s > 0 ? s : 60 };
  }
  // 5xx (or anything unforeseen): the server may have stored it before failing; the same body again is safe.
  return { kind: 'unknown', detail: `HTTP ${res.status}` };
}

const BACKOFF_MS = [1000, 3000, 7000];

/** Post, retrying the very same body after a dropped connection or a 5xx; at most 1 + BACKOFF_MS.length tries. */
export async function postWithRetries(
  apiBase: string,
  token: string,
  body: ResponseBody,
  onRetry: (attempt: number) => void,
  { lang = 'vi', sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) }: { lang?: string; sleep?: (ms: number) => Promise<void> } = {},
): Promise<Outcome> {
  let outcome = await post(apiBase, token, body, lang);
  for (let i = 0; outcome.kind === 'unknown' && i < BACKOFF_MS.length; i++) {
    onRetry(i + 2);
    await sleep(BACKOFF_MS[i]);
    outcome = await post(apiBase, token, body, lang);
  }
  return outcome;
}

/** Which message a refused link gets, from the problem's type (…/problems/form-link-revoked, …). */
export function linkReason(problem: Problem): 'revoked' | 'expired' | 'exhausted' | 'unknown' {
  const t = problem.type ?? '';
  if (t.endsWith('form-link-revoked')) return 'revoked';
  if (t.endsWith('form-link-expired')) return 'expired';
  if (t.endsWith('form-link-exhausted')) return 'exhausted';
  return 'unknown';
}
