"""The transformers backend: a local causal LM answering batches of chat requests.

Throughput on CPU and GPU alike comes from batching, and batching well needs two things: prompts of
similar length in the same batch (so little compute goes to padding), and LEFT padding (so every
prompt ends where generation starts). Requests are therefore sorted by prompt length, run in
batches, and put back in their original order. torch and transformers are imported inside the
functions so that `import core.models` stays cheap.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from core.devices import resolve_device
from core.errors import InvalidInput, ModelUnavailable
from core.models.engine import ChatRequest, Generation, Progress
from core.settings import Settings, get_settings

DEFAULT_BATCH_SIZE = 8


def choose_dtype(device: str) -> Any:
    """bfloat16 on GPUs that support it (half the memory, same range), float32 elsewhere."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def resolve_source(target: str) -> str:
    """A local folder (checked) or, failing that, a hub id passed through to transformers."""
    path = Path(target).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(
                f"{path} has no config.json, so it is not a transformers model folder.",
                "Point hf: at a folder written by save_pretrained (config.json + weights).",
            )
        return str(path.resolve())
    if target.startswith(("/", "./", "../", "~", ".\\")):
        raise ModelUnavailable(
            f"The model folder {path} does not exist.", "Check the path after hf:."
        )
    return target


class HFEngine:
    """Engine over a transformers causal LM, loaded once at construction.

    `model`, `tokenizer` and `device` stay public so other local tools (log-prob scoring,
    training set-up) can reuse the loaded weights instead of loading them again.
    """

    def __init__(
        self,
        ref: str,
        source: str | Path | None,
        settings: Settings | None = None,
        *,
        model: Any = None,
        tokenizer: Any = None,
    ) -> None:
        """Load the model at `source` (a folder or hub id), or wrap an already-loaded one.

        Pass `model` and `tokenizer` (with `source=None`) for a model built in memory, such as a
        base model with a LoRA adapter merged in; it is moved to the configured device.
        """
        settings = settings or get_settings()
        self.ref = ref
        self.device = resolve_device(settings.device)
        if model is not None and tokenizer is not None:
            self.model, self.tokenizer = model, tokenizer
            self._check_chat_template()
        elif source is None:
            raise ValueError("HFEngine needs a source folder, or both a model and a tokenizer.")
        else:
            self._load(str(source))
        self.model.to(self.device).eval()
        self.eos_ids = self._eos_ids()
        # No pad token (common in chat models): pad with eos; the attention mask hides it anyway.
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        if pad is None and self.eos_ids:
            pad = self.eos_ids[0]
        if pad is None:
            raise ModelUnavailable(
                f"{ref}'s tokenizer has neither a pad nor an end-of-sequence token.",
                "Set pad_token or eos_token in its tokenizer_config.json.",
            )
        self.pad_id: int = int(pad)

    def _check_chat_template(self) -> None:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelUnavailable(
                f"{self.ref} has no chat template, so chat messages cannot become a prompt.",
                "Use an instruct/chat model, or add a chat_template to its tokenizer files.",
            )

    def _load(self, source: str) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        location = resolve_source(source)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(location)
            self._check_chat_template()
            self.model = AutoModelForCausalLM.from_pretrained(
                location, dtype=choose_dtype(self.device)
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"Could not load {self.ref}: {exc}",
                "hf: takes a local folder (config.json + weights + tokenizer), or a hub id on a "
                "machine that can reach the hub and has HF_HUB_OFFLINE unset.",
            ) from exc

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        configured = self.model.generation_config.eos_token_id
        if configured is not None:
            ids += configured if isinstance(configured, list) else [configured]
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return sorted({int(i) for i in ids})

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        """The prompt tokens for `messages`: chat template plus the assistant turn opener."""
        if not isinstance(messages, list) or not messages:
            raise InvalidInput("A chat request has no messages.", "Give at least one user message.")
        for message in messages:
            if not isinstance(message, dict) or "role" not in message or "content" not in message:
                raise InvalidInput(
                    f"A chat message is not a {{'role': ..., 'content': ...}} dict: {message!r}.",
                    'Write messages like {"role": "user", "content": "Hello"}.',
                )
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        return [int(i) for i in ids]

    def generate(
        self,
        requests: list[ChatRequest],
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> list[Generation]:
        """Answer `requests` in length-sorted, left-padded batches; results in request order."""
        if not requests:
            return []
        size = batch_size or DEFAULT_BATCH_SIZE
        if size < 1:
            raise InvalidInput(f"batch_size must be at least 1, not {size}.", "Use 1 or more.")
        for request in requests:
            if request.max_new_tokens < 1:
                raise InvalidInput(
                    f"max_new_tokens must be at least 1, not {request.max_new_tokens}.",
                    "Ask for 1 or more new tokens.",
                )
        prompts = [self.prompt_ids(r.messages) for r in requests]
        # Longest first: an out-of-memory error shows on the first batch, not after an hour.
        order = sorted(
            range(len(requests)), key=lambda i: (requests[i].temperature, -len(prompts[i]))
        )
        batches: list[list[int]] = []
        for index in order:
            last = batches[-1] if batches else None
            if (
                last is None
                or len(last) >= size
                or requests[last[0]].temperature != requests[index].temperature
            ):
                batches.append([index])
            else:
                last.append(index)

        results: list[Generation | None] = [None] * len(requests)
        done = 0
        for batch in batches:
            started = time.perf_counter()
            outputs = self._run_batch([prompts[i] for i in batch], [requests[i] for i in batch])
            elapsed = time.perf_counter() - started
            for index, (text, output_tokens) in zip(batch, outputs, strict=True):
                results[index] = Generation(text, len(prompts[index]), output_tokens, elapsed)
            done += len(batch)
            if progress is not None:
                progress(done, len(requests))
        return [r for r in results if r is not None]

    def _run_batch(
        self, prompts: list[list[int]], requests: list[ChatRequest]
    ) -> list[tuple[str, int]]:
        """Generate for one batch; return (text, output tokens incl. eos) per prompt."""
        import torch

        width = max(len(p) for p in prompts)
        input_ids = [[self.pad_id] * (width - len(p)) + p for p in prompts]
        mask = [[0] * (width - len(p)) + [1] * len(p) for p in prompts]
        config = copy.deepcopy(self.model.generation_config)
        config.max_new_tokens = max(r.max_new_tokens for r in requests)
        config.pad_token_id = self.pad_id
        config.eos_token_id = self.eos_ids or None
        temperature = requests[0].temperature
        if temperature > 0:
            config.do_sample = True
            config.temperature = temperature
        else:
            config.do_sample = False
            config.temperature = config.top_p = config.top_k = None
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=torch.tensor(input_ids, device=self.device),
                attention_mask=torch.tensor(mask, device=self.device),
                generation_config=config,
            )
        results = []
        eos = set(self.eos_ids)
        for row, request in zip(out[:, width:].tolist(), requests, strict=True):
            row = row[: request.max_new_tokens]
            stop = next((k for k, token in enumerate(row) if token in eos), None)
            content = row if stop is None else row[:stop]
            count = len(row) if stop is None else stop + 1
            results.append((self.tokenizer.decode(content, skip_special_tokens=True), count))
        return results
