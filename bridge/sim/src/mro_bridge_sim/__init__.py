"""The mro-bridge plant simulator (``mro-bridge-sim``): for demos and tests, never in production images."""
