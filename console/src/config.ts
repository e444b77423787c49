/**
 * Where the API is and how to sign in, from `config.json` beside the app: written by the CDK
 * deployment (Cognito Hosted UI) or served by `npm start` (the local sign-in).
 */
export type AuthConfig =
  | { kind: 'local' }
  | { kind: 'cognito'; domain: string; clientId: string; redirectUri: string; logoutUri: string };

export interface ConsoleConfig {
  apiUrl: string;
  auth: AuthConfig;
}

let loaded: ConsoleConfig | undefined;

export const loadConfig = async (): Promise<ConsoleConfig> => {
  const res = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  loaded = (await res.json()) as ConsoleConfig;
  loaded.apiUrl = loaded.apiUrl.replace(/\/$/, '');
  return loaded;
};

export const config = (): ConsoleConfig => {
  if (!loaded) throw new Error('config not loaded');
  return loaded;
};
