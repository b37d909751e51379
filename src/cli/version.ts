// The version, on its own so that the launcher (./launch.ts) can print it without
// loading anything else.
declare const __PANTHERAGENT_VERSION__: string;
export const VERSION = typeof __PANTHERAGENT_VERSION__ === 'string' ? __PANTHERAGENT_VERSION__ : '0.0.0-dev';

/** What `pantheragent --version [--json]` prints. */
export const versionText = (json: boolean): string => (json ? JSON.stringify({ version: VERSION }) : `pantheragent ${VERSION}`);
