"""What a run leaves behind: summary KPIs, tidy CSVs, a manifest, a dashboard, written atomically.

    summary   the headline figures (KPIs), the run's notes, their text for tables
    origin    how an output was made: scenario hash, command, git commit, versions; a run's manifest
    folders   writing a run folder safely (atomic, refusing a folder that is not an earlier output)
    picture   the dashboard picture (dashboard.png)

Code that replaces one of these functions in a test must patch the module that calls it, e.g.
`sim.results.folders.dashboard`: assigning `sim.results.dashboard` changes nothing that runs.
"""

from sim.results.folders import (
    RUN_FILES,
    WriteFailed,
    atomic_folder,
    check_target,
    in_the_way,
    make_parents,
    raise_if_refused,
    refused,
    remove_empty,
    write_run,
)
from sim.results.origin import PACKAGES, manifest, provenance, scenario_hash
from sim.results.picture import _revenue, dashboard
from sim.results.summary import (
    FINANCE_SHARE_UNDEFINED_WHEN,
    KPI_LABELS,
    NOT_AVAILABLE,
    UNDEFINED_WHEN,
    _finite,
    closed_in_burn_in,
    defined_ratio,
    format_kpi,
    kpi_table,
    licences_denied,
    run_notes,
    seed_of,
    summarize,
    undefined_notes,
    undefined_reason,
)

__all__ = [  # every public name of the former sim/results.py, and the private ones tests read
    "FINANCE_SHARE_UNDEFINED_WHEN",
    "KPI_LABELS",
    "NOT_AVAILABLE",
    "PACKAGES",
    "RUN_FILES",
    "UNDEFINED_WHEN",
    "WriteFailed",
    "_finite",
    "_revenue",
    "atomic_folder",
    "check_target",
    "closed_in_burn_in",
    "dashboard",
    "defined_ratio",
    "format_kpi",
    "in_the_way",
    "kpi_table",
    "licences_denied",
    "make_parents",
    "manifest",
    "provenance",
    "raise_if_refused",
    "refused",
    "remove_empty",
    "run_notes",
    "scenario_hash",
    "seed_of",
    "summarize",
    "undefined_notes",
    "undefined_reason",
    "write_run",
]
