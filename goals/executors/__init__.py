"""Executors: what a kind of goal is (its spec and params), and the rules asked of it."""
