"""`lmstudio-app export-launch -m RUN_DIR --nodes K --gpus-per-node G -o DIR`: a run's training, ready for a
cluster (torchrun across nodes; accelerate with DDP, DeepSpeed ZeRO-2 or FSDP) with a README."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lmstudio_app.commands._common import whole_number

NAME = "export-launch"
HELP = "write torchrun and accelerate (DDP, DeepSpeed ZeRO-2, FSDP) launches of a run for a cluster"
DROPPED = {"--resume": 0, "--processes": 1, "--device": 1, "--events": 1}  # option -> values it takes
OUTPUT_OPTIONS = ("-o", "--output")
PATH_OPTIONS = (
    "--csv",
    "--val-csv",
    "--data",
    "--val-data",
    "--text",
    "-m",
    "--model",
    "--teacher",
    "--student",
    "--settings",
)
RUN_SETTINGS = "run_settings.json"  # the run's settings.json, beside the scripts, when it has no command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--run", required=True, metavar="RUN_DIR", help="the run folder to launch again"
    )
    parser.add_argument("--nodes", type=whole_number(1), default=1, help="machines (default 1)")
    parser.add_argument(
        "--gpus-per-node", type=whole_number(1), required=True, metavar="G", help="GPUs on each machine"
    )
    parser.add_argument(
        "-o", "--output", required=True, help="the folder to write the scripts and configs to"
    )


def cluster_argv(argv: list[str], cwd: str) -> list[str]:
    """The run's command for every GPU of a cluster: no --resume/--processes/--device (the launcher places
    each process), the output folder a variable, relative data paths made absolute (where the run ran)."""
    from lmstudio_app.core.training.cluster import OUTPUT

    out: list[str] = []
    i, path_values = 0, False
    while i < len(argv):
        word = argv[i]
        name = word.split("=", 1)[0]
        if name in DROPPED:
            i += 1 + (DROPPED[name] if "=" not in word else 0)
            continue
        if name in OUTPUT_OPTIONS:
            out += [name, OUTPUT]
            i += 1 if "=" in word else 2
            continue
        if word.startswith("-"):
            path_values = name in PATH_OPTIONS
            out.append(word)
        else:
            out.append(_absolute(word, cwd) if path_values else word)
        i += 1
    return out


def _absolute(word: str, cwd: str) -> str:
    path = Path(word).expanduser()
    if not path.is_absolute() and cwd and (Path(cwd) / path).exists():
        return str(Path(cwd) / path)
    return word


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.jsonio import write_text
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.training.cluster import HERE, OUTPUT, ClusterPlan, launch_files
    from lmstudio_app.core.training.record import SETTINGS_FILE, RunRecord

    out = check_output_dir(args.output)
    record = RunRecord(Path(args.run))
    if not (record.path / SETTINGS_FILE).is_file():
        raise UserError(f"{record.path} is not a run folder (it has no {SETTINGS_FILE}).")
    saved = record.saved_settings()
    command = saved.settings.get("command") or {}
    argv = cluster_argv(list(command["argv"]), command.get("cwd", "")) if command.get("argv") else None
    if argv is None:  # started without a command line (in the window): its settings file says it all
        from lmstudio_app.commands._saved import KIND_COMMANDS

        if saved.kind not in KIND_COMMANDS:
            raise UserError(f"{record.path} is a {saved.kind!r} run: no command of this app trains it.")
        argv = [KIND_COMMANDS[saved.kind], "--settings", f"{HERE}{RUN_SETTINGS}", "-o", OUTPUT]
    plan = ClusterPlan(
        argv=argv,
        nodes=args.nodes,
        gpus_per_node=args.gpus_per_node,
        batch_size=int(saved.settings.get("batch_size", 1)),
        grad_accum=int(saved.settings.get("grad_accum", 1)),
        precision=str(saved.settings.get("precision", "auto")),
        name=saved.name or record.path.name,
    )
    files = launch_files(plan)
    if f"{HERE}{RUN_SETTINGS}" in plan.argv:
        files[RUN_SETTINGS] = (record.path / SETTINGS_FILE).read_text(encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_text(out / name, text)
        if name.endswith(".sh"):
            os.chmod(out / name, 0o755)
    print(f"wrote {', '.join(files)} to {out}; see {out / 'README.md'}")
    return 0
