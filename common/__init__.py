"""Pieces shared by the publisher, the Spark job and the local tooling."""
