// The files panel: upload (with progress), the list of the user's objects, download, delete,
// and the quota usage.

import { deleteFile, type FileObject, fileUrl, listFiles, type Usage, uploadFile } from './api';
import { byId, clearError, el, formatBytes, formatDateTime, reportError, showError } from './ui';

export class FilesPanel {
  private readonly input = byId('file-input', HTMLInputElement);
  private readonly uploadButton = byId('upload-button', HTMLButtonElement);
  private readonly progress = byId('upload-progress', HTMLProgressElement);
  private readonly uploadStatus = byId('upload-status', HTMLElement);
  private readonly usageEl = byId('usage', HTMLElement);
  private readonly usageBar = byId('usage-bar', HTMLProgressElement);
  private readonly list = byId('files-list', HTMLUListElement);
  private readonly empty = byId('files-empty', HTMLElement);
  /** Bumped on every refresh and on reset, so a slow, older listing never overwrites a newer one. */
  private generation = 0;

  constructor() {
    this.uploadButton.addEventListener('click', () => void this.upload());
  }

  /**
   * Loads the whole list (all pages). Returns false on failure, reported in #error unless
   * `report` is false (a caller that already shows a more important error).
   */
  async refresh(report = true): Promise<boolean> {
    const generation = ++this.generation;
    try {
      const listing = await listFiles();
      if (generation === this.generation) this.render(listing.objects, listing.usage);
      return true;
    } catch (error) {
      if (report && generation === this.generation) reportError('Listing files', error);
      return false;
    }
  }

  /** Empties the panel (sign-out): nothing of the previous user stays on the page. */
  reset(): void {
    this.generation++;
    this.list.replaceChildren();
    this.empty.hidden = true;
    this.usageEl.textContent = '';
    this.usageBar.hidden = true;
    this.progress.value = 0;
    this.uploadStatus.textContent = '';
    this.input.value = '';
    this.uploadButton.disabled = false;
  }

  private async upload(): Promise<void> {
    const files = Array.from(this.input.files ?? []);
    if (files.length === 0) {
      showError('Choose a file to upload first.');
      return;
    }
    this.uploadButton.disabled = true;
    let failed = false;
    let uploaded = 0;
    try {
      for (const [index, file] of files.entries()) {
        this.progress.value = 0;
        const counter = files.length > 1 ? ` (${index + 1} of ${files.length})` : '';
        this.uploadStatus.textContent = `Uploading ${file.name}${counter}…`;
        await uploadFile(file, (percent) => {
          this.progress.value = Math.min(100, Math.max(0, percent));
        });
        uploaded++;
      }
      this.uploadStatus.textContent =
        files.length === 1 ? `Uploaded ${files[0]?.name ?? ''}.` : `Uploaded ${files.length} files.`;
      this.input.value = '';
    } catch (error) {
      failed = true;
      this.uploadStatus.textContent = '';
      this.progress.value = 0;
      reportError('Upload', error);
    } finally {
      this.uploadButton.disabled = false;
    }
    if (failed) {
      // Keep the upload's error on screen: a refresh failing now must not replace it.
      if (uploaded > 0) await this.refresh(false);
    } else if (await this.refresh()) {
      clearError();
    }
  }

  private async remove(name: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await deleteFile(name);
      this.findItem(name)?.remove();
      clearError();
    } catch (error) {
      button.disabled = false;
      reportError(`Deleting ${name}`, error);
      return;
    }
    await this.refresh(); // usage changed
  }

  private findItem(name: string): HTMLLIElement | undefined {
    for (const item of this.list.children) {
      if (item instanceof HTMLLIElement && item.dataset.name === name) return item;
    }
    return undefined;
  }

  private render(objects: FileObject[], usage: Usage | undefined): void {
    this.list.replaceChildren(...objects.map((object) => this.item(object)));
    this.empty.hidden = objects.length > 0;
    if (usage) {
      this.usageEl.textContent = `${formatBytes(usage.bytes)} of ${formatBytes(usage.quotaBytes)} used`;
      this.usageBar.max = Math.max(1, usage.quotaBytes);
      this.usageBar.value = Math.min(usage.bytes, this.usageBar.max);
      this.usageBar.hidden = false;
    } else {
      this.usageEl.textContent = '';
      this.usageBar.hidden = true;
    }
  }

  private item(object: FileObject): HTMLLIElement {
    const item = el('li', { className: 'file' });
    item.dataset.name = object.name;

    const name = el('span', { className: 'file-name', text: object.name });
    const size = el('span', { className: 'file-size', text: formatBytes(object.size) });
    size.title = `${object.size} bytes`;
    const updated = el('span', { className: 'file-date', text: formatDateTime(object.updatedAt) });

    const download = el('a', { className: 'download', text: 'Download' });
    download.href = fileUrl(object.name);
    download.download = object.name;
    download.setAttribute('aria-label', `Download ${object.name}`);

    const remove = el('button', { className: 'delete', text: 'Delete' });
    remove.type = 'button';
    remove.setAttribute('aria-label', `Delete ${object.name}`);
    remove.addEventListener('click', () => void this.remove(object.name, remove));

    item.append(name, size, updated, download, remove);
    return item;
  }
}
