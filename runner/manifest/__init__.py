"""Stage 1, load: YAML with locations -> JSON Schema -> semantic checks -> programs read and digested
-> a validated `Manifest` (runner.manifest.loader.load). Every problem is located FILE:LINE:COLUMN."""
