"""Keeping models current from their hubs: fetch politely, apply, discover base models."""
