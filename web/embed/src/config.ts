// What the server puts in the page (GET /embed/{token}) as <script type="application/json" id="kc-embed-config">.
// The page makes no request before the person submits: everything it shows comes from here.
import type { RJSFSchema, UiSchema } from '@rjsf/utils';

export type Lang = 'vi' | 'en';

/** Why a link no longer takes submissions; `active` means it does. */
export type LinkState = 'active' | 'revoked' | 'expired' | 'exhausted' | 'unknown';

export interface QuestionnaireConfig {
  key: string;
  version: number;
  title: string;
  description?: string | null;
  /** GET /api/v1/questionnaires/{key}/versions/{n}/json-schema?lang= */
  schema: RJSFSchema;
  /** GET /api/v1/questionnaires/{key}/versions/{n}/ui-schema?lang= */
  ui_schema: UiSchema;
}

export interface Place {
  code: string;
  name: string;
}

export interface EmbedConfig {
  lang: Lang;
  state: LinkState;
  /** The link's secret: the page posts with it as a Bearer key (it may only submit). */
  token: string;
  /** Absolute path of the API on this server, e.g. "/api/v1". */
  api_base: string;
  link?: { id: string; name?: string; expires_at?: string | null };
  province?: Place;
  wards?: Place[];
  questionnaires?: QuestionnaireConfig[];
  /** The largest photo or file the upload route takes, in bytes. */
  max_attachment_bytes?: number;
  /** URLs of this page in each language (the language switch). */
  lang_urls?: Partial<Record<Lang, string>>;
}

export function readConfig(doc: Document = document): EmbedConfig {
  const el = doc.getElementById('kc-embed-config');
  if (!el || !el.textContent) throw new Error('kc-embed-config is missing');
  const cfg = JSON.parse(el.textContent) as EmbedConfig;
  return { ...cfg, lang: cfg.lang === 'en' ? 'en' : 'vi' };
}
