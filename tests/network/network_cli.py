"""Kept for imports written before tests/network_cli_support.py (which every module here now uses)."""

from network_cli_support import network_sh

__all__ = ["network_sh"]
