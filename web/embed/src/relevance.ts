// Relevance is the questionnaire's own if/then/else, resolved by RJSF (`retrieveSchema`): a question that does
// not apply resolves to `{type: "null"}`. Its answer must then be left out (the server refuses an answer to a
// question that does not apply), but the person's typing is not thrown away: it waits aside and comes back if
// the question applies again (answer "Có", then "Không", then "Có" again).
import type { RJSFSchema, SchemaUtilsType } from '@rjsf/utils';

export type Answers = Record<string, unknown>;

function applies(resolved: RJSFSchema, key: string): boolean {
  const prop = (resolved.properties as Record<string, RJSFSchema> | undefined)?.[key];
  return !(prop && typeof prop === 'object' && prop.type === 'null');
}

/** Move answers of questions that do not apply into `aside`, and bring back those that apply again. */
export function settle(
  utils: SchemaUtilsType,
  schema: RJSFSchema,
  answers: Answers,
  aside: Answers,
): { answers: Answers; aside: Answers; changed: boolean } {
  let current: Answers = {};
  for (const [k, v] of Object.entries(answers)) if (v !== undefined && v !== null) current[k] = v;
  let waiting: Answers = { ...aside };
  let changed = Object.keys(current).length !== Object.keys(answers).length;
  // Each pass can only switch questions further down a relevance chain; a chain is at most as long as the
  // questionnaire, so this ends.
  for (let pass = 0; pass <= Object.keys(schema.properties ?? {}).length; pass++) {
    const resolved = utils.retrieveSchema(schema, current);
    let moved = false;
    for (const k of Object.keys(current)) {
      if (!applies(resolved, k)) {
        waiting = { ...waiting, [k]: current[k] };
        const { [k]: _gone, ...rest } = current;
        current = rest;
        moved = true;
      }
    }
    for (const k of Object.keys(waiting)) {
      if (!(k in current) && applies(resolved, k)) {
        current = { ...current, [k]: waiting[k] };
        const { [k]: _back, ...rest } = waiting;
        waiting = rest;
        moved = true;
      }
    }
    if (!moved) break;
    changed = true;
  }
  return { answers: current, aside: waiting, changed };
}
