// The API client: every call the page makes, same origin, cookies sent by default
// (credentials 'same-origin'). Errors come back as ApiError (a problem+json answer) or
// NetworkError (no answer at all), so the panels can say which it was.

export interface Me {
  id: string;
  provider: string;
  email: string | null;
  displayName: string | null;
  createdAt: string;
  deletionRequestedAt: string | null;
  accountPurgeDays: number;
}

export interface Provider {
  name: string;
  start: string;
}

export interface FileObject {
  name: string;
  size: number;
  sha256: string;
  contentType: string;
  etag: string;
  createdAt: string;
  updatedAt: string;
}

export interface Usage {
  bytes: number;
  quotaBytes: number;
}

export interface FileListing {
  objects: FileObject[];
  usage: Usage | undefined;
}

export interface Job {
  id: string;
  type: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  lastError: string | null;
  result: unknown;
}

export interface DeletionAccepted {
  requestedAt: string;
  purgeBy: string;
}

/** The server answered with an error status; `code` is its stable problem+json code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${code} — ${detail || title}`);
    this.name = 'ApiError';
  }
}

/** The request never got an answer (offline, connection reset, gateway unreachable). */
export class NetworkError extends Error {
  constructor(message = 'network error — the server could not be reached') {
    super(message);
    this.name = 'NetworkError';
  }
}

let unauthorizedHandler: () => void = () => {};

/** Called when a signed-in call answers 401: the session ended (signed out elsewhere, expired). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

/** The URL of one of the user's files (name is user data: always encoded). */
export function fileUrl(name: string): string {
  return `/api/files/${encodeURIComponent(name)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Turns an error answer (problem+json, or anything else) into an ApiError. */
function problemOf(status: number, statusText: string, body: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed)) {
    return new ApiError(
      status,
      text(parsed.code) || `http_${status}`,
      text(parsed.title) || statusText,
      text(parsed.detail),
    );
  }
  return new ApiError(status, `http_${status}`, statusText || 'request failed', '');
}

interface RequestOptions {
  method?: string;
  json?: unknown;
  /** Statuses the caller handles itself (not an error, no unauthorized hook). */
  accept?: number[];
}

async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const init: RequestInit = {
    method: options.method ?? 'GET',
    headers: { Accept: 'application/json, application/problem+json' },
    credentials: 'same-origin',
  };
  if (options.json !== undefined) {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new NetworkError();
  }
  if (response.ok || options.accept?.includes(response.status)) return response;
  const body = await response.text().catch(() => '');
  if (response.status === 401) unauthorizedHandler();
  throw problemOf(response.status, response.statusText, body);
}

async function json<T>(response: Response): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch {
    throw new ApiError(response.status, 'invalid_response', 'Invalid response', 'the answer was not JSON');
  }
}

export async function getProviders(): Promise<Provider[]> {
  const body = await json<{ providers?: Provider[] }>(await request('/auth/providers'));
  return Array.isArray(body.providers) ? body.providers : [];
}

/** The signed-in user, or null when not signed in (401). */
export async function getMe(): Promise<Me | null> {
  const response = await request('/api/me', { accept: [401] });
  if (response.status === 401) return null;
  return json<Me>(response);
}

export async function signOut(): Promise<void> {
  await request('/auth/logout', { method: 'POST' });
}

export async function deleteAccount(): Promise<DeletionAccepted> {
  return json<DeletionAccepted>(await request('/api/me', { method: 'DELETE' }));
}

/** Every object, following `next` page by page. */
export async function listFiles(): Promise<FileListing> {
  const objects: FileObject[] = [];
  let usage: Usage | undefined;
  let after: string | undefined;
  // A page cap keeps a misbehaving server from looping the page forever.
  for (let page = 0; page < 1000; page++) {
    const query = after === undefined ? '' : `?${new URLSearchParams({ after }).toString()}`;
    const body = await json<{ objects?: FileObject[]; next?: string | null; usage?: Usage }>(
      await request(`/api/files${query}`),
    );
    objects.push(...(body.objects ?? []));
    usage = body.usage ?? usage;
    if (!body.next || body.next === after) break;
    after = body.next;
  }
  return { objects, usage };
}

export async function deleteFile(name: string): Promise<void> {
  await request(fileUrl(name), { method: 'DELETE' });
}

/**
 * PUTs one file as the raw body. XMLHttpRequest rather than fetch: only it reports upload
 * progress (`xhr.upload.onprogress`). Resolves with the stored object's metadata.
 */
export function uploadFile(file: File, onProgress: (percent: number) => void): Promise<FileObject> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', fileUrl(file.name));
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress((event.loaded / event.total) * 100);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        try {
          resolve(JSON.parse(xhr.responseText) as FileObject);
        } catch {
          reject(new ApiError(xhr.status, 'invalid_response', 'Invalid response', 'the answer was not JSON'));
        }
        return;
      }
      if (xhr.status === 401) unauthorizedHandler();
      reject(problemOf(xhr.status, xhr.statusText, xhr.responseText));
    };
    xhr.onerror = () => reject(new NetworkError());
    xhr.ontimeout = () => reject(new NetworkError('network error — the upload timed out'));
    xhr.onabort = () => reject(new NetworkError('the upload was cancelled'));
    xhr.send(file);
  });
}

export async function startExport(): Promise<{ id: string }> {
  return json<{ id: string }>(
    await request('/api/jobs', { method: 'POST', json: { type: 'files.export', payload: {} } }),
  );
}

export async function getJob(id: string): Promise<Job> {
  return json<Job>(await request(`/api/jobs/${encodeURIComponent(id)}`));
}
