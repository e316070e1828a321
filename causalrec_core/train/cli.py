"""``causalrec train``: train and evaluate one recommender from the command line.

Runs in this process (not as a background job); ``--out RUN_DIR`` keeps the checkpoint, the
weights and ``result.json`` there (``--resume`` continues from that checkpoint). Under
``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel (gloo on
the CPU, NCCL on GPUs); rank 0 prints the result.
"""

from __future__ import annotations

import argparse
import os
import sys

from causalrec_core.errors import ParameterError

__all__ = ["add_train_parser", "cmd_train"]


def _param_value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"--param {item!r} is invalid: it must be NAME=VALUE, e.g. --param dim=32.")
        k, v = item.split("=", 1)
        out[k.strip()] = _param_value(v.strip())
    return out


def add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train and evaluate a recommender (Coat, rating CSVs or an event log)",
        description="Train one model and print its test metrics. Rating data (coat:DIR or --train/--test): "
                    "rating > 3 is a positive; AUC over all test pairs, NDCG@5/Recall@5 per user, MSE on 0/1 "
                    "labels; hyper-parameters are tuned on a validation slice of the biased train only. "
                    "Event log (--data FILE): temporal split, NDCG@10/Recall@10/HR@10 over the catalogue.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--list-models", action="store_true", help="name every model with a one-line description")
    p.add_argument("--model", help="model name (see --list-models)")
    p.add_argument("--data", help="coat:DIR, or an event log file (.csv, .tsv, .parquet, .jsonl)")
    p.add_argument("--items", help="item side table for an event log (titles feed the text models)")
    p.add_argument("--train", help="user,item,rating CSV of the (biased) training ratings")
    p.add_argument("--test", help="user,item,rating CSV of the (randomised) test ratings")
    p.add_argument("--mar", help="rating data: user,item,rating CSV of a small randomised (MAR) sample, disjoint "
                                 "from --test; debiased models then use naive-Bayes propensities")
    p.add_argument("--mar-fraction", type=float,
                   help="rating data: carve this seeded fraction of the randomised test (e.g. 0.05) as the MAR "
                        "sample for naive-Bayes propensities; those ratings leave the test set")
    p.add_argument("--threshold", type=float, default=3.0,
                   help="rating data: a rating above it is a positive (default 3, i.e. 4-5 stars; 2.5 gives "
                        "'3 stars or more', the labelling of the public code behind the published Coat figures)")
    p.add_argument("--epochs", type=int, help="training epochs (default: the model's own)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto: CUDA if present")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="a model hyper-parameter (repeatable)")
    p.add_argument("--tune", action="store_true",
                   help="choose hyper-parameters on a validation slice of the training data first (small grid; "
                        "the test split is never used); parameters given with --param are not searched")
    p.add_argument("--tune-seed", type=int, default=0, help="seed of the tuning slice and fits (default 0)")
    p.add_argument("--tune-criterion", default="monitor", choices=("monitor", "within-user"),
                   help="what --tune scores a configuration by: 'monitor' (default) its validation monitor on the "
                        "slice (AUC; IPS-weighted AUC for debiased models; NDCG@10 for logs); 'within-user' "
                        "(rating data) the AUC within each user of 5-fold cross-validated scores, closer to "
                        "per-user metrics such as NDCG@5, 5 times the fits")
    p.add_argument("--out", help="run folder for the checkpoint, weights and result.json")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_train)


def _init_distributed(device: str):
    """Under torchrun: start the process group (NCCL on GPUs, else gloo); returns (rank, world)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def cmd_train(args) -> int:
    from causalrec_core.cli import _print_json

    if args.list_models:
        from causalrec_core.models.registry import list_models

        rows = list_models()
        if args.json:
            _print_json({"models": rows})
        else:
            width = max(len(r["name"]) for r in rows)
            for r in rows:
                tag = "causal" if r["causal"] else "traditional"
                print(f"{r['name']:<{width}}  [{tag}; {'/'.join(r['kinds'])}]  {r['description']}")
        return 0
    if not args.model:
        raise ParameterError("--model is required (or --list-models to see them).")
    if args.resume and not args.out:
        raise ParameterError("--resume needs --out RUN_DIR (the folder holding the checkpoint).")
    from causalrec_core.train.runner import parse_data_arg, train_and_evaluate

    spec = parse_data_arg(args.data, args.train, args.test, args.items, mar=args.mar)
    if spec["source"] in ("coat", "csv"):
        spec["threshold"] = args.threshold
    if args.mar_fraction is not None:
        if spec["source"] not in ("coat", "csv"):
            raise ParameterError("--mar-fraction is for rating data (coat:DIR or --train/--test).")
        spec["mar_fraction"] = args.mar_fraction
    params = parse_params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    rank, world = _init_distributed(args.device)
    try:
        result = train_and_evaluate(args.model, spec, params=params, seed=args.seed, device=args.device,
                                    run_dir=args.out, resume=args.resume, tune=args.tune, tune_seed=args.tune_seed,
                                    tune_criterion=args.tune_criterion)
    finally:
        if world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    if rank != 0:
        return 0
    result["world_size"] = world
    if args.json:
        if not args.out:
            result.pop("history", None)
        _print_json(result)
        return 0
    m = result["metrics"]
    shown = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float))
    print(f"{result['model']} on {result['device']} (seed {result['seed']}, {result['epochs'] or '-'} epochs, "
          f"{result['seconds']:.1f} s): {shown}")
    sys.stdout.flush()
    return 0
