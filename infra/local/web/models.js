// The models a person may choose between. The service accepts a request's `model` from its
// ALLOWED_MODELS, but no route lists them yet, so the page cannot know them: this answers none
// and the page shows no choice. Once a route lists them, ask it here (`api` is the signed-in
// client); with two or more, the composer offers a choice and sends, and regenerates, with it.

/** The deployment's models a request may name (none known: no choice is shown). */
export async function allowedModels(_api) {
  return [];
}
