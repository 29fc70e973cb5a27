// Replies as Markdown, rendered so that nothing a model (or a prompt injected into it) writes
// can run or load anything: marked turns the text into HTML with raw HTML shown as text and
// images shown as links, then DOMPurify keeps only the elements and attributes below, and
// links only to http(s) and mailto. The page's Content-Security-Policy is the last line.

import { Marked } from '/vendor/marked.js';
import DOMPurify from '/vendor/purify.js';

const escapeHtml = (text) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

const marked = new Marked({
  gfm: true,
  // A model's single line breaks are meant as line breaks.
  breaks: true,
  renderer: {
    // Raw HTML in a reply is shown as the text it is, never parsed.
    html: ({ text }) => escapeHtml(text),
    // A remote image would load from wherever the model says (a tracking pixel, a blocked
    // request): it becomes a link a person can choose to follow.
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    checkbox: ({ checked }) => (checked ? '☑ ' : '☐ '),
  },
});

const purify = DOMPurify(window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const SANITIZE = {
  ALLOWED_TAGS: [
    'a',
    'blockquote',
    'br',
    'code',
    'del',
    'em',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'li',
    'ol',
    'p',
    'pre',
    'strong',
    'table',
    'tbody',
    'td',
    'th',
    'thead',
    'tr',
    'ul',
  ],
  ALLOWED_ATTR: ['href', 'title', 'align', 'start', 'class'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  RETURN_DOM_FRAGMENT: true,
};

/** Markdown as a DocumentFragment that is safe to insert, code blocks with a copy button. */
export function renderMarkdown(text) {
  const fragment = purify.sanitize(marked.parse(text), SANITIZE);
  for (const pre of fragment.querySelectorAll('pre')) {
    const block = codeBlock(pre);
    pre.replaceWith(block);
    block.append(pre);
  }
  // The line breaks marked leaves between blocks are not text a person reads (or copies).
  for (const node of [...fragment.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE && !node.textContent.trim()) node.remove();
  }
  return fragment;
}

/** A code block's frame: its language and a copy button, above where the code goes. */
function codeBlock(pre) {
  const block = document.createElement('div');
  block.className = 'code-block';
  const head = document.createElement('div');
  head.className = 'code-head';
  const language = document.createElement('span');
  language.textContent =
    /language-([\w+#.-]+)/.exec(pre.querySelector('code')?.className)?.[1] ?? 'code';
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'quiet';
  copy.dataset.testid = 'copy-code';
  copy.textContent = 'Copy';
  copy.setAttribute('aria-label', `Copy ${language.textContent}`);
  copy.addEventListener('click', () => copyText(copy, pre.textContent));
  head.append(language, copy);
  block.append(head);
  return block;
}

/** Copies text and says so on the button for a moment. */
export async function copyText(button, text) {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed';
  }
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}
