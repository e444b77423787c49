/**
 * dynalite and kinesalite in a process of their own for the cost section: the handlers measured
 * in the bench process then spend its CPU alone, and their wall time waits on the emulators as
 * it would on DynamoDB and Kinesis. Prints the endpoints as one JSON line; stops when stdin closes.
 */
import { startEmulators } from '../../lib/local/emulators';

const emulators = await startEmulators({ env: {} });
process.stdout.write(`${JSON.stringify(emulators.endpoints)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  emulators.close().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
});
