"""Immutable domain models and pure rules. Imports nothing but the standard library."""
