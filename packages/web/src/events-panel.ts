// The live event stream (GET /api/events, SSE) and its panel: a connection status and a log of
// every event received, newest first, at most MAX_LOG entries.

import { byId, el, formatBytes } from './ui';

/** One received event. `data` is the parsed JSON (or the raw text if it was not JSON). */
export interface LiveEvent {
  type: string;
  data: unknown;
  id: string;
  receivedAt: Date;
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/**
 * The named types the app knows. EventSource delivers a named event (`event: x`) only to
 * listeners for exactly that name, so a type missing here cannot be seen; 'message' catches
 * events sent without a name.
 */
const EVENT_TYPES = [
  'job.progress',
  'files.export.done',
  'job.succeeded',
  'job.dead',
  'replay_gap',
  'message',
] as const;

const MAX_LOG = 50;
const MAX_RETRY_MS = 60_000;

type Listener = (event: LiveEvent) => void;
type StatusListener = (status: StreamStatus) => void;

function record(data: unknown): Record<string, unknown> {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

function str(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function shortId(value: unknown): string {
  const id = str(value);
  return id.length > 8 ? id.slice(0, 8) : id || '?';
}

function clip(text: string, max = 140): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A one-line summary of an event for the log. */
export function summarize(event: LiveEvent): string {
  const d = record(event.data);
  switch (event.type) {
    case 'job.progress': {
      const counts =
        d.done !== undefined && d.total !== undefined ? ` (${str(d.done)} of ${str(d.total)})` : '';
      return `${str(d.type) || 'job'} ${shortId(d.jobId)}: ${str(d.percent) || '0'}%${counts}`;
    }
    case 'files.export.done':
      return `export ${shortId(d.jobId)} ready: ${str(d.name)} (${str(d.objects)} files, ${formatBytes(Number(d.bytes))})`;
    case 'job.succeeded':
      return `${str(d.type) || 'job'} ${shortId(d.jobId)} succeeded${d.resultOmitted ? ' (result too large to include)' : ''}`;
    case 'job.dead':
      return clip(
        `${str(d.type) || 'job'} ${shortId(d.jobId)} failed for good: ${str(d.error) || 'unknown error'}`,
      );
    case 'replay_gap':
      return 'some older events are no longer available: the log may be missing a few';
    default:
      return clip(typeof event.data === 'string' ? event.data : JSON.stringify(event.data));
  }
}

export class EventsPanel {
  private source: EventSource | undefined;
  private lastEventId = '';
  private retryTimer: number | undefined;
  private retryMs = 2000;
  private readonly listeners = new Set<Listener>();
  private readonly statusListeners = new Set<StatusListener>();
  private readonly recentEvents: LiveEvent[] = [];
  private readonly statusEl = byId('events-status', HTMLElement);
  private readonly logEl = byId('events-log', HTMLUListElement);

  /**
   * @param onGaveUp called when the browser stops retrying by itself (the server answered with an
   *   error, e.g. 401 or 429); resolve to true to try again later, false to stay closed.
   */
  constructor(private readonly onGaveUp: () => Promise<boolean>) {
    this.setStatus('closed');
  }

  onEvent(listener: Listener): void {
    this.listeners.add(listener);
  }

  onStatus(listener: StatusListener): void {
    this.statusListeners.add(listener);
  }

  /** The latest events, oldest first (for a job whose id arrived after its first events). */
  recent(): readonly LiveEvent[] {
    return this.recentEvents;
  }

  start(): void {
    if (this.source) return;
    this.open('connecting');
  }

  /** Closes the stream and forgets everything (sign-out). */
  stop(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.source?.close();
    this.source = undefined;
    this.lastEventId = '';
    this.retryMs = 2000;
    this.recentEvents.length = 0;
    this.logEl.replaceChildren();
    this.setStatus('closed');
  }

  private open(status: StreamStatus): void {
    // A fresh EventSource does not send Last-Event-ID; the events service takes it as a query.
    const url = this.lastEventId
      ? `/api/events?${new URLSearchParams({ lastEventId: this.lastEventId }).toString()}`
      : '/api/events';
    const source = new EventSource(url);
    this.source = source;
    this.setStatus(status);
    source.onopen = () => {
      this.retryMs = 2000;
      this.setStatus('live');
    };
    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED) this.gaveUp(source);
      else this.setStatus('reconnecting');
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => {
        if (this.source === source && event instanceof MessageEvent) this.receive(type, event);
      });
    }
  }

  private gaveUp(source: EventSource): void {
    source.close();
    this.source = undefined;
    this.setStatus('reconnecting');
    void this.onGaveUp().then((retry) => {
      if (!retry || this.source) return;
      this.retryTimer = window.setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.source) this.open('reconnecting');
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    });
  }

  private receive(type: string, message: MessageEvent): void {
    if (message.lastEventId) this.lastEventId = message.lastEventId;
    const raw = typeof message.data === 'string' ? message.data : '';
    let data: unknown = raw;
    try {
      data = JSON.parse(raw);
    } catch {
      // Not JSON: keep the text, the log shows it as is.
    }
    const event: LiveEvent = { type, data, id: message.lastEventId, receivedAt: new Date() };
    this.recentEvents.push(event);
    if (this.recentEvents.length > MAX_LOG) this.recentEvents.shift();
    this.log(event);
    for (const listener of this.listeners) listener(event);
  }

  private log(event: LiveEvent): void {
    const item = el('li');
    item.dataset.eventType = event.type;
    const time = el('time', { className: 'event-time', text: event.receivedAt.toLocaleTimeString() });
    time.dateTime = event.receivedAt.toISOString();
    item.append(
      time,
      el('span', { className: 'event-type', text: event.type }),
      el('span', { className: 'event-summary', text: summarize(event) }),
    );
    this.logEl.prepend(item);
    while (this.logEl.children.length > MAX_LOG) this.logEl.lastElementChild?.remove();
  }

  private setStatus(status: StreamStatus): void {
    this.statusEl.textContent = status;
    this.statusEl.dataset.state = status;
    for (const listener of this.statusListeners) listener(status);
  }
}
