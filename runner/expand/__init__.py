"""Stage 2, expand (pure): defaults merged, sweeps expanded, addresses and fingerprints computed:
Manifest -> Expansion of Desired resources (runner.expand.expansion.expand)."""
