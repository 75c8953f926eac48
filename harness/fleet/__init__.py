"""Fleet forensics: analysis results of many captures kept as a Parquet dataset, and asked.

- `store`: write one analysis run (devices, transactions, findings) into a dataset
  directory, partitioned by day and family, idempotent per capture file.
- `query`: DuckDB over the dataset (`harness query DIR "SQL"`).
- `report`: the fleet report (`harness fleet DIR --out fleet.html`).
- `cluster`: the per-file analysis on a Dask cluster, merged per device.

The analysis itself is `harness.analyze`; nothing here parses packets.
"""
