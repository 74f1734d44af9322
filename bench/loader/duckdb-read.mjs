// Yardstick for the clip loader: DuckDB with one thread reads (and decompresses) the frames and pcm columns of a
// prep output, 8 rows at a time, and copies each value out into JavaScript, as a bare reader would.
// Usage: node duckdb-read.mjs DATASET_DIR [SECONDS] [copy|length]   Last line: "<n> clips/s".
// copy (default): every value is copied into a JavaScript Uint8Array; length: DuckDB reads and decompresses the
// values but hands out only their lengths (no copy into JavaScript), the bare scan.
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const seconds = Number(process.argv[3] ?? 20);
const mode = process.argv[4] ?? 'copy';
if (!dir) {
  console.error('usage: node duckdb-read.mjs DATASET_DIR [SECONDS]');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await instance.connect();
// the data files of a prep output: batch=<run>/part-*.parquet ('_quarantine/' holds another table)
const glob = `${dir.replace(/\/$/, '')}/batch=*/*.parquet`;
const files = (await (await con.run(`SELECT count(*) FROM glob('${glob}')`)).getRows())[0][0];
let clips = 0;
let bytes = 0;
let passes = 0;
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
while (elapsed() < seconds) {
  // one pass over the dataset
  const columns = mode === 'length' ? 'octet_length(frames), octet_length(pcm)' : 'frames, pcm';
  const result = await con.stream(`SELECT ${columns} FROM read_parquet('${glob}', hive_partitioning = false)`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const frames = chunk.getColumnVector(0);
    const pcm = chunk.getColumnVector(1);
    for (let r = 0; r < chunk.rowCount; r += 8) {
      for (let i = r; i < Math.min(r + 8, chunk.rowCount); i++) {
        const f = frames.getItem(i);
        const p = pcm.getItem(i);
        bytes += mode === 'length' ? Number(f) + Number(p) : f.bytes.length + p.bytes.length;
        clips++;
      }
    }
    if (elapsed() >= seconds) break;
  }
  passes++;
}
const s = elapsed();
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(`duckdb 1 thread (${mode}): ${files} files, ${passes} passes, ${clips} clips in ${s.toFixed(1)} s, `
    + `${(bytes / s / 1e6).toFixed(0)} MB/s; process CPU ${cpuSeconds.toFixed(1)} s, `
    + `${(clips / cpuSeconds).toFixed(1)} clips per CPU second (load-independent)`);
console.log(`duckdb single-thread read (${mode}): ${(clips / s).toFixed(0)} clips/s`);
