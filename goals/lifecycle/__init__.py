"""The goal lifecycle: its states and transitions, and every statement that writes a goal, its attempts,
its journal or its task result rows (``goals/lifecycle/sql``, run by ``goals.lifecycle.store``)."""
