"""Executable checks of the mathematical claims equinet relies on: one script per claim, each with a control case
that must fail. ``python -m proofs`` runs them all and prints a summary table (see ``proofs/README.md``)."""
