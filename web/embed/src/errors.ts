// Error messages at their question, in the page's language: Ajv's (client-side validation) and the server's
// (problem+json `errors[].path/code`, e.g. `answers.loan_amount_vnd` / `too_small`).
import type { ErrorSchema, RJSFSchema, RJSFValidationError, UiSchema } from '@rjsf/utils';

import type { Lang } from './config.ts';
import { formatNumber, type MessageKey, type T } from './i18n.ts';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The schema of one property as the form uses it: typed at the top, or inside the `then` of its relevance. */
export function propertySchema(objectSchema: RJSFSchema | undefined, name: string): RJSFSchema | undefined {
  if (!objectSchema) return undefined;
  const top = (objectSchema.properties as Json | undefined)?.[name];
  if (isObject(top) && 'type' in top) return top as RJSFSchema;
  for (const part of (objectSchema.allOf as unknown[] | undefined) ?? []) {
    const then = isObject(part) ? (part.then as Json | undefined) : undefined;
    const inner = isObject(then) ? (then.properties as Json | undefined)?.[name] : undefined;
    if (isObject(inner)) return inner as RJSFSchema;
  }
  return isObject(top) ? (top as RJSFSchema) : undefined;
}

function uiOptionsAt(uiSchema: UiSchema | undefined, path: string[]): Json {
  let node: unknown = uiSchema;
  for (const p of path) node = isObject(node) ? node[p] : undefined;
  return isObject(node) && isObject(node['ui:options']) ? (node['ui:options'] as Json) : {};
}

function withUnit(n: number, unit: unknown, lang: Lang): string {
  return typeof unit === 'string' && unit ? `${formatNumber(n, lang)} ${unit}` : formatNumber(n, lang);
}

function patternKey(path: string[], pattern: unknown): MessageKey {
  if (path[path.length - 1] === 'tax_code') return 'e_tax_code';
  if (typeof pattern === 'string' && pattern.startsWith('^https?')) return 'e_url';
  return 'e_pattern';
}

// Keywords whose failure is already explained by an error on a property below them.
const STRUCTURAL = new Set(['if', 'then', 'else', 'allOf', 'anyOf', 'const', 'additionalProperties']);

/** RJSF `transformErrors`: one message per broken rule, at the question, in the page's language. */
export function makeTransformErrors(t: T, lang: Lang, schemaOf: (path: string[]) => RJSFSchema | undefined) {
  return (errors: RJSFValidationError[], uiSchema?: UiSchema): RJSFValidationError[] => {
    const out: RJSFValidationError[] = [];
    const seen = new Set<string>();
    for (const e of errors) {
      if (!e.name || STRUCTURAL.has(e.name)) continue;
      let path = (e.property ?? '').replace(/^\./, '').split('.').filter(Boolean);
      // A choice inside a select_multiple answer: show it at the question, not at the item.
      if (path.length > 0 && /^\d+$/.test(path[path.length - 1])) path = path.slice(0, -1);
      const schema = schemaOf(path);
      const unit = uiOptionsAt(uiSchema, path).unit;
      const p = (e.params ?? {}) as Json;
      let message: string;
      switch (e.name) {
        case 'required':
          message = schema?.type === 'array' ? t('e_required_multi') : t('e_required');
          break;
        case 'minItems':
          message = t('e_required_multi');
          break;
        case 'type':
          if (p.type === 'null') message = t('e_not_relevant');
          else if (p.type === 'integer') message = t('e_integer');
          else if (p.type === 'number') message = t('e_number');
          else if (p.type === 'boolean') message = t('e_boolean');
          else if (p.type === 'object') message = t('e_geopoint');
          else if (p.type === 'array' || schema?.oneOf) message = t('e_choice');
          else message = t('e_text');
          break;
        case 'minimum':
          message = t('e_min', { n: withUnit(Number(p.limit), unit, lang) });
          break;
        case 'maximum':
          message = t('e_max', { n: withUnit(Number(p.limit), unit, lang) });
          break;
        case 'exclusiveMinimum':
          message = t('e_min_excl', { n: withUnit(Number(p.limit), unit, lang) });
          break;
        case 'exclusiveMaximum':
          message = t('e_max_excl', { n: withUnit(Number(p.limit), unit, lang) });
          break;
        case 'minLength':
          message = t('e_min_length', { n: Number(p.limit) });
          break;
        case 'maxLength':
          message = t('e_max_length', { n: Number(p.limit), m: '…' });
          break;
        case 'pattern':
          message = t(patternKey(path, p.pattern));
          break;
        case 'format':
          message = t('e_date');
          break;
        case 'oneOf':
        case 'enum':
          message = t('e_choice');
          break;
        case 'uniqueItems':
          message = t('e_duplicate');
          break;
        case 'maxItems': // only an exclusive choice limits a multiple choice (its if/then)
          message = t('e_exclusive');
          break;
        case 'not': // a file name with a character the server refuses
          message = t('e_file_name');
          break;
        default:
          message = t('e_other');
      }
      const property = path.length ? `.${path.join('.')}` : '';
      const key = `${property}\u0000${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...e, property, message, stack: `${e.title ?? property}: ${message}` });
    }
    return out;
  };
}

export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

/** The server's field errors as an RJSF ErrorSchema (`extraErrors`), worded by their code in the page's language. */
export function serverErrorSchema(
  problems: FieldProblem[],
  t: T,
  lang: Lang,
  schemaOf: (path: string[]) => RJSFSchema | undefined,
  uiSchema: UiSchema,
  formData: Json,
): { errorSchema: ErrorSchema; unplaced: FieldProblem[] } {
  const root: Json = {};
  const unplaced: FieldProblem[] = [];
  for (const pr of problems) {
    let path = pr.path.split('.').filter(Boolean);
    if (path.length > 2 && /^\d+$/.test(path[path.length - 1])) path = path.slice(0, -1);
    const placeable = (path[0] === 'answers' || path[0] === 'facility') && path.length >= 2;
    if (!placeable) {
      unplaced.push(pr);
      continue;
    }
    const schema = schemaOf(path);
    const unit = uiOptionsAt(uiSchema, path).unit;
    let value: unknown = formData;
    for (const p of path) value = isObject(value) ? value[p] : undefined;
    const message = serverMessage(pr, t, lang, schema, unit, value, path);
    let node = root;
    for (const p of path) {
      if (!isObject(node[p])) node[p] = {};
      node = node[p] as Json;
    }
    const list = (node.__errors as string[] | undefined) ?? [];
    if (!list.includes(message)) list.push(message);
    node.__errors = list;
  }
  return { errorSchema: root as ErrorSchema, unplaced };
}

function serverMessage(
  pr: FieldProblem,
  t: T,
  lang: Lang,
  schema: RJSFSchema | undefined,
  unit: unknown,
  value: unknown,
  path: string[],
): string {
  switch (pr.code) {
    case 'required':
    case 'missing':
    case 'null':
      return schema?.type === 'array' ? t('e_required_multi') : t('e_required');
    case 'too_small':
      return typeof schema?.minimum === 'number' ? t('e_min', { n: withUnit(schema.minimum, unit, lang) }) : t('e_other');
    case 'too_large':
      return typeof schema?.maximum === 'number' ? t('e_max', { n: withUnit(schema.maximum, unit, lang) }) : t('e_other');
    case 'type':
    case 'int_type':
    case 'int_parsing':
    case 'float_type':
    case 'not_finite':
      if (schema?.type === 'integer') return t('e_integer');
      if (schema?.type === 'number') return t('e_number');
      if (schema?.type === 'boolean') return t('e_boolean');
      if (schema?.type === 'array') return t('e_choice');
      if (schema?.type === 'object') return t('e_geopoint');
      return t('e_text');
    case 'out_of_range':
    case 'unknown_key':
      return t('e_geopoint');
    case 'exclusive_choice':
      return t('e_exclusive');
    case 'invalid_file_name':
      return t('e_file_name');
    case 'too_short':
    case 'string_too_short':
      return t('e_min_length', { n: schema?.minLength ?? 1 });
    case 'too_long':
    case 'string_too_long':
      return t('e_max_length', { n: schema?.maxLength ?? '', m: typeof value === 'string' ? value.length : '…' });
    case 'pattern':
    case 'string_pattern_mismatch':
      return t(patternKey(path, schema?.pattern));
    case 'invalid_date':
      return t('e_date');
    case 'check_failed':
      // a check across answers: its own message, which the server writes in the language asked for
      return pr.message || t('e_other');
    case 'not_a_choice':
    case 'enum':
    case 'literal_error':
      return t('e_choice');
    case 'duplicate_choice':
      return t('e_duplicate');
    case 'not_relevant':
      return t('e_not_relevant');
    case 'unknown_ward':
    case 'ward_not_in_province':
      return t('e_unknown_ward');
    case 'out_of_scope':
      return path[path.length - 1] === 'tax_code' ? t('e_out_of_scope') : t('e_other');
    case 'duplicate':
      // Only a tax code registered in another province comes back so (one of this province is recognised).
      return path[path.length - 1] === 'tax_code' ? t('e_out_of_scope') : t('e_other');
    case 'value_error':
      if (path[path.length - 1] === 'tax_code') return t('e_tax_code');
      if (path[path.length - 1] === 'established_year') return t('e_future_year');
      return t('e_other');
    default:
      return t('e_other');
  }
}
