#!/usr/bin/env python3
"""The peer: PyTorch + pytorch-metric-learning (PML) running what our benches run.

Not part of CI. Install once, in a virtualenv (the PyPI torch wheel is a CUDA build of about
5.6 GB that runs on CPU):

    python3 -m venv .peer && .peer/bin/pip install torch==2.15.0 pytorch-metric-learning==2.9.0

Each command prints one JSON line in the shape of our bench harness's measurements
(`benches/harness`), so `bench/peer/compare.py` can put the two side by side:

    .peer/bin/python bench/peer/peer.py train-step --batch 128 --threads 1
    .peer/bin/python bench/peer/peer.py mining --batch 4096 --method batch-hard --threads 2
    .peer/bin/python bench/peer/peer.py loss-curve --steps 300 > peer-losses.json
    .peer/bin/python bench/peer/peer.py eval --batch 10000 --method retrieval --threads 2

train-step: the network of our default `ConvEmbedder` (conv 1->32 3x3 pad 1, ReLU,
max-pool 2; conv 32->64, ReLU, max-pool 2; linear 3136->128, ReLU; linear 128->64;
L2-normalise), P x K batches of the same MNIST-5k digits (P = B / 8, K = 8, pixels / 255),
`BatchHardMiner` + `TripletMarginLoss(margin=0.2, reducer=MeanReducer())` on
`LpDistance(normalize_embeddings=False)`, Adam lr 1e-3.

mining: the embeddings of `benches/mining.rs` (the same generator and arithmetic), then the
PML miner and loss forward and backward: batch-hard (`BatchHardMiner` + mean reducer),
semi-hard (`TripletMarginMiner(type_of_triplets="semihard")` + `AvgNonZeroReducer`, PML's
default), batch-all (`TripletMarginLoss` without a miner: PML lists all triplets). A size
PML cannot run prints a JSON line with "error" saying why.

eval: `AccuracyCalculator(include=("precision_at_1", "r_precision",
"mean_average_precision_at_r"), k="max_bin_count")` with its torch kNN
(`CustomKNN(LpDistance(normalize_embeddings=False))`; FAISS is not installed), the set as
both query and reference set (`ref_includes_query=True`). Method retrieval: on the
embeddings of `benches/evaluation.rs` (the same generator: 64-d, classes of 1,000), so the
metric values, reported under "values", can be checked against ours; embed+retrieval: the
default network (untrained, seeded) embeds N random images in batches of 500 first.
"""

import argparse
import gzip
import json
import pathlib
import resource
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn
from pytorch_metric_learning import distances, losses, miners, reducers

ROOT = pathlib.Path(__file__).resolve().parents[2]
MNIST = ROOT / "crates/siamese-train/data/mnist_5k.csv.gz"
MARGIN = 0.2


def embedder():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 64),
    )


def embed(model, images):
    return nn.functional.normalize(model(images), p=2, dim=1)


def mnist():
    with gzip.open(MNIST, "rt") as file:
        rows = np.loadtxt(file, delimiter=",", dtype=np.float32)
    images = torch.from_numpy(rows[:, :784] / 255.0).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(rows[:, 784].astype(np.int64))


def pk_batches(labels, batch, count, seed=42):
    """`count` batches of P = batch / 8 classes x K = 8 indices each."""
    rng = np.random.default_rng(seed)
    by_class = {int(c): np.flatnonzero(labels.numpy() == c) for c in labels.unique()}
    classes = sorted(by_class)
    out = []
    for _ in range(count):
        chosen = rng.choice(classes, size=batch // 8, replace=len(classes) < batch // 8)
        out.append(np.concatenate([rng.choice(by_class[int(c)], 8, replace=False) for c in chosen]))
    return out


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(step, batch, repeats, budget, method, items=0):
    """Runs `step` once untimed, then `repeats` times (or until `budget` s); a measurement."""
    base = peak_mib()
    started = time.perf_counter()
    step()
    warmup = time.perf_counter() - started
    times = []
    cpu_before, started = cpu_seconds(), time.perf_counter()
    while len(times) < max(repeats, 1) and (not times or time.perf_counter() - started + warmup < budget):
        begin = time.perf_counter()
        step()
        times.append((time.perf_counter() - begin) * 1e3)
    cpu_per_wall = (cpu_seconds() - cpu_before) / (time.perf_counter() - started)
    times.sort()
    median = statistics.median(times)
    return {
        "backend": f"torch{torch.get_num_threads()}t",
        "method": method,
        "batch": batch,
        "items": items,
        "median_ms": median,
        "min_ms": times[0],
        "max_ms": times[-1],
        "runs": len(times),
        "per_second": batch / (median / 1e3),
        "peak_mib": peak_mib() - base,
        "cpu_per_wall": cpu_per_wall,
    }


def training(batch, steps_of_data, seed=1):
    torch.manual_seed(seed)
    images, labels = mnist()
    model = embedder()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    distance = distances.LpDistance(normalize_embeddings=False)
    miner = miners.BatchHardMiner(distance=distance)
    loss_fn = losses.TripletMarginLoss(margin=MARGIN, distance=distance, reducer=reducers.MeanReducer())
    batches = [(images[i], labels[i]) for i in pk_batches(labels, batch, steps_of_data)]
    state = {"next": 0}

    def step():
        x, y = batches[state["next"] % len(batches)]
        state["next"] += 1
        optimizer.zero_grad(set_to_none=True)
        embeddings = embed(model, x)
        loss = loss_fn(embeddings, y, miner(embeddings, y))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def mining_data(batch, dim=128, per_class=8):
    """The embeddings of `benches/harness`'s `clustered_unit_vectors`: the same LCG, f32
    arithmetic (the norm may differ in the last bit)."""
    mask = (1 << 64) - 1
    state = 0x00C0FFEE

    def uniform():
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        return np.float32((state >> 40) / float(1 << 24)) - np.float32(0.5)

    classes = -(-batch // per_class)
    centres = np.array([uniform() for _ in range(classes * dim)], dtype=np.float32)
    rows = np.empty((batch, dim), dtype=np.float32)
    for i in range(batch):
        c = i // per_class
        row = np.array([centres[c * dim + j] + np.float32(2.0) * uniform() for j in range(dim)], dtype=np.float32)
        rows[i] = row / np.sqrt(np.sum(row * row, dtype=np.float32))
    labels = np.arange(batch, dtype=np.int64) // per_class
    return torch.from_numpy(rows), torch.from_numpy(labels)


def mining(batch, method):
    rows, labels = mining_data(batch)
    distance = distances.LpDistance(normalize_embeddings=False)
    if method == "batch-hard":
        miner = miners.BatchHardMiner(distance=distance)
        loss_fn = losses.TripletMarginLoss(margin=MARGIN, distance=distance, reducer=reducers.MeanReducer())
    elif method == "semi-hard":
        miner = miners.TripletMarginMiner(margin=MARGIN, type_of_triplets="semihard", distance=distance)
        loss_fn = losses.TripletMarginLoss(margin=MARGIN, distance=distance, reducer=reducers.AvgNonZeroReducer())
    elif method == "batch-all":
        miner = None
        loss_fn = losses.TripletMarginLoss(margin=MARGIN, distance=distance, reducer=reducers.AvgNonZeroReducer())
    else:
        sys.exit(f"unknown method {method!r}: batch-hard, semi-hard or batch-all")
    mined = {"count": 0}

    def step():
        embeddings = rows.clone().requires_grad_(True)
        if miner is None:
            loss = loss_fn(embeddings, labels)
        else:
            tuples = miner(embeddings, labels)
            mined["count"] = int(tuples[0].numel())
            loss = loss_fn(embeddings, labels, tuples)
        loss.backward()
        float(embeddings.grad.abs().sum())

    return step, mined


def evaluation(items, method):
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    rows, labels = mining_data(items, dim=64, per_class=1000)
    calculator = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        k="max_bin_count",
        knn_func=CustomKNN(distances.LpDistance(normalize_embeddings=False)),
    )
    values = {}
    if method == "retrieval":
        def embeddings():
            return rows
    elif method == "embed+retrieval":
        torch.manual_seed(1)
        model = embedder().eval()
        images = torch.rand(items, 1, 28, 28)

        def embeddings():
            with torch.no_grad():
                return torch.cat([embed(model, images[i:i + 500]) for i in range(0, items, 500)])
    else:
        sys.exit(f"unknown method {method!r}: retrieval or embed+retrieval")

    def step():
        queries = embeddings()
        values.update(calculator.get_accuracy(queries, labels, queries, labels, ref_includes_query=True))

    return step, values


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["train-step", "mining", "loss-curve", "eval"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--method", default="batch-hard")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.command == "train-step":
        result = measure(training(args.batch, 4), args.batch, args.repeats, args.budget, "batch-hard")
    elif args.command == "eval":
        step, values = evaluation(args.batch, args.method)
        result = measure(step, args.batch, args.repeats, args.budget, args.method, args.batch)
        if args.method == "retrieval":  # the same embeddings as ours: comparable values
            result["values"] = {key: float(value) for key, value in values.items()}
    elif args.command == "loss-curve":
        step = training(args.batch, args.steps)
        result = {"backend": "torch+pml", "losses": [step() for _ in range(args.steps)]}
    else:
        try:
            step, mined = mining(args.batch, args.method)
            result = measure(step, args.batch, args.repeats, args.budget, args.method)
            result["items"] = mined["count"]
        except (RuntimeError, MemoryError) as error:
            result = {"backend": f"torch{args.threads}t", "method": args.method, "batch": args.batch,
                      "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
