"""Chunked execution of Monte Carlo work: in-process by default, Dask when configured.

A simulation of ``n`` paths is cut into fixed chunks; chunk ``k`` draws from its own
``numpy.random.Generator`` seeded by ``SeedSequence(seed).spawn(n_chunks)[k]``. The
chunking depends only on ``(n, chunk_size)``, never on the executor, so the same seed
gives bit-identical results in-process and on a Dask cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CHUNK_PATHS = 100_000


class Executor(Protocol):
    """Anything that maps a function over tasks and returns results in task order."""

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]: ...


class InProcessExecutor:
    """Runs chunks one after another in this process (the default)."""

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        return [fn(t) for t in tasks]


class DaskExecutor:
    """Runs chunks on a Dask cluster; ``address`` is a scheduler address or a ``Client``."""

    def __init__(self, address: Any) -> None:
        from distributed import Client

        self._own = not isinstance(address, Client)
        self.client = Client(address) if self._own else address

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        futures = self.client.map(fn, list(tasks), pure=False)
        return list(self.client.gather(futures))

    def close(self) -> None:
        if self._own:
            self.client.close()


def get_executor(address: str | None = None) -> Executor:
    """The executor for a scheduler address (``IPFIN_DASK_SCHEDULER`` if not given)."""
    address = address or os.environ.get("IPFIN_DASK_SCHEDULER") or None
    return DaskExecutor(address) if address else InProcessExecutor()


@dataclass(frozen=True, slots=True)
class Chunk:
    """One unit of Monte Carlo work: ``size`` paths drawn from its own seed sequence."""

    index: int
    start: int
    size: int
    seed: np.random.SeedSequence

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


def make_chunks(n_paths: int, seed: int, chunk_size: int = DEFAULT_CHUNK_PATHS) -> list[Chunk]:
    """Cut ``n_paths`` into chunks with independent, reproducible child seeds."""
    if n_paths <= 0:
        raise ValueError("n_paths must be positive")
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    n_chunks = -(-n_paths // chunk_size)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    return [Chunk(k, k * chunk_size, min(chunk_size, n_paths - k * chunk_size), children[k]) for k in range(n_chunks)]


def run_chunked(
    fn: Callable[[Chunk], R],
    n_paths: int,
    seed: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_PATHS,
    executor: Executor | None = None,
) -> list[R]:
    """Run ``fn`` over the chunks of a simulation; results come back in chunk order."""
    ex = executor or InProcessExecutor()
    return ex.map(fn, make_chunks(n_paths, seed, chunk_size))


def concat(parts: Iterable[np.ndarray]) -> np.ndarray:
    """Join per-chunk arrays in chunk order."""
    return np.concatenate(list(parts))
