// The emulators ship no type declarations; they are plain Node http.Server factories.
declare module 'kinesalite' {
  import type { Server } from 'node:http';

  const kinesalite: (options?: Record<string, unknown>) => Server;
  export default kinesalite;
}
declare module 'dynalite' {
  import type { Server } from 'node:http';

  const dynalite: (options?: Record<string, unknown>) => Server;
  export default dynalite;
}
