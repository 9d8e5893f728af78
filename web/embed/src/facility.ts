// The establishment registers itself inline with its first response (POST /api/v1/responses `facility`):
// the same fields and rules as FacilityCreate on the server (app/facilities/schemas.py), as a JSON Schema.
import type { RJSFSchema, UiSchema } from '@rjsf/utils';

import type { Lang, Place } from './config.ts';
import { sortWards } from './wards.ts';

type Labels = Record<Lang, string>;

const KINDS: [string, Labels][] = [
  ['enterprise', { vi: 'Doanh nghiệp', en: 'Enterprise' }],
  ['cooperative', { vi: 'Hợp tác xã', en: 'Cooperative' }],
  ['cooperative_group', { vi: 'Tổ hợp tác', en: 'Cooperative group' }],
  ['household_business', { vi: 'Hộ kinh doanh', en: 'Household business' }],
];

const SECTORS: [string, Labels][] = [
  ['agro_food_processing', { vi: 'Chế biến nông, lâm, thủy sản, thực phẩm', en: 'Agro-forestry-fishery and food processing' }],
  ['textiles_garments', { vi: 'Dệt may, da giày', en: 'Textiles, garments, leather' }],
  ['mechanical_engineering', { vi: 'Cơ khí, điện, điện tử', en: 'Mechanical and electrical engineering' }],
  ['handicrafts', { vi: 'Thủ công mỹ nghệ', en: 'Handicrafts' }],
  ['building_materials', { vi: 'Vật liệu xây dựng', en: 'Building materials' }],
  ['other', { vi: 'Ngành khác', en: 'Other' }],
];

const L = {
  name: { vi: 'Tên cơ sở', en: 'Name of the establishment' },
  name_hint: { vi: 'Tên đầy đủ như trên giấy đăng ký (nếu có)', en: 'Full name as registered (if registered)' },
  tax_code: { vi: 'Mã số thuế', en: 'Tax code' },
  tax_code_hint: {
    vi: '10 chữ số, hoặc 13 chữ số với mã chi nhánh. Bỏ trống nếu chưa có.',
    en: '10 digits, or 13 with a branch number. Leave empty if there is none.',
  },
  kind: { vi: 'Loại hình cơ sở', en: 'Kind of establishment' },
  sector: { vi: 'Ngành nghề chính', en: 'Main sector' },
  ward: { vi: 'Xã, phường, đặc khu', en: 'Commune or ward' },
  address: { vi: 'Địa chỉ (thôn, xóm, số nhà)', en: 'Address (village, street, number)' },
} satisfies Record<string, Labels>;

export const TAX_CODE_PATTERN = '^[0-9]{10}(-?[0-9]{3})?$';

export function facilitySchema(lang: Lang, wards: Place[]): RJSFSchema {
  const oneOf = (items: [string, Labels][]) => items.map(([code, label]) => ({ const: code, title: label[lang] }));
  const properties: Record<string, RJSFSchema> = {
    tax_code: { type: 'string', title: L.tax_code[lang], pattern: TAX_CODE_PATTERN },
    name: { type: 'string', title: L.name[lang], minLength: 1, maxLength: 300 },
    kind: { type: 'string', title: L.kind[lang], oneOf: oneOf(KINDS) },
    sector: { type: 'string', title: L.sector[lang], oneOf: oneOf(SECTORS) },
  };
  const required = ['name', 'kind', 'sector'];
  if (wards.length > 0) {
    // in Vietnamese alphabetical order (the server sends them in code order), searchable (SearchSelectWidget)
    const choices = sortWards(wards).map((w) => ({ const: w.code, title: w.name }));
    properties.ward_code = { type: 'string', title: L.ward[lang], oneOf: choices };
    required.push('ward_code');
  }
  properties.address = { type: 'string', title: L.address[lang], maxLength: 500 };
  return { type: 'object', properties, required, additionalProperties: false };
}

export function facilityUiSchema(lang: Lang): UiSchema {
  return {
    'ui:order': ['tax_code', 'name', 'kind', 'sector', 'ward_code', 'address'],
    tax_code: { 'ui:options': { hint: L.tax_code_hint[lang], inputMode: 'numeric', stripSpaces: true }, 'ui:autocomplete': 'off' },
    name: { 'ui:options': { hint: L.name_hint[lang] }, 'ui:autocomplete': 'organization' },
    kind: { 'ui:widget': 'radio' },
    sector: { 'ui:widget': 'radio' },
    ward_code: { 'ui:widget': 'SearchSelectWidget' },
    address: { 'ui:autocomplete': 'street-address' },
  };
}

/** The facility body as the server expects it (`province_code` from the link; spaces out of the tax code). */
export function facilityBody(data: Record<string, unknown>, provinceCode: string): Record<string, unknown> {
  const out: Record<string, unknown> = { province_code: provinceCode };
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined || v === null || v === '') continue;
    out[k] = typeof v === 'string' ? (k === 'tax_code' ? v.replace(/\s+/g, '') : v.trim()) : v;
  }
  return out;
}
