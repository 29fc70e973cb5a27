// Questions the page asks before it does something that cannot be undone, and small forms
// (a new title, what to export), as modal <dialog>s: focus moves into them and back, Escape
// cancels, and the rest of the page cannot be reached meanwhile.

/**
 * Shows a modal dialog; resolves to its form's data when confirmed, null when cancelled.
 * `fields` are nodes put between the text and the buttons.
 */
export function ask({ title, text, fields = [], confirm, danger = false }) {
  const opener = document.activeElement;
  const dialog = document.createElement('dialog');
  dialog.className = 'dialog';
  dialog.dataset.testid = 'dialog';
  const form = document.createElement('form');
  const heading = document.createElement('h2');
  heading.id = `dialog-${Date.now().toString(36)}`;
  heading.textContent = title;
  dialog.setAttribute('aria-labelledby', heading.id);
  form.append(heading);
  if (text) {
    const p = document.createElement('p');
    p.textContent = text;
    form.append(p);
  }
  form.append(...fields);
  const buttons = document.createElement('div');
  buttons.className = 'dialog-actions';
  const cancel = button('Cancel', 'dialog-cancel', 'button');
  const ok = button(confirm, 'dialog-confirm', 'submit');
  if (danger) ok.classList.add('danger');
  buttons.append(cancel, ok);
  form.append(buttons);
  dialog.append(form);
  document.body.append(dialog);

  return new Promise((resolve) => {
    let answer = null;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      answer = new FormData(form);
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(answer);
    });
    dialog.showModal();
    // A form's first field, else the safe choice: Enter on a question never deletes by accident.
    const field = form.querySelector('input');
    (field ?? cancel).focus();
    if (field?.type === 'text') field.select();
  });
}

/** Asks to confirm; resolves to true or false. */
export async function confirmed(options) {
  return (await ask(options)) !== null;
}

/** A labelled text field for `ask`. */
export function textField(name, label, value) {
  const wrap = document.createElement('label');
  wrap.className = 'field';
  wrap.textContent = label;
  const input = document.createElement('input');
  input.name = name;
  input.value = value;
  input.required = true;
  input.maxLength = 200;
  input.dataset.testid = `${name}-input`;
  wrap.append(input);
  return wrap;
}

/** A group of radio buttons for `ask`, the first chosen. */
export function choiceField(name, legend, choices) {
  const set = document.createElement('fieldset');
  const caption = document.createElement('legend');
  caption.textContent = legend;
  set.append(caption);
  choices.forEach(([value, label], i) => {
    const wrap = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = name;
    input.value = value;
    input.checked = i === 0;
    input.dataset.testid = `${name}-${value}`;
    wrap.append(input, ` ${label}`);
    set.append(wrap);
  });
  return set;
}

function button(label, testid, type) {
  const b = document.createElement('button');
  b.type = type;
  b.textContent = label;
  b.dataset.testid = testid;
  return b;
}
