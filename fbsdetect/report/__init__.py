"""Reports for regulators (the monthly figures)."""
