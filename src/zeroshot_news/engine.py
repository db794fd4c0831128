"""Run a per-chunk classifier over a parquet table, locally or on Ray Data.

Both engines read the input in chunks of ``engine.chunk_size`` articles, apply a
worker (built once per process or per Ray actor, since it holds the model) and stream
every output table to parquet in input order, so memory stays flat whatever the
corpus size, and the outputs are the same for both engines.

The worker maps one input chunk (DataFrame) to a dict of named output DataFrames.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from zeroshot_news.config import ConfigError, EngineConfig
from zeroshot_news.io import ParquetStreamWriter, iter_parquet

Worker = Callable[[pd.DataFrame], dict[str, pd.DataFrame]]
WorkerFactory = Callable[[], Worker]


def run_chunked(
    input_path: Path | str,
    columns: list[str],
    make_worker: WorkerFactory,
    outputs: dict[str, tuple[Path, pa.Schema]],
    engine: EngineConfig,
    on_chunk: Callable[[dict[str, pd.DataFrame]], None] | None = None,
    progress: bool = True,
) -> int:
    """Stream ``input_path`` through the worker into ``outputs``; returns articles processed."""
    import pyarrow.parquet as pq

    total = pq.ParquetFile(input_path).metadata.num_rows
    chunks = (_local_chunks(input_path, columns, make_worker, engine.chunk_size) if engine.name == "local"
              else _ray_chunks(input_path, columns, make_worker, engine))
    writers = {name: ParquetStreamWriter(path, schema) for name, (path, schema) in outputs.items()}
    done = 0
    try:
        with tqdm(total=total, desc=f"articles ({engine.name})", unit="doc", disable=not progress) as bar:
            for n_in, results in chunks:
                for name, frame in results.items():
                    writers[name].write(frame)
                if on_chunk is not None:
                    on_chunk(results)
                done += n_in
                bar.update(n_in)
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    for w in writers.values():
        w.close()
    return done


def _local_chunks(input_path, columns, make_worker, chunk_size) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    worker = make_worker()
    for chunk in iter_parquet(input_path, chunk_size, columns):
        yield len(chunk), worker(chunk)


# --- Ray Data -----------------------------------------------------------------------
# Each input batch becomes one output row holding its result tables as Arrow IPC bytes,
# so several tables of different schemas travel back together and in order.


def _encode(results: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    encoded = {}
    for name, frame in results.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        encoded[name] = sink.getvalue()
    return encoded


def _decode(data: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(io.BytesIO(data)).read_all().to_pandas()


class _RayWorker:
    """A Ray actor: builds the worker (and its model) once, then maps batches."""

    def __init__(self, make_worker: WorkerFactory):
        self.worker = make_worker()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        encoded = _encode(self.worker(batch))
        return pd.DataFrame({"n_in": [len(batch)], **{name: [blob] for name, blob in encoded.items()}})


def check_ray_resources(engine: EngineConfig, resources: dict[str, float]) -> None:
    """Fail at once where the actor pool would leave Ray Data's read tasks no CPU.

    Each parquet read task asks for one CPU; if the actors hold every CPU of a fixed
    cluster (a local instance cannot grow), the pipeline waits forever instead of failing.
    """
    total = float(resources.get("CPU", 0.0))
    held = engine.num_actors * engine.cpus_per_actor
    if engine.ray_address is None and total and held > total - 1:
        fit = max(0.1, (total - 1) / engine.num_actors)
        raise ConfigError(
            f"engine: {engine.num_actors} actors x {engine.cpus_per_actor} CPUs hold {held:g} of this Ray "
            f"instance's {total:g} CPUs, and Ray Data needs 1 free CPU to read the input (it would wait "
            f"forever); use fewer actors or e.g. engine.cpus_per_actor={fit:.2g}")


def _ray_chunks(
    input_path, columns, make_worker, engine: EngineConfig
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a project dependency
        raise RuntimeError("engine=ray needs the 'ray[data]' package") from exc
    if not ray.is_initialized():
        ray.init(address=engine.ray_address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    check_ray_resources(engine, ray.cluster_resources())
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # outputs in input order, as the local engine
    import math

    import pyarrow.parquet as pq

    rows = pq.ParquetFile(input_path).metadata.num_rows
    # One block per chunk, so the actor pool gets work to spread.
    ds = ray.data.read_parquet(str(Path(input_path).resolve()),
                               override_num_blocks=max(1, math.ceil(rows / engine.chunk_size)))
    ds = ds.select_columns(columns)
    mapped = ds.map_batches(
        _RayWorker, fn_constructor_args=(make_worker,), batch_size=engine.chunk_size, batch_format="pandas",
        concurrency=engine.num_actors, num_cpus=engine.cpus_per_actor, num_gpus=engine.gpus_per_actor,
    )
    for out in mapped.iter_batches(batch_format="pandas", batch_size=None):
        for row in out.itertuples(index=False):
            row = row._asdict()
            n_in = int(row.pop("n_in"))
            yield n_in, {name: _decode(blob) for name, blob in row.items()}


# --- An ordered map over a stream of chunks (classify) ----------------------------------
# The stages read a parquet table (run_chunked above); `classify` makes its chunks as it
# reads and cleans the input, so it hands them over one by one. Ray core actors (not Ray
# Data, which would first have to hold the whole stream) each build the worker once.


def map_ordered(items: Iterable[tuple[Any, Any]], make_worker: Callable[[], Callable[[Any], Any]],
                engine: EngineConfig) -> Iterator[tuple[Any, Any]]:
    """``(key, worker(chunk))`` for each ``(key, chunk)`` of ``items``, in order: in this
    process (``local``; the worker is built at the first chunk), or on ``engine.num_actors``
    Ray actors that each build it once (``ray``). At most two chunks per actor are in
    flight, so ``items`` is read only as results are taken and memory stays bounded."""
    if engine.name == "local":
        worker = None
        for key, chunk in items:
            if worker is None:
                worker = make_worker()
            yield key, worker(chunk)
        return
    yield from _ray_map_ordered(items, make_worker, engine)


class _RayChunkWorker:
    """A Ray actor holding one worker (and its models)."""

    def __init__(self, make_worker: Callable[[], Callable[[Any], Any]]):
        self.worker = make_worker()

    def run(self, chunk: Any) -> Any:
        return self.worker(chunk)


def check_actor_resources(engine: EngineConfig, resources: dict[str, float]) -> None:
    """Fail at once where a local Ray instance cannot place every actor (they would wait forever)."""
    total = float(resources.get("CPU", 0.0))
    held = engine.num_actors * engine.cpus_per_actor
    if engine.ray_address is None and total and held > total:
        raise ConfigError(
            f"engine: {engine.num_actors} actors x {engine.cpus_per_actor} CPUs need {held:g} CPUs, this Ray "
            f"instance has {total:g}; use fewer actors or a smaller engine.cpus_per_actor")


def _ray_map_ordered(items, make_worker, engine: EngineConfig) -> Iterator[tuple[Any, Any]]:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a project dependency
        raise RuntimeError("engine=ray needs the 'ray' package") from exc
    if not ray.is_initialized():
        ray.init(address=engine.ray_address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    check_actor_resources(engine, ray.cluster_resources())
    actor = ray.remote(num_cpus=engine.cpus_per_actor, num_gpus=engine.gpus_per_actor)(_RayChunkWorker)
    actors = [actor.remote(make_worker) for _ in range(engine.num_actors)]
    pending: deque[tuple[Any, Any]] = deque()
    try:
        for i, (key, chunk) in enumerate(items):
            pending.append((key, actors[i % len(actors)].run.remote(chunk)))
            if len(pending) >= 2 * len(actors):
                done_key, ref = pending.popleft()
                yield done_key, ray.get(ref)
        while pending:
            done_key, ref = pending.popleft()
            yield done_key, ray.get(ref)
    finally:
        for a in actors:
            ray.kill(a)
