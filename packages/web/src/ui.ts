// Small DOM helpers shared by the panels. Everything the server or the user supplies goes into
// the page as textContent (or a property like href/dataset), never as HTML.

import { ApiError, NetworkError } from './api';

/** The element with this id, checked to be of the expected kind (the ids are the page's contract). */
export function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`#${id} is missing from index.html`);
  return element;
}

/** createElement + textContent, the only way this app builds markup. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { text?: string; className?: string } = {},
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.className) element.className = options.className;
  if (options.text !== undefined) element.textContent = options.text;
  return element;
}

/** A readable message for a failed action, e.g. "Upload refused: quota_exceeded — <detail>". */
export function describeError(action: string, error: unknown): string {
  if (error instanceof ApiError) return `${action} refused: ${error.code} — ${error.detail || error.title}`;
  if (error instanceof NetworkError) return `${action} failed: ${error.message}`;
  if (error instanceof Error) return `${action} failed: ${error.message}`;
  return `${action} failed: ${String(error)}`;
}

/** Shows one message in #error (role="alert"): the latest failure wins. */
export function showError(message: string): void {
  byId('error', HTMLElement).textContent = message;
}

export function reportError(action: string, error: unknown): void {
  showError(describeError(action, error));
}

/** Called after an action succeeds. */
export function clearError(): void {
  byId('error', HTMLElement).textContent = '';
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

const DATE_FORMAT: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'long', day: 'numeric' };

/** A readable date (e.g. "March 5, 2026" in the browser's locale); the raw text if unparseable. */
export function formatDate(value: string | Date): string {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleDateString(undefined, DATE_FORMAT);
}

export function formatDateTime(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}
