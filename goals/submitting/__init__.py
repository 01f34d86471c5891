"""Submitting goals, sending their attempts, and what people do to them."""
