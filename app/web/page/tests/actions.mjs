// The Solana Actions of a running allot server, as a Blink client sees them.
//
// Usage: node tests/actions.mjs <origin, e.g. http://127.0.0.1:8080> <account (base58)>
//
// 1. Each action is fetched with the Blink client library (`@dialectlabs/blinks-core`'s
//    `BlinkInstance.fetch`, what Dialect's Blink renderers run), its icon fetched from the URL the
//    library resolved, and each action posted through the library's own action component.
// 2. Every answer (GET metadata, POST transaction, refusals, an unknown path) is written as a typed
//    literal against `@solana/actions-spec` and compiled with tsc: an answer the spec's types
//    reject fails the compilation.
// 3. An OPTIONS preflight is checked for the Actions headers.
//
// Prints one JSON summary on stdout; exits non-zero on the first failure.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BlinkInstance } from '@dialectlabs/blinks-core';

const [origin, account] = process.argv.slice(2);
if (!origin || !account) {
  console.error('usage: node tests/actions.mjs <origin> <account>');
  process.exit(2);
}
const page = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `fetch` of `path` on the server, answering `{status, headers, json}`. */
async function call(path, init = {}) {
  const response = await fetch(new URL(path, origin), init);
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: reported as null.
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** What a Blink client made of one action. */
async function blink(name) {
  const instance = await BlinkInstance.fetch(`${origin}/api/actions/${name}`);
  const icon = await fetch(instance.icon);
  const iconText = await icon.text();
  return {
    instance,
    summary: {
      title: instance.title,
      icon: instance.icon,
      iconStatus: icon.status,
      iconType: icon.headers.get('content-type'),
      iconIsSvg: iconText.trimStart().startsWith('<svg'),
      disabled: instance.disabled,
      error: instance.error,
      blockchainIds: instance.metadata.blockchainIds,
      version: instance.metadata.version,
      actions: instance.actions.map((action) => ({
        label: action.label,
        type: action.type,
        href: action.href,
        parameters: action.parameters,
      })),
    },
  };
}

/** Posts `component` (with `value` for its one parameter, if any) as the Blink client does. */
async function post(component, value) {
  if (value !== undefined) component.setValue(value);
  try {
    return { ok: true, answer: await component.post(account) };
  } catch (error) {
    return { ok: false, answer: { message: error.message } };
  }
}

const summary = {};
const typed = [];
for (const [name, value] of [
  ['allocate', undefined],
  ['exchange', '1'],
  ['cancel', '0'],
]) {
  const { instance, summary: seen } = await blink(name);
  const metadata = await call(`/api/actions/${name}`);
  typed.push(`export const ${name}Get: ActionGetResponse = ${JSON.stringify(metadata.json)};`);
  const posted = await post(instance.actions[0], value);
  typed.push(
    posted.ok
      ? `export const ${name}Post: ActionPostResponse = ${JSON.stringify(posted.answer)};`
      : `export const ${name}Refusal: ActionError = ${JSON.stringify(posted.answer)};`,
  );
  summary[name] = {
    ...seen,
    posted: posted.ok,
    postType: posted.answer.type ?? null,
    postMessage: posted.answer.message ?? null,
    transaction: posted.answer.transaction ?? null,
  };
}

const unknown = await call('/api/actions/no-such-action', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ account }),
});
typed.push(`export const unknownAction: ActionError = ${JSON.stringify(unknown.json)};`);
summary.unknown = { status: unknown.status, json: unknown.json };

const preflight = await fetch(new URL('/api/actions/exchange', origin), {
  method: 'OPTIONS',
  headers: {
    Origin: 'https://dial.to',
    'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'content-type',
  },
});
summary.preflight = {
  status: preflight.status,
  allowOrigin: preflight.headers.get('access-control-allow-origin'),
  actionVersion: preflight.headers.get('x-action-version'),
  blockchainIds: preflight.headers.get('x-blockchain-ids'),
};

// The answers as literals of the spec's types: tsc refuses any answer the spec does not allow.
const generated = join(page, 'tests', 'generated');
mkdirSync(generated, { recursive: true });
const source = join(generated, 'actions.ts');
writeFileSync(
  source,
  [
    "import type { ActionError, ActionGetResponse, ActionPostResponse } from '@solana/actions-spec';",
    ...typed,
    '',
  ].join('\n'),
);
try {
  execFileSync(
    join(page, 'node_modules', '.bin', 'tsc'),
    [
      '--noEmit',
      '--strict',
      '--exactOptionalPropertyTypes',
      '--target',
      'ES2022',
      '--module',
      'ESNext',
      '--moduleResolution',
      'bundler',
      '--skipLibCheck',
      // The page's tsconfig.json is for src/; only this file is compiled here.
      '--ignoreConfig',
      source,
    ],
    { cwd: page, encoding: 'utf8', stdio: 'pipe' },
  );
  summary.specTypes = { ok: true, checked: typed.length };
} catch (error) {
  summary.specTypes = { ok: false, checked: typed.length, errors: `${error.stdout}${error.stderr}` };
}

console.log(JSON.stringify(summary));
