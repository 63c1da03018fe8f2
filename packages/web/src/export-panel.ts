// The export panel: starts a files.export job (POST /api/jobs), follows it through the live
// events, and offers the archive for download when it is done.

import { fileUrl, getJob, startExport } from './api';
import type { EventsPanel, LiveEvent } from './events-panel';
import { byId, clearError, formatBytes, reportError, showError } from './ui';

interface ExportResult {
  name: string;
  objects?: unknown;
  bytes?: unknown;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function exportResult(value: unknown): ExportResult | undefined {
  const result = record(value);
  return typeof result.name === 'string' && result.name ? { ...result, name: result.name } : undefined;
}

export class ExportPanel {
  private readonly button = byId('export-button', HTMLButtonElement);
  private readonly progress = byId('export-progress', HTMLProgressElement);
  private readonly status = byId('export-status', HTMLElement);
  private readonly link = byId('export-link', HTMLAnchorElement);
  /** The job being followed; undefined when none is running. */
  private jobId: string | undefined;
  /** Bumped on reset, so an answer for a previous session's job is ignored. */
  private generation = 0;

  constructor(
    private readonly events: EventsPanel,
    private readonly onExported: () => void,
  ) {
    this.button.addEventListener('click', () => void this.start());
    events.onEvent((event) => this.handle(event));
    // After a reconnect (or an event gap), events about the job may have been missed: ask.
    events.onStatus((status) => {
      if (status === 'live' && this.jobId) void this.check(this.jobId);
    });
  }

  reset(): void {
    this.generation++;
    this.jobId = undefined;
    this.button.disabled = false;
    this.progress.value = 0;
    this.status.textContent = '';
    this.hideLink();
  }

  private async start(): Promise<void> {
    const generation = this.generation;
    this.button.disabled = true;
    this.progress.value = 0;
    this.hideLink();
    this.status.textContent = 'Starting the export…';
    let id: string;
    try {
      ({ id } = await startExport());
    } catch (error) {
      if (generation !== this.generation) return;
      this.button.disabled = false;
      this.status.textContent = '';
      reportError('Export', error);
      return;
    }
    if (generation !== this.generation) return;
    clearError();
    this.jobId = id;
    this.status.textContent = 'Export queued…';
    // A quick job may have reported before the POST answered: catch up from the recent events.
    for (const event of this.events.recent()) this.handle(event);
  }

  private handle(event: LiveEvent): void {
    const jobId = this.jobId;
    if (!jobId) return;
    if (event.type === 'replay_gap') {
      void this.check(jobId);
      return;
    }
    const data = record(event.data);
    if (data.jobId !== jobId) return;
    switch (event.type) {
      case 'job.progress': {
        const percent = Number(data.percent);
        if (Number.isFinite(percent)) this.progress.value = Math.min(100, Math.max(0, percent));
        const counts =
          data.done !== undefined && data.total !== undefined
            ? ` (${String(data.done)} of ${String(data.total)} files)`
            : '';
        this.status.textContent = `Exporting… ${Math.round(this.progress.value)}%${counts}`;
        break;
      }
      case 'files.export.done': {
        const result = exportResult(data);
        if (result) this.finish(result);
        else void this.check(jobId);
        break;
      }
      case 'job.succeeded': {
        const result = exportResult(data.result);
        if (result) this.finish(result);
        else void this.check(jobId); // resultOmitted: the job row has it
        break;
      }
      case 'job.dead':
        this.fail(typeof data.error === 'string' ? data.error : 'unknown error');
        break;
    }
  }

  /** Asks the jobs service where the job is (fallback when events were missed). */
  private async check(jobId: string): Promise<void> {
    const generation = this.generation;
    try {
      const job = await getJob(jobId);
      if (generation !== this.generation || this.jobId !== jobId) return;
      if (job.state === 'succeeded') {
        const result = exportResult(job.result);
        if (result) this.finish(result);
        else this.fail('the job succeeded but did not name the archive');
      } else if (job.state === 'dead') {
        this.fail(job.lastError ?? 'unknown error');
      }
    } catch (error) {
      if (generation === this.generation && this.jobId === jobId) reportError('Checking the export', error);
    }
  }

  private finish(result: ExportResult): void {
    this.jobId = undefined;
    this.button.disabled = false;
    this.progress.value = 100;
    const objects = typeof result.objects === 'number' ? `${result.objects} files, ` : '';
    const bytes = typeof result.bytes === 'number' ? formatBytes(result.bytes) : '';
    const details = objects || bytes ? ` (${objects}${bytes})`.replace(', )', ')') : '';
    this.status.textContent = `Export ready: ${result.name}${details}.`;
    this.link.href = fileUrl(result.name);
    this.link.download = result.name;
    this.link.textContent = `Download ${result.name}`;
    this.link.hidden = false;
    clearError();
    this.onExported();
  }

  private fail(reason: string): void {
    this.jobId = undefined;
    this.button.disabled = false;
    this.progress.value = 0;
    this.status.textContent = 'Export failed.';
    showError(`Export failed: ${reason}`);
  }

  private hideLink(): void {
    this.link.hidden = true;
    this.link.removeAttribute('href');
    this.link.removeAttribute('download');
    this.link.textContent = '';
  }
}
