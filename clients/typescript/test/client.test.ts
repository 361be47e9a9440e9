/**
 * The client against a running Skiff: SKIFF_URL and SKIFF_TOKEN reach it, and SKIFF_APP names an
 * app deployed from examples/hello (`hello(name)` greets, `fail(reason)` raises ValueError).
 * Build first, then run: `npm run build && npm test`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { type Call, createSkiff, SkiffError } from "../src/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: the tests need SKIFF_URL, SKIFF_TOKEN and SKIFF_APP (an examples/hello app)`);
  }
  return value;
}

const baseUrl = required("SKIFF_URL");
const app = required("SKIFF_APP");
const skiff = createSkiff({ baseUrl, token: required("SKIFF_TOKEN") });
const TIMEOUT = { timeout: 90_000 };

/** A check for `assert.rejects`: a SkiffError with this status, whose detail names `named`. */
function isSkiffError(status: number, named = ""): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof SkiffError, `expected a SkiffError, got ${String(error)}`);
    assert.equal(error.name, "SkiffError");
    assert.equal(error.status, status);
    assert.ok(error.detail.includes(named), `${error.detail} should name ${named}`);
    assert.ok(error.title.length > 0 && error.type.length > 0, JSON.stringify(error));
    assert.equal(error.message, `${status} ${error.title}: ${error.detail}`);
    return true;
  };
}

function assertGreeted(call: Call, name: string): void {
  assert.equal(call.status, "succeeded", JSON.stringify(call));
  assert.deepEqual(call.result, { greeting: `hello ${name}` });
  assert.equal(call.error ?? null, null);
  assert.equal(call.app, app);
  assert.equal(call.function, "hello");
  assert.match(call.id, /^call_\w+$/);
}

test("invoke with wait answers with the finished call", TIMEOUT, async () => {
  assertGreeted(await skiff.invoke(app, "hello", { args: ["ada"], wait: 60 }), "ada");
  assertGreeted(await skiff.invoke(app, "hello", { kwargs: { name: "grace" }, wait: 60 }), "grace");
});

test("spawn answers at once; result waits for the end; getCall reads the call", TIMEOUT, async () => {
  const spawned = await skiff.spawn(app, "hello", { args: ["alan"] });
  assert.ok(["queued", "running", "succeeded"].includes(spawned.status), JSON.stringify(spawned));
  const ended = await skiff.result(spawned.id, { wait: 60 });
  assert.equal(ended.id, spawned.id);
  assertGreeted(ended, "alan");
  assert.deepEqual(await skiff.getCall(spawned.id), ended);
});

test("a call pins a version; an idempotency key answers a retry with the same call", TIMEOUT, async () => {
  const pinned = await skiff.invoke(app, "hello", { args: ["edsger"], version: 1, wait: 60 });
  assertGreeted(pinned, "edsger");
  assert.equal(pinned.version, 1);
  await assert.rejects(skiff.spawn(app, "hello", { version: 999 }), isSkiffError(404));

  const idempotencyKey = `retry-${process.pid}-${Date.now()}`;
  const first = await skiff.spawn(app, "hello", { args: ["barbara"], idempotencyKey });
  const retried = await skiff.spawn(app, "hello", { args: ["barbara"], idempotencyKey });
  assert.equal(retried.id, first.id);
  assertGreeted(await skiff.result(first.id, { wait: 60 }), "barbara");
});

test("a function that raises gives a failed call with the error", TIMEOUT, async () => {
  const call = await skiff.invoke(app, "fail", { args: ["no such user"], wait: 60 });
  assert.equal(call.status, "failed", JSON.stringify(call));
  assert.equal(call.error?.type, "ValueError");
  assert.equal(call.error?.message, "no such user");
  assert.equal(call.result ?? null, null);
});

test("cancel answers with the call, and leaves a call that has ended unchanged", TIMEOUT, async () => {
  const ended = await skiff.invoke(app, "hello", { args: ["linus"], wait: 60 });
  assertGreeted(ended, "linus");
  assert.deepEqual(await skiff.cancel(ended.id), ended);
  assert.deepEqual(await skiff.getCall(ended.id), ended);
});

test("errors are SkiffErrors with the problem's fields", TIMEOUT, async () => {
  await assert.rejects(skiff.invoke(app, "no_such_function", { wait: 5 }), isSkiffError(404, "'no_such_function'"));
  await assert.rejects(skiff.spawn(`${app}-missing`, "hello"), isSkiffError(404, `'${app}-missing'`));
  await assert.rejects(skiff.getCall("call_doesnotexist"), isSkiffError(404, "'call_doesnotexist'"));
  await assert.rejects(skiff.result("call_doesnotexist", { wait: 1 }), isSkiffError(404, "'call_doesnotexist'"));
  await assert.rejects(skiff.cancel("call_doesnotexist"), isSkiffError(404, "'call_doesnotexist'"));
  const stranger = createSkiff({ baseUrl, token: "sk_not_a_token" });
  await assert.rejects(stranger.getCall("call_doesnotexist"), isSkiffError(401));
});
