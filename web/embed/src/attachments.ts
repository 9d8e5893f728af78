// Photos and files. An `image`/`file` answer is the file's name (what the server validates); the file itself
// stays in the page's memory until its response is stored, then goes to
// PUT {api}/responses/{id}/attachments/{name} with the form link's token (a link may upload only to the
// responses it submitted, only under the names their answers give). The same bytes again are a 200, so a
// retry never stores anything twice. Files cannot be kept in the tab's storage: after a reload the person
// chooses them again (App drops the names of files it no longer has).

/** A chosen file and the name its answer gives. */
export interface Chosen {
  file: File;
  name: string;
}

// What the server refuses in a file name (app/questionnaires/validator.py FILE_NAME_BAD), and its length.
const BAD = /[/\\\u0000-\u001f\u007f-\u009f]/g;
const NAME_MAX = 255;

/** A name the server accepts, as close to the device's own as possible. */
export function safeName(original: string, fallback: string): string {
  let name = original.normalize('NFC').replace(BAD, '_').trim();
  if (!name) name = fallback;
  if (name.length > NAME_MAX) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
    name = name.slice(0, NAME_MAX - ext.length) + ext;
  }
  return name;
}

/** The same rule as the server's (app/attachments/service.py `accepts`): `image/*` by default for photos. */
export function accepts(accept: string[], kind: 'image' | 'file', type: string): boolean {
  const allowed = accept.length ? accept : kind === 'image' ? ['image/*'] : ['*/*'];
  const t = type.split(';', 1)[0].trim().toLowerCase();
  return allowed.some((a) => {
    const [major, minor] = a.split('/');
    return a === '*/*' || a === t || (minor === '*' && t.startsWith(`${major}/`));
  });
}

/** The files chosen on this page, by questionnaire and question. */
export class Shelf {
  private files = new Map<string, Map<string, Chosen>>();

  get(questionnaire: string, question: string): Chosen | undefined {
    return this.files.get(questionnaire)?.get(question);
  }

  /** Keep `file` for the question; its answer's name, unique within the questionnaire's answers. */
  put(questionnaire: string, question: string, file: File): string {
    const shelf = this.files.get(questionnaire) ?? new Map<string, Chosen>();
    this.files.set(questionnaire, shelf);
    const taken = new Set([...shelf].filter(([q]) => q !== question).map(([, c]) => c.name));
    let name = safeName(file.name, `${question}.bin`);
    if (taken.has(name)) name = safeName(`${question}-${name}`, `${question}.bin`);
    shelf.set(question, { file, name });
    return name;
  }

  remove(questionnaire: string, question: string): void {
    this.files.get(questionnaire)?.delete(question);
  }

  clear(questionnaire: string): void {
    this.files.delete(questionnaire);
  }
}

export type Upload = { name: string; file?: File };
export type UploadResult = { sent: string[]; failed: string[]; lost: string[] };

const BACKOFF_MS = [1000, 3000];

async function putOnce(apiBase: string, token: string, responseId: string, u: Required<Upload>): Promise<'ok' | 'retry' | 'fail'> {
  try {
    const res = await fetch(
      `${apiBase}/responses/${encodeURIComponent(responseId)}/attachments/${encodeURIComponent(u.name)}`,
      {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': u.file.type || 'application/octet-stream' },
        body: u.file,
        credentials: 'omit',
        cache: 'no-store',
      },
    );
    if (res.status === 200 || res.status === 201) return 'ok';
    return res.status >= 500 || res.status === 429 ? 'retry' : 'fail';
  } catch {
    return 'retry'; // the connection dropped: the same bytes again are safe
  }
}

/** Upload the files a stored response names, each retried after a dropped connection or a 5xx. */
export async function uploadAll(
  apiBase: string,
  token: string,
  responseId: string,
  uploads: Upload[],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<UploadResult> {
  const result: UploadResult = { sent: [], failed: [], lost: [] };
  for (const u of uploads) {
    if (!u.file) {
      result.lost.push(u.name);
      continue;
    }
    let outcome = await putOnce(apiBase, token, responseId, { name: u.name, file: u.file });
    for (let i = 0; outcome === 'retry' && i < BACKOFF_MS.length; i++) {
      await sleep(BACKOFF_MS[i]);
      outcome = await putOnce(apiBase, token, responseId, { name: u.name, file: u.file });
    }
    (outcome === 'ok' ? result.sent : result.failed).push(u.name);
  }
  return result;
}

export function formatSize(bytes: number, lang: 'vi' | 'en'): string {
  const nf = (n: number) => new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 1 }).format(n);
  if (bytes >= 1_048_576) return `${nf(bytes / 1_048_576)} MB`;
  if (bytes >= 1024) return `${nf(bytes / 1024)} KB`;
  return `${bytes} B`;
}
