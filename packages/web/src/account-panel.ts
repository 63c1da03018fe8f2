// Who is signed in, the sign-in links, sign-out, and account deletion (with its confirmation
// dialog and the notice of the purge date).

import { ApiError, deleteAccount, getProviders, type Me, type Provider, signOut } from './api';
import { byId, clearError, el, formatDate, reportError } from './ui';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Only same-origin http(s) sign-in starts: a provider entry must not become a javascript: link. */
function safeStart(start: string): string | undefined {
  try {
    const url = new URL(start, window.location.origin);
    if (url.origin !== window.location.origin) return undefined;
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

const PROVIDER_NAMES = new Map([
  ['google', 'Google'],
  ['oidc', 'OIDC'],
]);

function providerLabel(name: string): string {
  return `Sign in with ${PROVIDER_NAMES.get(name) ?? name}`;
}

export class AccountPanel {
  private readonly providers = byId('providers', HTMLUListElement);
  private readonly whoami = byId('whoami', HTMLElement);
  private readonly signOutButton = byId('sign-out-button', HTMLButtonElement);
  private readonly deleteButton = byId('delete-account-button', HTMLButtonElement);
  private readonly dialog = byId('delete-dialog', HTMLDialogElement);
  private readonly purgeDate = byId('purge-date', HTMLElement);
  private readonly confirmButton = byId('confirm-delete', HTMLButtonElement);
  private readonly cancelButton = byId('cancel-delete', HTMLButtonElement);
  private readonly notice = byId('deleted-notice', HTMLElement);
  private me: Me | undefined;

  /** @param onSignedOut called once the session is gone (sign-out or account deletion). */
  constructor(private readonly onSignedOut: () => void) {
    this.signOutButton.addEventListener('click', () => void this.signOut());
    this.deleteButton.addEventListener('click', () => this.openDeleteDialog());
    this.cancelButton.addEventListener('click', () => this.dialog.close());
    this.confirmButton.addEventListener('click', () => void this.confirmDelete());
  }

  showUser(me: Me): void {
    this.me = me;
    const name = me.displayName || me.email || me.id;
    const parts = [name];
    if (me.email && me.email !== name) parts.push(`(${me.email})`);
    this.whoami.textContent = `Signed in as ${parts.join(' ')} via ${me.provider}`;
    this.deleteButton.disabled = false;
    if (me.deletionRequestedAt) {
      // Another session asked for deletion; this one is still open until the purge revokes it.
      this.deleteButton.disabled = true;
      const purgeBy = new Date(new Date(me.deletionRequestedAt).getTime() + me.accountPurgeDays * DAY_MS);
      this.showNotice(
        `Deletion of this account was requested on ${formatDate(me.deletionRequestedAt)}; all data will be purged by ${formatDate(purgeBy)}.`,
      );
    } else {
      this.notice.hidden = true;
      this.notice.textContent = '';
    }
  }

  /** Forgets the user (the deletion notice, if any, stays: it is what the signed-out view says). */
  clearUser(): void {
    this.me = undefined;
    this.whoami.textContent = '';
    if (this.dialog.open) this.dialog.close();
  }

  async loadProviders(): Promise<void> {
    let providers: Provider[];
    try {
      providers = await getProviders();
    } catch (error) {
      reportError('Loading sign-in providers', error);
      return;
    }
    const items: HTMLLIElement[] = [];
    for (const provider of providers) {
      const href = typeof provider.name === 'string' ? safeStart(String(provider.start)) : undefined;
      if (!href) continue;
      // A plain link: signing in is a full-page navigation through the provider and back to /.
      const link = el('a', { className: 'provider', text: providerLabel(provider.name) });
      link.href = href;
      link.dataset.provider = provider.name;
      const item = el('li');
      item.append(link);
      items.push(item);
    }
    if (items.length === 0) items.push(el('li', { text: 'No sign-in provider is configured.' }));
    this.providers.replaceChildren(...items);
  }

  private async signOut(): Promise<void> {
    this.signOutButton.disabled = true;
    try {
      await signOut();
      clearError();
    } catch (error) {
      // 401: the session had already ended, which is what was asked for.
      if (!(error instanceof ApiError && error.status === 401)) {
        reportError('Sign-out', error);
        return;
      }
    } finally {
      this.signOutButton.disabled = false;
    }
    this.onSignedOut();
  }

  private openDeleteDialog(): void {
    const days = this.me?.accountPurgeDays;
    this.purgeDate.textContent =
      typeof days === 'number' && Number.isFinite(days)
        ? formatDate(new Date(Date.now() + days * DAY_MS))
        : 'the end of the retention period';
    this.confirmButton.disabled = false;
    this.dialog.showModal();
    this.cancelButton.focus(); // the safe choice is the default one
  }

  private async confirmDelete(): Promise<void> {
    this.confirmButton.disabled = true;
    try {
      const accepted = await deleteAccount();
      clearError();
      this.dialog.close();
      this.showNotice(
        `Your account is scheduled for deletion. All your data will be purged by ${formatDate(accepted.purgeBy)}.`,
      );
      this.onSignedOut();
    } catch (error) {
      this.dialog.close();
      reportError('Account deletion', error);
    } finally {
      this.confirmButton.disabled = false;
    }
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }
}
