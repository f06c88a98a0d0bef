"""Helpers below every layer (data, modeling, evaluation, engine): files written atomically."""
