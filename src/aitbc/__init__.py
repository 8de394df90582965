"""aitbc."""
