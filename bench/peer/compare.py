#!/usr/bin/env python3
"""Ours against the peer (PyTorch + PML), interleaved: for each configuration, rounds of
one measurement of ours then one of the peer's (A B A B ...), each in its own process, and
the ratio of the medians. Single absolute times on a shared machine are noise; ratios from
interleaved runs are what we quote.

    .peer/bin/python bench/peer/compare.py                       # the default set
    .peer/bin/python bench/peer/compare.py --only train-step --rounds 3
    .peer/bin/python bench/peer/compare.py --only loss-curve --steps 300

Ours is the bench binaries' child mode (`benches/train_step.rs`, `benches/mining.rs`,
`benches/evaluation.rs`), built
here with `cargo bench --no-run` first; threads are set with RAYON_NUM_THREADS for ours and
`torch.set_num_threads` for the peer, and each row shows the CPU seconds per wall second
both used, which shows whether the limit held. The table goes to the terminal, JSON to
`target/bench-compare.json` and a bar chart of the ratios to `target/bench-compare.png`.

`--only loss-curve` trains both the same way for `--steps` steps instead (ours: `siamese
train` with batch-hard, P 10 x K 8, constant lr 1e-3, no augmentation; the peer:
`peer.py loss-curve --batch 80`), prints the mean loss per stretch of steps and the step
where each leaves the margin plateau, and draws both curves to
`target/bench-loss-curves.png` (the losses in `target/bench-loss-curves.json`).
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PEER = pathlib.Path(__file__).resolve().parent / "peer.py"

# (kind, ours: bench and method, peer: command and method, batch, threads)
TRAIN = [("train-step", ("train_step", "batch-hard"), ("train-step", "batch-hard"), b, t)
         for b, t in [(128, 1), (128, 2), (512, 2)]]
MINING = [("mining", ("mining", ours), ("mining", peer), b, 2)
          for ours, peer in [("batch-hard", "batch-hard"), ("semi-hard (PML)", "semi-hard"),
                             ("semi-hard (PML listed)", "semi-hard"), ("batch-all", "batch-all")]
          for b in [128, 512, 1024, 4096]]
EVAL = [("eval", ("evaluation", method), ("eval", method), 10_000, 2)
        for method in ["retrieval", "embed+retrieval"]]


def cargo_executables(command):
    """Runs a cargo build `command` (with `--message-format=json`); the executables it
    reported, by target name."""
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    paths = {}
    for line in output.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            paths[message["target"]["name"]] = message["executable"]
    return paths


def bench_binaries(features):
    """Builds the bench binaries; their paths by bench name."""
    return cargo_executables(
        ["cargo", "bench", "--no-run", "--message-format=json", "--bench", "train_step",
         "--bench", "mining", "--bench", "evaluation"] + (["--features", features] if features else []))


def siamese_binary():
    """Builds the `siamese` command (release); its path."""
    paths = cargo_executables(["cargo", "build", "--release", "--message-format=json", "--bin", "siamese"])
    if "siamese" not in paths:
        sys.exit("cargo build did not report the siamese binary")
    return paths["siamese"]


def chart(binaries, mode, json_path):
    """Draws `json_path` as a PNG next to it with the bench harness's chart mode."""
    png = json_path.with_suffix(".png")
    result = subprocess.run([binaries["train_step"], mode, str(json_path), str(png)],
                            cwd=ROOT, capture_output=True, text=True)
    print(result.stdout.strip() if result.returncode == 0 else f"no chart: {result.stderr.strip()}")


def plateau_exit(losses, below=0.19, window=10):
    """The first step whose mean over the `window` steps ending there is below `below`."""
    for end in range(window, len(losses) + 1):
        if statistics.fmean(losses[end - window:end]) < below:
            return end
    return None


def loss_curves(args, binaries):
    """Ours and the peer's losses over the same training; the table and the chart."""
    steps = str(args.steps)
    name = "bench-loss-curve"
    run = ROOT / "target" / name
    shutil.rmtree(run, ignore_errors=True)
    subprocess.run([siamese_binary(), "train", "--miner", "batch-hard", "--classes-per-batch", "10",
                    "--samples-per-class", "8", "--steps", steps, "--augment-shift", "0",
                    "--schedule", "constant", "--warmup-steps", "0", "--lr", "0.001",
                    "--eval-every", "0", "--checkpoint-every", "0", "--runs-dir", str(run.parent),
                    "--name", name, "--quiet"], cwd=ROOT, check=True)
    records = [json.loads(line) for line in (run / "diagnostics.jsonl").read_text().splitlines()]
    ours = [record["loss"] for record in records if record.get("kind") == "step"]
    peer = run_json([sys.executable, str(PEER), "loss-curve", "--batch", "80", "--steps", steps,
                     "--threads", "2"], dict(os.environ))
    if "error" in peer:
        sys.exit(f"the peer failed: {peer['error']}")
    curves = {"ours": ours, "peer": peer["losses"]}
    edges = [1, 2, 11, 26, 51, 101, 151, 201, 251, args.steps + 1]
    stretches = [(a, b - 1) for a, b in zip(edges, edges[1:]) if a <= args.steps]
    print(f"{'mean loss, steps':<18}" + "".join(f"{f'{a}–{b}' if a < b else str(a):>9}" for a, b in stretches)
          + f"{'leaves 0.2 at':>15}")
    for label, losses in curves.items():
        means = [statistics.fmean(losses[a - 1:b]) for a, b in stretches]
        print(f"{label:<18}" + "".join(f"{mean:>9.3f}" for mean in means)
              + f"{str(plateau_exit(losses)):>15}")
    path = ROOT / "target/bench-loss-curves.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(curves))
    print(f"losses: {path}")
    chart(binaries, "--chart-loss-curves", path)


def run_json(command, env):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {result.returncode}: {tail}"}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument("--backend", default="flex", help="ours: flex, ndarray or wgpu")
    parser.add_argument("--only", choices=["train-step", "mining", "eval", "loss-curve"])
    parser.add_argument("--steps", type=int, default=300, help="training steps of --only loss-curve")
    parser.add_argument("--features", default="", help="cargo features of our build (wgpu for --backend wgpu)")
    parser.add_argument("--sizes", help="only these batch sizes, e.g. 128,4096")
    parser.add_argument("--methods", help="only these of our methods, e.g. batch-hard")
    args = parser.parse_args()
    features = "wgpu" if args.backend == "wgpu" else args.features
    binaries = bench_binaries(features)
    if args.only == "loss-curve":
        loss_curves(args, binaries)
        return
    sizes = [int(size) for size in args.sizes.split(",")] if args.sizes else None
    methods = args.methods.split(",") if args.methods else None
    configs = [c for c in TRAIN + MINING + EVAL if args.only in (None, c[0])
               and (sizes is None or c[3] in sizes) and (methods is None or c[1][1] in methods)]
    print(f"{'what':<11} {'method':<18} {'B':>5} {'thr':>3} {'ours /s':>9} {'peer /s':>9} "
          f"{'ratio':>6} {'ratio range':>13} {'cpu ours/peer':>13}")
    rows = []
    for kind, (bench, ours_method), (peer_command, peer_method), batch, threads in configs:
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
        ours, peer = [], []
        for _ in range(args.rounds):
            ours.append(run_json([binaries[bench], "--child", args.backend, ours_method, str(batch),
                                  str(args.repeats), str(args.budget)], env))
            peer.append(run_json([sys.executable, str(PEER), peer_command, "--method", peer_method,
                                  "--batch", str(batch), "--threads", str(threads),
                                  "--repeats", str(args.repeats), "--budget", str(args.budget)], env))
        failed = [m["error"] for m in ours + peer if "error" in m]
        row = {"kind": kind, "method": ours_method, "peer_method": peer_method, "batch": batch,
               "threads": threads, "backend": args.backend, "ours": ours, "peer": peer}
        if failed:
            row["error"] = failed[0]
            print(f"{kind:<11} {ours_method:<18} {batch:>5} {threads:>3} failed: {failed[0]}")
        else:
            ratios = sorted(o["per_second"] / p["per_second"] for o, p in zip(ours, peer))
            row.update(ratio=statistics.median(ratios), ratio_min=ratios[0], ratio_max=ratios[-1],
                       ours_per_second=statistics.median(o["per_second"] for o in ours),
                       peer_per_second=statistics.median(p["per_second"] for p in peer))
            cpu = f"{statistics.median(o['cpu_per_wall'] for o in ours):.2f}/" \
                  f"{statistics.median(p['cpu_per_wall'] for p in peer):.2f}"
            print(f"{kind:<11} {ours_method:<18} {batch:>5} {threads:>3} {row['ours_per_second']:>9.0f} "
                  f"{row['peer_per_second']:>9.0f} {row['ratio']:>6.2f} "
                  f"{ratios[0]:>6.2f}–{ratios[-1]:<6.2f} {cpu:>13}")
            ours_values, peer_values = ours[-1].get("values"), peer[-1].get("values")
            if ours_values and peer_values:
                differences = {key: abs(ours_values[key] - peer_values[key])
                               for key in ours_values if key in peer_values}
                row["value_differences"] = differences
                print("    values, ours − peer: " + ", ".join(
                    f"{key} {ours_values[key]:.6f} vs {peer_values[key]:.6f} (|Δ| {delta:.1e})"
                    for key, delta in differences.items()))
        rows.append(row)
        sys.stdout.flush()
    path = ROOT / "target/bench-compare.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))
    print(f"results: {path}")
    chart(binaries, "--chart-compare", path)


if __name__ == "__main__":
    main()
