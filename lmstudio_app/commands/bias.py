"""`lmstudio-app bias`: CrowS-Pairs' stereotype metric, or a template probe (Kurita et al. 2019)."""

from __future__ import annotations

import argparse

from lmstudio_app.commands._common import add_model_arguments, print_json, whole_number

NAME = "bias"
HELP = "measure social bias: CrowS-Pairs, or target words in a template such as '[MASK] is a nurse.'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM

    add_model_arguments(parser, DEFAULT_MASKED_LM, "masked-LM model")
    probe = parser.add_mutually_exclusive_group(required=True)
    probe.add_argument(
        "--crows-pairs",
        nargs="?",
        const="",
        metavar="CSV",
        help="CrowS-Pairs' metric on the shipped pairs, or on a CSV with the same columns",
    )
    probe.add_argument(
        "--template", help="a template with one [MASK] for the target, e.g. '[MASK] is a nurse.'"
    )
    parser.add_argument(
        "--targets", help="target words: he,she or groups male:he,him;female:she,her (with --template)"
    )
    parser.add_argument(
        "--attribute",
        help="the attribute word masked for the prior (default: a word in {braces}, else the last word)",
    )
    parser.add_argument("--limit", type=whole_number(1), help="score only the first N CrowS-Pairs pairs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.errors import UserError

    if args.template is None:
        if args.targets or args.attribute:
            raise UserError("--targets and --attribute go with --template, not with --crows-pairs.")
        return _crows(args)
    if args.limit is not None:
        raise UserError("--limit goes with --crows-pairs, not with --template.")
    if not args.targets:
        raise UserError("Give the target words with --targets, e.g. --targets he,she.")
    return _template(args)


def _crows(args: argparse.Namespace) -> int:
    from lmstudio_app.commands._common import load_model_from_args, stderr_progress
    from lmstudio_app.core.score.crows import crows_metric, read_crows_pairs

    pairs = read_crows_pairs(args.crows_pairs or None)[: args.limit]
    loaded = load_model_from_args(args)
    result = crows_metric(loaded.model, loaded.tokenizer, pairs, state=stderr_progress())
    if args.json:
        print_json({"model": loaded.name, **result.to_json()})
        return 0
    print(f"CrowS-Pairs metric: {result.metric:.2f} % of {result.pairs} pairs (50 is the ideal)")
    for kind, figures in result.by_type().items():
        print(f"  {kind:<22} {figures['metric']:6.2f} %  ({figures['pairs']} pairs)")
    return 0


def _template(args: argparse.Namespace) -> int:
    from lmstudio_app.commands._common import load_model_from_args
    from lmstudio_app.core.score.templates import (
        attribute_of,
        group_log_ratios,
        parse_targets,
        template_probe,
    )

    targets = parse_targets(args.targets)
    loaded = load_model_from_args(args)
    probes = template_probe(loaded.model, loaded.tokenizer, args.template, targets, attribute=args.attribute)
    attribute = attribute_of(args.template, loaded.tokenizer.mask_token, args.attribute)
    groups = group_log_ratios(probes)
    if args.json:
        print_json(
            {
                "model": loaded.name,
                "template": args.template,
                "attribute": attribute,
                "targets": [p.to_json() for p in probes],
                "groups": {g: {"mean_log_ratio": v} for g, v in groups.items()},
            }
        )
        return 0
    print(f"{args.template}  (attribute: {attribute!r}; log ratio = ln(p / prior with the attribute masked))")
    print(f"  {'target':<14} {'group':<12} {'p':>10} {'prior':>10} {'log ratio':>10}")
    for p in probes:
        print(f"  {p.target:<14} {p.group:<12} {p.prob:10.4g} {p.prior:10.4g} {p.log_ratio:10.3f}")
    if any(p.group != p.target for p in probes):
        for group, value in groups.items():
            print(f"  mean log ratio of {group}: {value:.3f}")
    return 0
