"""Gloo's all-reduce (PyTorch's torch.distributed) as the reference for the ring bench across namespaces.

One process per rank: python3 gloo_allreduce.py RANK N MASTER_HOST MASTER_PORT SIZES_MB ITERS WARMUP LINK_GBIT
Rank 0 prints one line per size in the ring bench's format (busbw = bytes / time * 2(n-1)/n, fp32 bytes).
Each timed all-reduce starts after a barrier; the time is rank 0's, the median of ITERS runs after WARMUP.
"""
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist


def main():
    rank, n = int(sys.argv[1]), int(sys.argv[2])
    host, port = sys.argv[3], int(sys.argv[4])
    sizes = [int(s) for s in sys.argv[5].split(",")]
    iters, warmup, gbit = int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://{host}:{port}", rank=rank, world_size=n)
    for mb in sizes:
        t = torch.ones(mb * 1_000_000 // 4, dtype=torch.float32)
        times = []
        for it in range(warmup + iters):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(t)
            dt = time.perf_counter() - t0
            if it >= warmup:
                times.append(dt)
            t.fill_(1.0)
        if rank == 0:
            sec = statistics.median(times)
            nbytes = t.numel() * 4
            busbw = nbytes / sec * 2 * (n - 1) / n
            print(f"gloo fp32 {n} ranks {mb} MB: time {sec * 1e3:.1f} ms (min {min(times) * 1e3:.1f},"
                  f" max {max(times) * 1e3:.1f} of {len(times)}), busbw {busbw / 1e9:.3f} GB/s"
                  f" = {100 * busbw / (gbit * 1e9 / 8):.1f}% of the link bound ({gbit:.3g} Gbit/s);"
                  f" wire busbw {busbw / 1e9:.3f} GB/s; load {os.getloadavg()[0]:.2f}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
