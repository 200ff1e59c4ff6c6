"""Training-data generation: programmatic examples and their execution engines."""
