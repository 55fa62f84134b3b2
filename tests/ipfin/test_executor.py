"""Chunked Monte Carlo: the same seed gives the same numbers in-process and on Dask."""

import numpy as np
import pytest

from ipfin.executor import Chunk, InProcessExecutor, make_chunks, run_chunked


def _mean_of_normals(chunk: Chunk) -> np.ndarray:
    return chunk.rng().standard_normal(chunk.size)


def test_chunks_cover_all_paths_with_distinct_streams() -> None:
    chunks = make_chunks(250_001, seed=7, chunk_size=100_000)
    assert [c.size for c in chunks] == [100_000, 100_000, 50_001]
    assert [c.start for c in chunks] == [0, 100_000, 200_000]
    firsts = {float(c.rng().standard_normal()) for c in chunks}
    assert len(firsts) == 3


def test_same_seed_same_answer_different_seed_different_answer() -> None:
    a = np.concatenate(run_chunked(_mean_of_normals, 30_000, seed=1, chunk_size=7_000))
    b = np.concatenate(run_chunked(_mean_of_normals, 30_000, seed=1, chunk_size=7_000, executor=InProcessExecutor()))
    c = np.concatenate(run_chunked(_mean_of_normals, 30_000, seed=2, chunk_size=7_000))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dask_cluster_gives_bit_identical_results() -> None:
    distributed = pytest.importorskip("distributed")  # the `distributed` extra is part of `make test`
    from ipfin.executor import DaskExecutor

    with distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = np.concatenate(run_chunked(_mean_of_normals, 30_000, 5, chunk_size=7_000, executor=DaskExecutor(client)))
    local = np.concatenate(run_chunked(_mean_of_normals, 30_000, 5, chunk_size=7_000))
    assert np.array_equal(dask, local)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="n_paths"):
        make_chunks(0, 1)
    with pytest.raises(ValueError, match="chunk_size"):
        make_chunks(10, 1, chunk_size=0)
