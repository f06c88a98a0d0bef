"""Heads and head-side building blocks of the G2DA model (pose-guided part features, ...)."""
