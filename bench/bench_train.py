"""Training throughput: the product's trainer vs a plain eager PyTorch loop, on the CPU or a GPU.

Workloads (synthetic, seeded; sizes as in the issue):

* **transformer** — SASRec (GPT-2 blocks, 2 layers, 64 wide, sequence length 50, full softmax over
  the catalogue) on ``--events`` next-item events (default 1M: 20,000 users x 50 events, 10,000 items);
* **DR-JL** — doubly robust joint learning on a Yahoo!R3-sized rating matrix (15,400 users x 1,000
  items, 311,704 self-selected ratings).

The *plain loop* is what a first implementation looks like: batch 256, ``loss.item()`` every step,
bf16 autocast on CUDA, one optimiser step per batch, tensors moved to the device per batch. The
product's trainer runs the model classes unchanged (``SASRec.fit`` / ``DRJL.fit``) with the
defaults a user gets from the Train page (and the larger batch given by ``--batch``).

Writes the "Training throughput" section of BENCHMARKS.md (``--write``), with the device's name;
seconds per epoch are the median of the epochs after the first (the first pays one-off set-up).

    .venv/bin/python bench/bench_train.py --device cpu --events 100000 --write
    .venv/bin/python bench/bench_train.py --device cuda --write          # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import machine, replace_section  # noqa: E402

HEADING = "## Training throughput (issue: recommenders and GPU training)"


def sequence_data(n_events: int, n_items: int = 10_000, seq_len: int = 50, seed: int = 0):
    """Users with ``seq_len`` events each; next items follow a sparse Markov chain (learnable)."""
    from causalrec_core.models.data import Interactions, RecData

    rng = np.random.default_rng(seed)
    n_users = max(n_events // seq_len, 1)
    nxt = rng.integers(0, n_items, size=(n_items, 4))
    items = np.empty((n_users, seq_len), dtype=np.int64)
    items[:, 0] = rng.integers(0, n_items, size=n_users)
    for t in range(1, seq_len):
        follow = nxt[items[:, t - 1], rng.integers(0, 4, size=n_users)]
        jump = rng.random(n_users) < 0.2
        items[:, t] = np.where(jump, rng.integers(0, n_items, size=n_users), follow)
    users = np.repeat(np.arange(n_users), seq_len)
    ts = np.tile(np.arange(seq_len, dtype=np.int64), n_users) + 1_700_000_000
    flat = items.ravel()
    last = ts == ts.max()
    train = Interactions(users[~last], flat[~last], np.ones((~last).sum()), n_users, n_items, timestamp=ts[~last])
    test = Interactions(users[last], flat[last], np.ones(last.sum()), n_users, n_items, timestamp=ts[last])
    return RecData("log", train, np.arange(n_users), np.arange(n_items), test=test,
                   item_text=[""] * n_items, name="synthetic sequences")


def rating_data(seed: int = 0, n_users: int = 15_400, n_items: int = 1_000, n_obs: int = 311_704):
    from causalrec_core.models.data import Interactions, RecData

    rng = np.random.default_rng(seed)
    pop = rng.power(0.3, n_items) + 0.01
    p = pop / pop.sum()
    items = rng.choice(n_items, size=n_obs, p=p)
    users = rng.integers(0, n_users, size=n_obs)
    key = np.unique(users * n_items + items)
    users, items = key // n_items, key % n_items
    ratings = rng.integers(1, 6, size=len(key))
    train = Interactions(users, items, ratings, n_users, n_items)
    t_users = np.repeat(np.arange(n_users), 10)
    t_items = rng.integers(0, n_items, size=len(t_users))
    test = Interactions(t_users, t_items, rng.integers(1, 6, size=len(t_users)), n_users, n_items)
    return RecData("rating", train, np.arange(n_users), np.arange(n_items), test=test, name="yahoo-sized")


def plain_transformer_epoch(data, device: str, epochs: int, batch: int = 256, seq_len: int = 50) -> list[float]:
    """The reference plain loop: per-batch host->device copies, loss.item() every step."""
    import torch
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    dev = torch.device(device)
    n_items = data.n_items
    tr = data.train
    order = np.lexsort((tr.timestamp, tr.user))
    u, it = tr.user[order], tr.item[order] + 1
    n_users = data.n_users
    seqs = np.zeros((n_users, seq_len + 1), dtype=np.int64)
    counts = np.bincount(u, minlength=n_users)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    for uu in range(n_users):
        s = it[starts[uu]:starts[uu] + counts[uu]][-(seq_len + 1):]
        seqs[uu, -len(s):] = s
    cfg = GPT2Config(vocab_size=1, n_positions=seq_len, n_embd=64, n_layer=2, n_head=2)
    gpt = GPT2Model(cfg).to(dev)
    emb = torch.nn.Embedding(n_items + 1, 64, padding_idx=0).to(dev)
    opt = torch.optim.Adam(list(gpt.parameters()) + list(emb.parameters()), lr=1e-3)
    times = []
    for _ in range(epochs):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        perm = np.random.permutation(n_users)
        for b in range(0, n_users, batch):
            x = torch.as_tensor(seqs[perm[b:b + batch]]).to(dev)
            inp, tgt = x[:, :-1], x[:, 1:]
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast(
                "cpu", enabled=False)
            with ctx:
                h = gpt(inputs_embeds=emb(inp), attention_mask=(inp > 0).long()).last_hidden_state
                logits = h @ emb.weight.T
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, n_items + 1).float(), tgt.reshape(-1),
                                                         ignore_index=0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def product_fit(model, data, device: str) -> list[float]:
    from causalrec_core.models.base import TrainContext

    model.fit(data, TrainContext(device=device, checkpoint=False))
    return [h["seconds"] for h in model.history_]


def steady(times: list[float]) -> float:
    return statistics.median(times[1:]) if len(times) > 1 else times[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1024, help="the product trainer's batch (sequences)")
    ap.add_argument("--skip-drjl", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    import torch

    if args.device == "cpu":
        torch.set_num_threads(max(torch.get_num_threads(), 1))
    dev_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU"
    from causalrec_core.models.mf import DRJL
    from causalrec_core.models.sequential import SASRec

    rows = []
    data = sequence_data(args.events)
    n_train = len(data.train)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    plain = plain_transformer_epoch(data, args.device, args.epochs)
    peak_plain = torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else None
    rows.append(("transformer", "plain eager loop (batch 256)", steady(plain), n_train / steady(plain), peak_plain))
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    model = SASRec(epochs=args.epochs, batch_size=args.batch, patience=1000, random_state=0)
    prod = product_fit(model, data, args.device)
    peak = torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else None
    rows.append(("transformer", f"product trainer (SASRec.fit, batch {args.batch})", steady(prod),
                 n_train / steady(prod), peak))
    if not args.skip_drjl:
        rdata = rating_data()
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        drjl = DRJL(epochs=args.epochs, patience=1000, random_state=0)
        t = product_fit(drjl, rdata, args.device)
        peak = torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else None
        rows.append(("DR-JL (Yahoo-sized)", f"product trainer (DRJL.fit, batch {drjl.batch_size})", steady(t),
                     len(rdata.train) / steady(t), peak))
    speedup = rows[0][2] / rows[1][2]
    lines = [HEADING, "",
             f"Device: **{dev_name}** ({args.device}); host: {machine(('torch', 'transformers'))}.",
             f"Transformer workload: {n_train:,} training events ({data.n_users:,} users x 50, "
             f"{data.n_items:,} items, full softmax), {args.epochs} epochs; DR-JL: 15,400 x 1,000, 311k ratings.",
             "Seconds per epoch = median over epochs after the first. Script: `bench/bench_train.py`.", "",
             "| workload | trainer | s / epoch | events (ratings) / s | peak GPU MiB |", "| --- | --- | ---: | ---: | ---: |"]
    for w, name, s, rate, peak in rows:
        lines.append(f"| {w} | {name} | {s:.2f} | {rate:,.0f} | {'-' if peak is None else f'{peak:,.0f}'} |")
    lines += ["", f"Product trainer vs plain loop on the transformer: **{speedup:.2f}x** "
                  f"({'faster' if speedup >= 1 else 'slower'}) on this device."]
    if args.device == "cpu":
        lines += ["", "No GPU was available to this session; the GPU rows (and the 2x target against the plain "
                      "loop on an H100/H200) are still to be measured with `--device cuda` on a GPU machine."]
    body = "\n".join(lines) + "\n"
    print(body)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"rows": rows, "speedup": speedup, "device": dev_name}))
    if args.write:
        replace_section(HEADING, body)


if __name__ == "__main__":
    main()
