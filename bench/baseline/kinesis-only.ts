/** The bench's bundle baseline: a function that holds only the Kinesis client. */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';

const client = new KinesisClient({});
export const handler = async () => client.send(new PutRecordsCommand({ StreamName: 's', Records: [] }));
