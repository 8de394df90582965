"""A tiny random-weight llama model in GGUF, and llama.cpp's server running it: for the
demo, ``bench/inference.py`` and the chat tests (needs ``gguf``, ``numpy`` and
``llama-cpp-python[server]``; none is a runtime dependency of aitbc).

The model (docs/ai.md): llama architecture, 2 layers,
embedding 64, 4 query / 2 KV heads, FFN 128, F32, a SentencePiece-style vocabulary with
all 256 byte tokens plus words. Random weights would emit raw bytes and random stops,
so channel 0 of every embedding is a constant and the output rows of byte and control
tokens weigh it strongly negative: the model then writes words, never stops before
``max_tokens``, and is deterministic at temperature 0.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

MODEL_NAME = "tiny-llama"
WORDS = [
    "the", "a", "model", "miner", "market", "token", "compute", "job", "node", "chain",
    "fast", "small", "price", "paid", "stream", "answer", "hello", "world", "and", "of",
]  # fmt: skip
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}assistant:"
)


def write_tiny_llama(path: Path, seed: int = 7) -> Path:
    """Write the model to ``path`` (about 0.6 MB) and return it."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256  # unknown, control, byte
    for word in WORDS:
        tokens.append("\u2581" + word)  # SentencePiece's word-start marker
        types.append(1)
    scores = [0.0] * 259 + [-float(i) for i in range(len(WORDS))]
    n_vocab, n_embd, n_ff, n_head, n_kv, n_layer = len(tokens), 64, 128, 4, 2, 2
    head_dim = n_embd // n_head

    def weights(*shape: int, scale: float = 0.02) -> Any:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(MODEL_NAME)
    writer.add_context_length(512)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_chat_template(CHAT_TEMPLATE)

    embeddings = weights(n_vocab, n_embd, scale=0.5)
    embeddings[:, 0] = 4.0  # the constant channel
    writer.add_tensor("token_embd.weight", embeddings)
    for i in range(n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weights(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weights(n_kv * head_dim, n_embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weights(n_kv * head_dim, n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weights(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weights(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weights(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weights(n_embd, n_ff))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    output = weights(n_vocab, n_embd, scale=1.0)
    output[:259, 0] = -50.0  # never unknown, control (stop) or raw byte tokens
    output[259:, 0] = 0.0
    writer.add_tensor("output.weight", output)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def llama_available() -> bool:
    """True when llama.cpp's server and the model writer can run here."""
    import importlib.util

    names = ("llama_cpp", "gguf", "numpy", "uvicorn", "sse_starlette", "starlette_context")
    return all(importlib.util.find_spec(name) is not None for name in names)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/v1/models", timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def llama_server(
    model: Path, startup: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """llama.cpp's OpenAI-compatible server on a loopback port, one thread; yields
    (base URL, process). Raises ConfigurationError when llama-cpp-python[server] is not
    installed (scripts/install_llama.sh) or the server does not come up."""
    if not llama_available():
        raise ConfigurationError("needs llama-cpp-python[server] (scripts/install_llama.sh)")
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", "1", "--n_ctx", "512", "--verbose", "False",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
        while not _ready(url):
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise ConfigurationError(f"llama.cpp server exited: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise ConfigurationError(f"llama.cpp server not ready within {startup}s")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr:
            process.stderr.close()
