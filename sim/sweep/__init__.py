"""Parameter sweeps on Dask distributed: sweep files, the run store, tables, summaries and sensitivity.

Modules: `spec` (sweep file schema), `design` (grid, LHS, Sobol, Morris points; seeds), `plan` (a validated
sweep laid out as runs), `store` (atomic per-run Parquet files and manifest records), `preparation` (the
store made, or checked for a resume), `cluster` (the Dask connection), `worker` (one run on a Dask worker),
`runner` (the driver), `table` (the tidy results), `analysis` (summaries and figures) and `sensitivity`
(SALib indices). See docs/sweeps.md.
"""
