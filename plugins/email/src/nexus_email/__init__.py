"""Nexus email channel (under construction)."""
