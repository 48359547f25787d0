"""The values every stage shares: the manifest model, desired and recorded resources, the vocabulary
(kinds, actions, statuses), addresses, fingerprints, client tokens and events. Frozen, no I/O."""
