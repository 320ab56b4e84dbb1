"""Detection of fake cells: known-cell registry, per-cell baseline, one module
per heuristic in `heuristics/`, scoring into severities, localization."""
