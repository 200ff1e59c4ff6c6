"""First-party planners, each a plugin offering ``register_planners``."""
