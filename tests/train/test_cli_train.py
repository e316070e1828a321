"""causalrec train from the command line, and the same trainer under torchrun (DDP, gloo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from causalrec_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_models_names_every_model(capsys):
    code, out, _ = run_cli(capsys, "train", "--list-models", "--json")
    assert code == 0
    rows = json.loads(out)["models"]
    names = {r["name"] for r in rows}
    assert {"mf", "mf-ips", "mf-snips", "dr-jl", "bpr", "sasrec", "sasrec-ips"} <= names
    assert all(r["description"] and r["kinds"] for r in rows)
    code, text, _ = run_cli(capsys, "train", "--list-models")
    assert code == 0 and all(n in text for n in names)


def test_train_rating_csv_json(capsys, rating_csvs, tmp_path):
    train, test = rating_csvs
    out_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "--model", "mf", "--train", str(train), "--test", str(test),
                             "--epochs", "3", "--seed", "3", "--device", "cpu", "--out", str(out_dir), "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["model"] == "mf" and res["device"] == "cpu" and res["seed"] == 3 and res["epochs"] == 3
    assert res["seconds"] > 0
    for k in ("auc", "ndcg@5", "recall@5", "mse"):
        assert 0.0 <= res["metrics"][k] <= 1.0
    assert (out_dir / "model.pt").is_file() and (out_dir / "result.json").is_file()
    # same seed -> identical metrics on the CPU
    code, out2, _ = run_cli(capsys, "train", "--model", "mf", "--train", str(train), "--test", str(test),
                            "--epochs", "3", "--seed", "3", "--device", "cpu", "--json")
    assert json.loads(out2)["metrics"] == res["metrics"]


def test_train_with_a_mar_sample_uses_naive_bayes(capsys, rating_csvs, tmp_path):
    train, test = rating_csvs
    common = ("train", "--model", "mf-ips", "--train", str(train), "--test", str(test), "--epochs", "2",
              "--device", "cpu", "--json")
    code, out, err = run_cli(capsys, *common)
    assert code == 0, err
    plain = json.loads(out)
    assert plain["propensity_method"] == "popularity" and plain["data"]["n_mar_sample"] == 0
    code, out, err = run_cli(capsys, *common, "--mar-fraction", "0.1")
    assert code == 0, err
    res = json.loads(out)
    assert res["propensity_method"] == "naive-bayes"
    n_test = plain["data"]["n_test"]
    assert res["data"]["n_mar_sample"] == round(0.1 * n_test) and res["data"]["n_test"] == n_test - round(0.1 * n_test)
    assert res["metrics"]["n_test_pairs"] == res["data"]["n_test"]  # the MAR pairs are not evaluated on
    assert res["clip_report"]["n"] > 0
    code, _, err = run_cli(capsys, *common, "--mar-fraction", "2")
    assert code == 2 and "mar_fraction" in err and "between 0 and 1" in err
    code, _, err = run_cli(capsys, "train", "--model", "mf-ips", "--data", str(train), "--mar", str(test))
    assert code == 2 and "--mar FILE goes with --train/--test" in err


def test_train_bad_input_is_one_line(capsys, rating_csvs, tmp_path):
    train, test = rating_csvs
    code, _, err = run_cli(capsys, "train", "--model", "nope", "--train", str(train), "--test", str(test))
    assert code == 2 and "model='nope' is not supported; choose one of:" in err and "mf" in err
    code, _, err = run_cli(capsys, "train", "--model", "mf", "--train", str(train), "--test", str(test),
                           "--param", "dimension=3")
    assert code == 2 and "'dimension'" in err and "dim" in err
    code, _, err = run_cli(capsys, "train", "--model", "mf", "--train", str(train), "--test", str(test),
                           "--param", "lr=0")
    assert code == 2 and "lr = 0 is not allowed" in err
    code, _, err = run_cli(capsys, "train", "--model", "mf", "--train", str(train))
    assert code == 2 and "--train and --test go together" in err
    code, _, err = run_cli(capsys, "train", "--model", "mf", "--train", str(tmp_path / "missing.csv"),
                           "--test", str(test))
    assert code == 2 and "missing.csv" in err
    assert err.count("\n") == 1


def _torchrun() -> list[str]:
    exe = Path(sys.executable).with_name("torchrun")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("torchrun")
    if found is None:
        pytest.skip("torchrun is not installed beside this Python")
    return [found]


def test_ddp_two_processes_match_one(rating_csvs, tmp_path):
    """The same trainer under torchrun with 2 CPU processes (gloo) gives the same metrics as 1 process.

    Each rank takes half of every global batch and DDP averages the gradients, so the two runs
    take the same optimisation steps; the tolerance covers float summation order only.
    """
    train, test = rating_csvs
    args = ["-m", "causalrec_core", "train", "--model", "mf", "--train", str(train), "--test", str(test),
            "--epochs", "4", "--seed", "1", "--device", "cpu", "--param", "batch_size=64", "--json"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    single = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=300)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([*_torchrun(), "--nproc_per_node=2", "--master_port=29517", *args], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = json.loads(single.stdout.strip().splitlines()[-1])
    two = json.loads([ln for ln in ddp.stdout.splitlines() if ln.startswith("{")][-1])
    assert one["world_size"] == 1 and two["world_size"] == 2
    for k in ("auc", "ndcg@5", "recall@5", "mse"):
        assert two["metrics"][k] == pytest.approx(one["metrics"][k], abs=2e-3), k


COAT = ROOT.parent / "shared" / "data" / "coat"


def test_coat_from_the_cli_matches_the_published_naive_row(capsys):
    if not (COAT / "train.ascii").exists():
        pytest.skip(f"Coat data not found: {COAT} (third-party evaluation data, not shipped with the product)")
    code, out, err = run_cli(capsys, "train", "--model", "mf", "--data", f"coat:{COAT}", "--threshold", "2.5",
                             "--seed", "0", "--device", "cpu", "--json")
    assert code == 0, err
    res = json.loads(out)
    m = res["metrics"]
    assert res["data"]["n_users"] == 290 and res["data"]["n_items"] == 300
    assert m["n_test_pairs"] == 4640 and m["positive"] == "rating > 2.5"
    # published naive MF (mean of 10 runs): AUC 0.7429, NDCG@5 0.6173; one seed, so a wider band than the bench
    assert abs(m["auc"] - 0.7429) < 0.04 and abs(m["ndcg@5"] - 0.6173) < 0.05


def test_train_tune_criterion_within_user(capsys, rating_csvs):
    train, test = rating_csvs
    code, out, err = run_cli(capsys, "train", "--model", "mf", "--train", str(train), "--test", str(test),
                             "--epochs", "2", "--device", "cpu", "--param", "lr=0.01", "--param", "weight_decay=0.001",
                             "--tune", "--tune-criterion", "within-user", "--json")
    assert code == 0, err
    tuning = json.loads(out)["tuning"]
    assert tuning["criterion"] == "within-user" and len(tuning["rows"]) == 2  # dim 4 and 16
    with pytest.raises(SystemExit):
        main(["train", "--model", "mf", "--train", str(train), "--test", str(test), "--tune-criterion", "ndcg"])
    assert "invalid choice: 'ndcg'" in capsys.readouterr().err
