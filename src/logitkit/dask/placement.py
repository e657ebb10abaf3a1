"""Where persisted partitions live, and passes over them sent straight to the workers.

A pass over persisted data on a ``distributed`` cluster is one task per worker that
holds partitions of X (:func:`worker_batches`), submitted with the futures of the
persisted blocks (:func:`submit_batches`) instead of built as a dask collection and
computed: no graph to assemble, optimise and tokenise on the client (on a 2-worker
LocalCluster, 2 trivial tasks over 8 persisted blocks took 20-22 ms a pass submitted,
33-35 ms as delayed objects computed). The scheduler keeps the persisted blocks'
lineage, so a block lost with its worker is recomputed as for any other graph.
"""

from __future__ import annotations

from uuid import uuid4


def active_client():
    """The active distributed Client, or None (no ``distributed``, or no client)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def worker_batches(data, partitions, most: int) -> list[list[int]] | None:
    """Positions in ``partitions`` grouped by the distributed worker that holds their
    block of X (persisted ``data`` of at most ``most`` partitions), found
    once and kept with the data; None otherwise (or while a block is not in memory yet).
    Fewer tasks cost less (on a 2-worker LocalCluster, 8 trivial tasks took 17.6 ms a
    graph, one task per worker 11.3 ms); where the workers hold the blocks now does not
    change the sums, which are added in partition order."""
    if not data.persisted or len(partitions) > most:
        return None
    if data.placement is None:
        client = active_client()
        if client is None:
            data.placement = {}
            return None
        holders = client.who_has(data.X)
        where = [holders.get(row[0] if isinstance(row, list) else row)
                 for row in data.X.__dask_keys__()]
        if not any(where):  # (not persisted on this client's cluster)
            data.placement = {}
        if not all(where):
            return None
        data.placement = {i: sorted(w)[0] for i, w in enumerate(where)}
    if not data.placement:
        return None
    batches: dict = {}
    for position, q in enumerate(partitions):
        batches.setdefault(data.placement[q.index], []).append(position)
    return list(batches.values())


def _futures(data) -> dict:
    """{key: Future} of the persisted blocks of ``data``'s arrays, found once."""
    if data.futures is None:
        from distributed import futures_of

        arrays = [a for a in (data.X, data.codes, data.w, data.clusters) if a is not None]
        data.futures = {f.key: f for f in futures_of(arrays)}
    return data.futures


def submit_batches(data, function, parts, inputs, batches) -> list | None:
    """Futures of ``function(parts, [inputs[i] for i in batch])`` for each batch, where
    each input (offset, X, codes, w, clusters) holds Delayed blocks of ``data``'s
    persisted arrays, replaced by their futures; None when a block has no future here
    (then the pass is computed as a graph)."""
    client = active_client()
    if client is None:
        return None
    futures = _futures(data)
    swapped = []
    for offset, *blocks in inputs:
        found = [None if b is None else futures.get(b.key) for b in blocks]
        if any(f is None and b is not None for f, b in zip(found, blocks, strict=True)):
            return None
        swapped.append((offset, *found))
    return [client.submit(function, parts, [swapped[i] for i in batch], pure=False,
                          key=f"logitkit-pass-{uuid4().hex}") for batch in batches]


def gathered(futures: list) -> list:
    """The results of ``futures`` ([] for none)."""
    return active_client().gather(futures) if futures else []
