// In a portal's iframe, the page tells the portal how tall it is, so the portal can size the frame to it and
// a phone scrolls one page, not a page inside a page. The message, posted to the parent whenever the content's
// height changes (a ResizeObserver on the body: questions appearing, errors, the receipt, a phone rotated):
//
//   {type: "khuyencong:height", height: <CSS pixels, an integer>}
//
// It carries nothing but the height, so it goes to any parent ("*"); the portal's listener (README, "Forms for
// provincial portals"; also in the `iframe` HTML of POST /api/v1/form-links) checks that it comes from this
// server's origin and from its own frame. Opened on its own, the page posts nothing.

export const HEIGHT_MESSAGE = 'khuyencong:height';

export function contentHeight(doc: Document = document): number {
  // The document's own box, not scrollHeight (which is never less than the frame's current height, so a page
  // that gets shorter would never say so).
  return Math.ceil(doc.documentElement.getBoundingClientRect().height);
}

export function reportHeight(win: Window = window): () => void {
  if (win.parent === win || typeof ResizeObserver === 'undefined') return () => {};
  let last = -1;
  const send = () => {
    const height = contentHeight(win.document);
    if (height === last || height <= 0) return;
    last = height;
    win.parent.postMessage({ type: HEIGHT_MESSAGE, height }, '*');
  };
  const observer = new ResizeObserver(send);
  observer.observe(win.document.documentElement);
  observer.observe(win.document.body);
  send();
  return () => observer.disconnect();
}
