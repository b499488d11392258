"""How long question + passage pairs are in a model's tokens, and how many a max length splits into windows.

A passage longer than the window is not cut: it is split into windows that overlap by the stride
(windows.py). The wizard's Settings page shows these lengths to choose the window size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lmstudio_app.core.data.labeled import suggest_max_length
from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.qa.data import QAExample
from lmstudio_app.core.tasks import TaskState, ensure_state

MEASURED = 5000  # pairs measured at most, spread over the data
DEFAULT_WINDOW = 384


def measure_pairs(
    spec: str, examples: Sequence[QAExample], state: TaskState | None = None
) -> tuple[list[int], int]:
    """Tokens of (a spread-out sample of) the question + passage pairs with the tokenizer of `spec`, special
    tokens included and nothing cut, and the window length suggested: the longest pair rounded up when all
    are short, else 384 (SQuAD's usual window), never above the model's limit."""
    import transformers

    from lmstudio_app.core.jsonio import read_json
    from lmstudio_app.core.models.local import resolve_local

    state = ensure_state(state)
    source = resolve_local(spec)
    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelSourceError(
                f"Could not read the tokenizer of {spec}: {str(exc).splitlines()[0]}"
            ) from exc
    step = max(1, math.ceil(len(examples) / MEASURED))
    picked = list(examples)[::step]
    state.raise_if_stopped()
    state.progress(-1, f"Measuring {len(picked):,} questions with their passages")
    enc = tokenizer(
        [e.question for e in picked], [e.context for e in picked], truncation=False, verbose=False
    )
    lengths = [len(ids) for ids in enc["input_ids"]]
    positions = read_json(source.path / "config.json").get("max_position_embeddings")
    cap = min(512, positions) if isinstance(positions, int) and positions > 0 else 512
    if lengths and max(lengths) <= DEFAULT_WINDOW:
        suggested = max(64, suggest_max_length(lengths, cap=cap, cover_all_below=DEFAULT_WINDOW))
    else:
        suggested = DEFAULT_WINDOW
    return lengths, int(min(cap, suggested))
