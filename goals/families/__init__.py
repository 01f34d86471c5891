"""Goals made of goals: children, their parent's policy, and what follows their outcome."""
