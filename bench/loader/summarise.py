"""Medians of a bench/loader results file: wall clips/s and clips per CPU second per reader, and the ratios."""
import re, statistics, sys
text = open(sys.argv[1]).read()
def med(pattern):
    v = [float(x) for x in re.findall(pattern, text)]
    return (statistics.median(v), len(v)) if v else (float('nan'), 0)
rows = {
    'main loader': (r'main: main loader: ([\d.]+) clips/s', r'main: loader thread: [\d.]+ CPU s, ([\d.]+) clips per'),
    'branch loader': (r'branch: loader: [\d.]+ clips/s per thread, total ([\d.]+) clips/s',
                      r'branch: loader threads: .*?, ([\d.]+) clips per loader CPU'),
    'branch host-preprocessing loader': (r'branch-host: loader: [\d.]+ clips/s per thread, total ([\d.]+) clips/s',
                      r'branch-host: loader threads: .*?, ([\d.]+) clips per loader CPU'),
    'duckdb copy': (r'duckdb: duckdb single-thread read \(copy\): ([\d.]+) clips/s',
                    r'duckdb: duckdb 1 thread \(copy\):.*?, ([\d.]+) clips per CPU'),
    'duckdb length': (r'duckdb: duckdb single-thread read \(length\): ([\d.]+) clips/s',
                      r'duckdb: duckdb 1 thread \(length\):.*?, ([\d.]+) clips per CPU'),
}
print('# medians: reader, wall clips/s, clips per CPU second (n)')
m = {}
for k, (wall, cpu) in rows.items():
    w, n = med(wall)
    c, _ = med(cpu)
    m[k] = (w, c)
    print(f'{k}: {w:.1f} clips/s wall, {c:.1f} clips per CPU s (n={n})')
best = max(m['duckdb copy'][1], m['duckdb length'][1])
bw = max(m['duckdb copy'][0], m['duckdb length'][0])
print(f"branch / main: {m['branch loader'][0] / m['main loader'][0]:.1f}x wall, "
      f"{m['branch loader'][1] / m['main loader'][1]:.1f}x per CPU s")
print(f"branch host-preprocessing / main: {m['branch host-preprocessing loader'][0] / m['main loader'][0]:.2f}x wall, "
      f"{m['branch host-preprocessing loader'][1] / m['main loader'][1]:.2f}x per CPU s")
print(f"duckdb (faster mode) / branch: {bw / m['branch loader'][0]:.2f}x wall, {best / m['branch loader'][1]:.2f}x per CPU s "
      f"(target <= 2.5x)")
