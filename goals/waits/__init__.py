"""Goals that wait for an outside event: the wait, the events, and the deadline."""
