/** The Pulse console: sign-in, navigation (pages appear when their API exists), the pages. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { apiDocument, hasRoute, type OpenApi } from './api';
import {
  completeCognitoSignIn,
  onSessionChange,
  type Role,
  session,
  signInLocally,
  signInWithCognito,
  signOut,
} from './auth';
import { config, loadConfig } from './config';
import { Campaign } from './pages/campaign';
import { Campaigns } from './pages/campaigns';
import { Experiments } from './pages/experiments';
import { Analysis, Listing } from './pages/extras';
import { Person } from './pages/person';
import { Segments } from './pages/segments';
import './style.css';
import { ErrorBox, Loading } from './ui';

interface Page {
  path: string;
  label: string;
  /** The route it needs: the page is listed only when the API has it. */
  needs: [method: string, path: string];
  view: (doc: OpenApi) => preact.JSX.Element;
}

const PAGES: Page[] = [
  {
    path: 'campaigns',
    label: 'Campaigns',
    needs: ['get', '/api/metrics/campaigns'],
    view: () => <Campaigns />,
  },
  {
    path: 'experiments',
    label: 'Experiments',
    needs: ['get', '/api/experiments'],
    view: () => <Experiments />,
  },
  { path: 'segments', label: 'Segments', needs: ['get', '/api/segments'], view: () => <Segments /> },
  { path: 'people', label: 'People', needs: ['get', '/api/users/{userId}'], view: () => <Person /> },
  {
    path: 'funnels',
    label: 'Funnels & retention',
    needs: ['post', '/api/analytics/queries'],
    view: (doc) => <Analysis doc={doc} title="Funnels & retention" />,
  },
  {
    path: 'destinations',
    label: 'Destinations',
    needs: ['get', '/api/destinations'],
    view: () => <Listing title="Destinations" path="/api/destinations" />,
  },
  {
    path: 'models',
    label: 'Models',
    needs: ['get', '/api/models'],
    view: () => <Listing title="Models" path="/api/models" />,
  },
];

const useHash = () => {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#\/?/, '');
};

const SignIn = () => {
  const [role, setRole] = useState<Role>('analyst');
  const [error, setError] = useState<unknown>();
  const auth = config().auth;
  return (
    <main id="main" class="signin">
      <h1>Pulse console</h1>
      {auth.kind === 'cognito' ? (
        <button type="button" onClick={() => signInWithCognito().catch(setError)}>
          Sign in
        </button>
      ) : (
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            signInLocally(role).catch(setError);
          }}
        >
          <p>Local stack: sign in with a development token for a role.</p>
          <fieldset>
            <legend>Role</legend>
            {(['analyst', 'admin'] as const).map((r) => (
              <label key={r} class="inline">
                <input type="radio" name="role" value={r} checked={role === r} onChange={() => setRole(r)} />{' '}
                {r}
              </label>
            ))}
          </fieldset>
          <button type="submit">Sign in as {role}</button>
        </form>
      )}
      <ErrorBox error={error} />
    </main>
  );
};

const App = () => {
  const [, setTick] = useState(0);
  const [doc, setDoc] = useState<OpenApi>();
  const [error, setError] = useState<unknown>();
  const route = useHash();
  useEffect(() => onSessionChange(() => setTick((t) => t + 1)), []);
  useEffect(() => {
    apiDocument().then(setDoc, setError);
  }, []);
  const s = session();
  if (!s) return <SignIn />;
  const pages = doc ? PAGES.filter((p) => hasRoute(doc, ...p.needs)) : [];
  const [first, ...rest] = route.split('/');
  const page = pages.find((p) => p.path === first) ?? pages[0];
  const campaignId =
    first === 'campaigns' && rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Pulse</span>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {s.name} ({s.role}){' '}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBox error={error} />
        {!doc && !error && <Loading />}
        {doc && page && (campaignId ? <Campaign campaignId={campaignId} /> : page.view(doc))}
      </main>
    </>
  );
};

const start = async () => {
  const root = document.getElementById('app') as HTMLElement;
  try {
    await loadConfig();
    await completeCognitoSignIn();
    render(<App />, root);
  } catch (error) {
    render(
      <main id="main">
        <ErrorBox error={error} />
      </main>,
      root,
    );
  }
};

start();
