"""`lmstudio-app models`: embedded models, models in the Hugging Face cache, devices with memory."""

from __future__ import annotations

import argparse

from lmstudio_app.commands._common import print_json

NAME = "models"
HELP = "list embedded models, models in the Hugging Face cache and devices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.models.devices import format_bytes, list_devices
    from lmstudio_app.core.models.sources import cached_models, embedded_models

    embedded = [
        {
            "name": m.name,
            "path": str(m.path),
            "task": m.task,
            "description": m.description,
            "license": m.license,
        }
        for m in embedded_models()
    ]
    cached = [{"name": m.repo_id, "path": str(m.path), "size_bytes": m.size_bytes} for m in cached_models()]
    devices = [
        {
            "id": d.id,
            "name": d.name,
            "total_bytes": d.total_bytes,
            "free_bytes": d.free_bytes,
            "dtypes": list(d.dtypes),
        }
        for d in list_devices()
    ]
    if args.json:
        print_json({"embedded": embedded, "cached": cached, "devices": devices})
        return 0
    print("Embedded models (use the name with -m):")
    for m in embedded:
        print(f"  {m['name']:<20} {m['task']:<10} {m['description']}")
    print("Hugging Face cache:" + ("" if cached else " (empty)"))
    for m in cached:
        print(f"  {m['name']:<40} {format_bytes(m['size_bytes'])}")
    print("Devices:")
    for d in devices:
        print(
            f"  {d['id']:<8} {d['name']} - {format_bytes(d['free_bytes'])} free of "
            f"{format_bytes(d['total_bytes'])}; dtypes: {', '.join(d['dtypes'])}"
        )
    return 0
