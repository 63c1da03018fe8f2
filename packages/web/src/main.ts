// Entry module: loads the stylesheet, wires the panels, and switches between the signed-out and
// signed-in views. Whether we are signed in is learned from GET /api/me (the cookie is HttpOnly).

import './styles.css';
import { AccountPanel } from './account-panel';
import { getMe, type Me, onUnauthorized } from './api';
import { EventsPanel } from './events-panel';
import { ExportPanel } from './export-panel';
import { FilesPanel } from './files-panel';
import { byId, reportError, showError } from './ui';

type View = 'loading' | 'signed-out' | 'signed-in';

const loadingSection = byId('loading', HTMLElement);
const retryButton = byId('retry-button', HTMLButtonElement);
const signedOutSection = byId('signed-out', HTMLElement);
const signedInSection = byId('signed-in', HTMLElement);

let view: View = 'loading';

const events = new EventsPanel(async () => {
  // The browser stopped reconnecting (the server refused the stream): still signed in?
  try {
    const me = await getMe();
    if (me) return view === 'signed-in';
    if (view === 'signed-in') showError('Your session has ended. Please sign in again.');
    showSignedOut();
    return false;
  } catch {
    return view === 'signed-in'; // offline: keep trying
  }
});
const files = new FilesPanel();
const exporter = new ExportPanel(events, () => void files.refresh());
const account = new AccountPanel(() => showSignedOut());

function show(next: View): void {
  view = next;
  loadingSection.hidden = next !== 'loading';
  signedOutSection.hidden = next !== 'signed-out';
  signedInSection.hidden = next !== 'signed-in';
}

function showSignedIn(me: Me): void {
  show('signed-in');
  account.showUser(me);
  void files.refresh();
  events.start();
}

function showSignedOut(): void {
  if (view === 'signed-out') return;
  // Nothing of the previous session stays on the page or connected.
  events.stop();
  files.reset();
  exporter.reset();
  account.clearUser();
  show('signed-out');
  void account.loadProviders();
}

// Any signed-in call answering 401 means the session ended (expired, revoked, signed out elsewhere).
onUnauthorized(() => {
  if (view !== 'signed-in') return;
  showSignedOut();
  showError('Your session has ended. Please sign in again.');
});

async function boot(): Promise<void> {
  retryButton.hidden = true;
  try {
    const me = await getMe();
    if (me) showSignedIn(me);
    else showSignedOut();
  } catch (error) {
    reportError('Loading your account', error);
    retryButton.hidden = false;
  }
}

retryButton.addEventListener('click', () => void boot());
void boot();
