"""A run's training, ready for a cluster: torchrun across nodes, or accelerate with DDP, DeepSpeed ZeRO-2 or FSDP.

Every launcher starts the same `lmstudio-app` command once per GPU; the engine reads its place from the
environment (core/training/ranks.py) and splits the run's global batch among all the GPUs of all the nodes,
so the run means the same as on one machine. The batch must therefore divide by nodes x GPUs per node.
What is written here is text only (scripts and configs); nothing needs a GPU or a cluster to produce it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from lmstudio_app.core.training.ranks import per_process_batch

OUTPUT = "$OUTPUT"  # the command's output folder, set where the scripts run
HERE = "$HERE/"  # starts a file beside the scripts (a run's settings copied there)
ACCELERATE_CONFIGS = {
    "ddp": "accelerate_ddp.yaml",
    "deepspeed": "accelerate_deepspeed_zero2.yaml",
    "fsdp": "accelerate_fsdp.yaml",
}
MIXED_PRECISION = {"bf16": "bf16", "fp16": "fp16"}  # anything else: full precision


@dataclass
class ClusterPlan:
    """`argv`: the lmstudio-app arguments each GPU runs (OUTPUT stands for the output folder)."""

    argv: list[str]
    nodes: int
    gpus_per_node: int
    batch_size: int  # the global batch, split over every GPU
    grad_accum: int
    precision: str  # the run's: auto | fp32 | bf16 | fp16
    name: str

    @property
    def processes(self) -> int:
        return self.nodes * self.gpus_per_node

    def check(self) -> None:
        per_process_batch(self.batch_size, self.processes)


def launch_files(plan: ClusterPlan) -> dict[str, str]:
    """File name -> text: the two launch scripts, three accelerate configs and a README."""
    plan.check()
    return {
        "torchrun.sh": torchrun_script(plan),
        "accelerate.sh": accelerate_script(plan),
        ACCELERATE_CONFIGS["ddp"]: accelerate_config(plan, "ddp"),
        ACCELERATE_CONFIGS["deepspeed"]: accelerate_config(plan, "deepspeed"),
        ACCELERATE_CONFIGS["fsdp"]: accelerate_config(plan, "fsdp"),
        "README.md": readme(plan),
    }


def command_words(argv: list[str]) -> str:
    """The arguments for a bash script, one option (with its value) a line; OUTPUT stays a variable."""
    words = [
        f'"{a}"' if a == OUTPUT or (a.startswith(HERE) and '"' not in a) else shlex.quote(a) for a in argv
    ]
    lines, i = [], 0
    while i < len(words):
        if words[i].startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            lines.append(f"{words[i]} {words[i + 1]}")
            i += 2
        else:
            lines.append(words[i])
            i += 1
    return " \\\n    ".join(lines)


def _slug(name: str) -> str:
    """The name as a word a shell takes as it is (a default folder name, the rendezvous id)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _header(plan: ClusterPlan, usage: str) -> str:
    per_gpu = plan.batch_size // plan.processes
    return (
        "#!/usr/bin/env bash\n"
        f"# {plan.name}: {plan.nodes} node(s) x {plan.gpus_per_node} GPU(s) = {plan.processes} processes; the batch of "
        f"{plan.batch_size} is split into {_rows(per_gpu)} per GPU per step.\n"
        f"# Run on every node, the same way: {usage}\n"
        "set -euo pipefail\n"
        f'OUTPUT="${{OUTPUT:-{_slug(plan.name)}-cluster}}"  # the run folder to write (shared storage)\n'
        'HERE="$(cd "$(dirname "$0")" && pwd)"\n'
    )


def torchrun_script(plan: ClusterPlan) -> str:
    """torchrun with a c10d rendezvous: every node is started alike, torchrun numbers them."""
    return (
        _header(plan, "bash torchrun.sh HOST:PORT (the rendezvous: a host all nodes reach, a free port)")
        + 'ENDPOINT="${1:?give the rendezvous endpoint HOST:PORT, e.g. node0:29500}"\n'
        + f"torchrun --nnodes {plan.nodes} --nproc-per-node {plan.gpus_per_node} --max-restarts 0 \\\n"
        + f'    --rdzv-backend c10d --rdzv-endpoint "$ENDPOINT" --rdzv-id "${{RDZV_ID:-{_slug(plan.name)}}}" \\\n'
        + "    -m lmstudio_app "
        + command_words(plan.argv)
        + "\n"
    )


def accelerate_script(plan: ClusterPlan) -> str:
    """accelerate launch with one of the configs; the node's rank and the main node's address as arguments."""
    return (
        _header(
            plan,
            "bash accelerate.sh NODE_RANK MAIN_HOST [ddp|deepspeed|fsdp] (NODE_RANK 0 on MAIN_HOST, then 1, 2, ...)",
        )
        + 'NODE_RANK="${1:?give the rank of this node: 0 on the main node, then 1, 2, ...}"\n'
        + 'MAIN_HOST="${2:?give the address of the main node}"\n'
        + 'case "${3:-ddp}" in\n'
        + f'  ddp) CONFIG="$(dirname "$0")/{ACCELERATE_CONFIGS["ddp"]}" ;;\n'
        + f'  deepspeed) CONFIG="$(dirname "$0")/{ACCELERATE_CONFIGS["deepspeed"]}" ;;\n'
        + f'  fsdp) CONFIG="$(dirname "$0")/{ACCELERATE_CONFIGS["fsdp"]}" ;;\n'
        + '  *) echo "the third argument is ddp, deepspeed or fsdp" >&2; exit 2 ;;\n'
        + "esac\n"
        + 'accelerate launch --config_file "$CONFIG" --machine_rank "$NODE_RANK" \\\n'
        + '    --main_process_ip "$MAIN_HOST" --main_process_port "${MAIN_PORT:-29500}" \\\n'
        + "    -m lmstudio_app "
        + command_words(plan.argv)
        + "\n"
    )


def accelerate_config(plan: ClusterPlan, kind: str) -> str:
    """An `accelerate launch --config_file` YAML: plain DDP, DeepSpeed ZeRO-2 or FSDP (gradients and optimizer
    state sharded, the weights whole on each GPU between steps, like ZeRO-2)."""
    lines = [
        "compute_environment: LOCAL_MACHINE",
        {"ddp": "distributed_type: MULTI_GPU", "deepspeed": "distributed_type: DEEPSPEED"}.get(
            kind, "distributed_type: FSDP"
        ),
        f"num_machines: {plan.nodes}",
        f"num_processes: {plan.processes}  # all GPUs of all nodes",
        "machine_rank: 0  # accelerate.sh passes each node's own",
        "main_process_ip: 127.0.0.1  # accelerate.sh passes the main node's",
        "main_process_port: 29500",
        "rdzv_backend: static",
        "same_network: true",
        f"mixed_precision: '{MIXED_PRECISION.get(plan.precision, 'no')}'",
        "use_cpu: false",
    ]
    if kind == "deepspeed":
        lines += [
            "deepspeed_config:",
            "  zero_stage: 2",
            f"  gradient_accumulation_steps: {plan.grad_accum}  # the run's own: the Trainer checks they agree",
            "  gradient_clipping: 1.0",
            "  offload_optimizer_device: none",
            "  offload_param_device: none",
            "  zero3_init_flag: false",
        ]
    elif kind == "fsdp":
        lines += [
            "fsdp_config:",
            "  fsdp_version: 1",
            "  fsdp_sharding_strategy: SHARD_GRAD_OP",
            "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP  # the model's own layers (its _no_split_modules)",
            "  fsdp_state_dict_type: FULL_STATE_DICT  # the saved model is one ordinary Hugging Face folder",
            "  fsdp_use_orig_params: true",
            "  fsdp_sync_module_states: true",
            "  fsdp_cpu_ram_efficient_loading: false",
            "  fsdp_offload_params: false",
            "  fsdp_backward_prefetch: BACKWARD_PRE",
            "  fsdp_forward_prefetch: false",
        ]
    return "\n".join(lines) + "\n"


def readme(plan: ClusterPlan) -> str:
    per_gpu = plan.batch_size // plan.processes
    return f"""# {plan.name} on a cluster

The run's own command, ready for {plan.nodes} node(s) with {plan.gpus_per_node} GPU(s) each
({plan.processes} processes, one per GPU, NCCL). The batch of {plan.batch_size} is the whole step's batch,
split into {_rows(per_gpu)} per GPU, so the run means what it meant on one machine.

Before starting: install the app (and `accelerate`; `deepspeed` for that variant) on every node, put the
data where the paths in the scripts point (or edit them), and set `OUTPUT` to a folder on storage all nodes
share (default `{plan.name}-cluster` in the working folder). Rank 0 writes the run folder; the others train.

## torchrun (no configuration)

On every node, the same command, with a host every node reaches and a free port there:

    OUTPUT=/shared/runs/{plan.name} bash torchrun.sh node0.example.org:29500

## accelerate (DDP, DeepSpeed ZeRO-2 or FSDP)

On node k (0 on the main node), with the main node's address:

    OUTPUT=/shared/runs/{plan.name} bash accelerate.sh k node0.example.org          # DDP
    OUTPUT=/shared/runs/{plan.name} bash accelerate.sh k node0.example.org deepspeed
    OUTPUT=/shared/runs/{plan.name} bash accelerate.sh k node0.example.org fsdp

`accelerate_ddp.yaml` is plain data parallelism (what `--processes` does on one machine);
`accelerate_deepspeed_zero2.yaml` shards the optimizer state and gradients (DeepSpeed ZeRO stage 2);
`accelerate_fsdp.yaml` is the PyTorch FSDP equivalent (SHARD_GRAD_OP) and saves one whole model folder.
Both sharded variants need less GPU memory per device for large models; for a BERT-sized model DDP is
the fastest.

A stopped run continues with the same command plus `--resume` (on any number of GPUs that divides the batch).
"""
