"""One module per detection rule. Each exposes `id`, `title`, `version`,
`default_enabled` and a pure `check(cell, context) -> Finding | None`."""
