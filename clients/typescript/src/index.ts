/**
 * A small typed client of the Skiff API: call a deployed function, wait for its result, cancel it.
 * Requests and answers are typed by `schema.d.ts`, generated from `openapi.yaml`; the paths and
 * options below are checked against it when this file compiles.
 */
import createClient from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];

/** A call as the API answers it: `status` says whether it has ended, `result` or `error` how. */
export type Call = Schemas["CallOut"];
export type CallStatus = Schemas["CallStatus"];
export type CallError = Schemas["CallError"];
/** An error answer of the API (`application/problem+json`, RFC 9457). */
export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];

export interface SkiffOptions {
  /** The API's root, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** A workspace token (`sk_…`). */
  token: string;
  /** A `fetch` to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

export interface CallOptions {
  /** Positional arguments, JSON values. */
  args?: unknown[];
  /** Keyword arguments, JSON values. */
  kwargs?: Record<string, unknown>;
  /** Run this deployed version instead of the app's current one. */
  version?: number;
  /** The same key and input return the same call for 24 hours: safe to retry. */
  idempotencyKey?: string;
}

export interface InvokeOptions extends CallOptions {
  /** Seconds (at most 60) to wait for the call's end before answering with it as it stands. */
  wait?: number;
}

export interface ResultOptions {
  /** Seconds (at most 60) to wait for the call's end. */
  wait?: number;
}

export interface Skiff {
  /** Calls `fn` of `app`; with `wait`, answers once the call ends or `wait` seconds pass. */
  invoke(app: string, fn: string, options?: InvokeOptions): Promise<Call>;
  /** Calls `fn` of `app` and answers at once with the queued call. */
  spawn(app: string, fn: string, options?: CallOptions): Promise<Call>;
  /** The call as it stands now. */
  getCall(id: string): Promise<Call>;
  /** The call once it has ended, or as it stands after `wait` seconds (default 0). */
  result(id: string, options?: ResultOptions): Promise<Call>;
  /** Cancels a queued or running call; a call that already ended is answered unchanged. */
  cancel(id: string): Promise<Call>;
}

/** The API refused a request or failed it: the fields of its problem+json answer. */
export class SkiffError extends Error {
  override readonly name = "SkiffError";
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  /** The refused fields of a 422. */
  readonly errors: FieldError[];
  /** Seconds to wait before retrying, for a 429 or a 503. */
  readonly retryAfter: number | null;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.type = problem.type;
    this.errors = problem.errors ?? [];
    this.retryAfter = problem.retry_after ?? null;
  }

  /** The error of an answer that is not a success; `body` is its parsed body, a problem or not. */
  static fromResponse(response: Response, body: unknown): SkiffError {
    if (isProblem(body)) {
      return new SkiffError(body);
    }
    const title = response.statusText || "HTTP error";
    const detail = typeof body === "string" && body ? body : `the server answered ${response.status} ${title}`;
    return new SkiffError({ type: "about:blank", status: response.status, title, detail });
  }
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === "object" &&
    body !== null &&
    "status" in body &&
    typeof body.status === "number" &&
    "title" in body &&
    typeof body.title === "string" &&
    "detail" in body &&
    typeof body.detail === "string" &&
    "type" in body &&
    typeof body.type === "string"
  );
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok || data === undefined) {
    throw SkiffError.fromResponse(response, error);
  }
  return data;
}

export function createSkiff(options: SkiffOptions): Skiff {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.token}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  function startCall(app: string, fn: string, input: CallOptions, wait: number | undefined): Promise<Call> {
    const { args = [], kwargs = {}, version, idempotencyKey } = input;
    return unwrap(
      client.POST("/v1/apps/{app_name}/functions/{function_name}/calls", {
        params: {
          path: { app_name: app, function_name: fn },
          query: version === undefined ? {} : { version },
          header: {
            ...(wait === undefined ? {} : { Prefer: `wait=${wait}` }),
            ...(idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey }),
          },
        },
        body: { args, kwargs },
      }),
    );
  }

  return {
    invoke: (app, fn, options = {}) => startCall(app, fn, options, options.wait),
    spawn: (app, fn, options = {}) => startCall(app, fn, options, undefined),
    getCall: (id) => unwrap(client.GET("/v1/calls/{call_id}", { params: { path: { call_id: id } } })),
    result: (id, options = {}) =>
      unwrap(
        client.GET("/v1/calls/{call_id}/result", {
          params: { path: { call_id: id }, query: options.wait === undefined ? {} : { wait: options.wait } },
        }),
      ),
    cancel: (id) => unwrap(client.DELETE("/v1/calls/{call_id}", { params: { path: { call_id: id } } })),
  };
}
