"""Schemathesis CLI run from outside against a live rendered service (see __main__)."""
