// ua-parser-js 1.x ships no types (2.x does, but is AGPL): the part Pulse uses.
declare module 'ua-parser-js' {
  interface UAResult {
    browser: { name?: string; version?: string; major?: string };
    os: { name?: string; version?: string };
    device: { type?: string; vendor?: string; model?: string };
  }
  function UAParser(ua: string): UAResult;
  export default UAParser;
}
