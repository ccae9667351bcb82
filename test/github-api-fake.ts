import { Octokit } from '@octokit/rest';

/**
 * A GitHub REST API that answers what a test tells it, behind a real
 * `@octokit/rest` client (its `fetch` is replaced): the code under test builds
 * real requests, follows real pagination (`Link` headers) and gets real
 * `RequestError`s with GitHub's status codes.
 *
 * A route is `METHOD /path` (the query string is matched separately, when the
 * route gives one). An unrouted request answers 404 like GitHub does for an
 * unknown resource, and is recorded in `unrouted` so that a test can assert
 * that nothing unexpected was called.
 */
export interface FakeAnswer {
  readonly status?: number;
  readonly body?: unknown;
  /** Extra response headers, e.g. a `link` header for pagination. */
  readonly headers?: Record<string, string>;
}

export type FakeHandler = FakeAnswer | ((request: FakeRequest) => FakeAnswer);

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly authorization?: string;
}

export const API = 'https://api.github.com';

export class FakeGitHub {
  readonly requests: FakeRequest[] = [];
  readonly unrouted: string[] = [];
  private readonly routes = new Map<string, FakeHandler>();
  private readonly matchers: ((request: FakeRequest) => FakeAnswer | undefined)[] = [];

  /** Answers `method path` (path with an optional `?query` that must match exactly). */
  on(route: string, handler: FakeHandler): this {
    this.routes.set(route, handler);
    return this;
  }

  /** Answers any request the handler returns an answer for (paths with ids or names in them); tried after the exact routes. */
  match(handler: (request: FakeRequest) => FakeAnswer | undefined): this {
    this.matchers.push(handler);
    return this;
  }

  client(token = 'test-token'): Octokit {
    const quiet = () => undefined;
    return new Octokit({
      auth: token,
      request: { fetch: (url: string, init: RequestInit) => this.answer(url, init) },
      // The request-log plugin prints every 4xx; the code under test handles them.
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    });
  }

  /** Requests whose `METHOD /path` equals the route (query ignored). */
  calls(route: string): FakeRequest[] {
    return this.requests.filter((r) => `${r.method} ${r.path}` === route);
  }

  private matchedBy(request: FakeRequest): FakeAnswer | undefined {
    for (const matcher of this.matchers) {
      const answer = matcher(request);
      if (answer) return answer;
    }
    return undefined;
  }

  private async answer(url: string, init: RequestInit): Promise<Response> {
    const parsed = new URL(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const body = typeof init.body === 'string' && init.body !== '' ? JSON.parse(init.body) : undefined;
    const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
    const request: FakeRequest = { method, path: parsed.pathname, query: parsed.searchParams, body, authorization: headers.get('authorization') ?? undefined };
    this.requests.push(request);
    const withQuery = `${method} ${parsed.pathname}${parsed.search}`;
    const handler = this.routes.get(withQuery) ?? this.routes.get(`${method} ${parsed.pathname}`) ?? this.matchedBy(request);
    if (!handler) {
      this.unrouted.push(withQuery);
      return json(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    const answer = typeof handler === 'function' ? handler(request) : handler;
    return json(answer.status ?? 200, answer.body ?? {}, answer.headers);
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 || status === 303 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/** The `content` API's answer for a file. */
export function fileContent(path: string, text: string) {
  return { type: 'file', encoding: 'base64', path, name: path.split('/').pop(), content: Buffer.from(text).toString('base64') };
}
