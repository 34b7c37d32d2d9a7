"""Local tooling: run the whole pipeline on a laptop, inspect and reconcile its outputs."""
