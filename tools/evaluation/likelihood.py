"""Eval loss and perplexity: how likely a local model finds the reference answers.

Generation metrics judge one greedy answer; the loss looks at the whole distribution, so it moves
smoothly as training goes on and is comparable with the run's own eval loss. For each example the
prompt is the chat template of the conversation with the assistant opener (exactly what generation
sees) and the reference tokens are the reference text plus the end-of-turn token (what the model
must produce to stop). Teacher forcing scores every reference token given the prompt and the
reference tokens before it:

    nll_i      = -sum_t log p(ref_t | prompt_i, ref_<t)      (nats)
    mean_nll_i = nll_i / T_i
    eval_loss  = sum_i nll_i / sum_i T_i                     (token-weighted, like training)
    perplexity = exp(eval_loss)

Only local models (builtin:, hf:, run:) have logits to score; remote engines get None and the
report says the loss was skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from core.models.engine import Engine

DEFAULT_BATCH = 8


def supports_likelihood(engine: Engine) -> bool:
    """True for engines that hold a local transformers model (the HF backend)."""
    return all(hasattr(engine, name) for name in ("model", "tokenizer", "prompt_ids"))


def reference_ids(engine: Any, reference: str) -> list[int]:
    """The reference's tokens plus the end-of-turn token the model stops on."""
    ids = engine.tokenizer(reference, add_special_tokens=False)["input_ids"]
    eos = engine.tokenizer.eos_token_id
    if eos is None and engine.eos_ids:
        eos = engine.eos_ids[0]
    return [int(i) for i in ids] + ([int(eos)] if eos is not None else [])


def _batch_nll(engine: Any, pairs: Sequence[tuple[list[int], list[int]]]) -> list[float]:
    """Summed NLL of each pair's reference tokens given its prompt, in one right-padded forward."""
    import torch

    width = max(len(p) + len(r) for p, r in pairs)
    ids = [p + r + [engine.pad_id] * (width - len(p) - len(r)) for p, r in pairs]
    mask = [[1] * (len(p) + len(r)) + [0] * (width - len(p) - len(r)) for p, r in pairs]
    with torch.inference_mode():
        logits = engine.model(
            input_ids=torch.tensor(ids, device=engine.device),
            attention_mask=torch.tensor(mask, device=engine.device),
        ).logits
    out = []
    for row, (prompt, ref) in enumerate(pairs):
        # the token at position t is predicted by the logits at t - 1; only those rows are
        # normalised (a full-vocabulary log-softmax over the padded batch costs far more)
        predicting = logits[row, len(prompt) - 1 : len(prompt) + len(ref) - 1].float()
        logprobs = torch.log_softmax(predicting, dim=-1)
        targets = torch.tensor(ref, device=logits.device).unsqueeze(1)
        out.append(float(-logprobs.gather(1, targets).sum()))
    return out


def reference_nll(
    engine: Engine,
    conversations: Sequence[Sequence[dict]],
    references: Sequence[str],
    *,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, float]]:
    """Per example: `nll` (summed, nats), `tokens` (reference tokens) and `mean_nll`.

    Examples are scored in batches of similar length (sorted, then put back in order), so the
    padding wasted is small. An empty reference still has its end-of-turn token to score.
    """
    pairs = [
        (engine.prompt_ids(list(messages)), reference_ids(engine, ref))
        for messages, ref in zip(conversations, references, strict=True)
    ]
    order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
    size = max(1, batch_size or DEFAULT_BATCH)
    nll: dict[int, float] = {}
    for begin in range(0, len(order), size):
        chunk = order[begin : begin + size]
        for index, value in zip(chunk, _batch_nll(engine, [pairs[i] for i in chunk]), strict=True):
            nll[index] = value
        if progress is not None:
            progress(len(nll), len(pairs))
    return [
        {"nll": nll[i], "tokens": len(pairs[i][1]), "mean_nll": nll[i] / max(len(pairs[i][1]), 1)}
        for i in range(len(pairs))
    ]


def aggregate_loss(per_example: Sequence[dict[str, float]]) -> dict[str, float] | None:
    """Token-weighted eval loss over all examples and its perplexity, or None with no tokens."""
    tokens = sum(e["tokens"] for e in per_example)
    if not tokens:
        return None
    loss = sum(e["nll"] for e in per_example) / tokens
    return {"eval_loss": loss, "perplexity": math.exp(loss), "tokens": tokens}
