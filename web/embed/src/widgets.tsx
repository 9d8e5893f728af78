// The few RJSF pieces the hosted page replaces. Everything else (fields, validation, relevance through
// if/then/else, checkboxes, dates, selects) is react-jsonschema-form's own.
import { useEffect, useId, useRef, useState, type ChangeEvent } from 'react';
import { getDefaultRegistry } from '@rjsf/core';
import type {
  ErrorListProps,
  FieldProps,
  FieldTemplateProps,
  ObjectFieldTemplateProps,
  RegistryFieldsType,
  RegistryWidgetsType,
  TemplatesType,
  WidgetProps,
} from '@rjsf/utils';
import { ariaDescribedByIds, getUiOptions } from '@rjsf/utils';

import { accepts, formatSize, type Shelf } from './attachments.ts';
import type { Lang } from './config.ts';
import { formatNumber, type T } from './i18n.ts';
import { matches } from './wards.ts';

export interface PageContext {
  lang: Lang;
  t: T;
  /** The questionnaire on screen (files are kept per questionnaire and question). */
  questionnaire?: string;
  /** The chosen photos and files, until their response is stored and they are uploaded. */
  shelf?: Shelf;
  /** The upload route's size limit (GET /embed's config). */
  maxBytes?: number;
  /** The question's label for an error's path (`answers.loan_amount_vnd`), for the error summary. */
  titleOf?: (path: string[]) => string | undefined;
}

const stock = getDefaultRegistry();

/** Text as typed → the number it means, or null when it is not one (then the text itself is kept as the
 * answer, so the person's typing is never replaced and validation says what is wrong). */
export function parseNumber(text: string, integer: boolean, lang: Lang): number | null {
  const s = text.trim().replace(/\s+/g, '');
  if (s === '') return null;
  let canonical: string | null = null;
  if (/^[+-]?\d+$/.test(s)) canonical = s;
  else if (/^[+-]?\d{1,3}([.,]\d{3})+$/.test(s) && (integer || new Set(s.replace(/[^.,]/g, '')).size === 1)) {
    // 500.000.000 or 500,000,000: thousands grouped. For a decimal question a single "1,500" is ambiguous;
    // read it the page language's way (vi: decimal comma, en: thousands comma).
    const seps = s.replace(/[^.,]/g, '');
    const single = seps.length === 1;
    if (!integer && single && ((lang === 'vi' && seps === ',') || (lang === 'en' && seps === '.'))) {
      canonical = s.replace(',', '.');
    } else {
      canonical = s.replace(/[.,]/g, '');
    }
  } else if (!integer && /^[+-]?\d*[.,]\d+$/.test(s)) canonical = s.replace(',', '.');
  if (canonical === null) return null;
  const n = Number(canonical);
  if (!Number.isFinite(n)) return null;
  if (integer && !Number.isSafeInteger(n)) return null;
  return n;
}

function moneyReading(n: number, unit: unknown, ctx: PageContext): string | null {
  if (typeof unit !== 'string' || !/VND|đồng/i.test(unit) || Math.abs(n) < 1_000_000) return null;
  const round = (x: number) => formatNumber(Math.round(x * 1000) / 1000, ctx.lang);
  return Math.abs(n) >= 1_000_000_000
    ? ctx.t('moneyBillion', { n: round(n / 1_000_000_000) })
    : ctx.t('moneyMillion', { n: round(n / 1_000_000) });
}

/** Numbers typed as text (no spinner, no wheel, nothing filled in), grouped digits accepted, unit beside. */
function NumberInput(props: WidgetProps) {
  const { id, value, onChange, onBlur, onFocus, disabled, readonly, schema, options, registry, required } = props;
  const ctx = registry.formContext as PageContext;
  const integer = schema.type === 'integer';
  const show = (v: unknown) => (typeof v === 'number' ? formatNumber(v, ctx.lang) : typeof v === 'string' ? v : '');
  const [text, setText] = useState<string>(() => show(value));
  // The value may change from outside (a restored draft, an answer brought back when a question reappears).
  useEffect(() => {
    const mine = parseNumber(text, integer, ctx.lang);
    if (typeof value === 'number' ? mine !== value : value !== undefined ? value !== text : text.trim() !== '') {
      setText(show(value));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const handle = (e: ChangeEvent<HTMLInputElement>) => {
    const raw = e.target.value;
    setText(raw);
    if (raw.trim() === '') onChange(undefined);
    else {
      const n = parseNumber(raw, integer, ctx.lang);
      onChange(n === null ? raw : n);
    }
  };
  const reading = typeof value === 'number' ? moneyReading(value, options.unit, ctx) : null;
  return (
    <div className="kc-number">
      <div className="kc-input-unit">
        <input
          id={id}
          name={props.htmlName || id}
          className="form-control"
          type="text"
          inputMode={integer ? 'numeric' : 'decimal'}
          autoComplete="off"
          value={text}
          required={required}
          disabled={disabled}
          readOnly={readonly}
          onChange={handle}
          onBlur={() => {
            if (typeof value === 'number') setText(show(value));
            onBlur(id, value);
          }}
          onFocus={() => onFocus(id, value)}
          aria-describedby={ariaDescribedByIds(id)}
        />
        {typeof options.unit === 'string' && options.unit ? <span className="kc-unit">{options.unit}</span> : null}
      </div>
      {reading ? <div className="kc-reading">= {reading}</div> : null}
    </div>
  );
}

/** Strings keep RJSF's input (with `stripSpaces` for codes); numbers get NumberInput. */
function TextWidget(props: WidgetProps) {
  if (props.schema.type === 'integer' || props.schema.type === 'number') return <NumberInput {...props} />;
  const { options, onChange } = props;
  const Stock = stock.widgets.TextWidget;
  if (options.stripSpaces) {
    return (
      <Stock
        {...props}
        options={{ ...options, inputMode: options.inputMode }}
        onChange={(v: unknown) => onChange(typeof v === 'string' ? v.replace(/\s+/g, '') || undefined : v)}
      />
    );
  }
  return <Stock {...props} />;
}

/** RJSF's radio group, plus "clear" for an optional question answered by mistake (a radio cannot be unticked). */
function RadioWidget(props: WidgetProps) {
  const Stock = stock.widgets.RadioWidget;
  const ctx = props.registry.formContext as PageContext;
  const answered = props.value !== undefined && props.value !== null;
  return (
    <div className={props.options.inline ? 'kc-radio kc-inline' : 'kc-radio'} role="group" aria-labelledby={`${props.id}__label`}>
      <Stock {...props} />
      {!props.required && answered && !props.disabled && !props.readonly ? (
        <button type="button" className="kc-clear" onClick={() => props.onChange(undefined)}>
          {ctx.t('clearAnswer')}
        </button>
      ) : null}
    </div>
  );
}

function SelectWidget(props: WidgetProps) {
  const Stock = stock.widgets.SelectWidget;
  const ctx = props.registry.formContext as PageContext;
  return <Stock {...props} placeholder={props.placeholder || ctx.t('choose')} />;
}

/** A long list (a province's wards), in the order the schema gives (Vietnamese collation, see wards.ts), with a
 * search box above: typing, accents optional, narrows the list to the names that match; Enter picks the only
 * match. The chosen ward stays in the list whatever is typed. */
function SearchSelectWidget(props: WidgetProps) {
  const { id, value, onChange, onBlur, onFocus, disabled, readonly, options, registry, required } = props;
  const ctx = registry.formContext as PageContext;
  const [query, setQuery] = useState('');
  const all = (options.enumOptions ?? []).map((o) => ({ value: String(o.value), label: String(o.label) }));
  const typed = query.trim() !== '';
  const found = typed ? all.filter((o) => matches(o.label, query)) : all;
  const shown = typed ? all.filter((o) => o.value === value || found.includes(o)) : all;
  const off = disabled || readonly;
  return (
    <div className="kc-search-select">
      <input
        id={`${id}__search`}
        type="search"
        className="form-control kc-search"
        value={query}
        placeholder={ctx.t('searchPlaceholder')}
        aria-label={ctx.t('searchLabel')}
        aria-controls={id}
        aria-describedby={`${id}__found`}
        autoComplete="off"
        spellCheck={false}
        disabled={off}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== 'Enter') return;
          e.preventDefault(); // not the form's submit
          if (found.length === 1) onChange(found[0].value);
        }}
      />
      <p className="kc-search-found" id={`${id}__found`} aria-live="polite">
        {typed ? (found.length ? ctx.t('searchFound', { n: found.length }) : ctx.t('searchNone')) : ''}
      </p>
      <select
        id={id}
        name={props.htmlName || id}
        className="form-control"
        value={typeof value === 'string' ? value : ''}
        required={required}
        disabled={off}
        onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
        onBlur={() => onBlur(id, value)}
        onFocus={() => onFocus(id, value)}
        aria-describedby={ariaDescribedByIds(id)}
      >
        <option value="">{ctx.t('choose')}</option>
        {shown.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** RJSF's checkboxes, named by their question for assistive technology. An exclusive choice ("none", from
 * `ui:options.exclusive`) is ticked alone, as the server requires: ticking it unticks the others, which stay
 * disabled until it is unticked. */
function CheckboxesWidget(props: WidgetProps) {
  const Stock = stock.widgets.CheckboxesWidget;
  const exclusive = Array.isArray(props.options.exclusive) ? (props.options.exclusive as string[]) : [];
  const value = Array.isArray(props.value) ? (props.value as unknown[]) : [];
  const alone = value.find((v) => exclusive.includes(v as string));
  const codes = (props.options.enumOptions ?? []).map((o) => o.value as string);
  const onChange = (next: unknown) => {
    const list = Array.isArray(next) ? next : [];
    const added = list.find((v) => exclusive.includes(v as string) && !value.includes(v));
    props.onChange(added !== undefined ? [added] : next);
  };
  const enumDisabled: WidgetProps['options']['enumDisabled'] =
    alone !== undefined ? [...(props.options.enumDisabled ?? []), ...codes.filter((c) => c !== alone)] : props.options.enumDisabled;
  return (
    <div className="kc-checkboxes" role="group" aria-labelledby={`${props.id}__label`}>
      <Stock {...props} options={{ ...props.options, enumDisabled }} onChange={exclusive.length ? onChange : props.onChange} />
    </div>
  );
}

/** A photo or a file (`ui:options.attachment`): the answer is the file's name; the file waits on the page's
 * shelf until the response is stored, then is uploaded. Refused before anything is sent when the question does
 * not take its type or it is larger than the server allows. */
function AttachmentWidget(props: WidgetProps) {
  const { id, value, onChange, disabled, readonly, options, registry, name, required } = props;
  const ctx = registry.formContext as PageContext;
  const kind = options.attachment === 'file' ? 'file' : 'image';
  const acceptList = typeof options.accept === 'string' && options.accept ? options.accept.split(',') : [];
  const input = useRef<HTMLInputElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const chosen = ctx.questionnaire ? ctx.shelf?.get(ctx.questionnaire, name) : undefined;
  const shown = chosen && chosen.name === value ? chosen : undefined;
  const pick = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = ''; // choosing the same file again after removing it still fires a change
    if (!file || !ctx.questionnaire || !ctx.shelf) return;
    const max = ctx.maxBytes ?? Infinity;
    if (!accepts(acceptList, kind, file.type)) {
      setProblem(ctx.t('fileWrongType', { name: file.name, accept: acceptList.join(', ') || 'image/*' }));
      return;
    }
    if (file.size > max) {
      setProblem(ctx.t('fileTooBig', { name: file.name, max: formatSize(max, ctx.lang) }));
      return;
    }
    if (file.size === 0) {
      setProblem(ctx.t('fileEmpty', { name: file.name }));
      return;
    }
    setProblem(null);
    onChange(ctx.shelf.put(ctx.questionnaire, name, file));
  };
  const remove = () => {
    if (ctx.questionnaire) ctx.shelf?.remove(ctx.questionnaire, name);
    setProblem(null);
    onChange(undefined);
  };
  return (
    <div className="kc-file" data-attachment={kind}>
      {/* The browser's own button speaks the browser's language: ours speaks the page's. */}
      <label htmlFor={id} className={`kc-file-button ${disabled || readonly ? 'kc-disabled' : ''}`}>
        {shown ? ctx.t(kind === 'image' ? 'filePhotoOther' : 'fileChooseOther') : ctx.t(kind === 'image' ? 'filePhoto' : 'fileChoose')}
      </label>
      <input
        ref={input}
        id={id}
        name={props.htmlName || id}
        type="file"
        className="kc-file-input"
        accept={acceptList.join(',') || (kind === 'image' ? 'image/*' : undefined)}
        disabled={disabled || readonly}
        required={required && !shown}
        onChange={pick}
        aria-describedby={ariaDescribedByIds(id)}
      />
      {shown ? (
        <p className="kc-file-chosen">
          {ctx.t('fileChosen', { name: shown.name, size: formatSize(shown.file.size, ctx.lang) })}{' '}
          {!disabled && !readonly ? (
            <button type="button" className="kc-clear" onClick={remove}>
              {ctx.t('fileRemove')}
            </button>
          ) : null}
        </p>
      ) : null}
      {problem ? (
        <p className="kc-file-problem" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

export const widgets: RegistryWidgetsType = {
  TextWidget,
  RadioWidget,
  SelectWidget,
  SearchSelectWidget,
  CheckboxesWidget,
  AttachmentWidget,
};

type Point = { lat?: unknown; lon?: unknown; accuracy_m?: unknown; alt?: unknown };
const POINT_KEYS = ['lat', 'lon', 'accuracy_m'] as const;

/** A coordinate as typed: one decimal separator, "." or "," (no thousands grouping in coordinates). */
export function parseCoordinate(text: string): number | string | undefined {
  const s = text.trim().replace(/\s+/g, '');
  if (s === '') return undefined;
  const canonical = s.replace(',', '.');
  return /^[+-]?\d+(\.\d+)?$/.test(canonical) ? Number(canonical) : text;
}

function showCoordinate(v: unknown, lang: Lang): string {
  if (typeof v === 'number') return lang === 'vi' ? String(v).replace('.', ',') : String(v);
  return typeof v === 'string' ? v : '';
}

/** A location (`ui:field: geopoint`): latitude, longitude and accuracy typed, or the device's position with
 * "Use my location" (the portal's iframe needs `allow="geolocation"`). Validated by the JSON Schema like
 * every answer: the server's ranges, lat and lon required, no other key. */
function GeopointField(props: FieldProps) {
  const { fieldPathId, formData, onChange, disabled, readonly, registry, errorSchema, uiSchema } = props;
  const ctx = registry.formContext as PageContext;
  const point: Point = formData && typeof formData === 'object' ? (formData as Point) : {};
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(POINT_KEYS.map((k) => [k, showCoordinate(point[k], ctx.lang)])),
  );
  const [locating, setLocating] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // A value from outside (a restored draft, the device's position) replaces what is shown.
  useEffect(() => {
    setTexts((prev) => {
      const next = { ...prev };
      for (const k of POINT_KEYS) {
        if (parseCoordinate(prev[k] ?? '') !== point[k]) next[k] = showCoordinate(point[k], ctx.lang);
      }
      return next;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [point.lat, point.lon, point.accuracy_m]);
  const emit = (next: Point) => {
    const clean = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined));
    onChange(Object.keys(clean).length ? (clean as Point) : undefined, fieldPathId.path);
  };
  const type = (k: (typeof POINT_KEYS)[number], text: string) => {
    setTexts((prev) => ({ ...prev, [k]: text }));
    emit({ ...point, [k]: parseCoordinate(text) });
  };
  const locate = () => {
    if (!('geolocation' in navigator)) return;
    setLocating(true);
    setProblem(null);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        setLocating(false);
        const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
        const next: Point = { lat: round(pos.coords.latitude, 6), lon: round(pos.coords.longitude, 6) };
        if (Number.isFinite(pos.coords.accuracy)) next.accuracy_m = round(pos.coords.accuracy, 1);
        if (typeof pos.coords.altitude === 'number' && Number.isFinite(pos.coords.altitude)) next.alt = round(pos.coords.altitude, 1);
        emit(next);
      },
      (err) => {
        setLocating(false);
        setProblem(err.code === err.PERMISSION_DENIED ? ctx.t('geoDenied') : ctx.t('geoFailed', { detail: err.message || String(err.code) }));
      },
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 },
    );
  };
  const titles = (uiSchema ?? {}) as Record<string, { 'ui:title'?: string } | undefined>;
  const base = fieldPathId.$id;
  const errorsOf = (k: string) =>
    ((errorSchema as Record<string, { __errors?: string[] } | undefined> | undefined)?.[k]?.__errors ?? []).filter(Boolean);
  return (
    <div className="kc-geopoint" id={base}>
      <div className="kc-geopoint-inputs">
        {POINT_KEYS.map((k) => (
          <div key={k} className={`kc-geopoint-part ${errorsOf(k).length ? 'kc-has-error' : ''}`}>
            <label htmlFor={`${base}_${k}`}>{titles[k]?.['ui:title'] ?? k}</label>
            <input
              id={`${base}_${k}`}
              className="form-control"
              type="text"
              inputMode="decimal"
              autoComplete="off"
              value={texts[k] ?? ''}
              disabled={disabled || readonly || locating}
              onChange={(e) => type(k, e.target.value)}
            />
            {errorsOf(k).length ? (
              <ul className="kc-field-errors" id={`${base}_${k}__error`}>
                {errorsOf(k).map((m, i) => (
                  <li key={i}>{m}</li>
                ))}
              </ul>
            ) : null}
          </div>
        ))}
      </div>
      <p className="kc-hint">{ctx.t('geoHint')}</p>
      {typeof navigator !== 'undefined' && 'geolocation' in navigator ? (
        <button type="button" className="kc-geo-button" onClick={locate} disabled={disabled || readonly || locating}>
          {locating ? ctx.t('geoLocating') : ctx.t('geoUseMine')}
        </button>
      ) : null}
      {problem ? (
        <p className="kc-file-problem" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

/** A question that is not relevant resolves to `{type: "null"}` (the `else` of its if/then/else): it is not
 * shown, and unlike RJSF's NullField nothing is written for it. */
function NullField(_props: FieldProps) {
  return null;
}

/** Numbers go straight to the widget: NumberInput does its own parsing (RJSF's NumberField reads the browser's
 * locale, not the page's language). */
function NumberField(props: FieldProps) {
  const { StringField } = props.registry.fields;
  return <StringField {...props} />;
}

export const fields: RegistryFieldsType = { NullField, NumberField, geopoint: GeopointField };

function FieldTemplate(props: FieldTemplateProps) {
  const { id, label, children, errors, hidden, required, displayLabel, schema, uiSchema, rawErrors, classNames } = props;
  if (hidden || schema.type === 'null') return null;
  const ui = getUiOptions(uiSchema);
  const hint = typeof ui.hint === 'string' ? ui.hint : null;
  const geopoint = ui.field === 'geopoint';
  const isObject = schema.type === 'object' && !geopoint;
  const bad = (rawErrors?.length ?? 0) > 0;
  const group = schema.type === 'boolean' || ui.widget === 'radio' || ui.widget === 'checkboxes' || geopoint;
  if (isObject) return <div className={classNames}>{children}</div>;
  return (
    <div className={`kc-question ${classNames ?? ''} ${bad ? 'kc-has-error' : ''}`} data-question={id}>
      {displayLabel || group ? (
        group ? (
          <div className="kc-label" id={`${id}__label`}>
            {label}
            {required ? <span className="kc-required" aria-hidden="true"> *</span> : null}
          </div>
        ) : (
          <label className="kc-label" htmlFor={id}>
            {label}
            {required ? <span className="kc-required" aria-hidden="true"> *</span> : null}
          </label>
        )
      ) : null}
      {hint ? (
        <div className="kc-hint" id={`${id}__description`}>
          {hint}
        </div>
      ) : null}
      {children}
      {errors}
    </div>
  );
}

function ObjectFieldTemplate(props: ObjectFieldTemplateProps) {
  const { title, description, properties, fieldPathId } = props;
  const nested = fieldPathId.path.length > 0;
  return (
    <fieldset className={nested ? 'kc-section' : 'kc-root'} id={fieldPathId.$id}>
      {nested && title ? <legend className="kc-section-title">{title}</legend> : null}
      {nested && typeof description === 'string' && description ? <p className="kc-section-intro">{description}</p> : null}
      {properties.filter((p) => !p.hidden).map((p) => (
        <div key={p.name}>{p.content}</div>
      ))}
    </fieldset>
  );
}

/** The list of what to fix, at the top, each line a link to its question. */
function ErrorList(props: ErrorListProps) {
  const ctx = props.registry.formContext as PageContext;
  const headingId = useId();
  const items = props.errors.filter((e) => e.property);
  if (items.length === 0) return null;
  // The browser's own errors carry their question's title; the server's (`extraErrors`) carry only a path.
  const title = (e: (typeof items)[number]) =>
    e.title || ctx.titleOf?.((e.property ?? '').replace(/^\./, '').split('.').filter(Boolean)) || '';
  const focus = (property: string) => {
    const id = `root_${property.replace(/^\./, '').split('.').join('_')}`;
    const el = document.getElementById(id) ?? document.querySelector<HTMLElement>(`[id^="${id}"]`);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      const target = el.matches('input,select,textarea') ? el : el.querySelector<HTMLElement>('input,select,textarea');
      target?.focus();
    }
  };
  return (
    <div className="kc-errors" role="alert" aria-labelledby={headingId}>
      <p id={headingId}>{ctx.t('errorSummary', { n: items.length })}</p>
      <ul>
        {items.map((e, i) => (
          <li key={i}>
            <a
              href={`#${e.property}`}
              onClick={(ev) => {
                ev.preventDefault();
                focus(e.property ?? '');
              }}
            >
              {title(e) ? `${title(e)}: ` : ''}
              {e.message}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

function FieldErrorTemplate(props: { errors?: unknown[]; fieldPathId: { $id: string } }) {
  const errors = (props.errors ?? []).filter((e) => typeof e === 'string' && e) as string[];
  if (errors.length === 0) return null;
  return (
    <ul className="kc-field-errors" id={`${props.fieldPathId.$id}__error`}>
      {errors.map((e, i) => (
        <li key={i}>{e}</li>
      ))}
    </ul>
  );
}

export const templates: Partial<TemplatesType> = {
  FieldTemplate,
  ObjectFieldTemplate,
  ErrorListTemplate: ErrorList,
  FieldErrorTemplate: FieldErrorTemplate as TemplatesType['FieldErrorTemplate'],
};
