// RJSF renders markdown only where a uiSchema asks for it (enableMarkdownInDescription and friends); the hosted
// page never does, and questionnaire texts are shown as plain text. This stands in for markdown-to-jsx so its
// 85 KiB stay out of the bundle.
import type { ReactNode } from 'react';

export function Markdown(props: { children?: ReactNode }) {
  return <>{props.children}</>;
}
