// The hosted form page: the establishment's details and one questionnaire at a time, rendered by
// react-jsonschema-form from the server's JSON Schema and UI schema, posted with the form link's token.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import Form, { type IChangeEvent } from '@rjsf/core';
import { createSchemaUtils, type ErrorSchema, type RJSFSchema, type UiSchema } from '@rjsf/utils';
import { customizeValidator } from '@rjsf/validator-ajv8';
import Ajv2020 from 'ajv/dist/2020.js';

import { Shelf, uploadAll, type Upload, type UploadResult } from './attachments.ts';
import type { EmbedConfig, Lang, LinkState, QuestionnaireConfig } from './config.ts';
import { makeTransformErrors, propertySchema, serverErrorSchema } from './errors.ts';
import { facilityBody, facilitySchema, facilityUiSchema } from './facility.ts';
import { formatDateTime, makeT, rjsfTranslator, type MessageKey, type T } from './i18n.ts';
import { copyText, keptLines, keptText, type KeptBlock } from './kept.ts';
import { settle } from './relevance.ts';
import { emptyDraft, loadDraft, saveDraft, type Draft, type Receipt } from './storage.ts';
import { linkReason, newId, nowWithOffset, postWithRetries, type Outcome, type ResponseBody } from './submission.ts';
import { fields, templates, widgets, type PageContext } from './widgets.tsx';

// Ajv in its JSON Schema 2020-12 mode: the dialect of the server's export.
export const validator = customizeValidator({ AjvClass: Ajv2020 as never });

/** Nothing is answered before the person answers it. RJSF's defaults would otherwise tick `false` for a
 * required yes/no, pick the first `const` of a select, and add empty arrays and objects. */
export const DEFAULT_STATE = {
  emptyObjectFields: 'skipDefaults',
  arrayMinItems: { populate: 'never' },
  allOf: 'skipDefaults',
  constAsDefaults: 'never',
  mergeDefaultsIntoFormData: 'useFormDataIfPresent',
  requiredBooleanDefault: 'skip',
} as const;

type Phase =
  | { kind: 'idle' }
  | { kind: 'sending'; attempt: number }
  | { kind: 'unknown' }
  | {
      kind: 'message';
      key: MessageKey;
      params?: Record<string, string | number>;
      extra?: string[];
      /** offer "Sao chép" (copy every answer) beside the message */
      copy?: boolean;
    };

const CLOSED_MESSAGE: Record<Exclude<LinkState, 'active'>, MessageKey> = {
  revoked: 'linkRevoked',
  expired: 'linkExpired',
  exhausted: 'linkExhausted',
  unknown: 'linkUnknown',
};

function answersSchemaOf(q: QuestionnaireConfig): RJSFSchema {
  // Nested under `answers`, the questionnaire's own `$schema`/`$id` would start a new resource; the rest is as served.
  const { $schema: _dialect, $id: _id, ...rest } = q.schema as RJSFSchema & { $schema?: string; $id?: string };
  return (q.description ? { ...rest, description: q.description } : rest) as RJSFSchema;
}

type Section = Record<string, unknown>;

/** The questions of a questionnaire answered by a photo or a file (their UI schema says so). */
function attachmentQuestions(q: QuestionnaireConfig | undefined): string[] {
  const ui = (q?.ui_schema ?? {}) as Record<string, unknown>;
  return Object.keys(ui).filter((k) => {
    const entry = ui[k] as { 'ui:options'?: { attachment?: unknown } } | undefined;
    return !k.startsWith('ui:') && typeof entry === 'object' && entry?.['ui:options']?.attachment !== undefined;
  });
}

/** The served UI schema, with this page's widget for photos and files (the geopoint field is named there). */
function pageUiSchema(q: QuestionnaireConfig | undefined): UiSchema {
  const ui: Record<string, unknown> = { ...((q?.ui_schema ?? {}) as Record<string, unknown>) };
  for (const k of attachmentQuestions(q)) ui[k] = { ...(ui[k] as object), 'ui:widget': 'AttachmentWidget' };
  return ui as UiSchema;
}

/** A restored draft names files the page no longer holds (files do not survive a reload): ask for them again. */
function withoutLostFiles(draft: Draft, questionnaires: QuestionnaireConfig[]): Draft {
  const answers = { ...draft.answers };
  for (const q of questionnaires) {
    const a = answers[q.key];
    if (!a) continue;
    const lost = attachmentQuestions(q).filter((k) => k in a);
    if (lost.length) answers[q.key] = Object.fromEntries(Object.entries(a).filter(([k]) => !lost.includes(k)));
  }
  return { ...draft, answers };
}

type Uploads = { responseId: string; state: 'sending' | 'done' | 'failed'; result?: UploadResult; todo: Upload[] };

function removeChangedErrors(errors: ErrorSchema, before: Record<string, Section>, after: Record<string, Section>): ErrorSchema {
  const out: Record<string, unknown> = { ...(errors as Record<string, unknown>) };
  for (const section of ['facility', 'answers']) {
    const node = out[section] as Record<string, unknown> | undefined;
    if (!node) continue;
    const copy = { ...node };
    for (const k of Object.keys(copy)) {
      if (JSON.stringify(before[section]?.[k]) !== JSON.stringify(after[section]?.[k])) delete copy[k];
    }
    out[section] = copy;
  }
  return out as ErrorSchema;
}

/** The top of the page into view: inside a portal's frame sized to its content (see height.ts) the portal
 * scrolls, not the frame. */
function scrollToTop() {
  window.requestAnimationFrame(() => {
    const top = document.querySelector<HTMLElement>('.kc-page');
    if (top) top.scrollIntoView({ block: 'start' });
    else window.scrollTo(0, 0);
  });
}

/** "Sao chép": every answer as plain text to the clipboard, and whether that worked. */
function CopyButton({ text, t }: { text: () => string; t: T }) {
  const [done, setDone] = useState<'ok' | 'failed' | null>(null);
  return (
    <span className="kc-copy">
      <button type="button" className="kc-copy-button" onClick={() => void copyText(text()).then((ok) => setDone(ok ? 'ok' : 'failed'))}>
        {t('copyAll')}
      </button>{' '}
      {done ? (
        <span role="status" className="kc-copy-status" data-copied={done}>
          {done === 'ok' ? t('copied') : t('copyFailed')}
        </span>
      ) : null}
    </span>
  );
}

/** What was typed, read-only: each section's answered questions as label and answer. */
function Kept({ blocks, text, t }: { blocks: KeptBlock[]; text: () => string; t: T }) {
  return (
    <section className="kc-kept" aria-labelledby="kc-kept-title">
      <h2 id="kc-kept-title">{t('keptTitle')}</h2>
      <p>{t('keptHow')}</p>
      <p>
        <CopyButton text={text} t={t} />
      </p>
      {blocks.map((b) => (
        <div key={b.key} className="kc-kept-block" data-kept={b.key}>
          <h3>{b.title}</h3>
          <dl>
            {b.lines.map((l) => (
              <div key={l.name} className="kc-kept-line" data-question={l.name}>
                <dt>{l.label}</dt>
                <dd>{l.value}</dd>
              </div>
            ))}
          </dl>
        </div>
      ))}
    </section>
  );
}

function focusFirstError() {
  window.requestAnimationFrame(() => {
    const el = document.querySelector<HTMLElement>('.kc-has-error');
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    el.querySelector<HTMLElement>('input,select,textarea')?.focus({ preventScroll: true });
  });
}

/** The other language's texts of the same questionnaire versions, from the public definition routes. */
async function inLanguage(cfg: EmbedConfig, lang: Lang): Promise<QuestionnaireConfig[]> {
  return Promise.all(
    (cfg.questionnaires ?? []).map(async (q) => {
      const base = `${cfg.api_base}/questionnaires/${encodeURIComponent(q.key)}/versions/${q.version}`;
      const get = async (suffix: string) => {
        const res = await fetch(`${base}${suffix}?lang=${lang}`, { credentials: 'omit' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      };
      const [definition, schema, uiSchema] = await Promise.all([get(''), get('/json-schema'), get('/ui-schema')]);
      return { ...q, title: definition.title ?? q.title, description: definition.description ?? null, schema, ui_schema: uiSchema };
    }),
  );
}

export default function App({ cfg: initial }: { cfg: EmbedConfig }) {
  const [cfg, setCfg] = useState(initial);
  const t = useMemo(() => makeT(cfg.lang), [cfg.lang]);
  const questionnaires = cfg.questionnaires ?? [];
  const linkId = cfg.link?.id ?? 'link';
  const [draft, setDraft] = useState<Draft>(() => withoutLostFiles(loadDraft(linkId), initial.questionnaires ?? []));
  const shelf = useRef(new Shelf()).current;
  const [uploads, setUploads] = useState<Uploads | null>(null);
  const [closed, setClosed] = useState<Exclude<LinkState, 'active'> | null>(cfg.state === 'active' ? null : cfg.state);
  const [phase, setPhase] = useState<Phase>(() => (loadDraft(linkId).pending ? { kind: 'unknown' } : { kind: 'idle' }));
  const [extraErrors, setExtraErrors] = useState<ErrorSchema>({});
  const [attempted, setAttempted] = useState(false);
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const sending = useRef(false);

  useEffect(() => saveDraft(linkId, draft), [linkId, draft]);
  useEffect(() => {
    // The page answers input from here on: what tests wait for, and the time-to-interactive mark.
    document.documentElement.setAttribute('data-kc-ready', 'true');
    performance.mark('kc-interactive');
  }, []);

  const done = new Set(draft.receipts.map((r) => r.questionnaire));
  const current =
    questionnaires.find((q) => q.key === draft.current) ??
    questionnaires.find((q) => !done.has(q.key)) ??
    questionnaires[0];
  const needFacility = !draft.facility_id;

  const answersSchema = useMemo(() => (current ? answersSchemaOf(current) : undefined), [current]);
  const fSchema = useMemo(() => facilitySchema(cfg.lang, cfg.wards ?? []), [cfg.lang, cfg.wards]);
  const schema: RJSFSchema | undefined = useMemo(() => {
    if (!answersSchema) return undefined;
    const properties: Record<string, RJSFSchema> = needFacility
      ? { facility: { ...fSchema, title: t('facilityTitle'), description: t('facilityNote') }, answers: answersSchema }
      : { answers: answersSchema };
    return { type: 'object', properties, required: Object.keys(properties) };
  }, [answersSchema, fSchema, needFacility, t]);
  const uiSchema: UiSchema = useMemo(
    () => ({
      'ui:submitButtonOptions': { norender: true },
      facility: facilityUiSchema(cfg.lang),
      answers: pageUiSchema(current),
    }),
    [cfg.lang, current],
  );
  const answersUtils = useMemo(
    () => (answersSchema ? createSchemaUtils(validator, answersSchema, DEFAULT_STATE) : undefined),
    [answersSchema],
  );
  const schemaOf = useCallback(
    (path: string[]): RJSFSchema | undefined => {
      if (path[0] === 'facility') return propertySchema(fSchema, path[1]);
      if (path[0] === 'answers') return propertySchema(answersSchema, path[1]);
      return undefined;
    },
    [fSchema, answersSchema],
  );
  const titleOf = useCallback(
    (path: string[]): string | undefined => {
      const title = schemaOf(path.slice(0, 2))?.title;
      if (path.length <= 2 || !title) return title;
      // a part of a location (answers.workshop_location.lat): the question, then the part's own title
      const part = (uiSchema as Record<string, Record<string, Record<string, { 'ui:title'?: string }>>>)[path[0]]?.[path[1]]?.[path[2]];
      return part?.['ui:title'] ? `${title} (${part['ui:title']})` : title;
    },
    [schemaOf, uiSchema],
  );
  const ctx: PageContext = useMemo(
    () => ({ lang: cfg.lang, t, questionnaire: current?.key, shelf, maxBytes: cfg.max_attachment_bytes, titleOf }),
    [cfg.lang, t, current?.key, shelf, cfg.max_attachment_bytes, titleOf],
  );
  const transformErrors = useMemo(() => makeTransformErrors(t, cfg.lang, schemaOf), [t, cfg.lang, schemaOf]);
  const translateString = useMemo(() => rjsfTranslator(cfg.lang), [cfg.lang]);

  const formData = useMemo(
    () => ({
      ...(needFacility ? { facility: draft.facility } : {}),
      answers: current ? (draft.answers[current.key] ?? {}) : {},
    }),
    [needFacility, draft.facility, draft.answers, current],
  );

  /** Everything typed and not yet stored, section by section, as the read-only view and the copied text show it. */
  const keptBlocks = (): KeptBlock[] => {
    const blocks: KeptBlock[] = [];
    if (needFacility) {
      const lines = keptLines(fSchema, facilityUiSchema(cfg.lang), draft.facility, cfg.lang, t);
      if (lines.length) blocks.push({ key: 'facility', title: t('facilityTitle'), lines });
    } else if (draft.facility_name) {
      const label = String((fSchema.properties?.name as RJSFSchema | undefined)?.title ?? 'name');
      blocks.push({ key: 'facility', title: t('facilityTitle'), lines: [{ name: 'name', label, value: draft.facility_name }] });
    }
    for (const q of questionnaires) {
      const a = draft.answers[q.key] ?? (draft.pending?.questionnaire === q.key ? draft.pending.answers : undefined);
      const lines = a ? keptLines(answersSchemaOf(q), q.ui_schema, a, cfg.lang, t) : [];
      if (lines.length) blocks.push({ key: q.key, title: q.title, lines });
    }
    return blocks;
  };
  const keptAsText = () => keptText(`${t('keptHeading')} — ${cfg.province?.name ?? ''}`, keptBlocks());

  const onChange = useCallback(
    (e: IChangeEvent) => {
      if (!current || !answersSchema || !answersUtils) return;
      const fd = (e.formData ?? {}) as Record<string, Section>;
      const settled = settle(answersUtils, answersSchema, fd.answers ?? {}, draft.aside[current.key] ?? {});
      const next = { facility: fd.facility ?? draft.facility, answers: settled.answers };
      setExtraErrors((prev) => removeChangedErrors(prev, formData as Record<string, Section>, next));
      setDraft((d) => ({
        ...d,
        facility: needFacility ? next.facility : d.facility,
        answers: { ...d.answers, [current.key]: settled.answers },
        aside: { ...d.aside, [current.key]: settled.aside },
      }));
    },
    [current, answersSchema, answersUtils, draft.aside, draft.facility, formData, needFacility],
  );

  const sendFiles = useCallback(
    async (responseId: string, questionnaire: string, todo: Upload[]) => {
      setUploads({ responseId, state: 'sending', todo });
      const result = await uploadAll(cfg.api_base, cfg.token, responseId, todo);
      for (const q of attachmentQuestions(questionnaires.find((x) => x.key === questionnaire))) {
        const kept = shelf.get(questionnaire, q);
        if (kept && result.sent.includes(kept.name)) shelf.remove(questionnaire, q);
      }
      const failed = todo.filter((u) => result.failed.includes(u.name));
      const state = result.failed.length || result.lost.length ? 'failed' : 'done';
      // a later response's uploads (the next questionnaire) are not overwritten by this one's end
      setUploads((prev) => (prev && prev.responseId !== responseId ? prev : { responseId, state, result, todo: failed }));
    },
    [cfg.api_base, cfg.token, questionnaires, shelf],
  );

  const handleOutcome = useCallback(
    (body: ResponseBody, outcome: Outcome) => {
      if (!current) return;
      if (outcome.kind === 'unknown') {
        setPhase({ kind: 'unknown' });
        return;
      }
      // Every other outcome is final for this body: stored, or refused without being stored.
      setDraft((d) => ({ ...d, pending: undefined }));
      switch (outcome.kind) {
        case 'stored': {
          const r: Receipt = {
            questionnaire: current.key,
            title: current.title,
            id: body.id,
            received_at: typeof outcome.body.received_at === 'string' ? outcome.body.received_at : undefined,
          };
          const fid = typeof outcome.body.facility_id === 'string' ? outcome.body.facility_id : undefined;
          setDraft((d) => {
            const receipts = [...d.receipts.filter((x) => x.id !== r.id), r];
            const sent = new Set(receipts.map((x) => x.questionnaire));
            const { [current.key]: _a, ...answers } = d.answers;
            const { [current.key]: _b, ...aside } = d.aside;
            return {
              ...d,
              pending: undefined,
              receipts,
              answers,
              aside,
              facility_id: d.facility_id ?? fid,
              facility_name: d.facility_name ?? (typeof d.facility.name === 'string' ? d.facility.name : undefined),
              current: questionnaires.find((q) => !sent.has(q.key))?.key ?? current.key,
            };
          });
          setReceipt(r);
          // The files its answers name, now that the response they belong to is stored.
          const todo: Upload[] = attachmentQuestions(current)
            .filter((q) => typeof body.answers[q] === 'string')
            .map((q) => {
              const name = body.answers[q] as string;
              const kept = shelf.get(current.key, q);
              return { name, file: kept && kept.name === name ? kept.file : undefined };
            });
          if (todo.length) void sendFiles(body.id, current.key, todo);
          else setUploads(null);
          setAttempted(false);
          setExtraErrors({});
          setPhase({ kind: 'idle' });
          scrollToTop();
          return;
        }
        case 'invalid': {
          const problems = outcome.problem.errors ?? [];
          const { errorSchema, unplaced } = serverErrorSchema(
            problems,
            t,
            cfg.lang,
            schemaOf,
            uiSchema,
            formData as Record<string, unknown>,
          );
          setExtraErrors(errorSchema);
          const others = unplaced.map((u) => `${u.path}: ${u.message}`);
          // A tax code registered to an establishment of another province: what the establishment can do next.
          const clash = problems.find((p) => p.path === 'facility.tax_code' && (p.code === 'duplicate' || p.code === 'out_of_scope'));
          const province = cfg.province?.name ?? '';
          if (clash && typeof body.facility?.tax_code === 'string') {
            setPhase({
              kind: 'message',
              key: 'taxCodeElsewhere',
              params: { tax: body.facility.tax_code, province },
              extra: [t('taxStepCheck'), t('taxStepContact', { province }), t('taxStepKept'), ...others],
              copy: true,
            });
          } else {
            setPhase({ kind: 'message', key: 'serverRejected', params: { n: problems.length - unplaced.length }, extra: others });
          }
          focusFirstError();
          return;
        }
        case 'link':
          setClosed(linkReason(outcome.problem));
          setPhase({ kind: 'idle' });
          scrollToTop();
          return;
        case 'conflict':
          setPhase({ kind: 'message', key: 'conflict' });
          return;
        case 'rate':
          setPhase({ kind: 'message', key: 'rateLimited', params: { s: outcome.seconds } });
          return;
        case 'too_large':
          setPhase({ kind: 'message', key: 'tooLarge' });
          return;
      }
    },
    [current, questionnaires, t, cfg.lang, cfg.province, schemaOf, uiSchema, formData, shelf, sendFiles],
  );

  const send = useCallback(
    async (body: ResponseBody) => {
      if (sending.current) return; // a second click while the first is on its way
      sending.current = true;
      setDraft((d) => ({ ...d, pending: body })); // kept before the first byte leaves
      saveDraft(linkId, { ...draft, pending: body });
      setPhase({ kind: 'sending', attempt: 1 });
      try {
        const outcome = await postWithRetries(cfg.api_base, cfg.token, body, (n) => setPhase({ kind: 'sending', attempt: n }), {
          lang: cfg.lang,
        });
        handleOutcome(body, outcome);
      } finally {
        sending.current = false;
      }
    },
    [cfg.api_base, cfg.token, cfg.lang, draft, handleOutcome, linkId],
  );

  const onSubmit = useCallback(
    (e: IChangeEvent) => {
      if (!current || sending.current) return;
      if (draft.pending) {
        void send(draft.pending);
        return;
      }
      const fd = (e.formData ?? {}) as Record<string, Section>;
      const body: ResponseBody = {
        id: newId(),
        questionnaire: current.key,
        version: current.version,
        collected_at: nowWithOffset(),
        answers: { ...(draft.answers[current.key] ?? fd.answers ?? {}) },
      };
      if (draft.facility_id) body.facility_id = draft.facility_id;
      else body.facility = facilityBody(fd.facility ?? draft.facility, cfg.province?.code ?? '');
      setReceipt(null);
      void send(body);
    },
    [current, draft, send, cfg.province],
  );

  const startOver = () => {
    setDraft({ ...emptyDraft(), receipts: draft.receipts });
    for (const q of questionnaires) shelf.clear(q.key);
    setReceipt(null);
    setUploads(null);
    setAttempted(false);
    setExtraErrors({});
    setPhase({ kind: 'idle' });
  };

  // The language changes in place (nothing typed is lost, even where the frame may not keep storage); the
  // link stays a plain link, followed if the other language cannot be fetched.
  const switchLang = (e: { preventDefault: () => void }, l: Lang) => {
    const href = cfg.lang_urls?.[l];
    if (!href || phase.kind === 'sending') return;
    e.preventDefault();
    inLanguage(cfg, l)
      .then((qs) => {
        setCfg({ ...cfg, lang: l, questionnaires: cfg.questionnaires ? qs : undefined });
        document.documentElement.lang = l;
        window.history.replaceState(null, '', href);
      })
      .catch(() => {
        window.location.href = href;
      });
  };

  const header = (
    <header className="kc-header">
      <h1>{t('pageTitle')}</h1>
      {cfg.lang_urls ? (
        <nav className="kc-lang" aria-label={t('language')}>
          {(['vi', 'en'] as const).map((l) =>
            l === cfg.lang ? (
              <span key={l} aria-current="true">
                {l === 'vi' ? 'Tiếng Việt' : 'English'}
              </span>
            ) : cfg.lang_urls?.[l] ? (
              <a key={l} href={cfg.lang_urls[l]} lang={l} hrefLang={l} onClick={(e) => switchLang(e, l)}>
                {l === 'vi' ? 'Tiếng Việt' : 'English'}
              </a>
            ) : null,
          )}
        </nav>
      ) : null}
    </header>
  );

  if (closed) {
    // Closed while the page was open: what was typed stays on the page, read-only and copyable.
    const blocks = cfg.state === 'active' ? keptBlocks() : [];
    return (
      <main className="kc-page">
        {header}
        <div className="kc-closed" role="alert" data-link-state={closed}>
          <p>{t(CLOSED_MESSAGE[closed])}</p>
          {blocks.length ? <p>{t('keptNote')}</p> : null}
        </div>
        {blocks.length ? <Kept blocks={blocks} text={keptAsText} t={t} /> : null}
      </main>
    );
  }

  const allSent = questionnaires.length > 0 && questionnaires.every((q) => done.has(q.key));
  const busy = phase.kind === 'sending' || phase.kind === 'unknown';

  return (
    <main className="kc-page">
      {header}
      <p className="kc-intro">{t('intro', { province: cfg.province?.name ?? '' })}</p>

      {receipt ? (
        <section className="kc-receipt" role="status" data-response-id={receipt.id} data-received-at={receipt.received_at}>
          <h2>{t('receiptTitle', { title: receipt.title })}</h2>
          <p>{t('receiptBody')}</p>
          <p className="kc-receipt-id">
            <code>{receipt.id}</code>
          </p>
          {receipt.received_at ? <p>{t('receiptAt', { at: formatDateTime(receipt.received_at, cfg.lang) })}</p> : null}
          {uploads && uploads.responseId === receipt.id ? (
            <div className="kc-uploads" data-attachments={uploads.state}>
              {uploads.state === 'sending' ? <p role="status">{t('uploading', { n: uploads.todo.length })}</p> : null}
              {uploads.result?.sent.length ? <p>{t('uploaded', { n: uploads.result.sent.length })}</p> : null}
              {uploads.result?.failed.length ? (
                <p className="kc-warn" role="alert">
                  {t('uploadFailed', { names: uploads.result.failed.join(', ') })}{' '}
                  <button
                    type="button"
                    className="kc-link-button"
                    onClick={() => void sendFiles(uploads.responseId, receipt.questionnaire, uploads.todo)}
                  >
                    {t('uploadRetry')}
                  </button>
                </p>
              ) : null}
              {uploads.result?.lost.length ? (
                <p className="kc-warn" role="alert">
                  {t('uploadLost', { names: uploads.result.lost.join(', ') })}
                </p>
              ) : null}
            </div>
          ) : null}
          {allSent ? <p>{t('allDone')}</p> : null}
        </section>
      ) : null}

      {questionnaires.length > 1 ? (
        <nav className="kc-picker" aria-label={t('chooseQuestionnaire')}>
          <p>{t('chooseQuestionnaire')}</p>
          <ul>
            {questionnaires.map((q) => (
              <li key={q.key}>
                <button
                  type="button"
                  aria-pressed={q.key === current?.key}
                  disabled={busy}
                  onClick={() => {
                    setDraft((d) => ({ ...d, current: q.key }));
                    setReceipt(null);
                    setExtraErrors({});
                    setAttempted(false);
                    setPhase({ kind: 'idle' });
                  }}
                >
                  {q.title}
                  {done.has(q.key) ? <span className="kc-sent"> ✓ {t('submitted')}</span> : null}
                </button>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}

      {!needFacility && draft.facility_name ? (
        <p className="kc-facility-known">{t('facilityKnown', { name: draft.facility_name })}</p>
      ) : null}

      {current && schema && !(receipt && done.has(current.key)) ? (
        <Form
          key={`${current.key}:${needFacility}:${cfg.lang}`}
          schema={schema}
          uiSchema={uiSchema}
          formData={formData}
          validator={validator}
          widgets={widgets}
          fields={fields}
          templates={templates}
          formContext={ctx}
          translateString={translateString}
          transformErrors={transformErrors}
          extraErrors={extraErrors}
          experimental_defaultFormStateBehavior={DEFAULT_STATE}
          liveValidate={attempted ? 'onChange' : undefined}
          showErrorList="top"
          focusOnFirstError
          noHtml5Validate
          disabled={busy}
          onChange={onChange}
          onError={() => setAttempted(true)}
          onSubmit={onSubmit}
          idPrefix="root"
          className="kc-form"
        >
          <div className="kc-actions">
            {phase.kind === 'sending' ? (
              <p className="kc-status" role="status">
                {phase.attempt > 1 ? t('retrying', { n: phase.attempt }) : t('sending')}
              </p>
            ) : null}
            {phase.kind === 'unknown' ? (
              <p className="kc-status kc-warn" role="alert">
                {t('unknownOutcome')}
              </p>
            ) : null}
            {phase.kind === 'message' ? (
              <div className="kc-status kc-warn" role="alert">
                <p>{t(phase.key, phase.params)}</p>
                {phase.extra?.length ? (
                  <ul>
                    {phase.extra.map((x) => (
                      <li key={x}>{x}</li>
                    ))}
                  </ul>
                ) : null}
                {phase.copy ? (
                  <p>
                    <CopyButton text={keptAsText} t={t} />
                  </p>
                ) : null}
              </div>
            ) : null}
            {phase.kind === 'unknown' && draft.pending ? (
              <button type="button" className="kc-submit" onClick={() => draft.pending && void send(draft.pending)}>
                {t('retry')}
              </button>
            ) : (
              <button type="submit" className="kc-submit" disabled={phase.kind === 'sending'} onClick={() => setAttempted(true)}>
                {phase.kind === 'sending' ? t('sending') : t('submit')}
              </button>
            )}
          </div>
        </Form>
      ) : null}

      {receipt || draft.facility_id ? (
        <p className="kc-start-over">
          <button type="button" className="kc-link-button" onClick={startOver} disabled={busy}>
            {t('anotherEstablishment')}
          </button>
        </p>
      ) : null}
    </main>
  );
}
