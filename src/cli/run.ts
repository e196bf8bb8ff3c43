// Entry point of the `lifeboat` executable.
import { exitQuietlyOnBrokenPipe } from './broken-pipe.js';
import { main } from './main.js';

exitQuietlyOnBrokenPipe(process.stdout);
process.exitCode = await main(process.argv);
