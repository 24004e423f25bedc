"""Nexus whatsapp channel (under construction)."""
