// What the person typed survives a reload (the language switch reloads the page) and a dropped connection:
// kept in sessionStorage of this tab only (a shared computer does not keep it after the tab is closed).
// Storage may be unavailable (a third-party iframe with storage blocked): then the page works without it.
import type { ResponseBody } from './submission.ts';

export interface Receipt {
  questionnaire: string;
  title: string;
  id: string;
  received_at?: string;
}

export interface Draft {
  facility: Record<string, unknown>;
  facility_id?: string;
  facility_name?: string;
  answers: Record<string, Record<string, unknown>>;
  aside: Record<string, Record<string, unknown>>;
  /** A body sent at least once whose outcome is not known yet: the next attempt sends exactly it. */
  pending?: ResponseBody;
  receipts: Receipt[];
  current?: string;
}

export function emptyDraft(): Draft {
  return { facility: {}, answers: {}, aside: {}, receipts: [] };
}

function key(linkId: string): string {
  return `khuyencong-embed:${linkId}`;
}

export function loadDraft(linkId: string): Draft {
  try {
    const raw = window.sessionStorage.getItem(key(linkId));
    if (raw) return { ...emptyDraft(), ...(JSON.parse(raw) as Partial<Draft>) };
  } catch {
    // unavailable or unreadable: start empty
  }
  return emptyDraft();
}

export function saveDraft(linkId: string, draft: Draft): void {
  try {
    window.sessionStorage.setItem(key(linkId), JSON.stringify(draft));
  } catch {
    // unavailable or full: the page keeps working from memory
  }
}
