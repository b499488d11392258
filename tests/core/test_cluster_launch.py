"""`export-launch`: a run's command as torchrun and accelerate launches for a cluster, checked by the tools
themselves (accelerate's own launch parser and validation, torchrun's argument parser); no cluster needed."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
from torch.distributed.run import get_args_parser

from lmstudio_app import APP_NAME
from lmstudio_app.cli import build_parser, main
from lmstudio_app.commands.export_launch import cluster_argv
from lmstudio_app.core.training.cluster import OUTPUT, ClusterPlan, launch_files
from lmstudio_app.core.training.record import RunRecord, SavedSettings

COMMAND = ["finetune", "-m", "base", "--csv", "data dir/train.csv", "--text-column", "review text"]
COMMAND += ["--label-column", "label", "--batch-size", "32", "-o", "old run", "--processes", "2"]
COMMAND += ["--device", "cpu", "--resume", "--grad-accum", "2", "--precision", "bf16"]


def plan(**overrides: object) -> ClusterPlan:
    values = dict(
        argv=cluster_argv(COMMAND, ""), nodes=2, gpus_per_node=4, batch_size=32, grad_accum=2,
        precision="bf16", name="reviews",
    )  # fmt: skip
    values.update(overrides)
    return ClusterPlan(**values)


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    for name, text in launch_files(plan()).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_run_command_loses_what_the_launcher_decides(tmp_path):
    (tmp_path / "data dir").mkdir()
    (tmp_path / "data dir" / "train.csv").write_text("text,label\n")
    argv = cluster_argv(COMMAND, str(tmp_path))
    assert "--resume" not in argv and "--processes" not in argv and "--device" not in argv
    assert argv[argv.index("-o") + 1] == OUTPUT
    assert argv[argv.index("--csv") + 1] == str(tmp_path / "data dir" / "train.csv")  # where the run ran
    assert argv[argv.index("-m") + 1] == "base"  # no such folder there: an embedded or hub name, kept
    assert argv[argv.index("--text-column") + 1] == "review text"
    assert cluster_argv(["pretrain", "--text", "a.txt", "b.txt", "--output=x", "--processes=4"], "") == [
        "pretrain", "--text", "a.txt", "b.txt", "--output", OUTPUT,
    ]  # fmt: skip


def launched(script: Path, tool: str, *args: str) -> list[str]:
    """The arguments `script` gives `tool`, by running it with `tool` a shell function that prints them."""
    shown = f'{tool}() {{ printf "%s\\n" "$@"; }}; export -f {tool}; OUTPUT="/shared/out dir" bash "$0" "$@"'
    done = subprocess.run(
        ["bash", "-c", shown, str(script), *args], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.splitlines()


def test_torchrun_script_is_what_torchrun_parses(exported):
    args = get_args_parser().parse_args(launched(exported / "torchrun.sh", "torchrun", "node0:29400"))
    assert (args.nnodes, args.nproc_per_node, args.rdzv_backend) == ("2", "4", "c10d")
    assert (args.rdzv_endpoint, args.rdzv_id, args.max_restarts) == ("node0:29400", "reviews", 0)
    assert args.module and args.training_script == "lmstudio_app"
    job = build_parser().parse_args(args.training_script_args)
    assert (job.csv, job.text_column, job.output) == ("data dir/train.csv", "review text", "/shared/out dir")
    assert (job.batch_size, job.grad_accum, job.processes, job.resume) == (32, 2, 1, False)


@pytest.mark.parametrize(
    ("variant", "kind"), [("ddp", "MULTI_GPU"), ("deepspeed", "DEEPSPEED"), ("fsdp", "FSDP")]
)
def test_accelerate_accepts_each_config(exported, variant, kind):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    words = launched(exported / "accelerate.sh", "accelerate", "1", "10.0.0.7", variant)
    assert words[0] == "launch"
    config = load_config_from_file(words[words.index("--config_file") + 1])
    assert (str(config.distributed_type), config.num_machines, config.num_processes) == (
        f"DistributedType.{kind}",
        2,
        8,
    )
    args, defaults, from_config = _validate_launch_command(launch_command_parser().parse_args(words[1:]))
    assert (args.machine_rank, args.main_process_ip, args.num_processes, args.mixed_precision) == (
        1,
        "10.0.0.7",
        8,
        "bf16",
    )
    if variant == "deepspeed":  # what `accelerate launch` does before handing over to DeepSpeed
        args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)
        _, env = prepare_deepspeed_cmd_env(args)
        assert env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "2"
        assert env["ACCELERATE_GRADIENT_ACCUMULATION_STEPS"] == "2"  # the run's: the Trainer checks it
    else:
        env = prepare_multi_gpu_env(args)
        if variant == "fsdp":
            assert (env["FSDP_SHARDING_STRATEGY"], env["FSDP_STATE_DICT_TYPE"]) == (
                "SHARD_GRAD_OP",
                "FULL_STATE_DICT",
            )
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    job = build_parser().parse_args(words[words.index("lmstudio_app") + 1 :])
    assert (job.output, job.precision) == ("/shared/out dir", "bf16")


def test_the_readme_says_how_to_run_and_the_batch_split(exported):
    text = (exported / "README.md").read_text()
    assert (
        "bash torchrun.sh node0.example.org:29500" in text
        and "accelerate.sh k node0.example.org fsdp" in text
    )
    assert "split into 4 rows per GPU" in text


def export(run: Path, out: Path, nodes: int = 1, gpus: int = 2) -> int:
    return main(
        ["export-launch", "-m", str(run), "--nodes", str(nodes), "--gpus-per-node", str(gpus), "-o", str(out)]
    )


def test_export_launch_from_a_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    settings = {"batch_size": 32, "grad_accum": 1, "precision": "auto"}
    RunRecord(run).write_settings(
        SavedSettings("finetune", "run", {**settings, "command": {"argv": COMMAND}})
    )
    assert export(run, tmp_path / "x", nodes=2, gpus=4) == 0
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == sorted(launch_files(plan()))
    assert (tmp_path / "x" / "torchrun.sh").stat().st_mode & 0o111
    assert "mixed_precision: 'no'" in (tmp_path / "x" / "accelerate_ddp.yaml").read_text()  # precision auto
    capsys.readouterr()
    assert export(run, tmp_path / "y", nodes=3, gpus=2) == 2
    assert capsys.readouterr().err == (
        f"{APP_NAME}: error: The batch size 32 does not divide over 6 processes (it is the global batch, split "
        "evenly): use a multiple of 6, e.g. 30.\n"
    )
    assert export(tmp_path, tmp_path / "z") == 2
    assert "is not a run folder" in capsys.readouterr().err
    RunRecord(run).write_settings(SavedSettings("mystery", "run", settings))
    assert export(run, tmp_path / "z") == 2
    assert "is a 'mystery' run: no command of this app trains it" in capsys.readouterr().err


def test_a_run_started_in_the_window_is_launched_from_its_settings_file(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    saved = SavedSettings("tokens", "tagger", {"batch_size": 8, "grad_accum": 1, "precision": "fp16"})
    RunRecord(run).write_settings(saved)  # no "command": the window started it
    out = tmp_path / "launch"
    assert export(run, out) == 0
    assert json.loads((out / "run_settings.json").read_text())["kind"] == "tokens"
    args = get_args_parser().parse_args(launched(out / "torchrun.sh", "torchrun", "node0:29400"))
    job = build_parser().parse_args(args.training_script_args)
    assert (job.command, job.settings, job.output) == (
        "finetune",
        str(out / "run_settings.json"),
        "/shared/out dir",
    )


def test_scripts_are_valid_bash(exported):
    for script in ("torchrun.sh", "accelerate.sh"):
        subprocess.run(["bash", "-n", str(exported / script)], check=True, timeout=30)
    assert shlex.split((exported / "torchrun.sh").read_text().splitlines()[0]) == ["#!/usr/bin/env", "bash"]
