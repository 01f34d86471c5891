"""Goals every period, exactly once: schedules, the starts of their periods, and the goals they give."""
