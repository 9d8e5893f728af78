// What was typed, shown read-only and copyable as plain text: the page keeps its promise "Những gì đã nhập vẫn
// còn trên trang này" when the link is closed (revoked, expired, full) while the page is open, and when a tax
// code cannot be reported here. Every answer is written as the form shows it: choice labels, Có/Không, numbers
// in the page's language with their unit, locations, dates as dd/mm/yyyy, file names.
import type { RJSFSchema, UiSchema } from '@rjsf/utils';

import type { Lang } from './config.ts';
import { propertySchema } from './errors.ts';
import { formatNumber, type T } from './i18n.ts';

type Json = Record<string, unknown>;

export interface KeptLine {
  name: string;
  label: string;
  value: string;
}

export interface KeptBlock {
  key: string;
  title: string;
  lines: KeptLine[];
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function choiceTitle(schema: RJSFSchema | undefined, code: unknown): string {
  const options = (schema?.oneOf ?? schema?.anyOf ?? []) as unknown[];
  for (const o of options) if (isObject(o) && o.const === code && typeof o.title === 'string') return o.title;
  return String(code);
}

function showDate(v: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : v;
}

/** One answer as text. */
export function showAnswer(value: unknown, schema: RJSFSchema | undefined, ui: Json, lang: Lang, t: T): string {
  const options = isObject(ui['ui:options']) ? (ui['ui:options'] as Json) : {};
  if (typeof value === 'boolean') {
    const names = ui['ui:enumNames'];
    if (Array.isArray(names) && names.length === 2) return String(value ? names[0] : names[1]);
    return value ? t('yes') : t('no');
  }
  if (typeof value === 'number') {
    const unit = options.unit;
    return typeof unit === 'string' && unit ? `${formatNumber(value, lang)} ${unit}` : formatNumber(value, lang);
  }
  if (Array.isArray(value)) {
    const items = isObject(schema?.items) ? (schema.items as RJSFSchema) : undefined;
    return value.map((v) => choiceTitle(items, v)).join('; ');
  }
  if (isObject(value)) {
    // a location: latitude, longitude, accuracy (and altitude) titled as the form titles them
    const order = ['lat', 'lon', 'accuracy_m', 'alt'];
    return order
      .filter((k) => typeof value[k] === 'number')
      .map((k) => {
        const title = isObject(ui[k]) && typeof (ui[k] as Json)['ui:title'] === 'string' ? String((ui[k] as Json)['ui:title']) : k;
        return `${title} ${formatNumber(value[k] as number, lang)}`;
      })
      .join('; ');
  }
  if (typeof value === 'string') {
    if (schema?.oneOf || schema?.anyOf) return choiceTitle(schema, value);
    if (schema?.format === 'date') return showDate(value);
    return value;
  }
  return value === undefined || value === null ? '' : String(value);
}

/** The answered questions of one section, in the form's order (`ui:order`, then the schema's). */
export function keptLines(objectSchema: RJSFSchema, uiSchema: UiSchema | undefined, data: Json, lang: Lang, t: T): KeptLine[] {
  const ui = (uiSchema ?? {}) as Json;
  const declared = Object.keys((objectSchema.properties as Json | undefined) ?? {});
  const order = Array.isArray(ui['ui:order']) ? (ui['ui:order'] as string[]).filter((k) => k !== '*') : [];
  const names = [...order, ...declared.filter((k) => !order.includes(k)), ...Object.keys(data)];
  const lines: KeptLine[] = [];
  for (const name of [...new Set(names)]) {
    const value = data[name];
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    const schema = propertySchema(objectSchema, name);
    const qui = isObject(ui[name]) ? (ui[name] as Json) : {};
    const label = (typeof qui['ui:title'] === 'string' ? qui['ui:title'] : schema?.title) ?? name;
    lines.push({ name, label: String(label), value: showAnswer(value, schema, qui, lang, t) });
  }
  return lines;
}

/** Everything kept, as plain text to paste into a message or an e-mail. */
export function keptText(heading: string, blocks: KeptBlock[]): string {
  const parts = [heading];
  for (const b of blocks) {
    parts.push('', b.title, ...b.lines.map((l) => `- ${l.label}: ${l.value}`));
  }
  return `${parts.join('\n')}\n`;
}

/** Copy text to the clipboard: the Clipboard API where the frame may use it (`allow="clipboard-write"`), else
 * the selection of a hidden textarea (works in any frame, on the click's user activation). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused (a frame without the permission): the selection below
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  area.style.top = '0';
  document.body.appendChild(area);
  // no scrolling to it (in a portal's frame sized to the page, that would scroll the portal to the frame's top)
  area.focus({ preventScroll: true });
  area.setSelectionRange(0, text.length);
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
