"""Nexus telegram channel (under construction)."""
